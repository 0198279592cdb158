/**
 * The platform's stack configuration: one typed object, read from the `ml-platform:*` config keys of
 * `stacks/Pulumi.<stack>.yaml` and validated as a whole before any resource is declared. Every problem is
 * reported at once with its config path, e.g. `gpuPools[0].scaling.max`.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ComponentValidationError } from "../components/common/validation";
import { GPU_AMI_TYPES } from "../components/compute/gpu-instances";
import { gpuNodePoolSpec } from "../components/compute/gpu-node-pool";
import { validateModelStoreArgs } from "../components/storage/model-store";

export const CONFIG_NAMESPACE = "ml-platform";

const name = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be lowercase letters, digits and '-', starting and ending with a letter or digit").max(40);
const modelName = z.string().regex(/^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$/, "must be lowercase letters, digits, '-' or '_'").max(63);

export const clusterConfigSchema = z.strictObject({
  /** Name of the existing EKS cluster. */
  name: z.string().min(1),
  /** Subnets for GPU node pools that do not list their own (usually the private subnets). */
  subnetIds: z.array(z.string().min(1)).min(1).optional(),
});

export const storeConfigSchema = z.strictObject({
  name,
  bucketName: z.string().optional(),
  kmsKeyArn: z.string().startsWith("arn:").optional(),
  forceDestroy: z.boolean().optional(),
  deletionProtection: z.boolean().optional(),
  noncurrentVersionDays: z.number().optional(),
  abortIncompleteUploadDays: z.number().optional(),
  /** Models this store holds; servings and trainings may only name these. */
  models: z.array(modelName).default([]),
  tags: z.record(z.string(), z.string()).optional(),
});

export const gpuPoolConfigSchema = z.strictObject({
  name,
  instanceTypes: z.array(z.string()).min(1),
  amiType: z.enum(GPU_AMI_TYPES).optional(),
  capacityType: z.enum(["ON_DEMAND", "SPOT"]).optional(),
  scaling: z.strictObject({ min: z.number(), desired: z.number(), max: z.number() }),
  diskSizeGiB: z.number().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  taint: z.union([z.literal(false), z.strictObject({ key: z.string(), value: z.string().optional(), effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]) })]).optional(),
  subnetIds: z.array(z.string().min(1)).min(1).optional(),
  version: z.string().optional(),
  clusterAutoscaler: z.boolean().optional(),
  maxUnavailable: z.number().optional(),
  tags: z.record(z.string(), z.string()).optional(),
});

export const platformConfigSchema = z.strictObject({
  cluster: clusterConfigSchema,
  stores: z.array(storeConfigSchema).default([]),
  gpuPools: z.array(gpuPoolConfigSchema).default([]),
});

export type PlatformConfig = z.infer<typeof platformConfigSchema>;
export type StoreConfig = z.infer<typeof storeConfigSchema>;
export type GpuPoolConfig = z.infer<typeof gpuPoolConfigSchema>;

/** Top-level config keys the program reads (without the `ml-platform:` namespace). */
export const CONFIG_KEYS = Object.keys(platformConfigSchema.shape) as Array<keyof PlatformConfig>;

/** Thrown when stack config is invalid; lists every problem with its path. */
export class PlatformConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid ml-platform stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "PlatformConfigError";
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), "");
}

function duplicates<T>(items: readonly T[], key: (item: T) => string, path: string, problems: string[]): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) problems.push(`${path}[${i}].name: "${k}" is already used by ${path}[${seen.get(k)}]`);
    else seen.set(k, i);
  });
}

/** Re-checks each entry with its component's own validator, so config and components agree on the rules. */
function componentProblems(config: PlatformConfig, problems: string[]): void {
  const collect = (path: string, check: () => void) => {
    try {
      check();
    } catch (err) {
      if (!(err instanceof ComponentValidationError)) throw err;
      for (const issue of err.issues) problems.push(`${path}.${issue.path}: ${issue.message}`);
    }
  };
  config.stores.forEach((store, i) => {
    const { name: storeName, models: _models, ...args } = store;
    for (const issue of validateModelStoreArgs(storeName, args).list()) problems.push(`stores[${i}].${issue.path}: ${issue.message}`);
  });
  config.gpuPools.forEach((pool, i) => {
    const subnetIds = pool.subnetIds ?? config.cluster.subnetIds;
    if (!subnetIds) {
      problems.push(`gpuPools[${i}].subnetIds: required when cluster.subnetIds is not set`);
      return;
    }
    const { name: poolName, ...args } = pool;
    collect(`gpuPools[${i}]`, () => gpuNodePoolSpec(poolName, { ...args, clusterName: config.cluster.name, subnetIds }));
  });
}

/**
 * Validates raw config values (top-level key without namespace -> value). `unknownKeys` are config keys of
 * the `ml-platform` namespace that the program does not read (typos).
 */
export function parsePlatformConfig(raw: Record<string, unknown>, unknownKeys: readonly string[] = []): PlatformConfig {
  const problems: string[] = unknownKeys.map((k) => `${k}: unknown config key; the program reads ${CONFIG_KEYS.map((c) => `${CONFIG_NAMESPACE}:${c}`).join(", ")}`);
  const parsed = platformConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${formatPath(issue.path) || "(root)"}: ${issue.message}`);
    throw new PlatformConfigError(problems);
  }
  const config = parsed.data;
  duplicates(config.stores, (s) => s.name, "stores", problems);
  duplicates(config.gpuPools, (p) => p.name, "gpuPools", problems);
  componentProblems(config, problems);
  if (problems.length > 0) throw new PlatformConfigError(problems);
  return config;
}

/** Reads and validates the current stack's config. */
export function loadPlatformConfig(): PlatformConfig {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const value = config.getObject<unknown>(key);
    if (value !== undefined) raw[key] = value;
  }
  const prefix = `${CONFIG_NAMESPACE}:`;
  const unknownKeys = Object.keys(pulumi.runtime.allConfig())
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length))
    .filter((k) => !(CONFIG_KEYS as string[]).includes(k))
    .map((k) => `${prefix}${k}`);
  return parsePlatformConfig(raw, unknownKeys);
}
