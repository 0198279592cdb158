/**
 * Kueue's objects as plain values (pure builders, tested directly): a ResourceFlavor per kind of node, a
 * ClusterQueue per team with its quotas in a shared cohort, a LocalQueue in the team's namespace, and the
 * label and `suspend` that hand a Job or JobSet to Kueue. Kueue v0.17 serves `kueue.x-k8s.io/v1beta2`
 * (its storage version, so the API server never calls Kueue's conversion webhook for these objects).
 */
import { formatQuantity } from "../common/quantity";
import type { Toleration } from "../common/kubernetes";

/** Pinned Kueue release (the chart version is the release without the "v"). */
export const KUEUE_VERSION = "0.17.0";
export const KUEUE_API_VERSION = "kueue.x-k8s.io/v1beta2";
/** The label that puts a Job or JobSet into a LocalQueue of its namespace. */
export const KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name";
/** ClusterQueues of the platform's teams share this cohort unless told otherwise, so idle quota is lent. */
export const DEFAULT_COHORT = "ml-platform";
/** ResourceFlavor of CPU and memory on any node (no node labels, no taints). */
export const DEFAULT_FLAVOR = "default";
/** ResourceFlavor name of a GPU pool. */
export function gpuFlavorName(pool: string): string {
  return `gpu-${pool}`;
}

export const GPU_RESOURCE = "nvidia.com/gpu";

export interface KueueObject {
  apiVersion: typeof KUEUE_API_VERSION;
  kind: "ResourceFlavor" | "ClusterQueue" | "LocalQueue";
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

export interface NodeTaint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** The flavor's view of a kind of node: the labels that select it and the taints it carries. */
export interface FlavorNodes {
  nodeLabels: Record<string, string>;
  nodeTaints: NodeTaint[];
}

/**
 * The nodes of a GPU pool as Kueue sees them, from the pool's scheduling contract: its node selector are
 * the flavor's node labels, and each toleration the pool hands its pods stands for a taint of its nodes.
 */
export function flavorNodesOf(scheduling: { nodeSelector: Record<string, string>; tolerations: readonly Toleration[] }): FlavorNodes {
  return {
    nodeLabels: { ...scheduling.nodeSelector },
    nodeTaints: scheduling.tolerations.map((t) => ({
      key: t.key ?? "",
      ...(t.operator === "Equal" && t.value ? { value: t.value } : {}),
      effect: t.effect ?? "NoSchedule",
    })),
  };
}

export function resourceFlavor(name: string, nodes: FlavorNodes, labels: Record<string, string> = {}): KueueObject {
  return {
    apiVersion: KUEUE_API_VERSION,
    kind: "ResourceFlavor",
    metadata: { name, ...(Object.keys(labels).length ? { labels } : {}) },
    spec: {
      ...(Object.keys(nodes.nodeLabels).length ? { nodeLabels: nodes.nodeLabels } : {}),
      ...(nodes.nodeTaints.length ? { nodeTaints: nodes.nodeTaints } : {}),
    },
  };
}

/** One resource of a flavor: what the team is guaranteed, and how much more it may borrow from the cohort. */
export interface ResourceQuotaShare {
  /** In base units (cores, bytes, GPUs). */
  nominal: number;
  /** Most it may borrow on top; undefined: no limit (only with a cohort). */
  borrowingLimit?: number;
}

/**
 * How a team's workloads may displace others (Kueue's classic preemption):
 * - `reclaimWithinCohort`: a team below its guaranteed quota takes back what others borrowed from it.
 * - `withinClusterQueue`: inside the team, higher-priority work may preempt lower-priority work.
 * Borrowing never preempts (`borrowWithinCohort: Never`): borrowed capacity is for idle quota only.
 */
export interface QueuePreemption {
  /** @default "Any" */
  reclaimWithinCohort?: "Never" | "LowerPriority" | "Any";
  /** @default "LowerPriority" */
  withinClusterQueue?: "Never" | "LowerPriority" | "LowerOrNewerEqualPriority";
}

export const DEFAULT_PREEMPTION: Required<QueuePreemption> = { reclaimWithinCohort: "Any", withinClusterQueue: "LowerPriority" };

export interface ClusterQueueInputs {
  name: string;
  /** The only namespace whose LocalQueues may submit to it. */
  namespace: string;
  /** Cohort to borrow from and lend to; undefined: none (no borrowing). */
  cohort?: string;
  cpuFlavor: string;
  cpu: ResourceQuotaShare;
  memory: ResourceQuotaShare;
  /** GPU quota per GPU flavor; empty when the cluster has no GPU pools. */
  gpus: Array<{ flavor: string } & ResourceQuotaShare>;
  preemption: Required<QueuePreemption>;
  labels?: Record<string, string>;
}

function quotaEntry(name: string, share: ResourceQuotaShare, format: (n: number) => string, cohort: string | undefined) {
  return {
    name,
    nominalQuota: format(share.nominal),
    // Kueue refuses borrowingLimit without a cohort (there is nothing to borrow from).
    ...(cohort !== undefined && share.borrowingLimit !== undefined ? { borrowingLimit: format(share.borrowingLimit) } : {}),
  };
}

/**
 * A team's ClusterQueue. Two resource groups, so each resource gets the right kind of node: CPU and memory on
 * the CPU flavor (any node), GPUs on the flavor of each GPU pool (whose node labels and taints Kueue checks
 * against the pods). A GPU pod takes its CPU and memory from the first group and its GPUs from the second.
 */
export function clusterQueue(inputs: ClusterQueueInputs): KueueObject {
  const cpu = (n: number) => formatQuantity(n, "cpu");
  const memory = (n: number) => formatQuantity(n, "memory");
  const count = (n: number) => String(n);
  const resourceGroups: unknown[] = [
    {
      coveredResources: ["cpu", "memory"],
      flavors: [{ name: inputs.cpuFlavor, resources: [quotaEntry("cpu", inputs.cpu, cpu, inputs.cohort), quotaEntry("memory", inputs.memory, memory, inputs.cohort)] }],
    },
  ];
  if (inputs.gpus.length > 0) {
    resourceGroups.push({
      coveredResources: [GPU_RESOURCE],
      flavors: inputs.gpus.map((g) => ({ name: g.flavor, resources: [quotaEntry(GPU_RESOURCE, g, count, inputs.cohort)] })),
    });
  }
  return {
    apiVersion: KUEUE_API_VERSION,
    kind: "ClusterQueue",
    metadata: { name: inputs.name, ...(inputs.labels ? { labels: inputs.labels } : {}) },
    spec: {
      ...(inputs.cohort !== undefined ? { cohortName: inputs.cohort } : {}),
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": inputs.namespace } },
      // A big job that does not fit yet does not hold back smaller ones behind it.
      queueingStrategy: "BestEffortFIFO",
      preemption: {
        reclaimWithinCohort: inputs.preemption.reclaimWithinCohort,
        borrowWithinCohort: { policy: "Never" },
        withinClusterQueue: inputs.preemption.withinClusterQueue,
      },
      resourceGroups,
    },
  };
}

export function localQueue(name: string, namespace: string, clusterQueueName: string, labels?: Record<string, string>): KueueObject {
  return {
    apiVersion: KUEUE_API_VERSION,
    kind: "LocalQueue",
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    spec: { clusterQueue: clusterQueueName },
  };
}
