import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(__dirname, "..", "..");

describe("Pulumi's Node.js runtime", () => {
  it("loads the program named by Pulumi.yaml as CommonJS through ts-node, with type checking", () => {
    const output = execFileSync(process.execPath, [join(root, "test/fixtures/load-program-like-pulumi.js")], { cwd: root, encoding: "utf8", timeout: 120_000 });
    const { exports } = JSON.parse(output) as { exports: string[] };
    expect(exports).toEqual(expect.arrayContaining(["bucketNames", "gpuPools"]));
  }, 120_000);

  it("is set up the way the runtime expects: CommonJS package, project config in stacks/", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { type?: string; engines: { node: string } };
    expect(pkg.type ?? "commonjs").toBe("commonjs");
    expect(pkg.engines.node).toMatch(/>=\s*22/);
    const pulumiYaml = readFileSync(join(root, "Pulumi.yaml"), "utf8");
    expect(pulumiYaml).toMatch(/^name: ml-platform$/m);
    expect(pulumiYaml).toMatch(/^main: stacks\/$/m);
    expect(pulumiYaml).toMatch(/^stackConfigDir: stacks$/m);
  });
});
