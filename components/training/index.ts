/** Training: TrainingJob (frameworks, plan, Job/JobSet builder, container scripts) and JobSetController. */
export type {
  CheckpointOptions,
  GpuPoolRef,
  TrainingJobArgs,
  TrainingJobCommonArgs,
  TrainingResources,
  TrainingWait,
  TrainingWorkloadObject,
} from "./args";
export type { CheckpointUse, FrameworkModule, ModeSpec, PlanContext, RolePlan, RoleRule, TrainingPlan } from "./frameworks/types";
export { mapRoles, podHostname } from "./frameworks/types";
export { FRAMEWORKS, type FrameworkName, type FrameworkSelection, frameworkModule } from "./frameworks/registry";
export { TENSORFLOW_PORT, type TensorflowSelection } from "./frameworks/tensorflow";
export { TORCH_MASTER_PORT, type PytorchSelection } from "./frameworks/pytorch";
export { MXNET_SCHEDULER_PORT, type MxnetSelection } from "./frameworks/mxnet";
export type { CustomSelection } from "./frameworks/custom";
export {
  basePlan,
  planTrainingJob,
  TRAINING_DEFAULT_BACKOFF_LIMIT,
  TRAINING_DEFAULT_CHECKPOINT_SAVE_INTERVAL_SECONDS,
  TRAINING_DEFAULT_NAMESPACE,
  TRAINING_DEFAULT_WAIT_TIMEOUT_MINUTES,
  TRAINING_RESERVED_ENV,
  type TrainingJobSpec,
  type TrainingNames,
  trainingNames,
} from "./plan";
export { TRAINING_SCRIPTS, TRAINING_SCRIPTS_DIR, trainingScriptPath, trainingScripts } from "./scripts";
export {
  buildTrainingWorkload,
  JOBSET_API_VERSION,
  rolePodTemplate,
  STORE_AGENT_IMAGE,
  TRAINING_CHECKPOINT_PATH,
  TRAINING_CODE_PATH,
  TRAINING_EXPORT_PATH,
  TRAINING_STATE_PATH,
  TRAINING_TERMINATION_GRACE_SECONDS,
  type TrainingEnvVar,
  waitAnnotations,
  type WorkloadInputs,
} from "./workload";
export { JOBSET_CHART, JOBSET_NAMESPACE, JOBSET_VERSION, JobSetController, type JobSetControllerArgs, jobSetReleaseArgs } from "./jobset-controller";
export { TrainingJob } from "./training-job";
export { LINEAR_EXAMPLE_DIR, LINEAR_EXAMPLE_IMAGE, type LinearExampleOptions, linearExampleTrainer } from "./linear-example";
