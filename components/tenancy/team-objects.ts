/**
 * A team's Kubernetes objects as plain values (pure builders over a checked TeamPlan, tested directly): its
 * namespace, quota, defaults, role bindings, network policies and Kueue queues.
 */
import { formatQuantity } from "../common/quantity";
import { MANAGED_BY, PLATFORM_LABEL_PREFIX, POD_SECURITY_RESTRICTED_LABELS, selectorLabels } from "../common/kubernetes";
import { clusterQueue, GPU_RESOURCE, type KueueObject, localQueue } from "../queueing/kueue-objects";
import { APP_NAME as TF_SERVING_APP, GRPC_PORT, REST_PORT } from "../serving/plan";
import type { EgressRule, NetworkPeer, StoreEndpoint } from "./team-args";
import type { TeamPlan } from "./team-plan";

/** Label on everything of a team, with the team's name. */
export const TEAM_LABEL = `${PLATFORM_LABEL_PREFIX}/team`;
/** The EKS Pod Identity agent, which hands pods their AWS credentials: a link-local address on every node, port 80. */
export const POD_IDENTITY_AGENT = { ipv4: "169.254.170.23/32", ipv6: "fd00:ec2::23/128", port: 80 } as const;
/** Ports a team's servings are called on: TF Serving's gRPC and REST APIs. */
export const SERVING_PORTS = [GRPC_PORT, REST_PORT] as const;

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

function teamLabels(plan: TeamPlan): Record<string, string> {
  return { "app.kubernetes.io/managed-by": MANAGED_BY, "app.kubernetes.io/part-of": MANAGED_BY, [TEAM_LABEL]: plan.name };
}

function meta(plan: TeamPlan, name: string) {
  return { name, namespace: plan.namespace, labels: teamLabels(plan) };
}

export function teamNamespace(plan: TeamPlan): KubernetesObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: plan.namespace, labels: { ...teamLabels(plan), ...POD_SECURITY_RESTRICTED_LABELS } } };
}

/**
 * The namespace's ResourceQuota. CPU and memory count requests only (the platform sets no CPU limits, so
 * trainings are never throttled), GPUs as `requests.nvidia.com/gpu` (extended resources only have requests).
 */
export function teamResourceQuota(plan: TeamPlan): KubernetesObject {
  const q = plan.quota;
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: meta(plan, "team-quota"),
    spec: {
      hard: {
        "requests.cpu": formatQuantity(q.cpu, "cpu"),
        "requests.memory": formatQuantity(q.memory, "memory"),
        [`requests.${GPU_RESOURCE}`]: String(q.gpus),
        pods: String(q.pods),
        services: String(q.services),
        "services.loadbalancers": String(q.loadBalancers),
        configmaps: String(q.configMaps),
        secrets: String(q.secrets),
        persistentvolumeclaims: String(q.persistentVolumeClaims),
        "count/jobs.batch": String(q.jobs),
      },
    },
  };
}

/** Requests for containers without any: a quota on requests refuses pods whose containers set none. */
export function teamLimitRange(plan: TeamPlan): KubernetesObject {
  return {
    apiVersion: "v1",
    kind: "LimitRange",
    metadata: meta(plan, "team-defaults"),
    spec: { limits: [{ type: "Container", defaultRequest: { cpu: plan.defaults.cpuRequest, memory: plan.defaults.memoryRequest } }] },
  };
}

/** One RoleBinding per ClusterRole (`edit` first): the team's groups get it in their namespace and nowhere else. */
export function teamRoleBindings(plan: TeamPlan): KubernetesObject[] {
  return plan.clusterRoles.map((role) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: meta(plan, `team-${role}`),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
    subjects: plan.groups.map((group) => ({ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: group })),
  }));
}

/** The pods of a TfServing deployment, as a network peer (for another team's `egress` or a `servingCallers` entry). */
export function tfServingPods(namespace: string, serving: string): { namespace: string; podLabels: Record<string, string> } {
  return { namespace, podLabels: tfServingSelector(serving) };
}

function tfServingSelector(serving: string): Record<string, string> {
  return selectorLabels({ name: TF_SERVING_APP, instance: serving, component: "server" });
}

/** A NetworkPolicy peer: namespace AND pod labels in one peer, or an IP block. */
export function networkPolicyPeer(peer: NetworkPeer): Record<string, unknown> {
  if ("cidr" in peer) return { ipBlock: { cidr: peer.cidr, ...(peer.except?.length ? { except: peer.except } : {}) } };
  return {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": peer.namespace } },
    ...(peer.podLabels && Object.keys(peer.podLabels).length ? { podSelector: { matchLabels: peer.podLabels } } : {}),
  };
}

const tcp = (port: number) => ({ protocol: "TCP", port });

function policy(plan: TeamPlan, name: string, spec: Record<string, unknown>): KubernetesObject {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: meta(plan, name), spec };
}

function storeEgress(store: StoreEndpoint): Array<Record<string, unknown>> {
  if (store.type === "in-cluster") {
    return [{ to: [networkPolicyPeer({ namespace: store.namespace, podLabels: store.podLabels })], ports: [tcp(store.port)] }];
  }
  // S3 has no fixed addresses and NetworkPolicy no host names: HTTPS anywhere, plus the credentials agent.
  return [
    { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }, { ipBlock: { cidr: "::/0" } }], ports: [tcp(443)] },
    { to: [{ ipBlock: { cidr: POD_IDENTITY_AGENT.ipv4 } }, { ipBlock: { cidr: POD_IDENTITY_AGENT.ipv6 } }], ports: [tcp(POD_IDENTITY_AGENT.port)] },
  ];
}

function egressRule(rule: EgressRule): Record<string, unknown> {
  return { to: [networkPolicyPeer(rule.to)], ...(rule.ports?.length ? { ports: rule.ports.map(tcp) } : {}) };
}

/**
 * The team's NetworkPolicies. The namespace is one trust zone: its pods reach each other on any port
 * (distributed training, TensorBoard on 6006, its own servings). Everything else is denied both ways, except:
 * - in: the serving ports (8500, 8501) of each listed serving, from the callers the team lists;
 * - out: DNS, the model stores, and the egress the team lists (e.g. other teams' servings that admit it).
 * The kubelet's probes are not affected (traffic from a pod's own node is always allowed).
 */
export function teamNetworkPolicies(plan: TeamPlan): KubernetesObject[] {
  const policies = [
    policy(plan, "default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
    policy(plan, "allow-within-team", {
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    }),
    policy(plan, "allow-dns", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ to: plan.dns.map(networkPolicyPeer), ports: [{ protocol: "UDP", port: 53 }, tcp(53)] }],
    }),
  ];
  if (plan.stores.length > 0) {
    policies.push(policy(plan, "allow-model-stores", { podSelector: {}, policyTypes: ["Egress"], egress: plan.stores.flatMap(storeEgress) }));
  }
  if (plan.egress.length > 0) {
    policies.push(policy(plan, "allow-egress", { podSelector: {}, policyTypes: ["Egress"], egress: plan.egress.map(egressRule) }));
  }
  for (const { serving, from } of plan.servingCallers) {
    policies.push(
      policy(plan, `allow-callers-${serving}`, {
        podSelector: { matchLabels: tfServingSelector(serving) },
        policyTypes: ["Ingress"],
        ingress: [{ from: from.map(networkPolicyPeer), ports: SERVING_PORTS.map(tcp) }],
      }),
    );
  }
  return policies;
}

/** The team's ClusterQueue and LocalQueue, or none without a queue. */
export function teamQueues(plan: TeamPlan): KueueObject[] {
  const queue = plan.queue;
  if (!queue) return [];
  const labels = teamLabels(plan);
  return [
    clusterQueue({ name: queue.name, namespace: plan.namespace, cohort: queue.cohort, cpuFlavor: queue.cpuFlavor, cpu: queue.cpu, memory: queue.memory, gpus: queue.gpus, preemption: queue.preemption, labels }),
    localQueue(queue.name, plan.namespace, queue.name, labels),
  ];
}
