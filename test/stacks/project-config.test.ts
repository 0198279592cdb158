/**
 * Pulumi.yaml's `config:` declarations against the stack files, by the rule the Pulumi CLI applies before
 * it runs the program (pkg/workspace/config.go, mergeConfig): a key of the project's namespace declared
 * without `default` (or `value`) must be set in every stack, else `pulumi up` stops with "Stack 'local' is
 * missing configuration value 'ml-platform:gpuPools'". Defaults reach the program like stack values.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parsePlatformConfig } from "../../stacks/config";
import { CONFIG_KEYS } from "../../stacks/config/schema";
import { stackConfig, stackNames } from "../harness/stack-config";

interface Declaration {
  default?: unknown;
  value?: unknown;
  description?: string;
}
const project = parse(readFileSync(join(__dirname, "../../Pulumi.yaml"), "utf8")) as { name: string; config: Record<string, Declaration> };
const declared = Object.entries(project.config).filter(([key]) => key.startsWith(`${project.name}:`));

describe("Pulumi.yaml config declarations", () => {
  it("declare, with a description, exactly the keys the program reads", () => {
    expect(declared.map(([key]) => key).sort()).toEqual(CONFIG_KEYS.map((k) => `${project.name}:${k}`).sort());
    for (const [key, declaration] of declared) expect(declaration.description, key).toMatch(/\w/);
  });

  it.each(stackNames())("%s: sets every key that has no default", (stack) => {
    const config = stackConfig(stack);
    const required = declared.filter(([, d]) => d.default === undefined && d.value === undefined).map(([key]) => key);
    expect(required.filter((key) => !(key in config))).toEqual([]);
  });

  it("require only the cluster; every other key may be left out", () => {
    expect(declared.filter(([, d]) => d.default === undefined && d.value === undefined).map(([key]) => key)).toEqual(["ml-platform:cluster"]);
  });

  it("default to values the program accepts as 'none'", () => {
    const defaults = Object.fromEntries(declared.filter(([, d]) => d.default !== undefined).map(([key, d]) => [key.slice(project.name.length + 1), d.default]));
    expect(defaults).toEqual({ stores: [], gpuPools: [], releases: {}, servings: [], trainings: [], jobSet: {}, teams: [], kueue: {}, mobileExports: [], tensorboards: [] });
    const config = parsePlatformConfig({ cluster: { type: "local" }, ...defaults });
    expect([config.stores, config.gpuPools, config.releases, config.servings, config.trainings, config.jobSet, config.teams, config.kueue, config.mobileExports, config.tensorboards]).toEqual([
      [], [], {}, [], [], {}, [], {}, [], [],
    ]);
  });
});
