/** Reads a stack's config file the way the Pulumi CLI hands it to the program. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const STACKS_DIR = join(__dirname, "..", "..", "stacks");

/** Names of the stacks that have a `stacks/Pulumi.<stack>.yaml`. */
export function stackNames(): string[] {
  return readdirSync(STACKS_DIR)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** The `config:` map of `stacks/Pulumi.<stack>.yaml` (keys like `ml-platform:stores`). */
export function stackConfig(stack: string): Record<string, unknown> {
  const document = parse(readFileSync(join(STACKS_DIR, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
  return document.config ?? {};
}
