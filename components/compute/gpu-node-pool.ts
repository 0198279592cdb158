import * as aws from "@pulumi/aws";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PLATFORM_LABEL_PREFIX, type Toleration } from "../common/kubernetes";
import { IssueCollector, isNonNegativeInteger, isPositiveInteger, labelKeyProblem, labelValueProblem, oneOf } from "../common/validation";
import {
  type CpuArchitecture,
  GPU_AMI_TYPES,
  GPU_AMIS,
  GPU_INSTANCE_TYPES,
  type GpuAmiType,
  type GpuInstanceSpec,
} from "./gpu-instances";
import { DEVICE_PLUGIN_NODE_LABEL, NvidiaDevicePlugin } from "./nvidia-device-plugin";

/** Extended resource name NVIDIA GPUs are scheduled by. */
export const GPU_RESOURCE_NAME = "nvidia.com/gpu";
/** Node label naming the pool; workloads select their pool with it. */
export const GPU_POOL_LABEL = `${PLATFORM_LABEL_PREFIX}/gpu-pool`;
/** Label every GPU node carries (the name NVIDIA's GPU feature discovery uses too). */
export const GPU_PRESENT_LABEL = "nvidia.com/gpu.present";

export type TaintEffect = "NoSchedule" | "PreferNoSchedule" | "NoExecute";
const TAINT_EFFECTS: readonly TaintEffect[] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
const EKS_TAINT_EFFECT: Record<TaintEffect, string> = {
  NoSchedule: "NO_SCHEDULE",
  PreferNoSchedule: "PREFER_NO_SCHEDULE",
  NoExecute: "NO_EXECUTE",
};

export interface GpuTaint {
  /** Taint key. @example "nvidia.com/gpu" */
  key: string;
  /** Taint value. @default "" (none) */
  value?: string;
  /** Kubernetes taint effect. */
  effect: TaintEffect;
}

export interface GpuNodePoolScaling {
  /** Fewest nodes; 0 lets the pool scale to zero (needs an autoscaler to scale it up again). */
  min: number;
  /** Nodes at creation; min <= desired <= max. */
  desired: number;
  /** Most nodes; at least 1. */
  max: number;
}

export interface GpuNodePoolDevicePlugin {
  /** Kubernetes provider for the pool's cluster. One plugin DaemonSet is declared per provider. */
  provider: k8s.Provider;
  /** Name of the plugin component and DaemonSet; set it when a program manages several clusters. @default "nvidia-device-plugin" */
  name?: string;
}

export interface GpuNodePoolArgs {
  /** Name of the existing EKS cluster. */
  clusterName: pulumi.Input<string>;
  /** Subnets for the nodes (usually private subnets, one per zone). At least one. */
  subnetIds: pulumi.Input<string>[];
  /**
   * EC2 instance types; all must have NVIDIA GPUs and the AMI's CPU architecture. Several types widen spot
   * capacity; GPUs per node is then the smallest of them.
   * @example ["g5.xlarge", "g6.xlarge"]
   */
  instanceTypes: string[];
  /**
   * EKS NVIDIA AMI. AL2023 AMIs need the NVIDIA device plugin (see `devicePlugin`); Bottlerocket ships it.
   * @default "AL2023_x86_64_NVIDIA"
   */
  amiType?: GpuAmiType;
  /** @default "ON_DEMAND" */
  capacityType?: "ON_DEMAND" | "SPOT";
  /** Node counts. */
  scaling: GpuNodePoolScaling;
  /**
   * Root volume size in GiB; GPU images (CUDA, TF Serving GPU) are large. Integer from 20.
   * @default 100
   */
  diskSizeGiB?: number;
  /** Extra node labels. The pool always adds `nvidia.com/gpu.present=true` and `ml-platform.io/gpu-pool=<name>`. @default {} */
  labels?: Record<string, string>;
  /**
   * Taint that keeps non-GPU pods off the nodes; `false` for none. Workloads get the matching toleration
   * from `scheduling`.
   * @default { key: "nvidia.com/gpu", effect: "NoSchedule" }
   */
  taint?: GpuTaint | false;
  /** Kubernetes version of the nodes. @default the cluster's version */
  version?: pulumi.Input<string>;
  /** AMI release version. @default the latest for `version` */
  releaseVersion?: pulumi.Input<string>;
  /**
   * Whether a cluster autoscaler (or Karpenter-free CA setup) owns the node count. When true, Pulumi ignores
   * drift of the desired size, and the Auto Scaling group gets the cluster-autoscaler discovery and
   * node-template tags (labels, taint, GPU count) needed to scale up from zero.
   * @default true
   */
  clusterAutoscaler?: boolean;
  /**
   * Most nodes replaced at once during node group updates. Positive integer.
   * @default 1
   */
  maxUnavailable?: number;
  /** ARN of an existing node IAM role. @default a role is created with the EKS worker policies */
  nodeRoleArn?: pulumi.Input<string>;
  /** More managed policies for the created node role (e.g. SSM access). @default [] */
  additionalNodePolicyArns?: pulumi.Input<string>[];
  /**
   * Installs the NVIDIA device plugin when the AMI needs it, once per cluster. Leave unset when the plugin
   * (or the NVIDIA GPU Operator) is installed another way.
   * @default not installed
   */
  devicePlugin?: GpuNodePoolDevicePlugin;
  /** GPU instance types the catalog does not know yet, with their specs. @default {} */
  extraInstanceTypes?: Record<string, GpuInstanceSpec>;
  /** Tags for the node group and role. @default {} */
  tags?: Record<string, string>;
}

/** What a workload needs to run on a pool. */
export interface GpuScheduling {
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  /** Extended resource to request GPUs by. */
  gpuResourceName: string;
}

export interface GpuNodePoolSpec {
  amiType: GpuAmiType;
  architecture: CpuArchitecture;
  gpusPerNode: number;
  gpuMemoryGiB: number;
  needsDevicePlugin: boolean;
  labels: Record<string, string>;
  /** Taint in EKS's API form. */
  eksTaints: Array<{ key: string; value?: string; effect: string }>;
  scheduling: GpuScheduling;
  /** Cluster-autoscaler node-template tags (for the Auto Scaling group), excluding the cluster-name tag. */
  autoscalerNodeTemplateTags: Record<string, string>;
}

const DEFAULT_TAINT: GpuTaint = { key: GPU_RESOURCE_NAME, effect: "NoSchedule" };
const RESERVED_LABELS = [GPU_POOL_LABEL, GPU_PRESENT_LABEL, DEVICE_PLUGIN_NODE_LABEL];

/** Checks the arguments and derives the pool's labels, taints and scheduling contract (pure). */
export function gpuNodePoolSpec(poolName: string, args: GpuNodePoolArgs): GpuNodePoolSpec {
  const issues = new IssueCollector();
  const amiType = args.amiType ?? "AL2023_x86_64_NVIDIA";
  if (!GPU_AMI_TYPES.includes(amiType)) issues.add("amiType", `"${amiType}" is not an NVIDIA AMI type; use one of ${oneOf(GPU_AMI_TYPES)}`);
  const ami = GPU_AMIS[amiType] ?? GPU_AMIS.AL2023_x86_64_NVIDIA;

  if (args.capacityType !== undefined && !["ON_DEMAND", "SPOT"].includes(args.capacityType)) {
    issues.add("capacityType", `"${args.capacityType}" is not valid; use one of ${oneOf(["ON_DEMAND", "SPOT"])}`);
  }
  if (!Array.isArray(args.subnetIds) || args.subnetIds.length === 0) issues.add("subnetIds", "must list at least one subnet");

  const catalog: Record<string, GpuInstanceSpec> = { ...GPU_INSTANCE_TYPES, ...args.extraInstanceTypes };
  const specs: GpuInstanceSpec[] = [];
  if (!Array.isArray(args.instanceTypes) || args.instanceTypes.length === 0) issues.add("instanceTypes", "must list at least one GPU instance type");
  (args.instanceTypes ?? []).forEach((type, i) => {
    const spec = catalog[type];
    if (!spec) {
      const families = [...new Set(Object.keys(catalog).map((t) => t.split(".")[0]))].join(", ");
      issues.add(`instanceTypes[${i}]`, `"${type}" is not a known NVIDIA GPU instance type; known families: ${families} (add others with extraInstanceTypes)`);
      return;
    }
    if (spec.architecture !== ami.architecture) {
      issues.add(
        `instanceTypes[${i}]`,
        `"${type}" is ${spec.architecture} but amiType "${amiType}" is ${ami.architecture}; use a ${ami.architecture} instance type or an ${spec.architecture} AMI (${oneOf(GPU_AMI_TYPES.filter((t) => GPU_AMIS[t].architecture === spec.architecture))})`,
      );
      return;
    }
    specs.push(spec);
  });

  const scaling = args.scaling ?? ({} as GpuNodePoolScaling);
  if (!isNonNegativeInteger(scaling.min)) issues.add("scaling.min", `must be an integer >= 0 (got ${scaling.min})`);
  if (!isPositiveInteger(scaling.max)) issues.add("scaling.max", `must be an integer >= 1 (got ${scaling.max})`);
  if (!isNonNegativeInteger(scaling.desired)) issues.add("scaling.desired", `must be an integer >= 0 (got ${scaling.desired})`);
  if ([scaling.min, scaling.desired, scaling.max].every((n) => Number.isInteger(n))) {
    if (scaling.min > scaling.max) issues.add("scaling", `min (${scaling.min}) must be <= max (${scaling.max})`);
    if (scaling.desired < scaling.min || scaling.desired > scaling.max) {
      issues.add("scaling.desired", `must be between min (${scaling.min}) and max (${scaling.max}) (got ${scaling.desired})`);
    }
  }
  if (args.diskSizeGiB !== undefined && !(Number.isInteger(args.diskSizeGiB) && args.diskSizeGiB >= 20)) {
    issues.add("diskSizeGiB", `must be an integer of at least 20 GiB (got ${args.diskSizeGiB})`);
  }
  if (args.maxUnavailable !== undefined && !isPositiveInteger(args.maxUnavailable)) {
    issues.add("maxUnavailable", `must be a positive integer (got ${args.maxUnavailable})`);
  }

  const poolLabelProblem = labelValueProblem(poolName);
  if (poolLabelProblem) issues.add("name", `the pool name is used as the value of ${GPU_POOL_LABEL}: ${poolLabelProblem}`);
  for (const [key, value] of Object.entries(args.labels ?? {})) {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem) issues.add(`labels["${key}"]`, problem);
    if (RESERVED_LABELS.includes(key)) issues.add(`labels["${key}"]`, `is set by the pool itself; reserved labels: ${oneOf(RESERVED_LABELS)}`);
  }

  const taint = args.taint === undefined ? DEFAULT_TAINT : args.taint;
  if (taint) {
    const problem = labelKeyProblem(taint.key) ?? (taint.value ? labelValueProblem(taint.value) : undefined);
    if (problem) issues.add("taint.key", problem);
    if (!TAINT_EFFECTS.includes(taint.effect)) issues.add("taint.effect", `"${taint.effect}" is not valid; use one of ${oneOf(TAINT_EFFECTS)}`);
  }
  issues.throwIfAny(`GpuNodePool "${poolName}"`);

  const gpusPerNode = Math.min(...specs.map((s) => s.gpus));
  const gpuMemoryGiB = Math.min(...specs.map((s) => s.gpuMemoryGiB));
  const labels: Record<string, string> = {
    ...args.labels,
    [GPU_PRESENT_LABEL]: "true",
    [GPU_POOL_LABEL]: poolName,
  };
  if (ami.needsDevicePlugin) labels[DEVICE_PLUGIN_NODE_LABEL] = "true";

  const tolerations: Toleration[] = taint
    ? [taint.value ? { key: taint.key, operator: "Equal", value: taint.value, effect: taint.effect } : { key: taint.key, operator: "Exists", effect: taint.effect }]
    : [];
  const autoscalerNodeTemplateTags: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) autoscalerNodeTemplateTags[`k8s.io/cluster-autoscaler/node-template/label/${key}`] = value;
  if (taint) autoscalerNodeTemplateTags[`k8s.io/cluster-autoscaler/node-template/taint/${taint.key}`] = `${taint.value ?? ""}:${taint.effect}`;
  autoscalerNodeTemplateTags[`k8s.io/cluster-autoscaler/node-template/resources/${GPU_RESOURCE_NAME}`] = String(gpusPerNode);

  return {
    amiType,
    architecture: ami.architecture,
    gpusPerNode,
    gpuMemoryGiB,
    needsDevicePlugin: ami.needsDevicePlugin,
    labels,
    eksTaints: taint ? [{ key: taint.key, ...(taint.value ? { value: taint.value } : {}), effect: EKS_TAINT_EFFECT[taint.effect] }] : [],
    scheduling: { nodeSelector: { [GPU_POOL_LABEL]: poolName }, tolerations, gpuResourceName: GPU_RESOURCE_NAME },
    autoscalerNodeTemplateTags,
  };
}

const NODE_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly"];

/**
 * An EKS managed node group of NVIDIA GPU nodes: tainted so only GPU work lands there, labelled so
 * workloads can select it, with the scheduling contract its workloads need exported as `scheduling`.
 */
export class GpuNodePool extends pulumi.ComponentResource {
  readonly nodeGroup: aws.eks.NodeGroup;
  /** The created node role; undefined when `nodeRoleArn` was given. */
  readonly nodeRole?: aws.iam.Role;
  /** Node selector and tolerations for pods that should run on this pool. */
  readonly scheduling: pulumi.Output<GpuScheduling>;
  /** NVIDIA GPUs per node (the smallest across instance types). */
  readonly gpusPerNode: number;
  /** Memory of one GPU in GiB (the smallest across instance types). */
  readonly gpuMemoryGiB: number;
  readonly gpuResourceName = GPU_RESOURCE_NAME;
  readonly architecture: CpuArchitecture;
  readonly amiType: GpuAmiType;
  /** Whether the nodes need the NVIDIA device plugin DaemonSet. */
  readonly needsDevicePlugin: boolean;
  /** The cluster's device plugin, when this pool installed or shares it. */
  readonly devicePlugin?: NvidiaDevicePlugin;
  /** The pure spec this pool was built from. */
  readonly spec: GpuNodePoolSpec;

  constructor(name: string, args: GpuNodePoolArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const spec = gpuNodePoolSpec(name, args);
    super("ml-platform:compute:GpuNodePool", name, {}, opts);
    this.spec = spec;
    this.gpusPerNode = spec.gpusPerNode;
    this.gpuMemoryGiB = spec.gpuMemoryGiB;
    this.architecture = spec.architecture;
    this.amiType = spec.amiType;
    this.needsDevicePlugin = spec.needsDevicePlugin;
    this.scheduling = pulumi.output(spec.scheduling);

    const tags = args.tags ?? {};
    let nodeRoleArn: pulumi.Input<string>;
    const roleDependencies: pulumi.Resource[] = [];
    if (args.nodeRoleArn) {
      nodeRoleArn = args.nodeRoleArn;
    } else {
      const partition = aws.getPartitionOutput({}, { parent: this }).partition;
      this.nodeRole = new aws.iam.Role(
        `${name}-node-role`,
        {
          description: `EKS GPU nodes of pool ${name}`,
          assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
          }),
          tags,
        },
        { parent: this },
      );
      const policyArns: pulumi.Input<string>[] = [
        ...NODE_POLICIES.map((policy) => pulumi.interpolate`arn:${partition}:iam::aws:policy/${policy}`),
        ...(args.additionalNodePolicyArns ?? []),
      ];
      policyArns.forEach((policyArn, i) => {
        const label = NODE_POLICIES[i] ?? `extra-${i - NODE_POLICIES.length}`;
        roleDependencies.push(
          new aws.iam.RolePolicyAttachment(`${name}-${label}`, { role: this.nodeRole!.name, policyArn }, { parent: this }),
        );
      });
      nodeRoleArn = this.nodeRole.arn;
    }

    const autoscaled = args.clusterAutoscaler ?? true;
    this.nodeGroup = new aws.eks.NodeGroup(
      `${name}`,
      {
        clusterName: args.clusterName,
        nodeRoleArn,
        subnetIds: args.subnetIds,
        instanceTypes: args.instanceTypes,
        amiType: spec.amiType,
        capacityType: args.capacityType ?? "ON_DEMAND",
        diskSize: args.diskSizeGiB ?? 100,
        scalingConfig: { minSize: args.scaling.min, desiredSize: args.scaling.desired, maxSize: args.scaling.max },
        updateConfig: { maxUnavailable: args.maxUnavailable ?? 1 },
        labels: spec.labels,
        taints: spec.eksTaints,
        version: args.version,
        releaseVersion: args.releaseVersion,
        tags: {
          ...tags,
          ...(autoscaled ? { "k8s.io/cluster-autoscaler/enabled": "true", ...spec.autoscalerNodeTemplateTags } : {}),
        },
      },
      {
        parent: this,
        // The node role's policies must outlive the nodes, or draining nodes lose their permissions.
        dependsOn: roleDependencies,
        ignoreChanges: autoscaled ? ["scalingConfig.desiredSize"] : [],
      },
    );

    if (autoscaled) {
      // EKS does not copy node group tags to its Auto Scaling group; the cluster autoscaler reads the ASG's.
      const asgName = this.nodeGroup.resources.apply((resources) => resources[0].autoscalingGroups[0].name);
      const asgTags: Array<[string, pulumi.Input<string>, pulumi.Input<string>]> = [
        ["enabled", "k8s.io/cluster-autoscaler/enabled", "true"],
        ["cluster", pulumi.interpolate`k8s.io/cluster-autoscaler/${args.clusterName}`, "owned"],
        ...Object.entries(spec.autoscalerNodeTemplateTags).map(
          ([key, value]) => [key.replace("k8s.io/cluster-autoscaler/node-template/", "template-"), key, value] as [string, string, string],
        ),
      ];
      for (const [suffix, key, value] of asgTags) {
        new aws.autoscaling.Tag(
          `${name}-asg-${suffix}`,
          { autoscalingGroupName: asgName, tag: { key, value, propagateAtLaunch: false } },
          { parent: this },
        );
      }
    }

    if (spec.needsDevicePlugin && args.devicePlugin) {
      this.devicePlugin = NvidiaDevicePlugin.forProvider(args.devicePlugin.provider, args.devicePlugin.name);
    }

    this.registerOutputs({ nodeGroupName: this.nodeGroup.nodeGroupName, scheduling: this.scheduling, gpusPerNode: this.gpusPerNode });
  }
}
