/**
 * The platform program as a function of validated config: the cluster connection, namespaces, model
 * stores, GPU pools (and the NVIDIA device plugin), the JobSet controller when a distributed job needs it,
 * training jobs, TF Serving deployments, mobile exports and TensorBoards, and the stack outputs. `stacks/index.ts` feeds it the current
 * stack's config; tests call it directly.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SmokeEndpoint, SmokeTargets } from "../contracts/smoke-targets";
import { connectToEksCluster } from "../components/cluster/eks-cluster";
import { POD_SECURITY_RESTRICTED_LABELS } from "../components/common/kubernetes";
import type { ExistingGpuNodes } from "../components/compute/existing-gpu-nodes";
import { GpuNodePool } from "../components/compute/gpu-node-pool";
import { KueueController } from "../components/queueing/kueue-controller";
import { Team } from "../components/tenancy/team";
import { TfServing } from "../components/serving/tf-serving";
import { TensorBoard } from "../components/observability/tensorboard";
import { InClusterModelStore } from "../components/storage/in-cluster/in-cluster-model-store";
import { ModelStore } from "../components/storage/model-store";
import type { ModelStoreBackend } from "../components/storage/model-store-backend";
import { MobileExport } from "../components/mobile/mobile-export";
import { JobSetController } from "../components/training/jobset-controller";
import { TrainingJob } from "../components/training/training-job";
import type { PlatformConfig, ServingConfig } from "./config";
import {
  existingPoolNodes,
  type GpuPoolRef,
  gpuPoolArgs,
  inClusterStoreArgs,
  isDistributed,
  mobileExportArgs,
  s3StoreArgs,
  servingArgs,
  teamArgs,
  teamNamespace,
  tensorBoardArgs,
  trainingArgs,
  type Wiring,
} from "./wiring";

export interface PlatformOutputs {
  /** Store name -> bucket name. */
  bucketNames: pulumi.Output<Record<string, string>>;
  /** Serving name -> its gRPC and REST endpoints inside the cluster. */
  servingEndpoints: pulumi.Output<Record<string, { grpc: string; rest: string }>>;
  /** Training name -> where its export lands. */
  trainings: pulumi.Output<Record<string, { exportUri: string; version: number }>>;
  /** Pool name -> node selector and GPUs per node. */
  gpuPools: pulumi.Output<Record<string, { nodeSelector: Record<string, string>; gpusPerNode: number }>>;
  /** Mobile export name -> where its TensorFlow Lite build lands. */
  mobileExports: pulumi.Output<Record<string, { exportUri: string; modelFileUri: string; version: number }>>;
  /** Model -> the versions and labels this stack pins (the promotion path, `ml-platform:releases`). */
  releases: PlatformConfig["releases"];
  /** Team -> its namespace, the Kueue queue its trainings go to, its groups, and its servings and trainings. */
  teams: Record<string, TeamOutput>;
  /** Every serving endpoint in the smoke suite's format (contracts/smoke-targets.ts). */
  smokeTargets: pulumi.Output<SmokeTargets>;
  /** TensorBoard name -> its URL inside the cluster, and how to open it from a machine with cluster access. */
  tensorboards: pulumi.Output<Record<string, { url: string; portForward: string; localUrl: string }>>;
}

export interface TeamOutput {
  namespace: string;
  /** The LocalQueue in the namespace (`kueue.x-k8s.io/queue-name`), backed by the ClusterQueue of the same name. */
  queue: string;
  groups: string[];
  servings: string[];
  trainings: string[];
  mobileExports: string[];
  tensorboards: string[];
}

export interface Platform {
  provider: k8s.Provider;
  namespaces: Map<string, k8s.core.v1.Namespace>;
  stores: Map<string, ModelStore | InClusterModelStore>;
  gpuPools: Map<string, GpuNodePool | ExistingGpuNodes>;
  jobSetController?: JobSetController;
  kueue?: KueueController;
  teams: Map<string, Team>;
  trainings: Map<string, TrainingJob>;
  servings: Map<string, TfServing>;
  mobileExports: Map<string, MobileExport>;
  tensorboards: Map<string, TensorBoard>;
  outputs: PlatformOutputs;
}

/** Pod Security "restricted" is enforced on the platform's namespaces: every platform pod meets it. */
export const NAMESPACE_POD_SECURITY = POD_SECURITY_RESTRICTED_LABELS;

function connect(config: PlatformConfig): { provider: k8s.Provider; clusterName: pulumi.Input<string> } {
  const { cluster } = config;
  if (cluster.type === "local") {
    // The current kubeconfig (KUBECONFIG or ~/.kube/config), optionally another context of it.
    const provider = new k8s.Provider("local-k8s", { context: cluster.context, enableServerSideApply: true });
    return { provider, clusterName: "local" };
  }
  const { provider } = connectToEksCluster(`${cluster.name}-k8s`, cluster.name);
  if (cluster.installPodIdentityAgent) {
    new aws.eks.Addon(`${cluster.name}-pod-identity-agent`, { clusterName: cluster.name, addonName: "eks-pod-identity-agent" });
  }
  return { provider, clusterName: cluster.name };
}

/** The namespaces the platform's workloads use: the cluster's, plus any a serving or training names (teams declare theirs). */
function workloadNamespaces(config: PlatformConfig): string[] {
  const names = new Set([config.cluster.namespace]);
  for (const item of [...config.servings, ...config.trainings, ...config.mobileExports, ...config.tensorboards]) if (item.namespace && !item.team) names.add(item.namespace);
  return [...names].sort();
}

/** A serving's smoke target with the per-model request, expectation and budget from config. */
export function smokeTargetWithOverrides(target: SmokeEndpoint, serving: ServingConfig): SmokeEndpoint {
  return {
    ...target,
    models: target.models.map((model) => {
      const smoke = serving.models.find((m) => m.name === model.name)?.smoke;
      return smoke ? { ...model, ...smoke } : model;
    }),
  };
}

export function definePlatform(config: PlatformConfig): Platform {
  const { provider, clusterName } = connect(config);
  const k8sOpts = { providers: { kubernetes: provider } };

  const namespaces = new Map(
    workloadNamespaces(config).map((name) => [
      name,
      new k8s.core.v1.Namespace(name, { metadata: { name, labels: { ...NAMESPACE_POD_SECURITY, "app.kubernetes.io/managed-by": "ml-platform" } } }, { provider }),
    ]),
  );
  const inNamespaces = { ...k8sOpts, dependsOn: [...namespaces.values()] };

  const stores = new Map<string, ModelStore | InClusterModelStore>();
  for (const store of config.stores) {
    stores.set(
      store.name,
      store.type === "s3"
        ? new ModelStore(store.name, s3StoreArgs(store))
        : new InClusterModelStore(store.name, inClusterStoreArgs(store, config.cluster.namespace), inNamespaces),
    );
  }

  const gpuPools = new Map<string, GpuNodePool | ExistingGpuNodes>();
  for (const pool of config.gpuPools) {
    gpuPools.set(pool.name, pool.type === "existing" ? existingPoolNodes(pool) : new GpuNodePool(pool.name, { ...gpuPoolArgs(pool, config), devicePlugin: { provider } }));
  }

  const jobSetController = config.trainings.some(isDistributed) ? new JobSetController("jobset", config.jobSet, k8sOpts) : undefined;

  // Teams share the GPUs through Kueue: one flavor per GPU pool, one queue per team, in one cohort.
  let kueue: KueueController | undefined;
  const teams = new Map<string, Team>();
  if (config.teams.length > 0) {
    const { cohort: _cohort, ...kueueArgs } = config.kueue;
    kueue = new KueueController("kueue", kueueArgs, k8sOpts);
    const controller = kueue;
    const poolFlavors = new Map(config.gpuPools.map((pool) => [pool.name, controller.gpuFlavor(pool.name, gpuPools.get(pool.name)!)]));
    for (const team of config.teams) {
      teams.set(team.name, new Team(team.name, teamArgs(team, config, { defaultFlavor: controller.defaultFlavor, release: controller.release, poolFlavors }), k8sOpts));
    }
  }
  /** A team's workloads come after its namespace, quota, policies and queue; others after the platform's namespaces. */
  const optsFor = (item: { team?: string }, extra: pulumi.Resource[] = []) => ({
    ...k8sOpts,
    dependsOn: [...namespaces.values(), ...(item.team ? [teams.get(item.team)!] : []), ...extra],
  });

  const wiring: Wiring = {
    clusterName,
    stores: stores as ReadonlyMap<string, ModelStoreBackend>,
    gpuPools: gpuPools as ReadonlyMap<string, GpuPoolRef>,
    jobSetController,
  };

  const trainings = new Map<string, TrainingJob>();
  for (const training of config.trainings) trainings.set(training.name, new TrainingJob(training.name, trainingArgs(training, config, wiring), optsFor(training)));

  // A serving starts after the trainings of this stack that export its models, so that a first `pulumi up`
  // trains, then serves (instead of serving pods waiting for a version that is still being trained).
  const servings = new Map<string, TfServing>();
  for (const serving of config.servings) {
    const exporters = config.trainings
      .filter((t) => serving.models.some((m) => m.name === t.model && m.store === t.store))
      .map((t) => trainings.get(t.name)!);
    servings.set(
      serving.name,
      new TfServing(serving.name, servingArgs(serving, config, wiring), optsFor(serving, exporters)),
    );
  }

  // Likewise a mobile export starts after the training of this stack that exports its version (its Job would
  // otherwise wait for the version, holding a pod).
  const mobileExports = new Map<string, MobileExport>();
  for (const mobileExport of config.mobileExports) {
    const exporters = config.trainings
      .filter((t) => t.model === mobileExport.model && t.version === mobileExport.version && t.store === mobileExport.store)
      .map((t) => trainings.get(t.name)!);
    mobileExports.set(
      mobileExport.name,
      new MobileExport(mobileExport.name, mobileExportArgs(mobileExport, config, wiring), optsFor(mobileExport, exporters)),
    );
  }

  const tensorboards = new Map<string, TensorBoard>();
  for (const tensorboard of config.tensorboards) {
    tensorboards.set(tensorboard.name, new TensorBoard(tensorboard.name, tensorBoardArgs(tensorboard, config, wiring), optsFor(tensorboard)));
  }

  const record = <T>(entries: Array<[string, pulumi.Input<T>]>) => pulumi.output(Object.fromEntries(entries)) as pulumi.Output<Record<string, T>>;
  const outputs: PlatformOutputs = {
    bucketNames: record([...stores].map(([name, store]) => [name, store.bucketName])),
    servingEndpoints: record(
      [...servings].map(([name, serving]) => [name, pulumi.all([serving.grpcEndpoint, serving.restEndpoint]).apply(([grpc, rest]) => ({ grpc, rest }))]),
    ),
    trainings: record([...trainings].map(([name, job]) => [name, pulumi.all([job.exportUri, job.version]).apply(([exportUri, version]) => ({ exportUri, version }))])),
    gpuPools: record(
      [...gpuPools].map(([name, pool]) => [name, pool.scheduling.apply((s) => ({ nodeSelector: s.nodeSelector, gpusPerNode: pool.gpusPerNode }))]),
    ),
    mobileExports: record(
      [...mobileExports].map(([name, m]) => [
        name,
        pulumi.all([m.exportUri, m.modelFileUri, m.version]).apply(([exportUri, modelFileUri, version]) => ({ exportUri, modelFileUri, version })),
      ]),
    ),
    releases: config.releases,
    teams: Object.fromEntries(
      config.teams.map((team) => [
        team.name,
        {
          namespace: teamNamespace(team),
          queue: teams.get(team.name)!.queueName as string,
          groups: team.groups,
          servings: config.servings.filter((s) => s.team === team.name).map((s) => s.name),
          trainings: config.trainings.filter((t) => t.team === team.name).map((t) => t.name),
          mobileExports: config.mobileExports.filter((m) => m.team === team.name).map((m) => m.name),
          tensorboards: config.tensorboards.filter((t) => t.team === team.name).map((t) => t.name),
        },
      ]),
    ),
    smokeTargets: pulumi
      .all(config.servings.map((serving) => servings.get(serving.name)!.smokeTarget.apply((target) => smokeTargetWithOverrides(target, serving))))
      .apply((endpoints) => ({ endpoints })),
    tensorboards: record(
      [...tensorboards].map(([name, tensorboard]) => [
        name,
        pulumi.all([tensorboard.url, tensorboard.portForwardCommand, tensorboard.localUrl]).apply(([url, portForward, localUrl]) => ({ url, portForward, localUrl })),
      ]),
    ),
  };
  return { provider, namespaces, stores, gpuPools, jobSetController, kueue, teams, trainings, servings, mobileExports, tensorboards, outputs };
}
