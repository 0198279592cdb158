/**
 * The TensorBoard plan: validated arguments with every default resolved, the names of the Kubernetes objects,
 * the stores to sync from and TensorBoard's command line. Pure; the spec builders and the component work
 * from it.
 */
import { packagePath } from "../common/package-files";
import { loadContainerScripts } from "../common/container-scripts";
import { storeSyncLibScripts } from "../storage/version-publishing";
import { dnsLabelProblem, IssueCollector, isPositiveInteger, modelNameProblem, quantityProblem } from "../common/validation";
import { selectorLabels, standardLabels } from "../common/kubernetes";
import { AWS_CLI_IMAGE, imageVersionLabel, parseImageReference } from "../serving/images";
import type { ModelStoreBackend } from "../storage/model-store-backend";
import type { TensorBoardArgs } from "./args";

/**
 * TensorBoard's default image. There is no official TensorBoard image; `tensorflow/tensorflow` images install
 * TensorFlow with pip, and TensorFlow 2.20 still depends on TensorBoard (`tensorboard~=2.20.0`; 2.21 dropped
 * the dependency, so its image has no TensorBoard). TensorBoard also needs TensorFlow itself to reopen event
 * files the sync replaced (`--detect_file_replacement`). docs/tensorboard.md says more.
 */
export const TENSORBOARD_IMAGE = "tensorflow/tensorflow:2.20.0";
/** The official TensorFlow images are built for this platform. */
export const TENSORBOARD_IMAGE_ARCHITECTURE = "amd64";
export const TENSORBOARD_PORT = 6006;
/** The volume the logs are synced into: TensorBoard's log directory and the syncs' staging areas. */
export const TENSORBOARD_DATA_DIR = "/var/lib/tensorboard";
export const TENSORBOARD_LOGS_DIR = `${TENSORBOARD_DATA_DIR}/logs`;
/** How often TensorBoard looks for new data on its disk (TensorBoard's default). */
export const TENSORBOARD_RELOAD_INTERVAL_SECONDS = 5;
export const LOG_SYNC_SCRIPT = "log-sync.sh";
export const OBSERVABILITY_SCRIPTS_DIR = packagePath("components", "observability", "scripts");

/** ConfigMap data (file name -> script): log-sync.sh and the helpers it sources. */
export function logSyncScripts(): Record<string, string> {
  return { ...loadContainerScripts(OBSERVABILITY_SCRIPTS_DIR, [LOG_SYNC_SCRIPT]), ...storeSyncLibScripts() };
}
const APP_NAME = "tensorboard";
/**
 * Longest component name: it prefixes the grants (`<name>-tensorboard-<n>`), and InClusterModelStore takes
 * grant names of up to 40 characters.
 */
export const TENSORBOARD_MAX_NAME_LENGTH = 24;

export const TENSORBOARD_DEFAULTS = {
  namespace: "default",
  cpu: "100m",
  memory: "1Gi",
  syncIntervalSeconds: 30,
  logsVolumeSizeLimit: "10Gi",
} as const;

const PATH_PREFIX = /^(\/[A-Za-z0-9._~-]+)+$/;

/** One store and the models whose logs come from it (one sync sidecar and one read grant each). */
export interface TensorBoardStoreGroup {
  /** Position of the store by first use in `models`; names its sidecar and grant. */
  index: number;
  store: ModelStoreBackend;
  models: string[];
}

export interface TensorBoardPlan {
  name: string;
  namespace: string;
  /** Name of the Deployment, its Service and its service account. */
  objectName: string;
  labels: Record<string, string>;
  selector: Record<string, string>;
  image: string;
  /** `kubernetes.io/arch` the pod must run on (the default image is amd64 only); undefined for other images. */
  nodeArchitecture?: string;
  syncImage: string;
  stores: TensorBoardStoreGroup[];
  syncIntervalSeconds: number;
  resources: { cpu: string; memory: string };
  logsVolumeSizeLimit: string;
  /** "" or the path TensorBoard is served under ("/tensorboard/linear"). */
  pathPrefix: string;
  /** TensorBoard's command line after `python3 -m tensorboard.main`. */
  serverArgs: string[];
}

/** Every problem with TensorBoard's arguments. Exported for config validation. */
export function validateTensorBoardArgs(name: string, args: TensorBoardArgs): IssueCollector {
  const issues = new IssueCollector();
  const nameProblem = dnsLabelProblem(name, TENSORBOARD_MAX_NAME_LENGTH);
  if (nameProblem) issues.add("name", `the component name prefixes its objects and store grants: ${nameProblem}`);
  if (!Array.isArray(args.models) || args.models.length === 0) {
    issues.add("models", "must list at least one model, e.g. [{ name: \"linear\", store }]");
  } else {
    const seen = new Map<string, number>();
    args.models.forEach((model, i) => {
      const problem = typeof model?.name === "string" ? modelNameProblem(model.name) : "is required (a model name)";
      if (problem) issues.add(`models[${i}].name`, problem);
      else if (seen.has(model.name)) issues.add(`models[${i}].name`, `"${model.name}" is already listed at models[${seen.get(model.name)}]; a TensorBoard shows each model's runs once`);
      else seen.set(model.name, i);
      if (!model?.store) issues.add(`models[${i}].store`, "is required: the store the model's trainings write their logs to");
    });
  }
  if (args.clusterName === undefined || args.clusterName === null || args.clusterName === "") {
    issues.add("clusterName", "is required: the EKS cluster, for the stores' Pod Identity associations");
  }
  if (args.namespace !== undefined) {
    const problem = dnsLabelProblem(args.namespace);
    if (problem) issues.add("namespace", problem);
  }
  if (args.image !== undefined) {
    const ref = typeof args.image === "string" ? parseImageReference(args.image) : undefined;
    if (!ref || (ref.tag === undefined && ref.digest === undefined) || ref.tag === "latest") {
      issues.add("image", `${JSON.stringify(args.image)} must be pinned: <repository>:<tag> (not "latest") or <repository>@sha256:<digest>`);
    }
  }
  for (const key of ["cpu", "memory"] as const) {
    const value = args.resources?.[key];
    const problem = value === undefined ? undefined : quantityProblem(value, key);
    if (problem) issues.add(`resources.${key}`, problem);
  }
  if (args.syncIntervalSeconds !== undefined && !isPositiveInteger(args.syncIntervalSeconds)) {
    issues.add("syncIntervalSeconds", `must be a positive integer of seconds (got ${JSON.stringify(args.syncIntervalSeconds)})`);
  }
  const sizeProblem = args.logsVolumeSizeLimit === undefined ? undefined : quantityProblem(args.logsVolumeSizeLimit, "storage");
  if (sizeProblem) issues.add("logsVolumeSizeLimit", sizeProblem);
  if (args.pathPrefix !== undefined && (typeof args.pathPrefix !== "string" || !PATH_PREFIX.test(args.pathPrefix))) {
    issues.add("pathPrefix", `${JSON.stringify(args.pathPrefix)} must start with "/", not end with one, and use letters, digits, ".", "_", "~" and "-" between slashes, e.g. "/tensorboard/linear"`);
  }
  return issues;
}

/** Groups the models by store (object identity), in order of first use. */
export function groupByStore(models: TensorBoardArgs["models"]): TensorBoardStoreGroup[] {
  const groups = new Map<ModelStoreBackend, TensorBoardStoreGroup>();
  for (const model of models) {
    let group = groups.get(model.store);
    if (!group) {
      group = { index: groups.size, store: model.store, models: [] };
      groups.set(model.store, group);
    }
    group.models.push(model.name);
  }
  return [...groups.values()];
}

/** TensorBoard's command line. */
export function tensorBoardServerArgs(name: string, pathPrefix: string): string[] {
  return [
    `--logdir=${TENSORBOARD_LOGS_DIR}`,
    // IPv4 and IPv6, wherever the pod network has them; only the ClusterIP Service leads here.
    "--bind_all",
    `--port=${TENSORBOARD_PORT}`,
    // The log sync replaces a grown event file by renaming a new copy over it. TensorBoard's Python loader
    // then reopens the file and reads on from where it was; the fast (Rust) loader does not support that.
    "--load_fast=false",
    "--detect_file_replacement=true",
    // Read every event file of a run, not only the newest: a restarted training adds a file beside its
    // earlier ones, and the sync may bring an earlier file after a later one.
    "--reload_multifile=true",
    `--reload_interval=${TENSORBOARD_RELOAD_INTERVAL_SECONDS}`,
    `--window_title=${name}`,
    ...(pathPrefix ? [`--path_prefix=${pathPrefix}`] : []),
  ];
}

/** Validates the arguments (throwing every problem at once) and resolves the plan. */
export function tensorBoardPlan(name: string, args: TensorBoardArgs): TensorBoardPlan {
  validateTensorBoardArgs(name, args).throwIfAny(`TensorBoard "${name}"`);
  const image = args.image ?? TENSORBOARD_IMAGE;
  const pathPrefix = args.pathPrefix ?? "";
  const objectName = `${name}-${APP_NAME}`;
  return {
    name,
    namespace: args.namespace ?? TENSORBOARD_DEFAULTS.namespace,
    objectName,
    labels: standardLabels({ name: APP_NAME, instance: name, version: imageVersionLabel(image) }),
    selector: selectorLabels({ name: APP_NAME, instance: name }),
    image,
    nodeArchitecture: args.image === undefined ? TENSORBOARD_IMAGE_ARCHITECTURE : undefined,
    syncImage: AWS_CLI_IMAGE,
    stores: groupByStore(args.models),
    syncIntervalSeconds: args.syncIntervalSeconds ?? TENSORBOARD_DEFAULTS.syncIntervalSeconds,
    resources: { cpu: args.resources?.cpu ?? TENSORBOARD_DEFAULTS.cpu, memory: args.resources?.memory ?? TENSORBOARD_DEFAULTS.memory },
    logsVolumeSizeLimit: args.logsVolumeSizeLimit ?? TENSORBOARD_DEFAULTS.logsVolumeSizeLimit,
    pathPrefix,
    serverArgs: tensorBoardServerArgs(name, pathPrefix),
  };
}

/** The grant name of store group `index`: `<name>-tensorboard-<index>`. */
export function tensorBoardGrantName(name: string, index: number): string {
  return `${name}-${APP_NAME}-${index}`;
}
