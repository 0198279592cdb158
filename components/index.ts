/**
 * ml-platform's public API for Pulumi programs (`import { ... } from "ml-platform"`): the components, the
 * types of their arguments and outputs, and what programs compose them with. Everything is named here one
 * by one; the pure builders behind the components and other helpers stay internal (their modules export
 * them for the tests), so they can change without breaking programs.
 *
 * To add a component to the API: export the class, its `...Args` and the types of its public properties
 * in the section of its domain below, and add a compiling example to docs/components.md.
 *
 * The runtime side has entries of its own: `ml-platform/client` (gRPC client, no Pulumi),
 * `ml-platform/smoke` (the smoke suite's library) and `ml-platform/contracts` (the smoke-targets format).
 */

// Connecting to a cluster
export { connectToEksCluster, eksKubeconfig, type EksClusterConnection, type EksKubeconfigArgs } from "./cluster/eks-cluster";

// Model stores: the S3 ModelStore, the in-cluster store, and the interface serving and training use
export { ModelStore, type ModelStoreArgs, type PodIdentityGrant } from "./storage/model-store";
export { InClusterModelStore, type InClusterModelStoreArgs, type StaticCredentialsGrant } from "./storage/in-cluster/in-cluster-model-store";
export type { GrantOptions, ModelAccess, ModelAccessGrant, ModelAccessGrantArgs, ModelStoreBackend, ServiceAccountRef } from "./storage/model-store-backend";

// GPU compute
export {
  GpuNodePool,
  type GpuNodePoolArgs,
  type GpuNodePoolDevicePlugin,
  type GpuNodePoolScaling,
  type GpuNodePoolSpec,
  type GpuScheduling,
  type GpuTaint,
  type TaintEffect,
} from "./compute/gpu-node-pool";
export type { CpuArchitecture, GpuAmiType, GpuInstanceSpec } from "./compute/gpu-instances";
export { NvidiaDevicePlugin, type NvidiaDevicePluginArgs } from "./compute/nvidia-device-plugin";
export { existingGpuNodes, type ExistingGpuNodes, type ExistingGpuNodesArgs } from "./compute/existing-gpu-nodes";

// Serving
export { TfServing } from "./serving/tf-serving";
export type { AutoscalingArgs, BatchingArgs, ServedModel, TfServingArgs, TfServingResources, TfServingServiceArgs, VersionPolicy } from "./serving/types";
export type { TfServingPlan } from "./serving/plan";

// Training
export { TrainingJob } from "./training/training-job";
export type { CheckpointOptions, GpuPoolRef, LogOptions, TrainingJobArgs, TrainingJobCommonArgs, TrainingResources, TrainingWait, TrainingWorkloadObject } from "./training/args";
export type { FrameworkName, FrameworkSelection } from "./training/frameworks/registry";
export type { TensorflowSelection } from "./training/frameworks/tensorflow";
export type { PytorchSelection } from "./training/frameworks/pytorch";
export type { MxnetSelection } from "./training/frameworks/mxnet";
export type { CustomSelection } from "./training/frameworks/custom";
export type { TrainingPlan } from "./training/frameworks/types";
export type { TrainingJobSpec } from "./training/plan";
export { JobSetController, type JobSetControllerArgs } from "./training/jobset-controller";
export { linearExampleTrainer, type LinearExampleOptions } from "./training/linear-example";

// Observability: TensorBoard for the trainings' logs
export { TensorBoard } from "./observability/tensorboard";
export type { TensorBoardArgs, TensorBoardModel, TensorBoardResources } from "./observability/args";
export type { TensorBoardPlan, TensorBoardStoreGroup } from "./observability/plan";

// Teams and GPU queueing: a tenant per team, Kueue to share the GPUs
export { Team } from "./tenancy/team";
export type { EgressRule, FlavorRef, NetworkPeer, ServingCallers, StoreEndpoint, TeamArgs, TeamDefaults, TeamQueueArgs, TeamQuota } from "./tenancy/team-args";
export type { TeamPlan } from "./tenancy/team-plan";
export { tfServingPods } from "./tenancy/team-objects";
export { KueueController, type KueueControllerArgs, type QueueFlavor } from "./queueing/kueue-controller";
export type { QueuePreemption } from "./queueing/kueue-objects";
// Phones: a trained version converted to TensorFlow Lite
export { MobileExport } from "./mobile/mobile-export";
export type { MobileExportArgs, MobileExportJobObject, MobileExportResources, MobileExportWait, MobileOptimization, MobileSampleInputs } from "./mobile/args";
export type { MobileExportSpec } from "./mobile/plan";

// Errors: bad arguments are reported, all at once, before anything is declared
export { ComponentValidationError, type ValidationIssue } from "./common/validation";

// The smoke-targets format a program exports (`smokeTargets = { endpoints: [serving.smokeTarget] }`)
export type { SmokeEndpoint, SmokeTargets } from "../contracts/smoke-targets";
