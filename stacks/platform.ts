/**
 * The platform program as a function of validated config: declares the cluster connection, model stores
 * and GPU node pools, and returns the stack outputs. `stacks/index.ts` feeds it the current stack's config;
 * tests call it directly.
 */
import * as pulumi from "@pulumi/pulumi";
import { connectToEksCluster } from "../components/cluster/eks-cluster";
import { GpuNodePool } from "../components/compute/gpu-node-pool";
import { ModelStore } from "../components/storage/model-store";
import type { PlatformConfig } from "./config";

export interface PlatformOutputs {
  /** Store name -> bucket name. */
  bucketNames: pulumi.Output<Record<string, string>>;
  /** Pool name -> GPU scheduling contract and GPUs per node. */
  gpuPools: pulumi.Output<Record<string, { nodeSelector: Record<string, string>; gpusPerNode: number }>>;
}

export interface Platform {
  stores: Map<string, ModelStore>;
  gpuPools: Map<string, GpuNodePool>;
  outputs: PlatformOutputs;
}

export function definePlatform(config: PlatformConfig): Platform {
  const { provider } = connectToEksCluster(`${config.cluster.name}-k8s`, config.cluster.name);

  const stores = new Map<string, ModelStore>();
  for (const { name, models: _models, ...args } of config.stores) stores.set(name, new ModelStore(name, args));

  const gpuPools = new Map<string, GpuNodePool>();
  for (const { name, subnetIds, ...args } of config.gpuPools) {
    gpuPools.set(
      name,
      new GpuNodePool(name, {
        ...args,
        clusterName: config.cluster.name,
        subnetIds: subnetIds ?? config.cluster.subnetIds ?? [],
        devicePlugin: { provider },
      }),
    );
  }

  const bucketNames = pulumi.all(Object.fromEntries([...stores].map(([name, store]) => [name, store.bucketName])));
  const poolOutputs = pulumi.all(
    Object.fromEntries(
      [...gpuPools].map(([name, pool]) => [name, pool.scheduling.apply((s) => ({ nodeSelector: s.nodeSelector, gpusPerNode: pool.gpusPerNode }))]),
    ),
  );
  return { stores, gpuPools, outputs: { bucketNames, gpuPools: poolOutputs } };
}
