import * as pulumi from "@pulumi/pulumi";
import type { Toleration } from "../common/kubernetes";
import { IssueCollector, isPositiveInteger, labelKeyProblem, labelValueProblem, oneOf } from "../common/validation";
import type { CpuArchitecture } from "./gpu-instances";
import { GPU_RESOURCE_NAME, type GpuScheduling, type GpuTaint } from "./gpu-node-pool";

export interface ExistingGpuNodesArgs {
  /**
   * Labels that select the GPU nodes (all of them must match), e.g. what NVIDIA's GPU feature discovery sets.
   * At least one.
   * @example { "nvidia.com/gpu.present": "true" }
   */
  nodeLabels: Record<string, string>;
  /** NVIDIA GPUs on each node: the most one pod can ask for. Positive integer. */
  gpusPerNode: number;
  /** The taint the nodes carry, which GPU pods get a toleration for; `false` when they carry none. @default false */
  taint?: GpuTaint | false;
  /** CPU architecture of the nodes. @default "x86_64" */
  architecture?: CpuArchitecture;
}

/** GPU nodes that exist already, as serving, training and Kueue need them (what a GpuNodePool offers). */
export interface ExistingGpuNodes {
  readonly name: string;
  readonly scheduling: pulumi.Output<GpuScheduling>;
  readonly gpusPerNode: number;
  readonly gpuResourceName: typeof GPU_RESOURCE_NAME;
  readonly architecture: CpuArchitecture;
}

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/**
 * GPU nodes the platform does not create: a GPU workstation running kind or k3s, on-premises nodes, or node
 * groups another program manages. Declares nothing; gives workloads the node selector and toleration of those
 * nodes, like a GpuNodePool's `scheduling`, and Kueue a flavor for them. Checked before anything is declared.
 */
export function existingGpuNodes(name: string, args: ExistingGpuNodesArgs): ExistingGpuNodes {
  const issues = new IssueCollector();
  const labels = Object.entries(args.nodeLabels ?? {});
  if (labels.length === 0) issues.add("nodeLabels", 'must select the GPU nodes with at least one label, e.g. { "nvidia.com/gpu.present": "true" }');
  for (const [key, value] of labels) {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem) issues.add(`nodeLabels["${key}"]`, problem);
  }
  if (!isPositiveInteger(args.gpusPerNode)) issues.add("gpusPerNode", `must be a positive whole number of GPUs (got ${JSON.stringify(args.gpusPerNode)})`);
  const taint = args.taint ?? false;
  if (taint) {
    const problem = labelKeyProblem(taint.key) ?? (taint.value ? labelValueProblem(taint.value) : undefined);
    if (problem) issues.add("taint.key", problem);
    if (!TAINT_EFFECTS.includes(taint.effect)) issues.add("taint.effect", `"${taint.effect}" is not valid; use one of ${oneOf(TAINT_EFFECTS)}`);
  }
  const architecture = args.architecture ?? "x86_64";
  if (!["x86_64", "arm64"].includes(architecture)) issues.add("architecture", `"${architecture}" is not valid; use one of ${oneOf(["x86_64", "arm64"])}`);
  issues.throwIfAny(`existing GPU nodes "${name}"`);

  const tolerations: Toleration[] = taint
    ? [taint.value ? { key: taint.key, operator: "Equal", value: taint.value, effect: taint.effect } : { key: taint.key, operator: "Exists", effect: taint.effect }]
    : [];
  return {
    name,
    scheduling: pulumi.output({ nodeSelector: { ...args.nodeLabels }, tolerations, gpuResourceName: GPU_RESOURCE_NAME }),
    gpusPerNode: args.gpusPerNode,
    gpuResourceName: GPU_RESOURCE_NAME,
    architecture,
  };
}
