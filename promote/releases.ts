/**
 * The promotion path, `ml-platform:releases`: model name -> { versions, labels }. The raw value (as the
 * stack config holds it, versions possibly as numeric strings) is what gets written back on rollback;
 * the parsed value (numbers, validated by the stacks' own schema) is what gets compared and planned.
 */
import { platformConfigSchema, type ReleaseConfig } from "../stacks/config/schema";
import { ConfigError } from "./errors";

export const RELEASES_KEY = "ml-platform:releases";

export type Releases = Record<string, ReleaseConfig>;
export type { ReleaseConfig };

const releasesSchema = platformConfigSchema.shape.releases;

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)).join("");
}

/** Validates a raw releases value (undefined: no releases); `where` names it in errors. */
export function parseReleases(raw: unknown, where: string): Releases {
  const parsed = releasesSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  - ${where}${formatPath(issue.path)}: ${issue.message}`);
    throw new ConfigError(`invalid ${where}:\n${problems.join("\n")}`);
  }
  return parsed.data;
}

/** A release in a canonical form: versions sorted without repeats, labels sorted by name. */
export function canonicalRelease(release: ReleaseConfig): ReleaseConfig {
  const labels = Object.fromEntries(Object.entries(release.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { versions: [...new Set(release.versions)].sort((a, b) => a - b), labels };
}

export function sameRelease(a: ReleaseConfig | undefined, b: ReleaseConfig | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return JSON.stringify(canonicalRelease(a)) === JSON.stringify(canonicalRelease(b));
}

export function sameReleases(a: Releases, b: Releases): boolean {
  const models = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...models].every((model) => sameRelease(a[model], b[model]));
}

/** "versions 4, 5 (stable 4, canary 5)", for messages and plans. */
export function describeRelease(release: ReleaseConfig | undefined | null): string {
  if (!release) return "(not released)";
  const { versions, labels } = canonicalRelease(release);
  const labelText = Object.entries(labels).map(([label, version]) => `${label} ${version}`);
  return `version${versions.length === 1 ? "" : "s"} ${versions.join(", ")}${labelText.length ? ` (${labelText.join(", ")})` : ""}`;
}

export function describeReleases(releases: Releases): string {
  const models = Object.keys(releases).sort();
  return models.length ? models.map((model) => `${model}: ${describeRelease(releases[model])}`).join("; ") : "(none)";
}
