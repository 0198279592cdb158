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
import { planTrainingJob } from "../../components/training/plan";
import { type GpuPoolRef, gpuPoolArgs, inClusterStoreArgs, mobileExportArgs, s3StoreArgs, servingArgs, trainingArgs, type Wiring } from "../wiring";
import type { PlatformConfig } from "./schema";

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
    if (cluster.type === "local") {
      problems.push(`${path}: GPU node pools are EKS managed node groups; a "local" cluster cannot have them`);
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

  // Servings.
  const served = new Set<string>();
  config.servings.forEach((serving, i) => {
    const path = `servings[${i}]`;
    let referencesOk = poolUsable(serving.gpuPool, `${path}.gpuPool`);
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
    referencesOk = modelInStore(training.model, training.store, `${path}.store`, `${path}.model`) && referencesOk;
    if (referencesOk) collectComponentIssues(path, () => planTrainingJob(training.name, trainingArgs(training, config, wiring)), problems);
  });

  // Mobile exports.
  config.mobileExports.forEach((mobileExport, i) => {
    const path = `mobileExports[${i}]`;
    if (modelInStore(mobileExport.model, mobileExport.store, `${path}.store`, `${path}.model`)) {
      collectComponentIssues(path, () => planMobileExport(mobileExport.name, mobileExportArgs(mobileExport, config, wiring)), problems);
    }
  });

  return problems;
}
