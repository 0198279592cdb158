/** Team's arguments. */
import type * as pulumi from "@pulumi/pulumi";
import type { QueuePreemption } from "../queueing/kueue-objects";

/**
 * The namespace's ResourceQuota: the most the team's pods may request at once, queued or not (trainings,
 * servings, anything a member starts), and how many objects it may hold.
 */
export interface TeamQuota {
  /** Total CPU requests (`requests.cpu`), a Kubernetes quantity. @example "64" */
  cpu: string;
  /** Total memory requests (`requests.memory`), a Kubernetes quantity. @example "256Gi" */
  memory: string;
  /**
   * Total NVIDIA GPUs (`requests.nvidia.com/gpu`). What the queue guarantees (`queue.gpus`) plus what it may
   * borrow from idle teams; the difference between the two is the team's borrowing limit. Integer >= 0.
   * @default 0 (no GPUs)
   */
  gpus?: number;
  /** Pods. @default 100 */
  pods?: number;
  /** Services. @default 20 */
  services?: number;
  /** Services of type LoadBalancer (e.g. servings with an internal NLB). @default 0 */
  loadBalancers?: number;
  /** ConfigMaps. @default 100 */
  configMaps?: number;
  /** Secrets. @default 100 */
  secrets?: number;
  /** PersistentVolumeClaims. @default 10 */
  persistentVolumeClaims?: number;
  /** batch/v1 Jobs (finished ones count until deleted). @default 100 */
  jobs?: number;
}

/** The namespace's LimitRange: requests given to containers that set none (the quota needs every pod to have them). */
export interface TeamDefaults {
  /** CPU request of a container without one. @default "100m" */
  cpuRequest?: string;
  /** Memory request of a container without one. @default "256Mi" */
  memoryRequest?: string;
}

/** A ResourceFlavor to give GPU quota in (e.g. `KueueController.gpuFlavor(...)`). */
export interface FlavorRef {
  readonly name: string;
  /** The declared flavor, so the queue is created after it. */
  readonly resource?: pulumi.Resource;
}

/** The team's Kueue queue: a ClusterQueue with the team's guaranteed share in the cohort, and a LocalQueue in its namespace. */
export interface TeamQueueArgs {
  /** The Kueue installation (its CPU flavor and CRDs): a KueueController. */
  kueue: { readonly defaultFlavor: FlavorRef; readonly release: pulumi.Resource };
  /**
   * Name of the ClusterQueue and of the LocalQueue in the team's namespace (what TrainingJob's `queue` names).
   * @default the component name
   */
  name?: string;
  /**
   * Cohort the team lends its idle quota to and borrows from; `false` for a queue that neither lends nor borrows.
   * @default "ml-platform"
   */
  cohort?: string | false;
  /** CPU the queue guarantees to the team's trainings; at most `quota.cpu`. @default quota.cpu */
  cpu?: string;
  /** Memory the queue guarantees; at most `quota.memory`. @default quota.memory */
  memory?: string;
  /**
   * GPUs the queue guarantees, per GPU flavor (one per pool); together at most `quota.gpus`. List every GPU
   * flavor the team may use, with 0 where it has no guarantee but may borrow.
   * @default [] (no GPU work)
   */
  gpus?: Array<{ flavor: FlavorRef; gpus: number }>;
  /** How the team's work may preempt other work (see QueuePreemption). @default { reclaimWithinCohort: "Any", withinClusterQueue: "LowerPriority" } */
  preemption?: QueuePreemption;
}

/**
 * Who may connect: the pods of a namespace (optionally only those with all of `podLabels`; both must hold,
 * as in one NetworkPolicy peer), or addresses outside the cluster (`cidr` minus `except`).
 */
export type NetworkPeer = { namespace: string; podLabels?: Record<string, string> } | { cidr: string; except?: string[] };

/** Who may call one of the team's TF Serving deployments on its gRPC (8500) and REST (8501) ports. */
export interface ServingCallers {
  /** The TfServing component's name (its pods' `app.kubernetes.io/instance`) in the team's namespace. */
  serving: string;
  /** The callers, at least one. The team's own pods may always call it. */
  from: NetworkPeer[];
}

/**
 * A model store the team's pods (serving syncs, training uploads) reach.
 * - `in-cluster`: the store's pods and port (an InClusterModelStore's `networkEndpoint`).
 * - `s3`: Amazon S3. NetworkPolicy cannot name a host (no FQDN rules), so this allows HTTPS (443) to any
 *   address, and the EKS Pod Identity agent (169.254.170.23 and fd00:ec2::23, port 80) for the credentials.
 */
export type StoreEndpoint = { type: "in-cluster"; namespace: string; podLabels: Record<string, string>; port: number } | { type: "s3" };

/** Extra traffic the team's pods may start: to a peer, on these TCP ports (all ports when omitted). */
export interface EgressRule {
  to: NetworkPeer;
  ports?: number[];
}

export interface TeamArgs {
  /** The team's namespace (created, with Pod Security "restricted" enforced). @default the component name */
  namespace?: string;
  /**
   * Kubernetes groups of the team's members (for EKS: the `kubernetesGroups` of their access entries), bound to
   * the built-in `edit` ClusterRole in the team's namespace only. At least one.
   * @example ["vision-ml-engineers"]
   */
  groups: string[];
  /** More ClusterRoles to bind the groups to in the namespace, e.g. Kueue's `kueue-batch-user-role`. @default [] */
  extraClusterRoles?: string[];
  /** The namespace's ResourceQuota. */
  quota: TeamQuota;
  /** The namespace's LimitRange defaults. @default { cpuRequest: "100m", memoryRequest: "256Mi" } */
  defaults?: TeamDefaults;
  /** The team's Kueue queue, for its trainings. @default no queue */
  queue?: TeamQueueArgs;
  /** Who outside the team may call which of its servings. @default [] (only the team's own pods) */
  servingCallers?: ServingCallers[];
  /** The model stores the team's pods reach. @default [] */
  stores?: StoreEndpoint[];
  /** More egress: other teams' servings this team calls, package mirrors, datasets. @default [] */
  egress?: EgressRule[];
  /** Where DNS answers (UDP and TCP 53). @default [{ namespace: "kube-system", podLabels: { "k8s-app": "kube-dns" } }] */
  dns?: NetworkPeer[];
}
