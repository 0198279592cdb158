/** The serving domain: TfServing and the pure builders it is made of. */
export type { AutoscalingArgs, BatchingArgs, ServedModel, TfServingArgs, TfServingResources, TfServingServiceArgs, VersionPolicy } from "./types";
export { AWS_CLI_IMAGE, imageProblem, parseImageReference, TF_SERVING_GPU_IMAGE, TF_SERVING_IMAGE, TF_SERVING_VERSION, type ImageReference } from "./images";
export { batchingParametersText, type ModelConfigEntry, modelServerConfigText, monitoringConfigText, PROMETHEUS_METRICS_PATH } from "./model-server-config";
export { MODEL_SYNC_SCRIPT_PATH, type SyncManifestModel, syncManifestLine, syncManifestText } from "./sync";
export { TF_SERVING_DEFAULTS, validateTfServingArgs } from "./validation";
export { type PlannedModel, type PlannedStore, type TfServingPlan, tfServingPlan, tfServingServerArgs } from "./plan";
export { type TfServingRuntime, tfServingDeployment } from "./workload";
export { tfServingAutoscaler, tfServingDisruptionBudget, tfServingHeadlessService, tfServingService, tfServingServiceAccount } from "./service";
export { tfServingSmokeTarget } from "./smoke-target";
export { TfServing } from "./tf-serving";
