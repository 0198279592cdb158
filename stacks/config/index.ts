/**
 * The platform's stack configuration: one typed object read from the `ml-platform:*` keys of
 * `stacks/Pulumi.<stack>.yaml`, validated as a whole before any resource is declared. Every problem is
 * reported at once with its config path, e.g. `servings[0].models[1].store`.
 */
import * as pulumi from "@pulumi/pulumi";
import { referenceProblems } from "./references";
import { CONFIG_KEYS, type PlatformConfig, platformConfigSchema } from "./schema";

export * from "./schema";

export const CONFIG_NAMESPACE = "ml-platform";

/** Thrown when stack config is invalid; lists every problem with its path. */
export class PlatformConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid ${CONFIG_NAMESPACE} stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "PlatformConfigError";
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), "");
}

/**
 * Validates raw config values (top-level key without the namespace -> value). `unknownKeys` are keys of
 * the `ml-platform` namespace that the program does not read (typos).
 */
export function parsePlatformConfig(raw: Record<string, unknown>, unknownKeys: readonly string[] = []): PlatformConfig {
  const problems = unknownKeys.map((k) => `${k}: unknown config key; the program reads ${CONFIG_KEYS.map((c) => `${CONFIG_NAMESPACE}:${c}`).join(", ")}`);
  const parsed = platformConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${formatPath(issue.path) || "(root)"}: ${issue.message}`);
    throw new PlatformConfigError(problems);
  }
  problems.push(...referenceProblems(parsed.data));
  if (problems.length > 0) throw new PlatformConfigError(problems);
  return parsed.data;
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
    .filter((k) => k.startsWith(prefix) && !(CONFIG_KEYS as string[]).includes(k.slice(prefix.length)))
    .sort();
  return parsePlatformConfig(raw, unknownKeys);
}
