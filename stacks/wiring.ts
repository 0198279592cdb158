/**
 * Turns config entries into component arguments. Used twice: to validate the whole config with the
 * components' own validators before anything is declared (with stand-in stores and pools), and to
 * declare the components (with the real ones). One translation, so both always agree.
 */
import type * as pulumi from "@pulumi/pulumi";
import { type ExistingGpuNodes, existingGpuNodes } from "../components/compute/existing-gpu-nodes";
import type { GPU_RESOURCE_NAME, GpuNodePoolArgs, GpuScheduling } from "../components/compute/gpu-node-pool";
import type { CpuArchitecture } from "../components/compute/gpu-instances";
import { KUEUE_BATCH_USER_ROLE } from "../components/queueing/kueue-controller";
import { SERVING_PORTS, tfServingPods } from "../components/tenancy/team-objects";
import type { EgressRule, FlavorRef, NetworkPeer, StoreEndpoint, TeamArgs } from "../components/tenancy/team-args";
import { S3_PORT, storeServerPodLabels } from "../components/storage/in-cluster/in-cluster-store-specs";
import type { ModelStoreArgs } from "../components/storage/model-store";
import type { InClusterModelStoreArgs } from "../components/storage/in-cluster/in-cluster-model-store";
import type { ModelStoreBackend } from "../components/storage/model-store-backend";
import type { TfServingArgs, TfServingServiceArgs } from "../components/serving/types";
import type { MobileExportArgs } from "../components/mobile/args";
import type { TrainingJobArgs } from "../components/training/args";
import type { TensorBoardArgs } from "../components/observability/args";
import { linearExampleTrainer } from "../components/training/linear-example";
import type { EksGpuPoolConfig, GpuPoolConfig, MobileExportConfig, NetworkPeerConfig, PlatformConfig, ServingConfig, StoreConfig, TeamConfig, TensorBoardConfig, TrainingConfig } from "./config/schema";

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

/** A team's namespace and the LocalQueue its trainings are submitted to. */
export function teamNamespace(team: Pick<TeamConfig, "name" | "namespace">): string {
  return team.namespace ?? team.name;
}

/** The namespace a serving or training runs in: its team's, else its own, else the platform's. */
export function workloadNamespace(item: { team?: string; namespace?: string }, config: PlatformConfig): string {
  const team = item.team === undefined ? undefined : config.teams.find((t) => t.name === item.team);
  return team ? teamNamespace(team) : (item.namespace ?? config.cluster.namespace);
}

export function s3StoreArgs(store: Extract<StoreConfig, { type: "s3" }>): ModelStoreArgs {
  const { type: _type, name: _name, models: _models, ...args } = store;
  return args;
}

export function inClusterStoreArgs(store: Extract<StoreConfig, { type: "in-cluster" }>, namespace: string): InClusterModelStoreArgs {
  const { type: _type, name: _name, models: _models, ...args } = store;
  return { ...args, namespace };
}

export function gpuPoolArgs(pool: EksGpuPoolConfig, config: PlatformConfig): Omit<GpuNodePoolArgs, "devicePlugin"> {
  const { name: _name, type: _type, subnetIds, ...args } = pool;
  const cluster = config.cluster;
  const clusterName = cluster.type === "eks" ? cluster.name : "";
  return { ...args, clusterName, subnetIds: subnetIds ?? (cluster.type === "eks" ? cluster.subnetIds : undefined) ?? [] };
}

/** GPU nodes that exist already (a pool of `type: existing`): nothing is declared, only their scheduling. */
export function existingPoolNodes(pool: Extract<GpuPoolConfig, { type: "existing" }>): ExistingGpuNodes {
  return existingGpuNodes(pool.name, { nodeLabels: pool.nodeLabels, gpusPerNode: pool.gpusPerNode, taint: pool.taint, architecture: pool.architecture });
}

export function servingArgs(serving: ServingConfig, config: PlatformConfig, wiring: Wiring): TfServingArgs {
  const { name: _name, team: _team, models, gpuPool, namespace: _namespace, service, ...rest } = serving;
  return {
    ...rest,
    namespace: workloadNamespace(serving, config),
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
    namespace: workloadNamespace(training, config),
    // A team's trainings wait in its Kueue queue (named after the team) until its quota admits them.
    queue: training.team,
    resources: training.resources,
    gpuPool: training.gpuPool === undefined ? undefined : wiring.gpuPools.get(training.gpuPool),
    checkpoints: training.checkpoints,
    logs: training.logs,
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

export function tensorBoardArgs(tensorboard: TensorBoardConfig, config: PlatformConfig, wiring: Wiring): TensorBoardArgs {
  const { name: _name, team: _team, models, namespace: _namespace, ...rest } = tensorboard;
  return {
    ...rest,
    namespace: workloadNamespace(tensorboard, config),
    clusterName: wiring.clusterName,
    models: models.map((model) => ({ name: model.name, store: wiring.stores.get(model.store) as ModelStoreBackend })),
  };
}

/** Whether a training runs more than one pod (and so needs the JobSet controller). */
export function isDistributed(training: TrainingConfig): boolean {
  return training.example === undefined && training.mode !== "single";
}

export function mobileExportArgs(mobileExport: MobileExportConfig, config: PlatformConfig, wiring: Wiring): MobileExportArgs {
  const { name: _name, team: _team, store, namespace: _namespace, ...rest } = mobileExport;
  return {
    ...rest,
    store: wiring.stores.get(store) as ModelStoreBackend,
    clusterName: wiring.clusterName,
    namespace: workloadNamespace(mobileExport, config),
  };
}

/** How a team's peer config becomes a network peer: a team stands for all pods of its namespace. */
function peerOf(peer: NetworkPeerConfig, config: PlatformConfig): NetworkPeer {
  if (peer.cidr !== undefined) return { cidr: peer.cidr, except: peer.except };
  const team = peer.team === undefined ? undefined : config.teams.find((t) => t.name === peer.team);
  const namespace = team ? teamNamespace(team) : (peer.namespace as string);
  return { namespace, ...(peer.podLabels ? { podLabels: peer.podLabels } : {}) };
}

/** The stores a team's servings and trainings use, as the network endpoints its pods must reach. */
function teamStoreEndpoints(team: TeamConfig, config: PlatformConfig): StoreEndpoint[] {
  const used = new Set<string>();
  for (const serving of config.servings) if (serving.team === team.name) for (const model of serving.models) used.add(model.store);
  for (const training of config.trainings) if (training.team === team.name) used.add(training.store);
  for (const mobileExport of config.mobileExports) if (mobileExport.team === team.name) used.add(mobileExport.store);
  for (const tensorboard of config.tensorboards) if (tensorboard.team === team.name) for (const model of tensorboard.models) used.add(model.store);
  return config.stores
    .filter((store) => used.has(store.name))
    .map((store): StoreEndpoint =>
      store.type === "s3" ? { type: "s3" } : { type: "in-cluster", namespace: config.cluster.namespace, podLabels: storeServerPodLabels(store.name), port: S3_PORT },
    );
}

/**
 * The servings of other teams that admit this team's pods (by team, or by its namespace): its own egress must let
 * them through, or the caller's default deny would drop what the callee admits.
 */
function servingsTeamMayCall(team: TeamConfig, config: PlatformConfig): EgressRule[] {
  const namespace = teamNamespace(team);
  const rules: EgressRule[] = [];
  for (const other of config.teams) {
    if (other.name === team.name) continue;
    for (const entry of other.servingCallers) {
      if (entry.from.some((peer) => peer.team === team.name || (peer.namespace !== undefined && peer.namespace === namespace))) {
        rules.push({ to: tfServingPods(teamNamespace(other), entry.serving), ports: [...SERVING_PORTS] });
      }
    }
  }
  return rules;
}

/** GPUs the team's queue guarantees per GPU pool, for every pool (0 where none, so the team may still borrow there). */
export function teamQueueGpus(team: TeamConfig, config: PlatformConfig): Map<string, number> {
  const gpus = team.queue.gpus;
  return new Map(
    config.gpuPools.map((pool) => [pool.name, gpus === undefined ? 0 : typeof gpus === "number" ? (config.gpuPools.length === 1 ? gpus : 0) : (gpus[pool.name] ?? 0)]),
  );
}

/** What Team needs of the Kueue installation: its CPU flavor, a flavor per GPU pool, and the release to wait for. */
export interface KueueRef {
  readonly defaultFlavor: FlavorRef;
  readonly release: pulumi.Resource;
  readonly poolFlavors: ReadonlyMap<string, FlavorRef>;
}

export function teamArgs(team: TeamConfig, config: PlatformConfig, kueue: KueueRef): TeamArgs {
  const loadBalancers = config.servings.filter((s) => s.team === team.name && s.service?.type === "InternalLoadBalancer").length;
  const queueGpus = teamQueueGpus(team, config);
  return {
    namespace: teamNamespace(team),
    groups: team.groups,
    extraClusterRoles: [KUEUE_BATCH_USER_ROLE],
    quota: { ...team.quota, loadBalancers: team.quota.loadBalancers ?? loadBalancers },
    defaults: team.defaults,
    queue: {
      kueue,
      cohort: config.kueue.cohort,
      cpu: team.queue.cpu,
      memory: team.queue.memory,
      gpus: config.gpuPools.map((pool) => ({ flavor: kueue.poolFlavors.get(pool.name) as FlavorRef, gpus: queueGpus.get(pool.name) ?? 0 })),
      preemption: team.queue.preemption,
    },
    servingCallers: team.servingCallers.map((entry) => ({ serving: entry.serving, from: entry.from.map((peer) => peerOf(peer, config)) })),
    stores: teamStoreEndpoints(team, config),
    egress: [...team.egress.map((rule) => ({ to: peerOf(rule.to, config), ports: rule.ports })), ...servingsTeamMayCall(team, config)],
  };
}
