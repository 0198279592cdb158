/**
 * Turns config entries into component arguments. Used twice: to validate the whole config with the
 * components' own validators before anything is declared (with stand-in stores and pools), and to
 * declare the components (with the real ones). One translation, so both always agree.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { GPU_RESOURCE_NAME, GpuNodePoolArgs, GpuScheduling } from "../components/compute/gpu-node-pool";
import type { CpuArchitecture } from "../components/compute/gpu-instances";
import type { ModelStoreArgs } from "../components/storage/model-store";
import type { InClusterModelStoreArgs } from "../components/storage/in-cluster/in-cluster-model-store";
import type { ModelStoreBackend } from "../components/storage/model-store-backend";
import type { TfServingArgs, TfServingServiceArgs } from "../components/serving/types";
import type { MobileExportArgs } from "../components/mobile/args";
import type { TrainingJobArgs } from "../components/training/args";
import { linearExampleTrainer } from "../components/training/linear-example";
import type { GpuPoolConfig, MobileExportConfig, PlatformConfig, ServingConfig, StoreConfig, TrainingConfig } from "./config/schema";

/** What a workload needs of a GPU pool (a GpuNodePool, or a stand-in while validating). */
export interface GpuPoolRef {
  readonly scheduling: pulumi.Output<GpuScheduling>;
  readonly gpusPerNode: number;
  readonly gpuResourceName: typeof GPU_RESOURCE_NAME;
  readonly architecture: CpuArchitecture;
}

/** The declared (or stand-in) stores and pools that config entries refer to by name. */
export interface Wiring {
  clusterName: pulumi.Input<string>;
  stores: ReadonlyMap<string, ModelStoreBackend>;
  gpuPools: ReadonlyMap<string, GpuPoolRef>;
  /** Distributed training jobs depend on it. */
  jobSetController?: pulumi.Resource;
}

export function s3StoreArgs(store: Extract<StoreConfig, { type: "s3" }>): ModelStoreArgs {
  const { type: _type, name: _name, models: _models, ...args } = store;
  return args;
}

export function inClusterStoreArgs(store: Extract<StoreConfig, { type: "in-cluster" }>, namespace: string): InClusterModelStoreArgs {
  const { type: _type, name: _name, models: _models, ...args } = store;
  return { ...args, namespace };
}

export function gpuPoolArgs(pool: GpuPoolConfig, config: PlatformConfig): Omit<GpuNodePoolArgs, "devicePlugin"> {
  const { name: _name, subnetIds, ...args } = pool;
  const cluster = config.cluster;
  const clusterName = cluster.type === "eks" ? cluster.name : "";
  return { ...args, clusterName, subnetIds: subnetIds ?? (cluster.type === "eks" ? cluster.subnetIds : undefined) ?? [] };
}

export function servingArgs(serving: ServingConfig, config: PlatformConfig, wiring: Wiring): TfServingArgs {
  const { name: _name, models, gpuPool, namespace, service, ...rest } = serving;
  return {
    ...rest,
    namespace: namespace ?? config.cluster.namespace,
    clusterName: wiring.clusterName,
    gpuPool: gpuPool === undefined ? undefined : wiring.gpuPools.get(gpuPool),
    service: serviceArgs(service),
    models: models.map((model) => {
      const release = config.releases[model.name];
      return {
        name: model.name,
        store: wiring.stores.get(model.store) as ModelStoreBackend,
        versionPolicy: release ? { specific: release.versions } : model.versionPolicy,
        versionLabels: release?.labels,
      };
    }),
  };
}

function serviceArgs(service: ServingConfig["service"]): TfServingServiceArgs | undefined {
  if (!service) return undefined;
  const { type, sourceRanges, ...common } = service;
  // references.ts rejects sourceRanges without an InternalLoadBalancer.
  return type === "InternalLoadBalancer" ? { ...common, type, sourceRanges } : { ...common, type: "ClusterIP" };
}

export function trainingArgs(training: TrainingConfig, config: PlatformConfig, wiring: Wiring): TrainingJobArgs {
  const common = {
    store: wiring.stores.get(training.store) as ModelStoreBackend,
    model: training.model,
    version: training.version,
    clusterName: wiring.clusterName,
    namespace: training.namespace ?? config.cluster.namespace,
    resources: training.resources,
    gpuPool: training.gpuPool === undefined ? undefined : wiring.gpuPools.get(training.gpuPool),
    checkpoints: training.checkpoints,
    wait: training.wait,
    backoffLimit: training.backoffLimit,
    activeDeadlineSeconds: training.activeDeadlineSeconds,
    ttlSecondsAfterFinished: training.ttlSecondsAfterFinished,
    imagePullSecrets: training.imagePullSecrets,
    sharedMemorySize: training.sharedMemorySize,
    jobSetController: wiring.jobSetController,
  };
  if (training.example) {
    const { slope, intercept, trainSteps } = training.example;
    const example = linearExampleTrainer({
      line: slope === undefined && intercept === undefined ? undefined : { slope: slope ?? 2, intercept: intercept ?? 1 },
      trainSteps,
    });
    return { ...common, ...example, env: { ...example.env, ...training.env } };
  }
  // The schema guarantees framework, mode, image and command without `example`; the framework module checks the rest.
  return {
    ...common,
    framework: training.framework,
    mode: training.mode,
    replicas: training.replicas,
    image: training.image as string,
    command: training.command as string[],
    args: training.args,
    env: training.env,
  } as TrainingJobArgs;
}

/** Whether a training runs more than one pod (and so needs the JobSet controller). */
export function isDistributed(training: TrainingConfig): boolean {
  return training.example === undefined && training.mode !== "single";
}

export function mobileExportArgs(mobileExport: MobileExportConfig, config: PlatformConfig, wiring: Wiring): MobileExportArgs {
  const { name: _name, store, namespace, ...rest } = mobileExport;
  return {
    ...rest,
    store: wiring.stores.get(store) as ModelStoreBackend,
    clusterName: wiring.clusterName,
    namespace: namespace ?? config.cluster.namespace,
  };
}
