/** Arguments of the TfServing component. */
import type * as pulumi from "@pulumi/pulumi";
import type { GpuNodePool } from "../compute/gpu-node-pool";
import type { ModelStoreBackend } from "../storage/model-store-backend";

/**
 * Which versions of a model are served. One of:
 * - `{ latest: n }`: the n highest complete versions (n >= 1);
 * - `{ all: true }`: every complete version (each takes memory: see docs/operations.md on sizing);
 * - `{ specific: [v, ...] }`: exactly these versions; the pods do not start until all of them exist.
 */
export type VersionPolicy = { latest: number } | { all: true } | { specific: number[] };

export interface ServedModel {
  /**
   * Model name: the directory `models/<name>/` in its store and the name clients ask TF Serving for.
   * 1-63 lowercase letters, digits, "-" or "_"; unique within a TfServing.
   * @example "linear"
   */
  name: string;
  /** The store that holds `models/<name>/<version>/`. Models of one TfServing may come from different stores. */
  store: ModelStoreBackend;
  /**
   * Which complete versions are downloaded and served.
   * @default { latest: 1 }
   */
  versionPolicy?: VersionPolicy;
  /**
   * Version labels such as `stable` and `canary`, mapped to versions. Every labelled version must be served
   * by the policy, so labels need `{ specific: [...] }` (listing the version) or `{ all: true }` (the pods
   * then wait until the version exists); with `{ latest: n }` which versions are served changes over time.
   * Label names: 1-63 letters, digits, "-", "_" or ".", starting with a letter.
   * @default {}
   * @example { stable: 3, canary: 4 }
   */
  versionLabels?: Record<string, number>;
}

export interface TfServingResources {
  /**
   * CPU request of the TF Serving container (no CPU limit, so latency is not hurt by throttling). Also the
   * base of the autoscaler's utilization target.
   * @default "1"
   */
  cpu?: string;
  /**
   * Memory request and limit of the TF Serving container. TF Serving loads a new version before it unloads
   * the old one, so leave room for two versions of every model at once (see docs/operations.md).
   * @default "2Gi"
   */
  memory?: string;
  /**
   * GPUs per pod. Requires `gpuPool`; at most the pool's GPUs per node. Switches the default image to the
   * `-gpu` variant.
   * @default 0
   */
  gpus?: number;
}

export interface BatchingArgs {
  /** Largest batch TF Serving forms. Positive integer. */
  maxBatchSize: number;
  /** How long (microseconds) a request may wait for a batch to fill. Integer >= 0. */
  batchTimeoutMicros: number;
  /** Threads that process batches. Positive integer. @default TF Serving's default */
  numBatchThreads?: number;
  /** Most batches waiting in the queue before requests are rejected. Positive integer. @default TF Serving's default */
  maxEnqueuedBatches?: number;
}

export interface AutoscalingArgs {
  /** Fewest replicas; at least 1. */
  minReplicas: number;
  /** Most replicas; at least minReplicas. */
  maxReplicas: number;
  /**
   * Average CPU utilization to aim for, in percent of the CPU request (1-100).
   * @default 70
   */
  targetCpuUtilization?: number;
}

interface ServiceCommonArgs {
  /** Extra annotations for the Service (e.g. for a service mesh). @default {} */
  annotations?: Record<string, string>;
  /**
   * Also declare a headless Service (`<name>-headless`) whose DNS name resolves to every ready pod, for gRPC
   * clients that balance across pods themselves and for the smoke suite's per-pod checks.
   * @default true
   */
  headless?: boolean;
}

/** How the main Service is exposed. */
export type TfServingServiceArgs =
  | (ServiceCommonArgs & {
      /** Reachable inside the cluster only. */
      type?: "ClusterIP";
    })
  | (ServiceCommonArgs & {
      /**
       * An internal AWS Network Load Balancer in front of the pods (IP targets), reachable from the VPC.
       * Needs the AWS Load Balancer Controller in the cluster.
       */
      type: "InternalLoadBalancer";
      /** CIDRs allowed to connect through the load balancer. @default the VPC (the controller's default) */
      sourceRanges?: string[];
    });

export interface TfServingArgs {
  /** The models to serve; at least one, with unique names. */
  models: ServedModel[];
  /** Name of the EKS cluster, for the EKS Pod Identity association of the model store grants. */
  clusterName: pulumi.Input<string>;
  /**
   * Kubernetes namespace of every object. It must exist.
   * @default "default"
   */
  namespace?: string;
  /**
   * TF Serving image. It must be pinned: `<repository>:<major>.<minor>.<patch>` or `...-gpu` (the tag
   * format of `tensorflow/serving`), optionally with `@sha256:<digest>`, or `<repository>@sha256:<digest>`.
   * With GPUs a tagged image must be a `-gpu` build. The default images are built for linux/amd64 only, so
   * their pods select `kubernetes.io/arch: amd64` nodes; a custom image runs wherever it is scheduled.
   * @default `tensorflow/serving:2.19.1`, or `tensorflow/serving:2.19.1-gpu` when `resources.gpus` > 0
   */
  image?: string;
  /**
   * Image of the model sync containers: any image with the AWS CLI v2 (as `aws`) and a POSIX shell at
   * `/bin/sh`, pinned like `image`.
   * @default `amazon/aws-cli:2.37.4`
   */
  syncImage?: string;
  /**
   * Number of pods when there is no autoscaling (conflicts with `autoscaling`). At least 1.
   * @default 2
   */
  replicas?: number;
  /** Resources of the TF Serving container. @default { cpu: "1", memory: "2Gi", gpus: 0 } */
  resources?: TfServingResources;
  /**
   * The GPU node pool to run on; required when `resources.gpus` > 0. Its node selector and tolerations are
   * used; its architecture (when known) is checked against the image.
   */
  gpuPool?: Pick<GpuNodePool, "scheduling" | "gpusPerNode" | "gpuResourceName"> & Partial<Pick<GpuNodePool, "architecture">>;
  /** Server-side request batching (`--enable_batching` with a BatchingParameters file). @default off */
  batching?: BatchingArgs;
  /**
   * Prometheus metrics at `/monitoring/prometheus/metrics` on the REST port, with the usual
   * `prometheus.io/*` scrape annotations on the pods.
   * @default false
   */
  monitoring?: boolean;
  /** A HorizontalPodAutoscaler (autoscaling/v2) on CPU utilization. Conflicts with `replicas`. @default none */
  autoscaling?: AutoscalingArgs;
  /**
   * Seconds between two syncs of the sidecar that downloads new model versions. Positive integer.
   * @default 30
   */
  syncIntervalSeconds?: number;
  /** The Service: ClusterIP (default) or an internal AWS NLB; plus the optional headless Service. @default { type: "ClusterIP", headless: true } */
  service?: TfServingServiceArgs;
  /**
   * A PodDisruptionBudget, so that node drains keep enough pods serving; `false` for none.
   * @default { maxUnavailable: 1 } when there are at least 2 replicas (or minReplicas >= 2), else none
   */
  podDisruptionBudget?: { maxUnavailable: number } | false;
  /**
   * How long a pod may take to download and load its models before Kubernetes restarts it. Positive
   * integer; raise it for very large models.
   * @default 900
   */
  startupTimeoutSeconds?: number;
  /**
   * gRPC connections are closed (gracefully, with GOAWAY) after this many seconds, so that long-lived
   * client connections re-spread over new pods and leave terminating ones in time. 5-3600.
   * @default 30
   */
  grpcMaxConnectionAgeSeconds?: number;
  /**
   * Seconds a terminating pod keeps serving before it is told to stop, while it is removed from the
   * Service endpoints. Integer >= 1.
   * @default 10
   */
  preStopDelaySeconds?: number;
  /**
   * Seconds between the start of a pod's termination and its forced stop. Must cover the preStop delay
   * plus one gRPC connection age and its grace period, so every client connection is closed gracefully.
   * @default preStopDelaySeconds + 1.1 * grpcMaxConnectionAgeSeconds + 10 + 5, rounded up
   */
  terminationGracePeriodSeconds?: number;
  /**
   * Size limit of the emptyDir that holds the downloaded models (on the node's disk). It needs room for the
   * served versions plus one version being downloaded.
   * @default no limit
   * @example "20Gi"
   */
  modelsVolumeSizeLimit?: string;
}
