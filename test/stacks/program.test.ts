import { describe, expect, it, vi } from "vitest";
import { parsePlatformConfig, PlatformConfigError } from "../../stacks/config";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import { type MockOptions, runInMocks, unwrap } from "../harness/pulumi-mocks";
import { stackConfig, stackNames } from "../harness/stack-config";

/** Runs the real program entry point (`stacks/index.ts`) with a stack's config. */
async function runProgram(config: MockOptions["config"], stack = "test") {
  vi.resetModules();
  return runInMocks(async () => (await import("../../stacks/index")) as Record<string, unknown>, { config, stack });
}

describe("the program, once per stack file", () => {
  it("has the dev, staging and prod stacks", () => {
    expect(stackNames()).toEqual(expect.arrayContaining(["dev", "prod", "staging"]));
  });

  it.each(stackNames())("%s: declares its stores and pools with schema-valid Kubernetes objects", async (stack) => {
    const config = stackConfig(stack);
    const run = await runProgram(config, stack);
    const stores = (config["ml-platform:stores"] as Array<{ name: string }>) ?? [];
    const pools = (config["ml-platform:gpuPools"] as Array<{ name: string }>) ?? [];
    expect(run.ofType("ml-platform:storage:ModelStore").map((r) => r.name).sort()).toEqual(stores.map((s) => s.name).sort());
    expect(run.ofType("ml-platform:compute:GpuNodePool").map((r) => r.name).sort()).toEqual(pools.map((p) => p.name).sort());
    // The Kubernetes provider authenticates with `aws eks get-token`, never a static token.
    const provider = run.get("pulumi:providers:kubernetes");
    const kubeconfig = JSON.parse(provider.inputs.kubeconfig);
    expect(kubeconfig.users[0].user.exec.command).toBe("aws");
    expect(kubeconfig.users[0].user.exec.args.slice(0, 2)).toEqual(["eks", "get-token"]);
    expect(kubeconfig.users[0].user).not.toHaveProperty("token");
    if (pools.length > 0) expect(run.ofType("kubernetes:apps/v1:DaemonSet")).toHaveLength(1);
    await expectValidKubernetesObjects(run);
    expect(Object.keys(await unwrap(run.result.bucketNames as Record<string, string>)).sort()).toEqual(stores.map((s) => s.name).sort());
  });

  it("dev: spot GPUs that scale to zero, and a bucket that may be destroyed", async () => {
    const run = await runProgram(stackConfig("dev"), "dev");
    const nodeGroup = run.get("aws:eks/nodeGroup:NodeGroup").inputs;
    expect(nodeGroup.capacityType).toBe("SPOT");
    expect(nodeGroup.scalingConfig.minSize).toBe(0);
    expect(run.get("aws:s3/bucket:Bucket").inputs.forceDestroy).toBe(true);
  });

  it("prod: on-demand GPUs, KMS encryption and a protected bucket", async () => {
    const run = await runProgram(stackConfig("prod"), "prod");
    expect(run.get("aws:eks/nodeGroup:NodeGroup").inputs.capacityType).toBe("ON_DEMAND");
    const bucket = run.get("aws:s3/bucket:Bucket");
    expect([bucket.protect, bucket.retainOnDelete, bucket.inputs.forceDestroy]).toEqual([true, true, false]);
    const [rule] = run.get("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules;
    expect(rule.applyServerSideEncryptionByDefault.sseAlgorithm).toBe("aws:kms");
  });

  it("works with no GPU pools and no stores", async () => {
    const run = await runProgram({ "ml-platform:cluster": { name: "bare" } });
    expect(run.ofType("aws:eks/nodeGroup:NodeGroup")).toEqual([]);
    expect(run.ofType("kubernetes:apps/v1:DaemonSet")).toEqual([]);
    expect(await unwrap(run.result.bucketNames as Record<string, string>)).toEqual({});
  });

  it("rejects bad config before declaring any resource", async () => {
    let error: unknown;
    const run = await runInMocks(async () => {
      vi.resetModules();
      try {
        await import("../../stacks/index");
      } catch (err) {
        error = err;
      }
    }, { config: { "ml-platform:cluster": { name: "c" }, "ml-platform:gpuPool": [] } });
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/ml-platform:gpuPool: unknown config key/);
    expect(run.resources).toEqual([]);
  });
});

describe("parsePlatformConfig", () => {
  const problemsOf = (raw: Record<string, unknown>, unknownKeys: string[] = []) => {
    try {
      parsePlatformConfig(raw, unknownKeys);
    } catch (err) {
      expect(err).toBeInstanceOf(PlatformConfigError);
      return (err as PlatformConfigError).problems;
    }
    throw new Error("expected a config error");
  };

  it("lists every problem at once, each with its config path", () => {
    const problems = problemsOf({
      cluster: { name: "c", region: "us-east-1" },
      stores: [{ name: "models", forceDestroy: "yes" }],
      gpuPools: [{ name: "gpu", instanceTypes: ["g5.xlarge"], scaling: { min: 0, max: 1 } }],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^cluster: Unrecognized key: "region"/),
        expect.stringMatching(/^stores\[0\]\.forceDestroy: .*boolean/),
        expect.stringMatching(/^gpuPools\[0\]\.scaling\.desired: .*number/),
      ]),
    );
    expect(problems).toHaveLength(3);
  });

  it("reports a missing cluster", () => {
    expect(problemsOf({})).toEqual([expect.stringMatching(/^cluster: .*object/)]);
  });

  it("applies the components' own rules, with config paths", () => {
    const problems = problemsOf({
      cluster: { name: "c" },
      stores: [{ name: "models", bucketName: "bad_bucket" }],
      gpuPools: [
        { name: "gpu", instanceTypes: ["m5.large"], scaling: { min: 0, desired: 0, max: 1 }, subnetIds: ["s"] },
        { name: "gpu2", instanceTypes: ["g5.xlarge"], scaling: { min: 0, desired: 0, max: 1 } },
      ],
    });
    expect(problems).toEqual([
      expect.stringMatching(/^stores\[0\]\.bucketName: "bad_bucket" may contain only lowercase/),
      expect.stringMatching(/^gpuPools\[0\]\.instanceTypes\[0\]: "m5\.large" is not a known NVIDIA GPU instance type/),
      "gpuPools[1].subnetIds: required when cluster.subnetIds is not set",
    ]);
  });

  it("rejects duplicate names and unknown top-level keys", () => {
    const problems = problemsOf(
      { cluster: { name: "c" }, stores: [{ name: "models" }, { name: "models" }] },
      ["ml-platform:servingz"],
    );
    expect(problems).toEqual([
      expect.stringMatching(/^ml-platform:servingz: unknown config key; the program reads ml-platform:cluster, ml-platform:stores, ml-platform:gpuPools/),
      'stores[1].name: "models" is already used by stores[0]',
    ]);
  });
});
