/**
 * From TrainingJob arguments to a checked plan: every argument is validated (all problems reported at
 * once, before any resource), then the shared plan is created from the mode's roles and the framework
 * module enforces its policy on it.
 */
import {
  dnsLabelProblem,
  isNonNegativeInteger,
  isPositiveInteger,
  IssueCollector,
  modelNameProblem,
  modelVersionProblem,
  oneOf,
  quantityProblem,
} from "../common/validation";
import type { TrainingJobArgs, TrainingResources } from "./args";
import { FRAMEWORKS, frameworkModule } from "./frameworks/registry";
import type { FrameworkModule, ModeSpec, TrainingPlan } from "./frameworks/types";

export const TRAINING_DEFAULT_NAMESPACE = "default";
export const TRAINING_DEFAULT_BACKOFF_LIMIT = 3;
export const TRAINING_DEFAULT_WAIT_TIMEOUT_MINUTES = 10;
export const TRAINING_DEFAULT_CHECKPOINT_SAVE_INTERVAL_SECONDS = 60;
export const TRAINING_DEFAULT_LOG_UPLOAD_INTERVAL_SECONDS = 30;
/** Role name of the one pod of a single-pod Job. */
export const SINGLE_ROLE = "trainer";

/** Environment the platform sets; users cannot override it through `env`. */
export const TRAINING_RESERVED_ENV = [
  "TF_CONFIG",
  "TF_CLUSTER_SPEC",
  "TF_TASK_TYPE",
  "MODEL_EXPORT_DIR",
  "CHECKPOINT_DIR",
  "TENSORBOARD_LOG_DIR",
  "MODEL_NAME",
  "MODEL_VERSION",
  "JOB_COMPLETION_INDEX",
];
const RESERVED_ENV_PREFIXES = ["ML_PLATFORM_", "DMLC_"];

/** Kubernetes names derived from the component name and the version. */
export interface TrainingNames {
  /** The Job or JobSet (also its Pulumi name): `<name>-v<version>`, so each version is a new job. */
  workload: string;
  /** The service account, shared by all versions so the store grant is not re-created per version. */
  serviceAccount: string;
  /** ConfigMap with the container scripts. */
  scripts: string;
  /** ConfigMap with `sourceFiles`. */
  code: string;
}

export function trainingNames(name: string, version: number): TrainingNames {
  const workload = `${name}-v${version}`;
  return { workload, serviceAccount: name, scripts: `${workload}-scripts`, code: `${workload}-code` };
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/;

function checkResources(resources: TrainingResources | undefined, args: TrainingJobArgs, issues: IssueCollector): void {
  if (resources === undefined) return;
  for (const key of ["cpu", "memory"] as const) {
    const problem = resources[key] === undefined ? undefined : quantityProblem(resources[key], key);
    if (problem) issues.add(`resources.${key}`, problem);
  }
  const gpus = resources.gpus;
  if (gpus === undefined || gpus === 0) return;
  if (!isPositiveInteger(gpus)) {
    issues.add("resources.gpus", `must be a whole number of GPUs >= 0 (got ${JSON.stringify(gpus)})`);
  } else if (!args.gpuPool) {
    issues.add("resources.gpus", `${gpus} GPU(s) per pod need gpuPool: a GpuNodePool whose nodes have the GPUs`);
  } else if (gpus > args.gpuPool.gpusPerNode) {
    issues.add(
      "resources.gpus",
      `${gpus} GPUs per pod, but the nodes of gpuPool have ${args.gpuPool.gpusPerNode}; ask for at most ${args.gpuPool.gpusPerNode} per pod (add pods instead)`,
    );
  }
}

function checkReplicas(module: FrameworkModule, mode: string, spec: ModeSpec, replicas: unknown, issues: IssueCollector): Record<string, number> {
  if (spec.engine === "job") {
    if (replicas !== undefined) issues.add("replicas", `${module.name} mode "${mode}" runs one pod: leave replicas unset`);
    return {};
  }
  const roles = Object.keys(spec.roles);
  if (typeof replicas !== "object" || replicas === null || Array.isArray(replicas)) {
    issues.add("replicas", `${module.name} mode "${mode}" needs pod counts per role, e.g. { ${roles.map((r) => `${r}: ${spec.roles[r].min || 1}`).join(", ")} }`);
    return {};
  }
  const counts: Record<string, number> = {};
  for (const [role, count] of Object.entries(replicas)) {
    if (!roles.includes(role)) {
      issues.add(`replicas.${role}`, `is not a role of ${module.name} "${mode}"; roles: ${oneOf(roles)}`);
    } else if (count !== undefined && !isNonNegativeInteger(count)) {
      issues.add(`replicas.${role}`, `must be a whole number of pods (got ${JSON.stringify(count)})`);
    } else if (count !== undefined) {
      counts[role] = count;
    }
  }
  for (const [role, rule] of Object.entries(spec.roles)) {
    const count = counts[role] ?? 0;
    if (count < rule.min) {
      issues.add(`replicas.${role}`, `${module.name} "${mode}" needs at least ${rule.min} ${role} (${rule.description}); got ${count}`);
    } else if (rule.max !== undefined && count > rule.max) {
      issues.add(`replicas.${role}`, `${module.name} "${mode}" allows at most ${rule.max} ${role} (${rule.description}); got ${count}`);
    }
  }
  return counts;
}

/** The plan before the framework's policy: roles from the mode, nothing framework-specific yet. */
export function basePlan(framework: string, mode: string, spec: ModeSpec, counts: Readonly<Record<string, number>>): TrainingPlan {
  const roleNames = spec.engine === "job" ? [SINGLE_ROLE] : Object.keys(spec.roles).filter((role) => (counts[role] ?? 0) > 0);
  return {
    framework,
    mode,
    engine: spec.engine,
    roles: roleNames.map((name) => ({
      name,
      replicas: spec.engine === "job" ? 1 : counts[name],
      usesGpus: true,
      env: {},
      ports: [],
      checkpoints: "restore",
    })),
    exporter: { role: roleNames[0], index: 0 },
    successRoles: [],
    sharedMemory: false,
  };
}

/** The checked arguments with defaults filled in, plus the plan. */
export interface TrainingJobSpec {
  plan: TrainingPlan;
  names: TrainingNames;
  namespace: string;
  gpusPerPod: number;
  backoffLimit: number;
  wait: { until: "complete"; timeoutMinutes: number } | { until: "created" };
  /** Seconds between checkpoint saves, or undefined without checkpoints. */
  checkpointSaveIntervalSeconds?: number;
  /** Seconds between uploads of the TensorBoard logs, or undefined without logs. */
  logUploadIntervalSeconds?: number;
  /** The Kueue LocalQueue the workload is submitted to, or undefined when it is not queued. */
  queue?: string;
}

/**
 * Validates TrainingJob arguments and plans the job (pure). Throws one ComponentValidationError listing
 * every problem, naming each argument and what is allowed.
 */
export function planTrainingJob(name: string, args: TrainingJobArgs): TrainingJobSpec {
  const issues = new IssueCollector();
  const component = `TrainingJob "${name}"`;

  const module = frameworkModule(args.framework);
  let plan: TrainingPlan | undefined;
  let counts: Record<string, number> = {};
  let spec: ModeSpec | undefined;
  if (!module) {
    issues.add("framework", `${JSON.stringify(args.framework)} is not supported; use one of ${oneOf(Object.keys(FRAMEWORKS))}`);
  } else {
    spec = Object.hasOwn(module.modes, args.mode) ? module.modes[args.mode] : undefined;
    if (!spec) {
      issues.add("mode", `${JSON.stringify(args.mode)} is not a ${module.name} mode; use one of ${oneOf(Object.keys(module.modes))}`);
    } else {
      const before = issues.count;
      counts = checkReplicas(module, args.mode, spec, args.replicas, issues);
      if (issues.count === before) module.validate?.(args.mode, counts, issues);
    }
  }

  if (typeof args.image === "string" ? args.image.trim() === "" : args.image === undefined || args.image === null) {
    issues.add("image", `is required: the container image with the training code, e.g. "tensorflow/tensorflow:2.21.0"`);
  }
  if (!Array.isArray(args.command) || args.command.length === 0 || args.command.some((part) => typeof part !== "string" || part === "")) {
    issues.add("command", `must be a non-empty list of non-empty strings, e.g. ["python", "train.py"]`);
  }
  if (args.args !== undefined && (!Array.isArray(args.args) || args.args.some((part) => typeof part !== "string"))) {
    issues.add("args", "must be a list of strings");
  }

  const modelProblem = typeof args.model === "string" ? modelNameProblem(args.model) : "is required (a model name)";
  if (modelProblem) issues.add("model", modelProblem);
  const versionProblem = modelVersionProblem(args.version);
  if (versionProblem) issues.add("version", versionProblem);
  if (!args.store) issues.add("store", "is required: the ModelStore the export is uploaded to");
  if (args.clusterName === undefined || args.clusterName === null || args.clusterName === "") {
    issues.add("clusterName", "is required: the EKS cluster, for the store's Pod Identity association");
  }

  checkResources(args.resources, args, issues);

  const namespace = args.namespace ?? TRAINING_DEFAULT_NAMESPACE;
  const namespaceProblem = dnsLabelProblem(namespace);
  if (namespaceProblem) issues.add("namespace", namespaceProblem);
  const nameProblem = dnsLabelProblem(name);
  if (nameProblem) issues.add("name", `the component name names the job and its service account: ${nameProblem}`);

  for (const key of Object.keys(args.env ?? {})) {
    if (!ENV_NAME.test(key)) {
      issues.add(`env.${key}`, "is not a valid environment variable name");
    } else if (TRAINING_RESERVED_ENV.includes(key) || RESERVED_ENV_PREFIXES.some((p) => key.startsWith(p))) {
      issues.add(`env.${key}`, `is set by the platform; reserved: ${oneOf(TRAINING_RESERVED_ENV)} and names starting with ${oneOf(RESERVED_ENV_PREFIXES)}`);
    }
  }
  for (const key of ["backoffLimit", "ttlSecondsAfterFinished"] as const) {
    if (args[key] !== undefined && !isNonNegativeInteger(args[key])) issues.add(key, `must be an integer >= 0 (got ${JSON.stringify(args[key])})`);
  }
  if (args.activeDeadlineSeconds !== undefined && !isPositiveInteger(args.activeDeadlineSeconds)) {
    issues.add("activeDeadlineSeconds", `must be a positive integer of seconds (got ${JSON.stringify(args.activeDeadlineSeconds)})`);
  }

  const waitArg = args.wait ?? { until: "complete" as const };
  let wait: TrainingJobSpec["wait"] = { until: "created" };
  if (waitArg.until === "complete") {
    const timeoutMinutes = waitArg.timeoutMinutes ?? TRAINING_DEFAULT_WAIT_TIMEOUT_MINUTES;
    if (!isPositiveInteger(timeoutMinutes)) issues.add("wait.timeoutMinutes", `must be a positive integer (got ${JSON.stringify(timeoutMinutes)})`);
    wait = { until: "complete", timeoutMinutes };
  } else if (waitArg.until !== "created") {
    issues.add("wait.until", `${JSON.stringify((waitArg as { until: unknown }).until)} is not valid; use one of "complete", "created"`);
  }

  let checkpointSaveIntervalSeconds: number | undefined;
  if (args.checkpoints !== undefined && (args.checkpoints as unknown) !== false) {
    const options = args.checkpoints === true ? {} : args.checkpoints;
    checkpointSaveIntervalSeconds = options.saveIntervalSeconds ?? TRAINING_DEFAULT_CHECKPOINT_SAVE_INTERVAL_SECONDS;
    if (!isPositiveInteger(checkpointSaveIntervalSeconds)) {
      issues.add("checkpoints.saveIntervalSeconds", `must be a positive integer of seconds (got ${JSON.stringify(checkpointSaveIntervalSeconds)})`);
    }
  }
  let logUploadIntervalSeconds: number | undefined;
  if (args.logs !== false) {
    const options = args.logs === undefined || args.logs === true ? {} : args.logs;
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      issues.add("logs", `must be true, false or { uploadIntervalSeconds } (got ${JSON.stringify(args.logs)})`);
    } else {
      logUploadIntervalSeconds = options.uploadIntervalSeconds ?? TRAINING_DEFAULT_LOG_UPLOAD_INTERVAL_SECONDS;
      if (!isPositiveInteger(logUploadIntervalSeconds)) {
        issues.add("logs.uploadIntervalSeconds", `must be a positive integer of seconds (got ${JSON.stringify(logUploadIntervalSeconds)})`);
      }
    }
  }
  if (args.queue !== undefined) {
    const queueProblem = typeof args.queue === "string" ? dnsLabelProblem(args.queue) : "must be the name of a Kueue LocalQueue";
    if (queueProblem) issues.add("queue", `${queueProblem} (the name of a Kueue LocalQueue in the job's namespace)`);
  }
  const sharedMemoryProblem = args.sharedMemorySize === undefined ? undefined : quantityProblem(args.sharedMemorySize, "memory");
  if (sharedMemoryProblem) issues.add("sharedMemorySize", sharedMemoryProblem);
  (args.imagePullSecrets ?? []).forEach((secret, i) => {
    const problem = typeof secret === "string" ? dnsLabelProblem(secret, 253) : "must be a Secret name";
    if (problem) issues.add(`imagePullSecrets[${i}]`, problem);
  });
  for (const file of Object.keys(args.sourceFiles ?? {})) {
    if (!CONFIGMAP_KEY.test(file)) issues.add(`sourceFiles["${file}"]`, `file names may contain only letters, digits, "-", "_" and "."`);
  }

  const version = isPositiveInteger(args.version) ? args.version : 0;
  const names = trainingNames(name, version);
  if (module && spec && issues.count === 0) {
    plan = module.applyPolicy(basePlan(module.name, args.mode, spec, counts), { workloadName: names.workload, gpusPerPod: args.resources?.gpus ?? 0 });
    checkNameLengths(plan, names, issues);
  }
  issues.throwIfAny(component);
  return {
    plan: plan!,
    names,
    namespace,
    gpusPerPod: args.resources?.gpus ?? 0,
    backoffLimit: args.backoffLimit ?? TRAINING_DEFAULT_BACKOFF_LIMIT,
    wait,
    checkpointSaveIntervalSeconds,
    logUploadIntervalSeconds,
    queue: args.queue,
  };
}

/**
 * Job names are label values (at most 63 characters). JobSet pod names, `<jobset>-<role>-0-<index>`
 * plus a 5-character suffix, must be RFC 1035 labels (at most 63 characters, starting with a letter),
 * and so must the JobSet name, which is also its headless Service's name.
 */
function checkNameLengths(plan: TrainingPlan, names: TrainingNames, issues: IssueCollector): void {
  if (plan.engine === "job") {
    if (names.workload.length > 63) {
      issues.add("name", `"${names.workload}" (the Job name) must be at most 63 characters; shorten the component name by ${names.workload.length - 63}`);
    }
    return;
  }
  if (!/^[a-z]/.test(names.workload)) {
    issues.add("name", `"${names.workload}" names a JobSet and its headless Service, so it must start with a letter`);
  }
  const podNames = plan.roles.map((role) => `${names.workload}-${role.name}-0-${role.replicas - 1}-xxxxx`);
  const longest = podNames.reduce((a, b) => (b.length > a.length ? b : a));
  if (longest.length > 63) {
    issues.add(
      "name",
      `"${names.workload}" is too long: pod names such as "${longest}" (with Kubernetes' 5-character suffix) must be at most 63 characters; shorten the component name by ${longest.length - 63}`,
    );
  }
}
