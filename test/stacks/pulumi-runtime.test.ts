import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { effectiveCompilerOptions, resolveProgramLikeEngine } from "../harness/pulumi-entry";

const root = join(__dirname, "..", "..");

describe("what `pulumi up` runs (engine + Node.js runtime resolution of Pulumi.yaml and package.json)", () => {
  const entry = resolveProgramLikeEngine(root);

  it("runs the stacks program named by Pulumi.yaml, not the package's library entry point", () => {
    expect(entry.source).toBe("Pulumi.yaml main");
    expect(entry.program).toBe(join(root, "stacks", "index.ts"));
  });

  it("compiles it with the project's compiler settings (a tsconfig.json where the runtime looks for one)", () => {
    expect(entry.tsconfig, `run.js looks for tsconfig.json in ${entry.pwd} only`).toBeDefined();
    const project = ts.parseJsonConfigFileContent(ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile).config, ts.sys, root).options;
    const effective = effectiveCompilerOptions(entry);
    for (const option of ["target", "module", "moduleResolution", "lib", "strict", "esModuleInterop", "types"] as const) {
      expect(effective[option], `compiler option ${option}`).toEqual(project[option]);
    }
  });

  it("loads that program as CommonJS through ts-node with type checking, as the runtime does", () => {
    const output = execFileSync(process.execPath, [join(root, "test/fixtures/load-program-like-pulumi.js"), JSON.stringify(entry)], {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000,
    });
    const { exports } = JSON.parse(output) as { exports: string[] };
    expect(exports).toEqual(["bucketNames", "gpuPools", "mobileExports", "releases", "servingEndpoints", "smokeTargets", "teams", "tensorboards", "trainings"]);
  }, 120_000);

  it("is a CommonJS package with project config in stacks/", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { type?: string; engines: { node: string } };
    expect(pkg.type ?? "commonjs").toBe("commonjs");
    expect(pkg.engines.node).toMatch(/>=\s*22/);
    const pulumiYaml = readFileSync(join(root, "Pulumi.yaml"), "utf8");
    expect(pulumiYaml).toMatch(/^name: ml-platform$/m);
    expect(pulumiYaml).toMatch(/^stackConfigDir: stacks$/m);
  });
});
