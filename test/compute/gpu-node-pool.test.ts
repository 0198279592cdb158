import * as k8s from "@pulumi/kubernetes";
import { describe, expect, it } from "vitest";
import { ComponentValidationError } from "../../components/common/validation";
import { GPU_INSTANCE_TYPES } from "../../components/compute/gpu-instances";
import { GpuNodePool, type GpuNodePoolArgs, gpuNodePoolSpec } from "../../components/compute/gpu-node-pool";
import { NVIDIA_DEVICE_PLUGIN_IMAGE } from "../../components/compute/nvidia-device-plugin";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import { type PropertyMap, runInMocks, unwrap } from "../harness/pulumi-mocks";

const base: GpuNodePoolArgs = {
  clusterName: "prod",
  subnetIds: ["subnet-a", "subnet-b"],
  instanceTypes: ["g5.xlarge"],
  scaling: { min: 0, desired: 1, max: 4 },
};

describe("gpuNodePoolSpec", () => {
  it("defaults to AL2023 x86_64 NVIDIA nodes tainted for GPU work only", () => {
    const spec = gpuNodePoolSpec("gpu", base);
    expect(spec.amiType).toBe("AL2023_x86_64_NVIDIA");
    expect(spec.architecture).toBe("x86_64");
    expect(spec.gpusPerNode).toBe(1);
    expect(spec.gpuMemoryGiB).toBe(24);
    expect(spec.needsDevicePlugin).toBe(true);
    expect(spec.eksTaints).toEqual([{ key: "nvidia.com/gpu", effect: "NO_SCHEDULE" }]);
    expect(spec.labels).toEqual({
      "nvidia.com/gpu.present": "true",
      "ml-platform.io/gpu-pool": "gpu",
      "ml-platform.io/nvidia-device-plugin": "true",
    });
    expect(spec.scheduling).toEqual({
      nodeSelector: { "ml-platform.io/gpu-pool": "gpu" },
      tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
      gpuResourceName: "nvidia.com/gpu",
    });
  });

  it("Bottlerocket nodes do not get the device-plugin label (their AMI ships the plugin)", () => {
    const spec = gpuNodePoolSpec("gpu", { ...base, amiType: "BOTTLEROCKET_x86_64_NVIDIA" });
    expect(spec.needsDevicePlugin).toBe(false);
    expect(spec.labels).not.toHaveProperty("ml-platform.io/nvidia-device-plugin");
  });

  it("takes the smallest GPU count and memory across mixed instance types", () => {
    const spec = gpuNodePoolSpec("gpu", { ...base, instanceTypes: ["g5.12xlarge", "g6e.12xlarge", "g6.48xlarge"] });
    expect(spec.gpusPerNode).toBe(4);
    expect(spec.gpuMemoryGiB).toBe(24);
  });

  it("supports a custom taint with a value, and no taint at all", () => {
    const custom = gpuNodePoolSpec("gpu", { ...base, taint: { key: "dedicated", value: "ml", effect: "NoExecute" } });
    expect(custom.eksTaints).toEqual([{ key: "dedicated", value: "ml", effect: "NO_EXECUTE" }]);
    expect(custom.scheduling.tolerations).toEqual([{ key: "dedicated", operator: "Equal", value: "ml", effect: "NoExecute" }]);
    const none = gpuNodePoolSpec("gpu", { ...base, taint: false });
    expect(none.eksTaints).toEqual([]);
    expect(none.scheduling.tolerations).toEqual([]);
  });

  it("builds the cluster-autoscaler node-template tags needed to scale up from zero", () => {
    const spec = gpuNodePoolSpec("gpu", { ...base, instanceTypes: ["g5.12xlarge"], labels: { team: "vision" } });
    expect(spec.autoscalerNodeTemplateTags).toEqual({
      "k8s.io/cluster-autoscaler/node-template/label/team": "vision",
      "k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu.present": "true",
      "k8s.io/cluster-autoscaler/node-template/label/ml-platform.io/gpu-pool": "gpu",
      "k8s.io/cluster-autoscaler/node-template/label/ml-platform.io/nvidia-device-plugin": "true",
      "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu": ":NoSchedule",
      "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": "4",
    });
  });

  it("knows every catalogued instance type's architecture", () => {
    const arm = Object.entries(GPU_INSTANCE_TYPES).filter(([, s]) => s.architecture === "arm64").map(([t]) => t);
    expect(arm.length).toBeGreaterThan(0);
    expect(arm.every((t) => t.startsWith("g5g."))).toBe(true);
    expect(gpuNodePoolSpec("arm", { ...base, instanceTypes: ["g5g.xlarge"], amiType: "AL2023_ARM_64_NVIDIA" }).architecture).toBe("arm64");
  });
});

describe("gpuNodePoolSpec validation", () => {
  const messageOf = (args: Partial<GpuNodePoolArgs>, name = "gpu") => {
    try {
      gpuNodePoolSpec(name, { ...base, ...args });
    } catch (err) {
      expect(err).toBeInstanceOf(ComponentValidationError);
      return (err as Error).message;
    }
    throw new Error("expected a validation error");
  };

  it.each<[string, Partial<GpuNodePoolArgs>, RegExp]>([
    ["min > max", { scaling: { min: 3, desired: 3, max: 2 } }, /scaling: min \(3\) must be <= max \(2\)/],
    ["desired below min", { scaling: { min: 2, desired: 1, max: 4 } }, /scaling\.desired: must be between min \(2\) and max \(4\) \(got 1\)/],
    ["desired above max", { scaling: { min: 0, desired: 5, max: 4 } }, /scaling\.desired: must be between min \(0\) and max \(4\)/],
    ["negative min", { scaling: { min: -1, desired: 0, max: 1 } }, /scaling\.min: must be an integer >= 0 \(got -1\)/],
    ["zero max", { scaling: { min: 0, desired: 0, max: 0 } }, /scaling\.max: must be an integer >= 1 \(got 0\)/],
    ["unknown instance type", { instanceTypes: ["m5.large"] }, /instanceTypes\[0\]: "m5\.large" is not a known NVIDIA GPU instance type; known families: g4dn, g5, g5g/],
    [
      "ARM instance on an x86 AMI",
      { instanceTypes: ["g5.xlarge", "g5g.xlarge"] },
      /instanceTypes\[1\]: "g5g\.xlarge" is arm64 but amiType "AL2023_x86_64_NVIDIA" is x86_64; .*"AL2023_ARM_64_NVIDIA", "BOTTLEROCKET_ARM_64_NVIDIA"/,
    ],
    ["x86 instance on an ARM AMI", { amiType: "BOTTLEROCKET_ARM_64_NVIDIA" }, /"g5\.xlarge" is x86_64 but amiType "BOTTLEROCKET_ARM_64_NVIDIA" is arm64/],
    [
      "non-NVIDIA AMI",
      { amiType: "AL2023_x86_64_STANDARD" as GpuNodePoolArgs["amiType"] },
      /amiType: "AL2023_x86_64_STANDARD" is not an NVIDIA AMI type; use one of "AL2023_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA", "BOTTLEROCKET_ARM_64_NVIDIA"/,
    ],
    ["empty subnets", { subnetIds: [] }, /subnetIds: must list at least one subnet/],
    ["no instance types", { instanceTypes: [] }, /instanceTypes: must list at least one GPU instance type/],
    ["bad capacity type", { capacityType: "RESERVED" as "SPOT" }, /capacityType: "RESERVED" is not valid; use one of "ON_DEMAND", "SPOT"/],
    ["small disk", { diskSizeGiB: 10 }, /diskSizeGiB: must be an integer of at least 20 GiB \(got 10\)/],
    ["reserved label", { labels: { "ml-platform.io/gpu-pool": "other" } }, /labels\["ml-platform\.io\/gpu-pool"\]: is set by the pool itself/],
    ["bad label value", { labels: { team: "a b" } }, /labels\["team"\]: label value "a b" is invalid/],
    ["bad taint effect", { taint: { key: "gpu", effect: "NoRun" as "NoSchedule" } }, /taint\.effect: "NoRun" is not valid; use one of "NoSchedule", "PreferNoSchedule", "NoExecute"/],
    ["zero maxUnavailable", { maxUnavailable: 0 }, /maxUnavailable: must be a positive integer/],
  ])("rejects %s", (_case, args, message) => {
    expect(messageOf(args)).toMatch(message);
  });

  it("reports every problem at once, naming the pool", () => {
    const message = messageOf({ instanceTypes: ["p9.huge"], scaling: { min: 2, desired: 1, max: 1 }, subnetIds: [] }, "training");
    expect(message).toMatch(/^GpuNodePool "training" has invalid arguments:/);
    expect(message).toMatch(/instanceTypes\[0\]/);
    expect(message).toMatch(/scaling:/);
    expect(message).toMatch(/subnetIds/);
  });

  it("accepts instance types the catalog lacks when their specs are given", () => {
    const spec = gpuNodePoolSpec("gpu", {
      ...base,
      instanceTypes: ["p6-b200.48xlarge"],
      extraInstanceTypes: { "p6-b200.48xlarge": { gpus: 8, gpuMemoryGiB: 179, gpuModel: "NVIDIA B200", architecture: "x86_64" } },
    });
    expect(spec.gpusPerNode).toBe(8);
  });
});

describe("GpuNodePool resources", () => {
  it("declares the node group with the pool's labels, taints, scaling and update settings", async () => {
    const run = await runInMocks(() => new GpuNodePool("gpu", { ...base, capacityType: "SPOT", diskSizeGiB: 200, version: "1.33", tags: { team: "ml" } }));
    const component = run.get("ml-platform:compute:GpuNodePool", "gpu");
    const nodeGroup = run.get("aws:eks/nodeGroup:NodeGroup", "gpu");
    expect(run.parentOf(nodeGroup)?.urn).toBe(component.urn);
    expect(nodeGroup.inputs).toMatchObject({
      clusterName: "prod",
      subnetIds: ["subnet-a", "subnet-b"],
      instanceTypes: ["g5.xlarge"],
      amiType: "AL2023_x86_64_NVIDIA",
      capacityType: "SPOT",
      diskSize: 200,
      version: "1.33",
      scalingConfig: { minSize: 0, desiredSize: 1, maxSize: 4 },
      updateConfig: { maxUnavailable: 1 },
      taints: [{ key: "nvidia.com/gpu", effect: "NO_SCHEDULE" }],
    });
    expect(nodeGroup.inputs.labels).toMatchObject({ "nvidia.com/gpu.present": "true", "ml-platform.io/gpu-pool": "gpu" });
    expect(nodeGroup.inputs.tags).toMatchObject({ team: "ml", "k8s.io/cluster-autoscaler/enabled": "true" });
    // The autoscaler owns the node count.
    expect(nodeGroup.ignoreChanges).toEqual(["scalingConfig.desiredSize"]);

    const scheduling = await unwrap(run.result.scheduling);
    expect(scheduling.nodeSelector).toEqual({ "ml-platform.io/gpu-pool": "gpu" });
    expect(run.result.gpusPerNode).toBe(1);
    expect(run.result.gpuResourceName).toBe("nvidia.com/gpu");
  });

  it("creates a node role with the EKS worker policies, which the node group waits for", async () => {
    const run = await runInMocks(() => new GpuNodePool("gpu", { ...base, additionalNodePolicyArns: ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"] }));
    const role = run.get("aws:iam/role:Role", "gpu-node-role");
    expect(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "ec2.amazonaws.com" });
    const attachments = run.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment");
    expect(attachments.map((a) => a.inputs.policyArn).sort()).toEqual(
      [
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
      ].sort(),
    );
    const nodeGroup = run.get("aws:eks/nodeGroup:NodeGroup");
    expect(nodeGroup.inputs.nodeRoleArn).toBe("arn:aws:iam::123456789012:role/gpu-node-role");
    for (const attachment of attachments) expect(nodeGroup.dependencies).toContain(attachment.urn);
  });

  it("reuses an existing node role when given", async () => {
    const run = await runInMocks(() => new GpuNodePool("gpu", { ...base, nodeRoleArn: "arn:aws:iam::123456789012:role/existing" }));
    expect(run.ofType("aws:iam/role:Role")).toEqual([]);
    expect(run.get("aws:eks/nodeGroup:NodeGroup").inputs.nodeRoleArn).toBe("arn:aws:iam::123456789012:role/existing");
  });

  it("tags the Auto Scaling group for cluster-autoscaler discovery and scale-from-zero", async () => {
    const run = await runInMocks(() => new GpuNodePool("gpu", { ...base, instanceTypes: ["g5.12xlarge"] }));
    const tags: Record<string, PropertyMap> = Object.fromEntries(run.ofType("aws:autoscaling/tag:Tag").map((t) => [t.inputs.tag.key, t.inputs]));
    for (const tag of Object.values(tags)) {
      expect(tag.autoscalingGroupName).toBe("eks-gpu-asg");
      expect(tag.tag.propagateAtLaunch).toBe(false);
    }
    expect(tags["k8s.io/cluster-autoscaler/enabled"].tag.value).toBe("true");
    expect(tags["k8s.io/cluster-autoscaler/prod"].tag.value).toBe("owned");
    expect(tags["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"].tag.value).toBe("4");
    expect(tags["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"].tag.value).toBe(":NoSchedule");
    expect(tags["k8s.io/cluster-autoscaler/node-template/label/ml-platform.io/gpu-pool"].tag.value).toBe("gpu");
  });

  it("leaves the node count to Pulumi when no autoscaler is used", async () => {
    const run = await runInMocks(() => new GpuNodePool("gpu", { ...base, clusterAutoscaler: false }));
    expect(run.get("aws:eks/nodeGroup:NodeGroup").ignoreChanges).toEqual([]);
    expect(run.ofType("aws:autoscaling/tag:Tag")).toEqual([]);
    expect(run.get("aws:eks/nodeGroup:NodeGroup").inputs.tags).not.toHaveProperty("k8s.io/cluster-autoscaler/enabled");
  });

  it("declares nothing for invalid arguments", async () => {
    const run = await runInMocks(() => {
      expect(() => new GpuNodePool("gpu", { ...base, scaling: { min: 2, desired: 1, max: 1 } })).toThrow(ComponentValidationError);
    });
    expect(run.resources).toEqual([]);
  });
});

describe("NVIDIA device plugin", () => {
  const DAEMONSET = "kubernetes:apps/v1:DaemonSet";

  it("is installed for AL2023 pools, once per cluster however many pools there are", async () => {
    const run = await runInMocks(() => {
      const provider = new k8s.Provider("prod-k8s", {});
      const a = new GpuNodePool("gpu-a", { ...base, devicePlugin: { provider } });
      const b = new GpuNodePool("gpu-b", { ...base, instanceTypes: ["g6.xlarge"], devicePlugin: { provider } });
      return { a, b };
    });
    expect(run.ofType(DAEMONSET)).toHaveLength(1);
    expect(run.result.a.devicePlugin).toBe(run.result.b.devicePlugin);
    expect(await expectValidKubernetesObjects(run)).toBe(1);

    const daemonSet = run.get(DAEMONSET).inputs;
    const pod = daemonSet.spec.template.spec;
    expect(daemonSet.metadata.namespace).toBe("kube-system");
    expect(pod.containers[0].image).toBe(NVIDIA_DEVICE_PLUGIN_IMAGE);
    expect(NVIDIA_DEVICE_PLUGIN_IMAGE).toMatch(/^nvcr\.io\/nvidia\/k8s-device-plugin:v\d+\.\d+\.\d+$/);
    expect(pod.priorityClassName).toBe("system-node-critical");
    expect(pod.nodeSelector).toEqual({ "ml-platform.io/nvidia-device-plugin": "true" });
    expect(pod.tolerations).toContainEqual({ operator: "Exists" });
    expect(pod.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    // The DaemonSet goes through the cluster's provider.
    expect(run.get(DAEMONSET).provider).toMatch(/prod-k8s/);
  });

  it("is not installed for Bottlerocket pools, whose AMI ships it", async () => {
    const run = await runInMocks(() => {
      const provider = new k8s.Provider("prod-k8s", {});
      return new GpuNodePool("gpu", { ...base, amiType: "BOTTLEROCKET_x86_64_NVIDIA", devicePlugin: { provider } });
    });
    expect(run.ofType(DAEMONSET)).toEqual([]);
    expect(run.result.devicePlugin).toBeUndefined();
  });

  it("gets one DaemonSet per cluster when a program manages two clusters", async () => {
    const run = await runInMocks(() => {
      const east = new k8s.Provider("east", {});
      const west = new k8s.Provider("west", {});
      new GpuNodePool("east-gpu", { ...base, devicePlugin: { provider: east, name: "east-nvidia-device-plugin" } });
      new GpuNodePool("west-gpu", { ...base, devicePlugin: { provider: west, name: "west-nvidia-device-plugin" } });
    });
    expect(run.ofType(DAEMONSET).map((d) => d.name).sort()).toEqual(["east-nvidia-device-plugin", "west-nvidia-device-plugin"]);
  });

  it("is left to the user when no provider is given", async () => {
    const run = await runInMocks(() => new GpuNodePool("gpu", base));
    expect(run.ofType(DAEMONSET)).toEqual([]);
    expect(run.result.needsDevicePlugin).toBe(true);
  });
});
