/**
 * The shape of the platform's stack config (`ml-platform:*` keys of `stacks/Pulumi.<stack>.yaml`), as zod
 * schemas. Every object is strict: an unknown key is a typo and an error. Cross-references (a serving that
 * names an unknown store) are checked in references.ts; component rules by the components' own validators.
 */
import { z } from "zod";
import { GPU_AMI_TYPES } from "../../components/compute/gpu-instances";

const resourceName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be lowercase letters, digits and '-', starting and ending with a letter or digit")
  .max(32);
const modelName = z.string().regex(/^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$/, "must be lowercase letters, digits, '-' or '_', starting and ending with a letter or digit").max(63);
const namespace = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS label (lowercase letters, digits, '-')").max(63);
/** Versions are positive integers; `pulumi config set --path` may store them as strings. */
const version = z.preprocess((v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v), z.number().int().positive());
const positiveInt = z.preprocess((v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v), z.number().int().positive());
const quantity = z.string().min(1);
const stringMap = z.record(z.string(), z.string());

/** Defaults an omitted `type` discriminator, so the common case needs no `type:` line. */
function withDefaultType(defaultType: string) {
  return (value: unknown) =>
    value && typeof value === "object" && !Array.isArray(value) && !("type" in value) ? { type: defaultType, ...value } : value;
}

// ---- cluster -------------------------------------------------------------------------------------

const eksCluster = z.strictObject({
  /** An existing EKS cluster, reached with `aws eks get-token`. */
  type: z.literal("eks"),
  name: z.string().min(1),
  /** Default subnets of GPU node pools (usually the private subnets, one per zone). */
  subnetIds: z.array(z.string().min(1)).min(1).optional(),
  /** Namespace of the platform's workloads (created, with Pod Security "restricted" enforced). */
  namespace: namespace.default("ml"),
  /** Install the EKS Pod Identity Agent add-on (model store grants need it). */
  installPodIdentityAgent: z.boolean().default(false),
});

const localCluster = z.strictObject({
  /** A local cluster (kind, k3d, minikube, Docker Desktop) from the current kubeconfig. No AWS. */
  type: z.literal("local"),
  /** kubeconfig context to use. @default the current context */
  context: z.string().min(1).optional(),
  namespace: namespace.default("ml"),
});

export const clusterSchema = z.preprocess(withDefaultType("eks"), z.discriminatedUnion("type", [eksCluster, localCluster]));

// ---- stores --------------------------------------------------------------------------------------

const s3Store = z.strictObject({
  /** An S3 bucket (ModelStore). */
  type: z.literal("s3"),
  name: resourceName,
  bucketName: z.string().optional(),
  kmsKeyArn: z.string().startsWith("arn:").optional(),
  forceDestroy: z.boolean().optional(),
  deletionProtection: z.boolean().optional(),
  noncurrentVersionDays: z.number().optional(),
  abortIncompleteUploadDays: z.number().optional(),
  /** Models this store holds; servings and trainings may only name these. */
  models: z.array(modelName).default([]),
  tags: stringMap.optional(),
});

const inClusterStore = z.strictObject({
  /** An S3-compatible server inside the cluster (InClusterModelStore). */
  type: z.literal("in-cluster"),
  name: resourceName,
  bucketName: z.string().optional(),
  storageSize: quantity.optional(),
  storageClassName: z.string().min(1).optional(),
  models: z.array(modelName).default([]),
});

export const storeSchema = z.preprocess(withDefaultType("s3"), z.discriminatedUnion("type", [s3Store, inClusterStore]));

// ---- GPU pools -----------------------------------------------------------------------------------

const taint = z.strictObject({ key: z.string(), value: z.string().optional(), effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]) });

const eksGpuPool = z.strictObject({
  /** An EKS managed node group the program creates (GpuNodePool). */
  type: z.literal("eks"),
  name: resourceName,
  instanceTypes: z.array(z.string()).min(1),
  amiType: z.enum(GPU_AMI_TYPES).optional(),
  capacityType: z.enum(["ON_DEMAND", "SPOT"]).optional(),
  scaling: z.strictObject({ min: z.number(), desired: z.number(), max: z.number() }),
  diskSizeGiB: z.number().optional(),
  labels: stringMap.optional(),
  taint: z.union([z.literal(false), taint]).optional(),
  subnetIds: z.array(z.string().min(1)).min(1).optional(),
  version: z.string().optional(),
  clusterAutoscaler: z.boolean().optional(),
  maxUnavailable: z.number().optional(),
  tags: stringMap.optional(),
});

const existingGpuPool = z.strictObject({
  /** GPU nodes that exist already (a GPU workstation's kind or k3s, nodes managed elsewhere): nothing is created. */
  type: z.literal("existing"),
  name: resourceName,
  /** Labels that select the nodes. */
  nodeLabels: stringMap,
  gpusPerNode: positiveInt,
  /** The taint the nodes carry, if any. */
  taint: z.union([z.literal(false), taint]).optional(),
  architecture: z.enum(["x86_64", "arm64"]).optional(),
});

export const gpuPoolSchema = z.preprocess(withDefaultType("eks"), z.discriminatedUnion("type", [eksGpuPool, existingGpuPool]));

// ---- releases: the promotion path ---------------------------------------------------------------

/**
 * What an environment serves of a model: exactly these versions, and labels pointing at them. CI promotion
 * changes only this key (`ml-platform:releases.<model>`).
 */
export const releaseSchema = z.strictObject({
  versions: z.array(version).min(1),
  labels: z.record(z.string(), version).default({}),
});

// ---- servings ------------------------------------------------------------------------------------

const versionPolicy = z.union([
  z.strictObject({ latest: positiveInt }),
  z.strictObject({ all: z.literal(true) }),
  z.strictObject({ specific: z.array(version).min(1) }),
]);

/** Per-model smoke-test data merged into the `smokeTargets` output (contracts/smoke-targets.ts). */
const smokeOverrides = z.strictObject({
  signature: z.string().min(1).optional(),
  request: z.strictObject({ signature_name: z.string().optional(), inputs: z.record(z.string(), z.unknown()) }).optional(),
  expect: z.strictObject({ outputs: z.record(z.string(), z.unknown()), tolerance: z.number().nonnegative().optional() }).optional(),
  latencyMsP95: z.number().positive().optional(),
});

const servedModel = z.strictObject({
  name: modelName,
  /** Name of a store in `stores`. */
  store: resourceName,
  /** Which versions to serve; omit when `releases.<model>` pins them. @default { latest: 1 } */
  versionPolicy: versionPolicy.optional(),
  smoke: smokeOverrides.optional(),
});

export const servingSchema = z.strictObject({
  name: resourceName,
  /** Name of a team in `teams`: the serving runs in the team's namespace (then leave `namespace` unset). */
  team: resourceName.optional(),
  namespace: namespace.optional(),
  models: z.array(servedModel).min(1),
  replicas: positiveInt.optional(),
  resources: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional(), gpus: z.number().optional() }).optional(),
  /** Name of a pool in `gpuPools`. */
  gpuPool: resourceName.optional(),
  image: z.string().optional(),
  batching: z
    .strictObject({ maxBatchSize: z.number(), batchTimeoutMicros: z.number(), numBatchThreads: z.number().optional(), maxEnqueuedBatches: z.number().optional() })
    .optional(),
  monitoring: z.boolean().optional(),
  autoscaling: z.strictObject({ minReplicas: z.number(), maxReplicas: z.number(), targetCpuUtilization: z.number().optional() }).optional(),
  syncIntervalSeconds: z.number().optional(),
  service: z
    .strictObject({
      type: z.enum(["ClusterIP", "InternalLoadBalancer"]).optional(),
      annotations: stringMap.optional(),
      headless: z.boolean().optional(),
      sourceRanges: z.array(z.string()).optional(),
    })
    .optional(),
  podDisruptionBudget: z.union([z.literal(false), z.strictObject({ maxUnavailable: z.number() })]).optional(),
  startupTimeoutSeconds: z.number().optional(),
  modelsVolumeSizeLimit: quantity.optional(),
});

// ---- trainings -----------------------------------------------------------------------------------

const trainingCommon = {
  name: resourceName,
  /** Name of a team in `teams`: the training runs in the team's namespace, submitted to its Kueue queue. */
  team: resourceName.optional(),
  namespace: namespace.optional(),
  /** Name of a store in `stores`; the job writes `models/<model>/<version>/` there. */
  store: resourceName,
  model: modelName,
  version,
  resources: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional(), gpus: z.number().optional() }).optional(),
  gpuPool: resourceName.optional(),
  checkpoints: z.union([z.literal(true), z.strictObject({ saveIntervalSeconds: z.number().optional() })]).optional(),
  /** TensorBoard logs of every pod (`$TENSORBOARD_LOG_DIR`); `false` turns them off. @default on, uploaded every 30 s */
  logs: z.union([z.boolean(), z.strictObject({ uploadIntervalSeconds: z.number().optional() })]).optional(),
  env: stringMap.optional(),
  wait: z.union([z.strictObject({ until: z.literal("complete"), timeoutMinutes: z.number().optional() }), z.strictObject({ until: z.literal("created") })]).optional(),
  backoffLimit: z.number().optional(),
  activeDeadlineSeconds: z.number().optional(),
  ttlSecondsAfterFinished: z.number().optional(),
  imagePullSecrets: z.array(z.string()).optional(),
  sharedMemorySize: quantity.optional(),
};

/** The example trainer of examples/linear (TensorFlow, single pod), for stacks without a training image. */
const exampleTrainer = z.strictObject({
  name: z.literal("linear"),
  slope: z.number().optional(),
  intercept: z.number().optional(),
  trainSteps: z.number().optional(),
});

const USER_TRAINER_KEYS = ["framework", "mode", "replicas", "image", "command", "args"] as const;
const REQUIRED_USER_TRAINER_KEYS = ["framework", "mode", "image", "command"] as const;

/** A training job: the user's image (`framework`, `mode`, `image`, `command`, ...) or `example`. */
export const trainingSchema = z
  .strictObject({
    ...trainingCommon,
    framework: z.string().optional(),
    mode: z.string().optional(),
    replicas: z.record(z.string(), z.number()).optional(),
    image: z.string().min(1).optional(),
    command: z.array(z.string()).min(1).optional(),
    args: z.array(z.string()).optional(),
    example: exampleTrainer.optional(),
  })
  .superRefine((training, ctx) => {
    if (training.example) {
      for (const key of USER_TRAINER_KEYS) {
        if (training[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: "cannot be set together with example (the example trainer brings its own)" });
      }
    } else {
      for (const key of REQUIRED_USER_TRAINER_KEYS) {
        if (training[key] === undefined) ctx.addIssue({ code: "custom", path: [key], message: "is required (or use example: { name: linear } for the example trainer)" });
      }
    }
  });

// ---- mobile exports ------------------------------------------------------------------------------

/** A complete model version converted to TensorFlow Lite for phones (MobileExport). */
export const mobileExportSchema = z.strictObject({
  name: resourceName,
  /** Name of a team in `teams`: the export runs in the team's namespace (then leave `namespace` unset). */
  team: resourceName.optional(),
  namespace: namespace.optional(),
  /** Name of a store in `stores`: it holds `models/<model>/<version>/`, and gets `mobile/<model>/<version>/`. */
  store: resourceName,
  model: modelName,
  version,
  signature: z.string().min(1).optional(),
  optimize: z.enum(["none", "float16", "dynamic-range"]).optional(),
  maxAbsDiff: z.number().nonnegative().optional(),
  /** One batch ({ input: nested list }) or a list of batches. */
  sampleInputs: z.union([z.record(z.string(), z.unknown()), z.array(z.record(z.string(), z.unknown())).min(1)]).optional(),
  /** Pinned image with python3 and TensorFlow. */
  converterImage: z.string().min(1).optional(),
  resources: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).optional(),
  versionWaitMinutes: positiveInt.optional(),
  wait: z.union([z.strictObject({ until: z.literal("complete"), timeoutMinutes: z.number().optional() }), z.strictObject({ until: z.literal("created") })]).optional(),
  backoffLimit: z.number().optional(),
  activeDeadlineSeconds: z.number().optional(),
  ttlSecondsAfterFinished: z.number().optional(),
  imagePullSecrets: z.array(z.string()).optional(),
});

// ---- TensorBoards --------------------------------------------------------------------------------

/** A TensorBoard for the training logs of some models (the TensorBoard component). */
export const tensorboardSchema = z.strictObject({
  name: resourceName,
  /** Name of a team in `teams`: the TensorBoard runs in the team's namespace, reachable from inside the team only. */
  team: resourceName.optional(),
  namespace: namespace.optional(),
  /** The models whose trainings' logs it shows, each from a store in `stores`. */
  models: z.array(z.strictObject({ name: modelName, store: resourceName })).min(1),
  image: z.string().min(1).optional(),
  resources: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).optional(),
  syncIntervalSeconds: positiveInt.optional(),
  logsVolumeSizeLimit: quantity.optional(),
  pathPrefix: z.string().optional(),
});

// ---- the JobSet controller ----------------------------------------------------------------------

/** How the JobSet controller is installed when a distributed training needs it (JobSetController args). */
export const jobSetSchema = z.strictObject({
  /** Chart reference or local chart path (a mirror for clusters without registry access). */
  chart: z.string().min(1).optional(),
  /** Chart version (the JobSet release without "v"). */
  version: z.string().optional(),
  namespace: namespace.optional(),
  /** Chart values. */
  values: z.record(z.string(), z.unknown()).optional(),
});

// ---- teams and Kueue -------------------------------------------------------------------------------

const nonNegativeInt = z.preprocess((v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v), z.number().int().nonnegative());
const port = z.number().int().min(1).max(65535);

/**
 * Who may connect: a team's pods (`team`), the pods of a namespace (`namespace`, optionally only those with all of
 * `podLabels`), or addresses (`cidr` minus `except`).
 */
const networkPeer = z
  .strictObject({
    team: resourceName.optional(),
    namespace: namespace.optional(),
    podLabels: stringMap.optional(),
    cidr: z.string().min(1).optional(),
    except: z.array(z.string().min(1)).optional(),
  })
  .superRefine((peer, ctx) => {
    const kinds = [peer.team, peer.namespace, peer.cidr].filter((v) => v !== undefined).length;
    if (kinds !== 1) ctx.addIssue({ code: "custom", message: "set exactly one of team, namespace (with podLabels?) or cidr (with except?)" });
    if (peer.podLabels && peer.namespace === undefined && peer.team === undefined) ctx.addIssue({ code: "custom", path: ["podLabels"], message: "needs team or namespace: which namespace's pods" });
    if (peer.except && peer.cidr === undefined) ctx.addIssue({ code: "custom", path: ["except"], message: "only applies to cidr" });
  });

const queuePreemption = z.strictObject({
  reclaimWithinCohort: z.enum(["Never", "LowerPriority", "Any"]).optional(),
  withinClusterQueue: z.enum(["Never", "LowerPriority", "LowerOrNewerEqualPriority"]).optional(),
});

export const teamSchema = z.strictObject({
  name: resourceName,
  /** The team's namespace. @default the team's name */
  namespace: namespace.optional(),
  /** Kubernetes groups of the members (EKS access entries' kubernetesGroups), bound to `edit` in the namespace. */
  groups: z.array(z.string().min(1)).min(1),
  /** The namespace's ResourceQuota: the most the team's pods may request at once, and object counts. */
  quota: z.strictObject({
    cpu: quantity,
    memory: quantity,
    gpus: nonNegativeInt.optional(),
    pods: nonNegativeInt.optional(),
    services: nonNegativeInt.optional(),
    loadBalancers: nonNegativeInt.optional(),
    configMaps: nonNegativeInt.optional(),
    secrets: nonNegativeInt.optional(),
    persistentVolumeClaims: nonNegativeInt.optional(),
    jobs: nonNegativeInt.optional(),
  }),
  /** Requests given to containers that set none (the namespace's LimitRange). */
  defaults: z.strictObject({ cpuRequest: quantity.optional(), memoryRequest: quantity.optional() }).optional(),
  /** What the team's Kueue queue guarantees its trainings; the quota above it is what the team may borrow. */
  queue: z
    .strictObject({
      cpu: quantity.optional(),
      memory: quantity.optional(),
      /** GPUs guaranteed: a number with one GPU pool, else per pool name. */
      gpus: z.union([nonNegativeInt, z.record(resourceName, nonNegativeInt)]).optional(),
      preemption: queuePreemption.optional(),
    })
    .default({}),
  /** Which of the team's servings may be called from where (besides the team's own pods). */
  servingCallers: z.array(z.strictObject({ serving: resourceName, from: z.array(networkPeer).min(1) })).default([]),
  /** More traffic the team's pods may start: to a peer, on TCP ports (all when omitted). */
  egress: z.array(z.strictObject({ to: networkPeer, ports: z.array(port).optional() })).default([]),
});

/** How Kueue is installed when the stack has teams (KueueController args), and the teams' cohort. */
export const kueueSchema = z.strictObject({
  /** Chart reference or local chart path (a mirror for clusters without registry access). */
  chart: z.string().min(1).optional(),
  /** Chart version (the Kueue release without "v"). */
  version: z.string().optional(),
  namespace: namespace.optional(),
  /** Chart values. */
  values: z.record(z.string(), z.unknown()).optional(),
  /** The cohort the teams' queues share (lend and borrow in). */
  cohort: resourceName.optional(),
});

// ---- the whole config ----------------------------------------------------------------------------

export const platformConfigSchema = z.strictObject({
  cluster: clusterSchema,
  stores: z.array(storeSchema).default([]),
  gpuPools: z.array(gpuPoolSchema).default([]),
  releases: z.record(modelName, releaseSchema).default({}),
  servings: z.array(servingSchema).default([]),
  trainings: z.array(trainingSchema).default([]),
  jobSet: jobSetSchema.default({}),
  teams: z.array(teamSchema).default([]),
  kueue: kueueSchema.default({}),
  mobileExports: z.array(mobileExportSchema).default([]),
  tensorboards: z.array(tensorboardSchema).default([]),
});

export type PlatformConfig = z.infer<typeof platformConfigSchema>;
export type ClusterConfig = PlatformConfig["cluster"];
export type StoreConfig = PlatformConfig["stores"][number];
export type GpuPoolConfig = z.infer<typeof gpuPoolSchema>;
export type ReleaseConfig = z.infer<typeof releaseSchema>;
export type ServingConfig = z.infer<typeof servingSchema>;
export type TrainingConfig = z.infer<typeof trainingSchema>;
export type JobSetConfig = z.infer<typeof jobSetSchema>;
export type TeamConfig = z.infer<typeof teamSchema>;
export type NetworkPeerConfig = TeamConfig["servingCallers"][number]["from"][number];
export type KueueConfig = z.infer<typeof kueueSchema>;
export type EksGpuPoolConfig = Extract<GpuPoolConfig, { type: "eks" }>;
export type MobileExportConfig = z.infer<typeof mobileExportSchema>;
export type TensorBoardConfig = z.infer<typeof tensorboardSchema>;

/** Top-level config keys the program reads (without the `ml-platform:` namespace). */
export const CONFIG_KEYS = Object.keys(platformConfigSchema.shape) as Array<keyof PlatformConfig>;
