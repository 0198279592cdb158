/**
 * The TfServing plan: validated arguments with every default resolved, the names of the Kubernetes
 * objects, the TF Serving command line and the config files. Pure; the spec builders and the component
 * work from it.
 */
import { selectorLabels, standardLabels } from "../common/kubernetes";
import { AWS_CLI_IMAGE, imageVersionLabel, TF_SERVING_GPU_IMAGE, TF_SERVING_IMAGE, TF_SERVING_IMAGE_ARCHITECTURE } from "./images";
import { batchingParametersText, MODELS_DIR, modelServerConfigText, monitoringConfigText } from "./model-server-config";
import { groupModelsByStore, syncManifestFile, syncManifestText } from "./sync";
import type { TfServingArgs, VersionPolicy } from "./types";
import { TF_SERVING_DEFAULTS, defaultTerminationGracePeriod, HEADLESS_SUFFIX, validateTfServingArgs } from "./validation";

export const GRPC_PORT = 8500;
export const REST_PORT = 8501;
/** Where the config ConfigMap is mounted. */
export const CONFIG_DIR = "/etc/tf-serving";
export const MODELS_CONFIG_FILE = "models.config";
export const BATCHING_CONFIG_FILE = "batching.config";
export const MONITORING_CONFIG_FILE = "monitoring.config";
/**
 * How often TF Serving looks for new version directories under `/models/<model>/`. A local directory
 * listing, so it can be frequent; new versions arrive through the sync sidecar.
 */
export const FILE_SYSTEM_POLL_WAIT_SECONDS = 5;
export const APP_NAME = "tf-serving";

export interface PlannedModel {
  name: string;
  versionPolicy: VersionPolicy;
  versionLabels: Record<string, number>;
}

export interface PlannedStore {
  /** Position of the store by first use; names its containers, grant and manifest. */
  index: number;
  /** Names of the models this store provides. */
  models: string[];
  /** File name of its sync manifest in the config ConfigMap. */
  manifestFile: string;
}

export interface TfServingPlan {
  name: string;
  namespace: string;
  serviceAccountName: string;
  deploymentName: string;
  serviceName: string;
  /** Undefined when the headless Service is turned off. */
  headlessServiceName?: string;
  labels: Record<string, string>;
  selector: Record<string, string>;
  image: string;
  /** `kubernetes.io/arch` the pods must run on (the default images are amd64 only); undefined for custom images. */
  nodeArchitecture?: string;
  syncImage: string;
  /** Undefined when an autoscaler owns the count. */
  replicas?: number;
  autoscaling?: { minReplicas: number; maxReplicas: number; targetCpuUtilization: number };
  podDisruptionBudget?: { maxUnavailable: number };
  resources: { cpu: string; memory: string; gpus: number };
  models: PlannedModel[];
  stores: PlannedStore[];
  /** Files of the config ConfigMap: models.config, optional batching and monitoring configs, sync manifests. */
  configFiles: Record<string, string>;
  /** Arguments of `tensorflow_model_server`. */
  serverArgs: string[];
  monitoring: boolean;
  service: { type: "ClusterIP" | "InternalLoadBalancer"; annotations: Record<string, string>; sourceRanges?: string[] };
  syncIntervalSeconds: number;
  startupTimeoutSeconds: number;
  preStopDelaySeconds: number;
  terminationGracePeriodSeconds: number;
  grpcMaxConnectionAgeSeconds: number;
  modelsVolumeSizeLimit?: string;
}

/** TF Serving's command line for a plan's settings. */
export function tfServingServerArgs(options: {
  hasLabels: boolean;
  batching: boolean;
  monitoring: boolean;
  grpcMaxConnectionAgeSeconds: number;
}): string[] {
  const args = [
    `--port=${GRPC_PORT}`,
    `--rest_api_port=${REST_PORT}`,
    `--model_config_file=${CONFIG_DIR}/${MODELS_CONFIG_FILE}`,
    // Config changes replace the ConfigMap and roll the pods (docs/components.md, TfServing), so the file is read once.
    "--model_config_file_poll_wait_seconds=0",
    `--file_system_poll_wait_seconds=${FILE_SYSTEM_POLL_WAIT_SECONDS}`,
    // Closing connections at a maximum age re-spreads long-lived gRPC clients over the pods and drains
    // terminating pods gracefully (GOAWAY, then in-flight calls get the grace period).
    `--grpc_channel_arguments=grpc.max_connection_age_ms=${options.grpcMaxConnectionAgeSeconds * 1000},grpc.max_connection_age_grace_ms=${TF_SERVING_DEFAULTS.grpcMaxConnectionAgeGraceSeconds * 1000}`,
  ];
  // A fresh server assigns labels before its models finish loading; without this it refuses to start.
  if (options.hasLabels) args.push("--allow_version_labels_for_unavailable_models");
  if (options.batching) args.push("--enable_batching", `--batching_parameters_file=${CONFIG_DIR}/${BATCHING_CONFIG_FILE}`);
  if (options.monitoring) args.push(`--monitoring_config_file=${CONFIG_DIR}/${MONITORING_CONFIG_FILE}`);
  return args;
}

/** Validates the arguments (throwing `ComponentValidationError` with every problem) and resolves the plan. */
export function tfServingPlan(name: string, args: TfServingArgs): TfServingPlan {
  validateTfServingArgs(name, args).throwIfAny(`TfServing "${name}"`);

  const gpus = args.resources?.gpus ?? 0;
  const image = args.image ?? (gpus > 0 ? TF_SERVING_GPU_IMAGE : TF_SERVING_IMAGE);
  const models: PlannedModel[] = args.models.map((m) => ({
    name: m.name,
    versionPolicy: m.versionPolicy ?? { latest: 1 },
    versionLabels: { ...m.versionLabels },
  }));
  const byName = new Map(models.map((m) => [m.name, m]));
  const stores: PlannedStore[] = groupModelsByStore(args.models).map((group) => ({
    index: group.index,
    models: group.models.map((m) => m.name),
    manifestFile: syncManifestFile(group.index),
  }));

  const configFiles: Record<string, string> = {
    [MODELS_CONFIG_FILE]: modelServerConfigText(models.map((m) => ({ ...m, basePath: `${MODELS_DIR}/${m.name}` }))),
  };
  if (args.batching) configFiles[BATCHING_CONFIG_FILE] = batchingParametersText(args.batching);
  if (args.monitoring) configFiles[MONITORING_CONFIG_FILE] = monitoringConfigText();
  for (const store of stores) configFiles[store.manifestFile] = syncManifestText(store.models.map((m) => byName.get(m)!));

  const minReplicas = args.autoscaling?.minReplicas ?? args.replicas ?? TF_SERVING_DEFAULTS.replicas;
  const podDisruptionBudget =
    args.podDisruptionBudget === false ? undefined : (args.podDisruptionBudget ?? (minReplicas >= 2 ? { maxUnavailable: 1 } : undefined));
  const grpcMaxConnectionAgeSeconds = args.grpcMaxConnectionAgeSeconds ?? TF_SERVING_DEFAULTS.grpcMaxConnectionAgeSeconds;
  const preStopDelaySeconds = args.preStopDelaySeconds ?? TF_SERVING_DEFAULTS.preStopDelaySeconds;
  const service = args.service ?? {};

  return {
    name,
    namespace: args.namespace ?? TF_SERVING_DEFAULTS.namespace,
    serviceAccountName: name,
    deploymentName: name,
    serviceName: name,
    headlessServiceName: service.headless === false ? undefined : `${name}${HEADLESS_SUFFIX}`,
    labels: standardLabels({ name: APP_NAME, instance: name, component: "server", version: imageVersionLabel(image) }),
    selector: selectorLabels({ name: APP_NAME, instance: name, component: "server" }),
    image,
    nodeArchitecture: args.image === undefined ? TF_SERVING_IMAGE_ARCHITECTURE : undefined,
    syncImage: args.syncImage ?? AWS_CLI_IMAGE,
    replicas: args.autoscaling ? undefined : (args.replicas ?? TF_SERVING_DEFAULTS.replicas),
    autoscaling: args.autoscaling && {
      minReplicas: args.autoscaling.minReplicas,
      maxReplicas: args.autoscaling.maxReplicas,
      targetCpuUtilization: args.autoscaling.targetCpuUtilization ?? TF_SERVING_DEFAULTS.targetCpuUtilization,
    },
    podDisruptionBudget,
    resources: { cpu: args.resources?.cpu ?? TF_SERVING_DEFAULTS.cpu, memory: args.resources?.memory ?? TF_SERVING_DEFAULTS.memory, gpus },
    models,
    stores,
    configFiles,
    serverArgs: tfServingServerArgs({
      hasLabels: models.some((m) => Object.keys(m.versionLabels).length > 0),
      batching: args.batching !== undefined,
      monitoring: args.monitoring ?? false,
      grpcMaxConnectionAgeSeconds,
    }),
    monitoring: args.monitoring ?? false,
    service: {
      type: service.type ?? "ClusterIP",
      annotations: { ...service.annotations },
      sourceRanges: "sourceRanges" in service ? service.sourceRanges : undefined,
    },
    syncIntervalSeconds: args.syncIntervalSeconds ?? TF_SERVING_DEFAULTS.syncIntervalSeconds,
    startupTimeoutSeconds: args.startupTimeoutSeconds ?? TF_SERVING_DEFAULTS.startupTimeoutSeconds,
    preStopDelaySeconds,
    terminationGracePeriodSeconds: args.terminationGracePeriodSeconds ?? defaultTerminationGracePeriod(preStopDelaySeconds, grpcMaxConnectionAgeSeconds),
    grpcMaxConnectionAgeSeconds,
    modelsVolumeSizeLimit: args.modelsVolumeSizeLimit,
  };
}
