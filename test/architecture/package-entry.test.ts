import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildDist, REPO_ROOT } from "../cli/run-mlp";

describe('the package entry point (import ... from "ml-platform")', () => {
  beforeAll(() => buildDist(), 120_000);

  it("is compiled JavaScript with type declarations, so Pulumi programs can load it from node_modules", () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { main: string; types: string; exports: Record<string, unknown> };
    expect(pkg.main).toBe("dist/components/index.js");
    expect(pkg.types).toBe("dist/components/index.d.ts");
    expect(pkg.exports["."]).toEqual({ types: "./dist/components/index.d.ts", default: "./dist/components/index.js" });
    // the public API is named one by one, never re-exported wholesale
    for (const entry of ["components/index.ts", "client/index.ts", "smoke-tests/lib/index.ts"]) {
      expect(readFileSync(path.join(REPO_ROOT, entry), "utf8"), entry).not.toMatch(/export \* from/);
    }
  });

  it("declares components from plain Node, with the container scripts found from the compiled code", () => {
    const output = execFileSync(process.execPath, [path.join(REPO_ROOT, "test/fixtures/use-compiled-package.js")], { cwd: REPO_ROOT, encoding: "utf8" });
    const result = JSON.parse(output) as { entry: string; exports: string[]; types: string[]; syncScript?: string; logSyncScript?: string };
    expect(result.entry).toBe(path.join(REPO_ROOT, "dist", "components", "index.js"));
    // the curated API: components and what programs compose them with; builders and helpers stay internal
    expect(result.exports).toEqual([
      "ComponentValidationError",
      "GpuNodePool",
      "InClusterModelStore",
      "JobSetController",
      "KueueController",
      "MobileExport",
      "ModelStore",
      "NvidiaDevicePlugin",
      "Team",
      "TensorBoard",
      "TfServing",
      "TrainingJob",
      "connectToEksCluster",
      "eksKubeconfig",
      "existingGpuNodes",
      "linearExampleTrainer",
      "tfServingPods",
    ]);
    expect(result.types).toEqual(expect.arrayContaining(["ml-platform:storage:ModelStore", "ml-platform:serving:TfServing", "kubernetes:apps/v1:Deployment"]));
    expect(result.syncScript).toBe(readFileSync(path.join(REPO_ROOT, "components/serving/scripts/model-sync.sh"), "utf8").split("\n")[0]);
    expect(result.types).toContain("ml-platform:observability:TensorBoard");
    expect(result.logSyncScript).toBe(readFileSync(path.join(REPO_ROOT, "components/observability/scripts/log-sync.sh"), "utf8").split("\n")[1]);
  }, 60_000);
});
