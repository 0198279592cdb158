/**
 * From Team arguments to a checked plan (pure): every argument validated, all problems reported at once before
 * any resource, defaults filled in, and the queue's borrowing limits derived from the namespace quota.
 */
import { isIP } from "node:net";
import { formatQuantity, parseQuantity } from "../common/quantity";
import { dnsLabelProblem, isNonNegativeInteger, IssueCollector, labelKeyProblem, labelValueProblem, oneOf, quantityProblem } from "../common/validation";
import { DEFAULT_COHORT, DEFAULT_PREEMPTION, type QueuePreemption } from "../queueing/kueue-objects";
import type { EgressRule, NetworkPeer, StoreEndpoint, TeamArgs } from "./team-args";

export const TEAM_DEFAULT_COUNTS = { pods: 100, services: 20, loadBalancers: 0, configMaps: 100, secrets: 100, persistentVolumeClaims: 10, jobs: 100 } as const;
export const TEAM_DEFAULT_REQUESTS = { cpuRequest: "100m", memoryRequest: "256Mi" } as const;
/** The cluster's DNS: CoreDNS (EKS, kind, k3d, minikube) carries the `k8s-app: kube-dns` label in kube-system. */
export const CLUSTER_DNS: NetworkPeer = { namespace: "kube-system", podLabels: { "k8s-app": "kube-dns" } };
/** Namespaces a team cannot take: the cluster's own and Kueue's. */
export const RESERVED_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease", "kueue-system"];
const RESERVED_ROLES = ["cluster-admin", "admin"];

/** A resolved share of one resource: what the queue guarantees and what it may borrow on top (base units). */
export interface QueueShare {
  nominal: number;
  borrowingLimit: number;
}

export interface TeamQueuePlan {
  name: string;
  cohort?: string;
  cpuFlavor: string;
  cpu: QueueShare;
  memory: QueueShare;
  gpus: Array<{ flavor: string } & QueueShare>;
  preemption: Required<QueuePreemption>;
}

export interface TeamPlan {
  name: string;
  namespace: string;
  groups: string[];
  clusterRoles: string[];
  quota: {
    cpu: number;
    memory: number;
    gpus: number;
    pods: number;
    services: number;
    loadBalancers: number;
    configMaps: number;
    secrets: number;
    persistentVolumeClaims: number;
    jobs: number;
  };
  defaults: { cpuRequest: string; memoryRequest: string };
  queue?: TeamQueuePlan;
  servingCallers: Array<{ serving: string; from: NetworkPeer[] }>;
  stores: StoreEndpoint[];
  egress: EgressRule[];
  dns: NetworkPeer[];
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Problems with an IPv4 or IPv6 CIDR such as "10.0.0.0/16" (undefined when valid). */
export function cidrProblem(cidr: unknown): string | undefined {
  if (typeof cidr !== "string") return "must be a CIDR such as \"10.0.0.0/16\"";
  const v4 = IPV4_CIDR.exec(cidr);
  if (v4) {
    const octets = v4.slice(1, 5).map(Number);
    if (octets.some((o) => o > 255) || Number(v4[5]) > 32) return `"${cidr}" is not a valid IPv4 CIDR`;
    return undefined;
  }
  const slash = cidr.lastIndexOf("/");
  if (slash > 0 && isIP(cidr.slice(0, slash)) === 6 && /^\d{1,3}$/.test(cidr.slice(slash + 1)) && Number(cidr.slice(slash + 1)) <= 128) return undefined;
  return `"${cidr}" is not a CIDR; use an address and a prefix length, e.g. "10.0.0.0/16" or "fd00::/8"`;
}

function checkLabels(labels: unknown, path: string, issues: IssueCollector): void {
  if (labels === undefined) return;
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) {
    issues.add(path, "must be a map of label keys to values");
    return;
  }
  for (const [key, value] of Object.entries(labels)) {
    const problem = labelKeyProblem(key) ?? (typeof value === "string" ? labelValueProblem(value) : `label "${key}" must have a string value`);
    if (problem) issues.add(`${path}["${key}"]`, problem);
  }
}

/** Problems of one network peer, reported under `path`. */
export function checkPeer(peer: NetworkPeer, path: string, issues: IssueCollector): void {
  if (typeof peer !== "object" || peer === null) {
    issues.add(path, "must be { namespace, podLabels? } or { cidr, except? }");
    return;
  }
  if ("cidr" in peer) {
    const problem = cidrProblem(peer.cidr);
    if (problem) issues.add(`${path}.cidr`, problem);
    (peer.except ?? []).forEach((except, i) => {
      const exceptProblem = cidrProblem(except);
      if (exceptProblem) issues.add(`${path}.except[${i}]`, exceptProblem);
    });
    if ("namespace" in peer || "podLabels" in peer) issues.add(path, "is either pods ({ namespace, podLabels? }) or addresses ({ cidr, except? }), not both");
    return;
  }
  if (typeof peer.namespace !== "string") {
    issues.add(`${path}.namespace`, "is required: the namespace of the pods (add podLabels to narrow it to some of them)");
  } else {
    const problem = dnsLabelProblem(peer.namespace);
    if (problem) issues.add(`${path}.namespace`, problem);
  }
  checkLabels(peer.podLabels, `${path}.podLabels`, issues);
}

function quantity(value: unknown, kind: "cpu" | "memory", path: string, issues: IssueCollector): number | undefined {
  const problem = quantityProblem(value, kind);
  if (problem) {
    issues.add(path, problem);
    return undefined;
  }
  return parseQuantity(value as string);
}

function isPort(port: unknown): port is number {
  return typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** Validates Team arguments and plans the team (pure). Throws one ComponentValidationError listing every problem. */
export function planTeam(name: string, args: TeamArgs): TeamPlan {
  const issues = new IssueCollector();
  const nameProblem = dnsLabelProblem(name);
  if (nameProblem) issues.add("name", `the component name names the team's objects: ${nameProblem}`);
  const namespace = args.namespace ?? name;
  const namespaceProblem = dnsLabelProblem(namespace);
  if (namespaceProblem) issues.add("namespace", namespaceProblem);
  else if (RESERVED_NAMESPACES.includes(namespace)) issues.add("namespace", `"${namespace}" belongs to the cluster; a team needs its own namespace (not ${oneOf(RESERVED_NAMESPACES)})`);

  const groups = args.groups ?? [];
  if (!Array.isArray(groups) || groups.length === 0) issues.add("groups", "must name at least one Kubernetes group of the team's members");
  const seenGroups = new Set<string>();
  (Array.isArray(groups) ? groups : []).forEach((group, i) => {
    if (typeof group !== "string" || group.trim() === "") issues.add(`groups[${i}]`, "must be a non-empty group name");
    else if (group.startsWith("system:")) issues.add(`groups[${i}]`, `"${group}" is a Kubernetes system group; name the team's own group`);
    else if (seenGroups.has(group)) issues.add(`groups[${i}]`, `"${group}" is listed twice`);
    seenGroups.add(group);
  });
  const clusterRoles = ["edit", ...(args.extraClusterRoles ?? [])];
  (args.extraClusterRoles ?? []).forEach((role, i) => {
    const problem = typeof role === "string" ? dnsLabelProblem(role, 253) : "must be a ClusterRole name";
    if (problem) issues.add(`extraClusterRoles[${i}]`, problem);
    else if (RESERVED_ROLES.includes(role)) issues.add(`extraClusterRoles[${i}]`, `"${role}" would let the team manage its own quota and access; teams get "edit"`);
    else if (clusterRoles.indexOf(role) !== i + 1) issues.add(`extraClusterRoles[${i}]`, `"${role}" is bound already`);
  });

  // The quota.
  const quotaArgs = args.quota ?? ({} as TeamArgs["quota"]);
  if (args.quota === undefined) issues.add("quota", "is required: { cpu, memory, gpus? } the team's pods may request at once");
  const cpu = quantity(quotaArgs.cpu, "cpu", "quota.cpu", issues) ?? 0;
  const memory = quantity(quotaArgs.memory, "memory", "quota.memory", issues) ?? 0;
  const gpus = quotaArgs.gpus ?? 0;
  if (!isNonNegativeInteger(gpus)) issues.add("quota.gpus", `must be a whole number of GPUs >= 0 (got ${JSON.stringify(gpus)})`);
  const counts = { ...TEAM_DEFAULT_COUNTS };
  for (const key of Object.keys(TEAM_DEFAULT_COUNTS) as Array<keyof typeof TEAM_DEFAULT_COUNTS>) {
    const value = quotaArgs[key];
    if (value === undefined) continue;
    if (!isNonNegativeInteger(value)) issues.add(`quota.${key}`, `must be a whole number >= 0 (got ${JSON.stringify(value)})`);
    else counts[key] = value as never;
  }

  const defaults = { ...TEAM_DEFAULT_REQUESTS, ...args.defaults };
  const cpuRequest = quantity(defaults.cpuRequest, "cpu", "defaults.cpuRequest", issues);
  const memoryRequest = quantity(defaults.memoryRequest, "memory", "defaults.memoryRequest", issues);
  if (cpuRequest !== undefined && cpu > 0 && cpuRequest > cpu) issues.add("defaults.cpuRequest", `${defaults.cpuRequest} is more than the whole quota.cpu (${quotaArgs.cpu})`);
  if (memoryRequest !== undefined && memory > 0 && memoryRequest > memory) issues.add("defaults.memoryRequest", `${defaults.memoryRequest} is more than the whole quota.memory (${quotaArgs.memory})`);

  // The queue: what it guarantees must fit in the namespace quota, and it may borrow up to the rest.
  let queue: TeamQueuePlan | undefined;
  if (args.queue !== undefined) {
    const q = args.queue;
    if (!q.kueue?.defaultFlavor?.name) issues.add("queue.kueue", "is required: the KueueController whose flavors and CRDs the queue uses");
    const queueName = q.name ?? name;
    // A default name is the component name, which is checked already.
    const queueNameProblem = q.name === undefined ? undefined : dnsLabelProblem(queueName);
    if (queueNameProblem) issues.add("queue.name", queueNameProblem);
    const cohort = q.cohort === false ? undefined : (q.cohort ?? DEFAULT_COHORT);
    const cohortProblem = cohort === undefined ? undefined : dnsLabelProblem(cohort);
    if (cohortProblem) issues.add("queue.cohort", cohortProblem);
    const share = (value: string | undefined, kind: "cpu" | "memory", total: number): QueueShare => {
      const nominal = value === undefined ? total : (quantity(value, kind, `queue.${kind}`, issues) ?? 0);
      if (value !== undefined && nominal > total && total > 0) {
        issues.add(`queue.${kind}`, `${value} is more than quota.${kind} (${formatQuantity(total, kind)}): pods the queue admits would be refused by the namespace quota`);
      }
      return { nominal, borrowingLimit: Math.max(0, total - nominal) };
    };
    const cpuShare = share(q.cpu, "cpu", cpu);
    const memoryShare = share(q.memory, "memory", memory);
    const gpuEntries = q.gpus ?? [];
    const flavorNames = new Set<string>();
    let guaranteedGpus = 0;
    gpuEntries.forEach((entry, i) => {
      const flavor = entry?.flavor?.name;
      if (typeof flavor !== "string" || flavor === "") issues.add(`queue.gpus[${i}].flavor`, "is required: a GPU ResourceFlavor (KueueController.gpuFlavor)");
      else if (flavorNames.has(flavor)) issues.add(`queue.gpus[${i}].flavor`, `"${flavor}" is listed twice`);
      else flavorNames.add(flavor);
      if (!isNonNegativeInteger(entry?.gpus)) issues.add(`queue.gpus[${i}].gpus`, `must be a whole number of GPUs >= 0 (got ${JSON.stringify(entry?.gpus)})`);
      else guaranteedGpus += entry.gpus;
    });
    if (isNonNegativeInteger(gpus) && guaranteedGpus > gpus) {
      issues.add("queue.gpus", `guarantee ${guaranteedGpus} GPU(s) in all, more than quota.gpus (${gpus}): pods the queue admits would be refused by the namespace quota`);
    }
    const gpuHeadroom = isNonNegativeInteger(gpus) ? Math.max(0, gpus - guaranteedGpus) : 0;
    const preemption = { ...DEFAULT_PREEMPTION, ...q.preemption };
    if (!["Never", "LowerPriority", "Any"].includes(preemption.reclaimWithinCohort)) {
      issues.add("queue.preemption.reclaimWithinCohort", `"${preemption.reclaimWithinCohort}" is not valid; use one of ${oneOf(["Never", "LowerPriority", "Any"])}`);
    }
    if (!["Never", "LowerPriority", "LowerOrNewerEqualPriority"].includes(preemption.withinClusterQueue)) {
      issues.add("queue.preemption.withinClusterQueue", `"${preemption.withinClusterQueue}" is not valid; use one of ${oneOf(["Never", "LowerPriority", "LowerOrNewerEqualPriority"])}`);
    }
    queue = {
      name: queueName,
      cohort,
      cpuFlavor: q.kueue?.defaultFlavor?.name ?? "",
      cpu: cohort === undefined ? { ...cpuShare, borrowingLimit: 0 } : cpuShare,
      memory: cohort === undefined ? { ...memoryShare, borrowingLimit: 0 } : memoryShare,
      // Each flavor may borrow up to the team's GPU headroom (with several pools, borrowing on all of them at once
      // can still meet the namespace quota first).
      gpus: gpuEntries.map((entry) => ({ flavor: entry?.flavor?.name ?? "", nominal: entry?.gpus ?? 0, borrowingLimit: cohort === undefined ? 0 : gpuHeadroom })),
      preemption,
    };
  }

  // Network.
  const servingCallers = args.servingCallers ?? [];
  const servings = new Set<string>();
  servingCallers.forEach((entry, i) => {
    const problem = typeof entry?.serving === "string" ? dnsLabelProblem(entry.serving) : "is required: the TfServing component's name";
    if (problem) issues.add(`servingCallers[${i}].serving`, problem);
    else if (servings.has(entry.serving)) issues.add(`servingCallers[${i}].serving`, `"${entry.serving}" is listed twice; put all its callers in one entry`);
    servings.add(entry?.serving);
    if (!Array.isArray(entry?.from) || entry.from.length === 0) issues.add(`servingCallers[${i}].from`, "must list at least one caller ({ namespace, podLabels? } or { cidr })");
    (entry?.from ?? []).forEach((peer, j) => checkPeer(peer, `servingCallers[${i}].from[${j}]`, issues));
  });
  const stores = args.stores ?? [];
  stores.forEach((store, i) => {
    if (store?.type === "s3") return;
    if (store?.type !== "in-cluster") {
      issues.add(`stores[${i}].type`, `must be one of ${oneOf(["in-cluster", "s3"])}`);
      return;
    }
    const problem = dnsLabelProblem(store.namespace ?? "");
    if (problem) issues.add(`stores[${i}].namespace`, problem);
    if (!store.podLabels || Object.keys(store.podLabels).length === 0) issues.add(`stores[${i}].podLabels`, "must select the store's pods");
    checkLabels(store.podLabels, `stores[${i}].podLabels`, issues);
    if (!isPort(store.port)) issues.add(`stores[${i}].port`, `must be a TCP port 1-65535 (got ${JSON.stringify(store.port)})`);
  });
  const egress = args.egress ?? [];
  egress.forEach((rule, i) => {
    checkPeer(rule?.to, `egress[${i}].to`, issues);
    (rule?.ports ?? []).forEach((port, j) => {
      if (!isPort(port)) issues.add(`egress[${i}].ports[${j}]`, `must be a TCP port 1-65535 (got ${JSON.stringify(port)})`);
    });
  });
  const dns = args.dns ?? [CLUSTER_DNS];
  if (dns.length === 0) issues.add("dns", "must list where DNS answers, or the team's pods cannot resolve names");
  dns.forEach((peer, i) => checkPeer(peer, `dns[${i}]`, issues));

  issues.throwIfAny(`Team "${name}"`);
  return {
    name,
    namespace,
    groups,
    clusterRoles,
    quota: { cpu, memory, gpus, ...counts },
    defaults: { cpuRequest: defaults.cpuRequest, memoryRequest: defaults.memoryRequest },
    queue,
    servingCallers,
    stores,
    egress,
    dns,
  };
}

/** The most GPUs of a flavor a team's queue can ever be admitted: its guarantee plus its borrowing limit. */
export function maxAdmissibleGpus(queue: TeamQueuePlan, flavor: string): number {
  const share = queue.gpus.find((g) => g.flavor === flavor);
  return share ? share.nominal + share.borrowingLimit : 0;
}

