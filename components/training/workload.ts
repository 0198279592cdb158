/**
 * The one builder that turns a training plan into Kubernetes objects: a batch/v1 Job for a single pod,
 * a JobSet (jobset.x-k8s.io/v1alpha2) with one replicated job per role for distributed training.
 * Pure: every input is a plain value, so tests call it directly.
 *
 * Each pod has
 * - `trainer`: the user's image, running the command under the entrypoint wrapper (scripts/entrypoint.sh);
 * - `restore-checkpoints` (init container, with checkpoints): copies the saved checkpoints into
 *   $CHECKPOINT_DIR before the command starts, so a restarted pod or JobSet resumes;
 * - `restore-logs` (init container, with logs): copies the pod's saved TensorBoard logs into
 *   $TENSORBOARD_LOG_DIR, so a restarted pod continues its run;
 * - `store-agent` (native sidecar, on every pod with logs, on the exporting role and on roles that follow
 *   checkpoints): uploads the logs and saves checkpoints while training runs, and uploads the export
 *   afterwards. Only it and the restore containers talk to the store, so only they get the store grant's
 *   environment, and the training image needs no AWS CLI.
 */
import { scriptsVolume, scriptsVolumeMount } from "../common/container-scripts";
import { PLATFORM_LABEL_PREFIX, restrictedContainerSecurityContext, restrictedPodSecurityContext, standardLabels } from "../common/kubernetes";
import type { GpuScheduling } from "../compute/gpu-node-pool";
import { KUEUE_QUEUE_LABEL } from "../queueing/kueue-objects";
import { AWS_CLI_IMAGE, AWS_CLI_PATH } from "../serving/images";
import type { TrainingResources, TrainingWorkloadObject } from "./args";
import type { RolePlan, TrainingPlan } from "./frameworks/types";
import type { TrainingJobSpec } from "./plan";
import { trainingScriptPath, TRAINING_SCRIPTS } from "./scripts";

/**
 * Image of the store agent and checkpoint restore containers: the platform's pinned AWS CLI v2 image (the
 * one TfServing's model sync uses, so nodes pull it once).
 */
export const STORE_AGENT_IMAGE = AWS_CLI_IMAGE;
export const JOBSET_API_VERSION = "jobset.x-k8s.io/v1alpha2";

/** Where the command writes the SavedModel (`$MODEL_EXPORT_DIR`, a pod-local volume). */
export const TRAINING_EXPORT_PATH = "/var/lib/ml-platform/export";
/** `$CHECKPOINT_DIR`, a pod-local volume kept in sync with the store. */
export const TRAINING_CHECKPOINT_PATH = "/var/lib/ml-platform/checkpoints";
/** `$TENSORBOARD_LOG_DIR`: where the command writes TensorBoard logs (a pod-local volume the store agent uploads). */
export const TRAINING_LOG_PATH = "/var/lib/ml-platform/logs";
/** logs.sh's record of what it uploaded, in the store containers' `/tmp` volume. */
const LOGS_STATE_PATH = "/tmp/ml-platform-logs";
/** Directory the entrypoint wrapper and the store agent share. */
export const TRAINING_STATE_PATH = "/var/run/ml-platform";
/** Where `sourceFiles` are mounted. */
export const TRAINING_CODE_PATH = "/opt/ml-platform/code";
/** Time a pod gets after SIGTERM (preemption) to write and upload a last checkpoint. */
export const TRAINING_TERMINATION_GRACE_SECONDS = 120;

export const TRAINER_CONTAINER = "trainer";
export const STORE_AGENT_CONTAINER = "store-agent";
export const RESTORE_CONTAINER = "restore-checkpoints";
export const RESTORE_LOGS_CONTAINER = "restore-logs";
const MODEL_LABEL = `${PLATFORM_LABEL_PREFIX}/model`;
const MODEL_VERSION_LABEL = `${PLATFORM_LABEL_PREFIX}/model-version`;

const PULUMI_SKIP_AWAIT = "pulumi.com/skipAwait";
const PULUMI_TIMEOUT_SECONDS = "pulumi.com/timeoutSeconds";
const PULUMI_WAIT_FOR = "pulumi.com/waitFor";

/** A container environment variable (plain, as the API server receives it). */
export interface TrainingEnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

/** Everything the builder needs, resolved to plain values. */
export interface WorkloadInputs {
  /** The checked spec (plan, names, defaults) from `planTrainingJob`. */
  spec: TrainingJobSpec;
  /** Component name (`app.kubernetes.io/instance`). */
  instance: string;
  image: string;
  command: string[];
  args: string[];
  model: string;
  version: number;
  resources: TrainingResources;
  /** The GPU pool's scheduling; applied to pods that get GPUs. */
  scheduling?: GpuScheduling;
  store: {
    bucket: string;
    /** S3 endpoint of non-AWS stores. */
    endpoint?: string;
    /** The write grant's environment (region, endpoint, credential references). */
    grantEnv: TrainingEnvVar[];
  };
  /** The user's extra environment for the training container. */
  env: Record<string, string>;
  imagePullSecrets: string[];
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  sharedMemorySize?: string;
  /** Whether a `sourceFiles` ConfigMap is mounted at TRAINING_CODE_PATH. */
  hasSourceFiles: boolean;
}

/** `pulumi.com/*` annotations for the chosen wait. */
export function waitAnnotations(wait: TrainingJobSpec["wait"], engine: TrainingPlan["engine"]): Record<string, string> {
  if (wait.until === "created") return { [PULUMI_SKIP_AWAIT]: "true" };
  return {
    [PULUMI_TIMEOUT_SECONDS]: String(wait.timeoutMinutes * 60),
    // Jobs have a built-in awaiter; for a JobSet, Pulumi waits for the condition it is told to.
    ...(engine === "jobset" ? { [PULUMI_WAIT_FOR]: "condition=Completed" } : {}),
  };
}

function labels(inputs: WorkloadInputs, role?: string): Record<string, string> {
  return {
    ...standardLabels({ name: "training-job", instance: inputs.instance, ...(role ? { component: role } : {}) }),
    [MODEL_LABEL]: inputs.model,
    [MODEL_VERSION_LABEL]: String(inputs.version),
  };
}

/** Environment every store-facing container needs (see the store contract in model-store-backend.ts). */
function storeEnv(inputs: WorkloadInputs): TrainingEnvVar[] {
  const env: TrainingEnvVar[] = [
    { name: "S3_BUCKET", value: inputs.store.bucket },
    ...(inputs.store.endpoint ? [{ name: "S3_ENDPOINT", value: inputs.store.endpoint }] : []),
    { name: "AWS_CLI", value: AWS_CLI_PATH },
    { name: "MODEL_NAME", value: inputs.model },
    { name: "MODEL_VERSION", value: String(inputs.version) },
    { name: "HOME", value: "/tmp" },
  ];
  const names = new Set(env.map((e) => e.name));
  return [...env, ...inputs.store.grantEnv.filter((e) => !names.has(e.name))];
}

function podResources(resources: TrainingResources, gpus: number, gpuResourceName: string) {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (resources.cpu) requests.cpu = resources.cpu;
  if (resources.memory) {
    requests.memory = resources.memory;
    limits.memory = resources.memory;
  }
  if (gpus > 0) limits[gpuResourceName] = String(gpus);
  return {
    ...(Object.keys(requests).length ? { requests } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
  };
}

const AGENT_RESOURCES = { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } };

/** The pod template of one role. */
export function rolePodTemplate(role: RolePlan, inputs: WorkloadInputs) {
  const { plan, names, checkpointSaveIntervalSeconds, logUploadIntervalSeconds } = inputs.spec;
  const checkpoints = checkpointSaveIntervalSeconds !== undefined;
  const logs = logUploadIntervalSeconds !== undefined;
  const exporting = role.name === plan.exporter.role;
  const follows = checkpoints && role.checkpoints === "follow";
  const hasAgent = exporting || follows || logs;
  const gpus = role.usesGpus ? inputs.spec.gpusPerPod : 0;
  const gpuResourceName = inputs.scheduling?.gpuResourceName ?? "nvidia.com/gpu";

  const trainerEnv: TrainingEnvVar[] = [
    { name: "ML_PLATFORM_FRAMEWORK", value: plan.framework },
    { name: "ML_PLATFORM_ROLE", value: role.name },
    ...(exporting ? [{ name: "ML_PLATFORM_EXPORTER_INDEX", value: String(plan.exporter.index) }] : []),
    ...(hasAgent ? [{ name: "ML_PLATFORM_STATE_DIR", value: TRAINING_STATE_PATH }] : []),
    { name: "MODEL_NAME", value: inputs.model },
    { name: "MODEL_VERSION", value: String(inputs.version) },
    { name: "MODEL_EXPORT_DIR", value: TRAINING_EXPORT_PATH },
    ...(checkpoints ? [{ name: "CHECKPOINT_DIR", value: TRAINING_CHECKPOINT_PATH }] : []),
    ...(logs ? [{ name: "TENSORBOARD_LOG_DIR", value: TRAINING_LOG_PATH }] : []),
    ...(inputs.env.HOME === undefined ? [{ name: "HOME", value: "/tmp" }] : []),
    ...Object.entries(role.env).map(([name, value]) => ({ name, value })),
    ...Object.entries(inputs.env).map(([name, value]) => ({ name, value })),
  ];
  const trainerMounts = [
    scriptsVolumeMount("scripts"),
    { name: "export", mountPath: TRAINING_EXPORT_PATH },
    ...(checkpoints ? [{ name: "checkpoints", mountPath: TRAINING_CHECKPOINT_PATH }] : []),
    ...(logs ? [{ name: "logs", mountPath: TRAINING_LOG_PATH }] : []),
    ...(hasAgent ? [{ name: "state", mountPath: TRAINING_STATE_PATH }] : []),
    { name: "tmp", mountPath: "/tmp" },
    ...(plan.sharedMemory ? [{ name: "dshm", mountPath: "/dev/shm" }] : []),
    ...(inputs.hasSourceFiles ? [{ name: "code", mountPath: TRAINING_CODE_PATH, readOnly: true }] : []),
  ];
  const trainer = {
    name: TRAINER_CONTAINER,
    image: inputs.image,
    command: ["/bin/sh", trainingScriptPath(TRAINING_SCRIPTS.entrypoint), ...inputs.command],
    ...(inputs.args.length ? { args: inputs.args } : {}),
    env: trainerEnv,
    ...(role.ports.length ? { ports: role.ports.map((p) => ({ ...p, protocol: "TCP" })) } : {}),
    resources: podResources(inputs.resources, gpus, gpuResourceName),
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: trainerMounts,
  };

  const agentTmp = { name: "agent-tmp", mountPath: "/tmp" };
  const initContainers = [];
  if (checkpoints) {
    initContainers.push({
      name: RESTORE_CONTAINER,
      image: STORE_AGENT_IMAGE,
      command: ["/bin/sh", trainingScriptPath(TRAINING_SCRIPTS.checkpoints), "restore"],
      env: [...storeEnv(inputs), { name: "CHECKPOINT_DIR", value: TRAINING_CHECKPOINT_PATH }],
      resources: AGENT_RESOURCES,
      securityContext: restrictedContainerSecurityContext(),
      volumeMounts: [scriptsVolumeMount("scripts"), { name: "checkpoints", mountPath: TRAINING_CHECKPOINT_PATH }, agentTmp],
    });
  }
  // The pod's own run: logs/<model>/<version>/<role>-<index>/ (the index comes from JOB_COMPLETION_INDEX).
  const logsEnv: TrainingEnvVar[] = logs
    ? [
        { name: "ML_PLATFORM_ROLE", value: role.name },
        { name: "TENSORBOARD_LOG_DIR", value: TRAINING_LOG_PATH },
        // What has been uploaded, per file (in the agents' /tmp volume, which the restore shares).
        { name: "LOGS_STATE_DIR", value: LOGS_STATE_PATH },
      ]
    : [];
  if (logs) {
    initContainers.push({
      name: RESTORE_LOGS_CONTAINER,
      image: STORE_AGENT_IMAGE,
      command: ["/bin/sh", trainingScriptPath(TRAINING_SCRIPTS.logs), "restore"],
      env: [...storeEnv(inputs), ...logsEnv],
      resources: AGENT_RESOURCES,
      securityContext: restrictedContainerSecurityContext(),
      volumeMounts: [scriptsVolumeMount("scripts"), { name: "logs", mountPath: TRAINING_LOG_PATH }, agentTmp],
    });
  }
  if (hasAgent) {
    initContainers.push({
      name: STORE_AGENT_CONTAINER,
      image: STORE_AGENT_IMAGE,
      // A native sidecar: starts before the trainer, runs beside it, and is stopped after it.
      restartPolicy: "Always",
      command: ["/bin/sh", trainingScriptPath(TRAINING_SCRIPTS.storeAgent)],
      env: [
        ...storeEnv(inputs),
        { name: "ML_PLATFORM_STATE_DIR", value: TRAINING_STATE_PATH },
        ...(exporting ? [{ name: "ML_PLATFORM_EXPORTER_INDEX", value: String(plan.exporter.index) }] : []),
        ...(follows ? [{ name: "ML_PLATFORM_CHECKPOINT_FOLLOW", value: "true" }] : []),
        ...(checkpoints
          ? [
              { name: "CHECKPOINT_DIR", value: TRAINING_CHECKPOINT_PATH },
              { name: "ML_PLATFORM_CHECKPOINT_INTERVAL", value: String(checkpointSaveIntervalSeconds) },
            ]
          : []),
        ...(logs ? [...logsEnv, { name: "ML_PLATFORM_LOGS_INTERVAL", value: String(logUploadIntervalSeconds) }] : []),
        { name: "MODEL_EXPORT_DIR", value: TRAINING_EXPORT_PATH },
      ],
      resources: AGENT_RESOURCES,
      securityContext: restrictedContainerSecurityContext(),
      volumeMounts: [
        scriptsVolumeMount("scripts"),
        { name: "export", mountPath: TRAINING_EXPORT_PATH, readOnly: true },
        ...(checkpoints ? [{ name: "checkpoints", mountPath: TRAINING_CHECKPOINT_PATH, readOnly: !follows }] : []),
        ...(logs ? [{ name: "logs", mountPath: TRAINING_LOG_PATH, readOnly: true }] : []),
        { name: "state", mountPath: TRAINING_STATE_PATH },
        agentTmp,
      ],
    });
  }

  const volumes = [
    scriptsVolume("scripts", names.scripts),
    { name: "export", emptyDir: {} },
    ...(checkpoints ? [{ name: "checkpoints", emptyDir: {} }] : []),
    ...(logs ? [{ name: "logs", emptyDir: {} }] : []),
    ...(hasAgent ? [{ name: "state", emptyDir: {} }] : []),
    { name: "tmp", emptyDir: {} },
    ...(checkpoints || hasAgent ? [{ name: "agent-tmp", emptyDir: {} }] : []),
    ...(plan.sharedMemory ? [{ name: "dshm", emptyDir: { medium: "Memory", ...(inputs.sharedMemorySize ? { sizeLimit: inputs.sharedMemorySize } : {}) } }] : []),
    ...(inputs.hasSourceFiles ? [{ name: "code", configMap: { name: names.code, defaultMode: 0o444 } }] : []),
  ];

  const onGpus = gpus > 0 && inputs.scheduling !== undefined;
  return {
    metadata: { labels: labels(inputs, role.name) },
    spec: {
      serviceAccountName: names.serviceAccount,
      // No Kubernetes API token in the pod. EKS Pod Identity does not need it: its webhook adds its own
      // projected token volume (audience pods.eks.amazonaws.com) to the pods it injects credentials into.
      automountServiceAccountToken: false,
      // Every retry is a new pod, so the restore init container runs again and nothing stale is reused.
      restartPolicy: "Never",
      terminationGracePeriodSeconds: TRAINING_TERMINATION_GRACE_SECONDS,
      securityContext: restrictedPodSecurityContext(),
      ...(inputs.imagePullSecrets.length ? { imagePullSecrets: inputs.imagePullSecrets.map((name) => ({ name })) } : {}),
      ...(onGpus ? { nodeSelector: inputs.scheduling!.nodeSelector, tolerations: inputs.scheduling!.tolerations } : {}),
      ...(initContainers.length ? { initContainers } : {}),
      containers: [trainer],
      volumes,
    },
  };
}

/**
 * The labels of the Job or JobSet itself: the pods' labels, plus the Kueue queue it is submitted to. Kueue
 * only looks at the top-level object; it admits a workload by setting `spec.suspend` to false.
 */
function workloadLabels(inputs: WorkloadInputs): Record<string, string> {
  return { ...labels(inputs), ...(inputs.spec.queue !== undefined ? { [KUEUE_QUEUE_LABEL]: inputs.spec.queue } : {}) };
}

/**
 * Queued workloads are created suspended: Kueue starts them when their quota admits them. (Kueue's own webhook
 * would suspend them too, but clusters that do not call webhooks, and the order of admission plugins, should not
 * decide whether pods start before admission.)
 */
function suspension(inputs: WorkloadInputs): { suspend?: true } {
  return inputs.spec.queue !== undefined ? { suspend: true } : {};
}

/** Pod disruptions (spot reclaims, drains, preemption) carry this condition. */
const DISRUPTION = [{ type: "DisruptionTarget", status: "True" }];

function singleJob(inputs: WorkloadInputs): TrainingWorkloadObject {
  const { plan, names, namespace, backoffLimit, wait } = inputs.spec;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: names.workload, namespace, labels: workloadLabels(inputs), annotations: waitAnnotations(wait, plan.engine) },
    spec: {
      ...suspension(inputs),
      backoffLimit,
      ...(inputs.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: inputs.activeDeadlineSeconds } : {}),
      ...(inputs.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: inputs.ttlSecondsAfterFinished } : {}),
      // A disrupted pod is replaced without using up a retry (and only once it is gone, so its last
      // checkpoint upload finishes before the new pod restores).
      podFailurePolicy: { rules: [{ action: "Ignore", onPodConditions: DISRUPTION }] },
      template: rolePodTemplate(plan.roles[0], inputs),
    },
  };
}

function jobSet(inputs: WorkloadInputs): TrainingWorkloadObject {
  const { plan, names, namespace, backoffLimit, wait } = inputs.spec;
  return {
    apiVersion: JOBSET_API_VERSION,
    kind: "JobSet",
    metadata: { name: names.workload, namespace, labels: workloadLabels(inputs), annotations: waitAnnotations(wait, plan.engine) },
    spec: {
      ...suspension(inputs),
      // Stable pod host names <jobset>-<role>-0-<index>.<jobset> through a headless Service JobSet manages.
      network: { enableDNSHostnames: true, subdomain: names.workload, publishNotReadyAddresses: true },
      successPolicy: { operator: "All", ...(plan.successRoles.length ? { targetReplicatedJobs: plan.successRoles } : {}) },
      failurePolicy: {
        maxRestarts: backoffLimit,
        // Distributed training restarts as a whole; wait for the old pods (and their last checkpoint
        // upload) to be gone before the new ones restore.
        restartStrategy: "BlockingRecreate",
        rules: [
          { name: "FailOnDeadline", action: "FailJobSet", onJobFailureReasons: ["DeadlineExceeded"] },
          { name: "RestartOnDisruption", action: "RestartJobSetAndIgnoreMaxRestarts", onJobFailureReasons: ["PodFailurePolicy"] },
        ],
      },
      replicatedJobs: plan.roles.map((role) => ({
        name: role.name,
        replicas: 1,
        template: {
          metadata: { labels: labels(inputs, role.name) },
          spec: {
            completionMode: "Indexed",
            completions: role.replicas,
            parallelism: role.replicas,
            // Any pod failure fails its Job, and the JobSet restarts everything together.
            backoffLimit: 0,
            ...(inputs.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: inputs.activeDeadlineSeconds } : {}),
            // Disruptions fail the Job with reason PodFailurePolicy, which the JobSet restarts for free.
            podFailurePolicy: { rules: [{ action: "FailJob", onPodConditions: DISRUPTION }] },
            template: rolePodTemplate(role, inputs),
          },
        },
      })),
      ...(inputs.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: inputs.ttlSecondsAfterFinished } : {}),
    },
  };
}

/** The Job (single pod) or JobSet (distributed) for a plan. */
export function buildTrainingWorkload(inputs: WorkloadInputs): TrainingWorkloadObject {
  return inputs.spec.plan.engine === "job" ? singleJob(inputs) : jobSet(inputs);
}
