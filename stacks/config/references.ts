/**
 * Checks that go beyond the shape of the config: names that refer to things that do not exist, and the
 * components' own rules (run through the same argument translation the program uses, with stand-in stores
 * and pools, so nothing is declared while checking).
 */
import * as pulumi from "@pulumi/pulumi";
import { ComponentValidationError, type IssueCollector } from "../../components/common/validation";
import { GPU_RESOURCE_NAME, gpuNodePoolSpec } from "../../components/compute/gpu-node-pool";
import { validateInClusterModelStoreArgs } from "../../components/storage/in-cluster/in-cluster-model-store";
import { validateModelStoreArgs } from "../../components/storage/model-store";
import type { ModelStoreBackend } from "../../components/storage/model-store-backend";
import { validateTfServingArgs } from "../../components/serving/validation";
import { planMobileExport } from "../../components/mobile/plan";
import { validateTensorBoardArgs } from "../../components/observability/plan";
import { planTrainingJob } from "../../components/training/plan";
import { planTeam } from "../../components/tenancy/team-plan";
import {
  existingPoolNodes,
  type GpuPoolRef,
  gpuPoolArgs,
  inClusterStoreArgs,
  s3StoreArgs,
  servingArgs,
  teamArgs,
  teamNamespace,
  teamQueueGpus,
  mobileExportArgs,
  tensorBoardArgs,
  trainingArgs,
  type Wiring,
} from "../wiring";
import type { PlatformConfig, TeamConfig } from "./schema";

/** Stands in for a store while validating: validators only check that a store is there. */
function standInStore(name: string): ModelStoreBackend {
  const never = (): never => {
    throw new Error(`stand-in store "${name}" is for validation only`);
  };
  return {
    bucketName: pulumi.output(name),
    region: pulumi.output("stand-in"),
    endpoint: pulumi.output(undefined as string | undefined),
    modelUri: never,
    grantAccess: never,
  };
}

function quote(names: Iterable<string>): string {
  const list = [...names].map((n) => `"${n}"`);
  return list.length > 0 ? list.join(", ") : "(none)";
}

function duplicates(names: readonly string[], path: string, problems: string[]): void {
  const first = new Map<string, number>();
  names.forEach((name, i) => {
    if (first.has(name)) problems.push(`${path}[${i}].name: "${name}" is already used by ${path}[${first.get(name)}]`);
    else first.set(name, i);
  });
}

function collectComponentIssues(path: string, check: () => IssueCollector | unknown, problems: string[]): void {
  try {
    const result = check();
    if (result && typeof (result as IssueCollector).list === "function") {
      for (const issue of (result as IssueCollector).list()) problems.push(`${path}.${issue.path}: ${issue.message}`);
    }
  } catch (err) {
    if (!(err instanceof ComponentValidationError)) throw err;
    for (const issue of err.issues) problems.push(`${path}.${issue.path}: ${issue.message}`);
  }
}

/** Every reference and component-rule problem of a config that already has the right shape. */
export function referenceProblems(config: PlatformConfig): string[] {
  const problems: string[] = [];
  const { cluster } = config;
  duplicates(config.stores.map((s) => s.name), "stores", problems);
  duplicates(config.gpuPools.map((p) => p.name), "gpuPools", problems);
  duplicates(config.servings.map((s) => s.name), "servings", problems);
  duplicates(config.trainings.map((t) => t.name), "trainings", problems);
  duplicates(config.mobileExports.map((m) => m.name), "mobileExports", problems);
  duplicates(config.tensorboards.map((t) => t.name), "tensorboards", problems);

  // Stores.
  const storeModels = new Map(config.stores.map((s) => [s.name, new Set(s.models)]));
  config.stores.forEach((store, i) => {
    const path = `stores[${i}]`;
    if (store.type === "s3") {
      if (cluster.type === "local") problems.push(`${path}.type: "s3" needs AWS, but cluster.type is "local"; use type "in-cluster"`);
      collectComponentIssues(path, () => validateModelStoreArgs(store.name, s3StoreArgs(store)), problems);
    } else {
      collectComponentIssues(path, () => validateInClusterModelStoreArgs(store.name, inClusterStoreArgs(store, cluster.namespace)), problems);
    }
  });

  // GPU pools.
  const pools = new Map<string, GpuPoolRef>();
  config.gpuPools.forEach((pool, i) => {
    const path = `gpuPools[${i}]`;
    if (pool.type === "existing") {
      collectComponentIssues(
        path,
        () => {
          const nodes = existingPoolNodes(pool);
          pools.set(pool.name, { scheduling: nodes.scheduling, gpusPerNode: nodes.gpusPerNode, gpuResourceName: GPU_RESOURCE_NAME, architecture: nodes.architecture });
        },
        problems,
      );
      return;
    }
    if (cluster.type === "local") {
      problems.push(`${path}: GPU node pools of type "eks" are EKS managed node groups; a "local" cluster cannot have them (describe its GPU nodes with type "existing")`);
      return;
    }
    const args = gpuPoolArgs(pool, config);
    if (args.subnetIds.length === 0) {
      problems.push(`${path}.subnetIds: required when cluster.subnetIds is not set`);
      return;
    }
    collectComponentIssues(
      path,
      () => {
        const spec = gpuNodePoolSpec(pool.name, args);
        pools.set(pool.name, { scheduling: pulumi.output(spec.scheduling), gpusPerNode: spec.gpusPerNode, gpuResourceName: GPU_RESOURCE_NAME, architecture: spec.architecture });
      },
      problems,
    );
  });

  const wiring: Wiring = {
    clusterName: cluster.type === "eks" ? cluster.name : "local",
    stores: new Map(config.stores.map((s) => [s.name, standInStore(s.name)])),
    gpuPools: pools,
  };
  /** False when the pool is unknown (reported here) or invalid (already reported), so dependents are not re-checked. */
  const poolUsable = (name: string | undefined, path: string) => {
    if (name === undefined) return true;
    if (!config.gpuPools.some((p) => p.name === name)) {
      problems.push(`${path}: unknown GPU pool "${name}"; gpuPools has ${quote(config.gpuPools.map((p) => p.name))}`);
      return false;
    }
    return pools.has(name);
  };
  const modelInStore = (model: string, store: string, storePath: string, modelPath: string) => {
    const models = storeModels.get(store);
    if (!models) {
      problems.push(`${storePath}: unknown store "${store}"; stores has ${quote(storeModels.keys())}`);
      return false;
    }
    if (!models.has(model)) {
      problems.push(`${modelPath}: model "${model}" is not held by store "${store}" (its models: ${quote(models)}); add it to the store's models`);
      return false;
    }
    return true;
  };

  // Release labels must point at released versions; servings of a broken release are not re-checked.
  const brokenReleases = new Set<string>();
  for (const [model, release] of Object.entries(config.releases)) {
    for (const [label, version] of Object.entries(release.labels)) {
      if (!release.versions.includes(version)) {
        problems.push(`releases.${model}.labels.${label}: points at version ${version}, which releases.${model}.versions (${release.versions.join(", ")}) does not serve`);
        brokenReleases.add(model);
      }
    }
  }

  const gpuConfigBroken = teamProblems(config, problems);
  /** False when the item names an unknown team or sets a namespace besides its team (both reported here). */
  const teamUsable = (item: { team?: string; namespace?: string }, path: string) => {
    if (item.team === undefined) return true;
    const team = config.teams.find((t) => t.name === item.team);
    if (!team) {
      problems.push(`${path}.team: unknown team "${item.team}"; teams has ${quote(config.teams.map((t) => t.name))}`);
      return false;
    }
    if (item.namespace !== undefined) {
      problems.push(`${path}.namespace: conflicts with team "${team.name}", whose namespace "${teamNamespace(team)}" it runs in; remove namespace`);
      return false;
    }
    return true;
  };

  // Servings.
  const served = new Set<string>();
  config.servings.forEach((serving, i) => {
    const path = `servings[${i}]`;
    let referencesOk = poolUsable(serving.gpuPool, `${path}.gpuPool`);
    referencesOk = teamUsable(serving, path) && referencesOk;
    serving.models.forEach((model, j) => {
      served.add(model.name);
      referencesOk = modelInStore(model.name, model.store, `${path}.models[${j}].store`, `${path}.models[${j}].name`) && referencesOk;
      if (brokenReleases.has(model.name)) referencesOk = false;
      if (model.versionPolicy && config.releases[model.name]) {
        problems.push(`${path}.models[${j}].versionPolicy: conflicts with releases.${model.name}, which pins the versions served; remove one`);
        referencesOk = false;
      }
    });
    if (serving.service?.sourceRanges && serving.service.type !== "InternalLoadBalancer") {
      problems.push(`${path}.service.sourceRanges: only applies to type "InternalLoadBalancer"`);
    }
    if (referencesOk) collectComponentIssues(path, () => validateTfServingArgs(serving.name, servingArgs(serving, config, wiring)), problems);
  });

  // A release of a model nothing serves would silently do nothing: most likely a typo.
  for (const model of Object.keys(config.releases)) {
    if (!served.has(model)) problems.push(`releases.${model}: no serving serves model "${model}"; served models: ${quote(served)}`);
  }

  // Trainings.
  config.trainings.forEach((training, i) => {
    const path = `trainings[${i}]`;
    let referencesOk = poolUsable(training.gpuPool, `${path}.gpuPool`);
    referencesOk = teamUsable(training, path) && referencesOk;
    referencesOk = modelInStore(training.model, training.store, `${path}.store`, `${path}.model`) && referencesOk;
    if (!referencesOk) return;
    collectComponentIssues(path, () => planTrainingJob(training.name, trainingArgs(training, config, wiring)), problems);
    if (training.team !== undefined && !gpuConfigBroken.has(training.team)) queuedGpuProblems(config, i, wiring, problems);
  });

  // Mobile exports.
  config.mobileExports.forEach((mobileExport, i) => {
    const path = `mobileExports[${i}]`;
    const teamOk = teamUsable(mobileExport, path);
    if (modelInStore(mobileExport.model, mobileExport.store, `${path}.store`, `${path}.model`) && teamOk) {
      collectComponentIssues(path, () => planMobileExport(mobileExport.name, mobileExportArgs(mobileExport, config, wiring)), problems);
    }
  });

  // TensorBoards.
  config.tensorboards.forEach((tensorboard, i) => {
    const path = `tensorboards[${i}]`;
    let referencesOk = teamUsable(tensorboard, path);
    tensorboard.models.forEach((model, j) => {
      referencesOk = modelInStore(model.name, model.store, `${path}.models[${j}].store`, `${path}.models[${j}].name`) && referencesOk;
    });
    if (referencesOk) collectComponentIssues(path, () => validateTensorBoardArgs(tensorboard.name, tensorBoardArgs(tensorboard, config, wiring)), problems);
  });

  return problems;
}

/** The GPUs a TrainingJob's pods ask for at once (0 when it uses none or is invalid, which is reported elsewhere). */
function trainingGpus(config: PlatformConfig, index: number, wiring: Wiring): number {
  const training = config.trainings[index];
  try {
    const spec = planTrainingJob(training.name, trainingArgs(training, config, wiring));
    return spec.plan.roles.filter((role) => role.usesGpus).reduce((sum, role) => sum + role.replicas * spec.gpusPerPod, 0);
  } catch {
    return 0;
  }
}

/**
 * A queued training must be able to get its GPUs at all: its team's queue needs a guarantee on its pool, and the
 * guarantee plus what the team may borrow (its quota above the guarantee, at most what the other teams hold there)
 * must cover all its pods at once, or it would wait in the queue forever.
 */
function queuedGpuProblems(config: PlatformConfig, index: number, wiring: Wiring, problems: string[]): void {
  const training = config.trainings[index];
  const path = `trainings[${index}]`;
  const gpus = trainingGpus(config, index, wiring);
  if (gpus === 0 || training.gpuPool === undefined) return;
  const teamIndex = config.teams.findIndex((t) => t.name === training.team);
  const team = config.teams[teamIndex];
  const teamPath = `teams[${teamIndex}]`;
  const guaranteed = teamQueueGpus(team, config).get(training.gpuPool) ?? 0;
  if (guaranteed === 0) {
    problems.push(
      `${path}.resources.gpus: asks for GPUs on pool "${training.gpuPool}", but team "${team.name}" has no GPU quota there (${teamPath}.queue.gpus); give the team GPUs on "${training.gpuPool}"`,
    );
    return;
  }
  const allGuaranteed = [...teamQueueGpus(team, config).values()].reduce((a, b) => a + b, 0);
  const headroom = Math.max(0, (team.quota.gpus ?? 0) - allGuaranteed);
  const lendable = config.teams.filter((t) => t.name !== team.name).reduce((sum, t) => sum + (teamQueueGpus(t, config).get(training.gpuPool!) ?? 0), 0);
  const most = guaranteed + Math.min(headroom, lendable);
  if (gpus > most) {
    problems.push(
      `${path}.resources.gpus: needs ${gpus} GPU(s) at once, but team "${team.name}" can get at most ${most} on pool "${training.gpuPool}" (its queue guarantees ${guaranteed}, it may borrow ${most - guaranteed}); it would wait in the queue forever: raise ${teamPath}.queue.gpus or ${teamPath}.quota.gpus, or use fewer GPUs`,
    );
  }
}

/** The GPUs a serving may run at once: GPUs per pod times its most replicas. */
function servingGpus(serving: PlatformConfig["servings"][number]): number {
  const replicas = serving.autoscaling?.maxReplicas ?? serving.replicas ?? 2;
  return (serving.resources?.gpus ?? 0) * replicas;
}

/**
 * Teams: names, namespaces, references between teams and servings, GPU budgets, and the Team component's own rules.
 * Returns the teams whose GPU guarantee cannot be read (their trainings' GPU needs are not checked against it).
 */
function teamProblems(config: PlatformConfig, problems: string[]): Set<string> {
  const before = problems.length;
  const gpuConfigBroken = new Set<string>();
  if (config.teams.length === 0) {
    if (Object.keys(config.kueue).length > 0) problems.push(`kueue: Kueue is only installed for teams, and teams is empty; add teams or remove kueue`);
    return gpuConfigBroken;
  }
  duplicates(config.teams.map((t) => t.name), "teams", problems);
  const byName = new Map(config.teams.map((t) => [t.name, t]));
  const owner = new Map<string, number>();
  const otherNamespaces = new Set([config.cluster.namespace, ...[...config.servings, ...config.trainings, ...config.mobileExports, ...config.tensorboards].filter((x) => !x.team && x.namespace).map((x) => x.namespace as string)]);
  config.teams.forEach((team, i) => {
    const namespace = teamNamespace(team);
    if (owner.has(namespace)) problems.push(`teams[${i}].namespace: "${namespace}" is already the namespace of teams[${owner.get(namespace)}]; each team needs its own`);
    else owner.set(namespace, i);
    if (otherNamespaces.has(namespace)) {
      problems.push(
        `teams[${i}].namespace: "${namespace}" is also used outside the team (the platform's namespace, or a serving, training, mobile export or TensorBoard without a team); give the team its own namespace, or put those workloads in the team`,
      );
    }
  });
  const poolNames = config.gpuPools.map((p) => p.name);

  config.teams.forEach((team, i) => {
    const path = `teams[${i}]`;
    const gpus = team.queue.gpus;
    if (typeof gpus === "number" && gpus > 0 && poolNames.length !== 1) {
      problems.push(`${path}.queue.gpus: a number needs exactly one GPU pool, but gpuPools has ${quote(poolNames)}; give GPUs per pool, e.g. { ${poolNames[0] ?? "pool"}: ${gpus} }`);
      gpuConfigBroken.add(team.name);
    } else if (gpus !== undefined && typeof gpus !== "number") {
      for (const pool of Object.keys(gpus)) {
        if (poolNames.includes(pool)) continue;
        problems.push(`${path}.queue.gpus.${pool}: unknown GPU pool "${pool}"; gpuPools has ${quote(poolNames)}`);
        gpuConfigBroken.add(team.name);
      }
    }
    const peerProblems = (peer: { team?: string }, peerPath: string) => {
      if (peer.team === undefined) return;
      if (!byName.has(peer.team)) problems.push(`${peerPath}.team: unknown team "${peer.team}"; teams has ${quote(byName.keys())}`);
      else if (peer.team === team.name) problems.push(`${peerPath}.team: a team's own pods may always call its servings; remove it`);
    };
    team.servingCallers.forEach((entry, j) => {
      const serving = config.servings.find((s) => s.name === entry.serving);
      // A serving of an unknown team is reported with the serving.
      const unknownTeam = serving?.team !== undefined && !byName.has(serving.team);
      if (!unknownTeam && (!serving || serving.team !== team.name)) {
        const own = config.servings.filter((s) => s.team === team.name).map((s) => s.name);
        problems.push(`${path}.servingCallers[${j}].serving: "${entry.serving}" is not a serving of team "${team.name}"; its servings: ${quote(own)}`);
      }
      entry.from.forEach((peer, k) => peerProblems(peer, `${path}.servingCallers[${j}].from[${k}]`));
    });
    team.egress.forEach((rule, j) => {
      if (rule.to.team !== undefined && !byName.has(rule.to.team)) problems.push(`${path}.egress[${j}].to.team: unknown team "${rule.to.team}"; teams has ${quote(byName.keys())}`);
    });
    // An internal load balancer's clients come from outside the cluster: the team's default deny drops them unless listed.
    config.servings.forEach((serving, k) => {
      if (serving.team !== team.name || serving.service?.type !== "InternalLoadBalancer") return;
      const callers = team.servingCallers.find((c) => c.serving === serving.name)?.from ?? [];
      if (!callers.some((peer) => peer.cidr !== undefined)) {
        problems.push(
          `servings[${k}].service.type: an InternalLoadBalancer in team "${team.name}" gets no traffic through the team's NetworkPolicies; list its clients' address ranges in ${path}.servingCallers (e.g. { serving: ${serving.name}, from: [{ cidr: "10.0.0.0/16" }] })`,
        );
      }
    });
    // GPU servings and the queue's guarantee both come out of the namespace's GPU quota.
    const servingGpuTotal = config.servings.filter((s) => s.team === team.name).reduce((sum, s) => sum + servingGpus(s), 0);
    const guaranteed = [...teamQueueGpus(team, config).values()].reduce((a, b) => a + b, 0);
    if (servingGpuTotal > 0 && servingGpuTotal + guaranteed > (team.quota.gpus ?? 0)) {
      problems.push(
        `${path}.quota.gpus: the team's servings run up to ${servingGpuTotal} GPU(s) and its queue guarantees ${guaranteed}, but the quota allows ${team.quota.gpus ?? 0}; raise it to at least ${servingGpuTotal + guaranteed}`,
      );
    }
  });
  if (problems.length > before) return gpuConfigBroken;

  // The Team component's own rules, through the same translation the program uses (stand-in Kueue flavors).
  const standIn = {
    defaultFlavor: { name: "default" },
    release: undefined as never,
    poolFlavors: new Map(config.gpuPools.map((p) => [p.name, { name: `gpu-${p.name}` }])),
  };
  config.teams.forEach((team: TeamConfig, i) => collectComponentIssues(`teams[${i}]`, () => planTeam(team.name, teamArgs(team, config, standIn)), problems));
  return gpuConfigBroken;
}

