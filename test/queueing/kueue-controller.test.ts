/** KueueController: the pinned Helm release, the CPU flavor and the flavors of GPU pools. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ComponentValidationError } from "../../components/common/validation";
import { existingGpuNodes } from "../../components/compute/existing-gpu-nodes";
import { GpuNodePool } from "../../components/compute/gpu-node-pool";
import { KUEUE_CHART, KUEUE_NAMESPACE, KueueController, kueueReleaseArgs } from "../../components/queueing/kueue-controller";
import { flavorNodesOf, KUEUE_VERSION } from "../../components/queueing/kueue-objects";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import "../harness/kueue-schema";
import { runInMocks } from "../harness/pulumi-mocks";

const FLAVOR = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor";

describe("KueueController", () => {
  it("installs the pinned Kueue release from its Helm chart on registry.k8s.io, with the release's image, waiting for it", () => {
    expect(KUEUE_VERSION).toBe("0.17.0");
    expect(kueueReleaseArgs()).toEqual({
      name: "kueue",
      chart: "oci://registry.k8s.io/kueue/charts/kueue",
      version: "0.17.0",
      namespace: "kueue-system",
      createNamespace: false,
      skipCrds: false,
      skipAwait: false,
      atomic: true,
      timeout: 600,
      values: { controllerManager: { manager: { image: { repository: "registry.k8s.io/kueue/kueue", tag: "v0.17.0", pullPolicy: "IfNotPresent" } } } },
    });
  });

  it("merges chart values over its own, and installs from a mirrored chart when given one", () => {
    const args = kueueReleaseArgs({ chart: "/mirror/kueue-0.17.0.tgz", values: { controllerManager: { replicas: 2, manager: { image: { pullPolicy: "Always" } } }, enablePrometheus: true } });
    expect(args.chart).toBe("/mirror/kueue-0.17.0.tgz");
    expect(args.values).toEqual({
      controllerManager: { replicas: 2, manager: { image: { repository: "registry.k8s.io/kueue/kueue", tag: "v0.17.0", pullPolicy: "Always" } } },
      enablePrometheus: true,
    });
  });

  it("keeps its version in step with the real-deploy suite, which builds that Kueue", () => {
    const script = readFileSync(join(__dirname, "..", "e2e", "install-tools.sh"), "utf8");
    expect(/^KUEUE_VERSION=(\S+)$/m.exec(script)?.[1]).toBe(`v${KUEUE_VERSION}`);
  });

  it("declares the release and the CPU flavor; each GPU pool gets one flavor with its node labels and taint; all schema-valid", async () => {
    const run = await runInMocks(() => {
      const kueue = new KueueController("kueue");
      const pool = new GpuNodePool("a100", { clusterName: "ml", subnetIds: ["subnet-a"], instanceTypes: ["p4d.24xlarge"], scaling: { min: 0, desired: 0, max: 2 } });
      const first = kueue.gpuFlavor("a100", pool);
      const again = kueue.gpuFlavor("a100", pool);
      kueue.gpuFlavor("local", existingGpuNodes("local", { nodeLabels: { "nvidia.com/gpu.present": "true" }, gpusPerNode: 1 }));
      return { kueue, same: first === again };
    });
    expect(run.result.same).toBe(true);
    const release = run.get("kubernetes:helm.sh/v3:Release");
    expect(run.parentOf(release)?.type).toBe("ml-platform:queueing:KueueController");
    expect(release.inputs).toMatchObject({ chart: KUEUE_CHART, namespace: KUEUE_NAMESPACE });
    // Its namespace is declared (Pod Security restricted) so destroying the component removes it; Helm would not.
    const namespace = run.get("kubernetes:core/v1:Namespace", "kueue");
    expect(namespace.inputs.metadata).toMatchObject({ name: "kueue-system", labels: { "pod-security.kubernetes.io/enforce": "restricted" } });
    expect(release.dependencies).toContain(namespace.urn);
    const flavors = Object.fromEntries(run.ofType(FLAVOR).map((f) => [f.inputs.metadata.name, f.inputs.spec]));
    expect(flavors).toEqual({
      default: {},
      "gpu-a100": { nodeLabels: { "ml-platform.io/gpu-pool": "a100" }, nodeTaints: [{ key: "nvidia.com/gpu", effect: "NoSchedule" }] },
      "gpu-local": { nodeLabels: { "nvidia.com/gpu.present": "true" } },
    });
    for (const flavor of run.ofType(FLAVOR)) expect(flavor.dependencies, flavor.name).toContain(release.urn);
    expect(await expectValidKubernetesObjects(run)).toBe(4);
  });

  it("turns a pool's tolerations back into the taints its nodes carry", () => {
    expect(
      flavorNodesOf({
        nodeSelector: { pool: "a" },
        tolerations: [
          { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" },
          { key: "dedicated", operator: "Equal", value: "ml", effect: "NoExecute" },
        ],
      }),
    ).toEqual({
      nodeLabels: { pool: "a" },
      nodeTaints: [
        { key: "nvidia.com/gpu", effect: "NoSchedule" },
        { key: "dedicated", value: "ml", effect: "NoExecute" },
      ],
    });
  });

  it("rejects a release tag where a chart version belongs, an empty chart and a bad namespace, before declaring anything", () => {
    expect(() => new KueueController("kueue", { version: "v0.17.0", chart: " ", namespace: "Kueue" })).toThrow(ComponentValidationError);
    expect(() => new KueueController("kueue", { version: "v0.17.0" })).toThrow(/version: "v0\.17\.0" must be a chart version such as "0\.17\.0" \(no "v"\)/);
    expect(() => new KueueController("kueue", { chart: " " })).toThrow(/chart: must be a chart reference/);
    expect(() => new KueueController("kueue", { namespace: "Kueue" })).toThrow(/namespace: "Kueue" must be 1-63 lowercase letters/);
  });
});

describe("existing GPU nodes", () => {
  it("give workloads and Kueue the nodes' selector, taint and GPUs per node", async () => {
    const nodes = existingGpuNodes("workstation", { nodeLabels: { "nvidia.com/gpu.present": "true" }, gpusPerNode: 2, taint: { key: "nvidia.com/gpu", value: "yes", effect: "NoSchedule" } });
    expect(nodes.gpusPerNode).toBe(2);
    expect(nodes.architecture).toBe("x86_64");
    expect(await new Promise((resolve) => nodes.scheduling.apply(resolve))).toEqual({
      nodeSelector: { "nvidia.com/gpu.present": "true" },
      tolerations: [{ key: "nvidia.com/gpu", operator: "Equal", value: "yes", effect: "NoSchedule" }],
      gpuResourceName: "nvidia.com/gpu",
    });
  });

  it("need a node label and a GPU count, and name what is wrong", () => {
    expect(() => existingGpuNodes("w", { nodeLabels: {}, gpusPerNode: 0 })).toThrow(/nodeLabels: must select the GPU nodes[\s\S]*gpusPerNode: must be a positive whole number/);
    expect(() => existingGpuNodes("w", { nodeLabels: { "bad key!": "x" }, gpusPerNode: 1, taint: { key: "k", effect: "Never" as never } })).toThrow(/nodeLabels\["bad key!"\][\s\S]*taint\.effect: "Never" is not valid/);
  });
});
