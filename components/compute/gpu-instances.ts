/**
 * What the platform knows about EC2 instance types with NVIDIA GPUs, and about the EKS NVIDIA AMIs.
 * Used to reject a pool whose instances cannot boot its AMI, and to tell workloads how many GPUs a node has.
 */

export type CpuArchitecture = "x86_64" | "arm64";

export interface GpuInstanceSpec {
  /** NVIDIA GPUs on one instance (what the node advertises as `nvidia.com/gpu`). */
  gpus: number;
  /** Memory of one GPU, in GiB. */
  gpuMemoryGiB: number;
  /** GPU model, for humans. */
  gpuModel: string;
  architecture: CpuArchitecture;
}

type FamilySizes = Record<string, number>;

function family(prefix: string, gpuModel: string, gpuMemoryGiB: number, architecture: CpuArchitecture, sizes: FamilySizes) {
  return Object.fromEntries(
    Object.entries(sizes).map(([size, gpus]) => [`${prefix}.${size}`, { gpus, gpuMemoryGiB, gpuModel, architecture } satisfies GpuInstanceSpec]),
  );
}

const SINGLE_GPU_SIZES = { xlarge: 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1 };

/** Instance types with NVIDIA GPUs that EKS NVIDIA AMIs support, from the EC2 accelerated-computing specs. */
export const GPU_INSTANCE_TYPES: Readonly<Record<string, GpuInstanceSpec>> = {
  ...family("g4dn", "NVIDIA T4", 16, "x86_64", { ...SINGLE_GPU_SIZES, "12xlarge": 4, metal: 8 }),
  ...family("g5", "NVIDIA A10G", 24, "x86_64", { ...SINGLE_GPU_SIZES, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8 }),
  ...family("g5g", "NVIDIA T4G", 16, "arm64", { ...SINGLE_GPU_SIZES, metal: 2 }),
  ...family("g6", "NVIDIA L4", 24, "x86_64", { ...SINGLE_GPU_SIZES, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8 }),
  ...family("gr6", "NVIDIA L4", 24, "x86_64", { "4xlarge": 1, "8xlarge": 1 }),
  ...family("g6e", "NVIDIA L40S", 48, "x86_64", { ...SINGLE_GPU_SIZES, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8 }),
  ...family("p3", "NVIDIA V100", 16, "x86_64", { "2xlarge": 1, "8xlarge": 4, "16xlarge": 8 }),
  ...family("p3dn", "NVIDIA V100", 32, "x86_64", { "24xlarge": 8 }),
  ...family("p4d", "NVIDIA A100", 40, "x86_64", { "24xlarge": 8 }),
  ...family("p4de", "NVIDIA A100", 80, "x86_64", { "24xlarge": 8 }),
  ...family("p5", "NVIDIA H100", 80, "x86_64", { "4xlarge": 1, "48xlarge": 8 }),
  ...family("p5e", "NVIDIA H200", 141, "x86_64", { "48xlarge": 8 }),
  ...family("p5en", "NVIDIA H200", 141, "x86_64", { "48xlarge": 8 }),
};

export const GPU_AMI_TYPES = ["AL2023_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA", "BOTTLEROCKET_ARM_64_NVIDIA"] as const;
export type GpuAmiType = (typeof GPU_AMI_TYPES)[number];

export interface GpuAmiSpec {
  architecture: CpuArchitecture;
  /**
   * Whether nodes need the NVIDIA device plugin DaemonSet to advertise `nvidia.com/gpu`. AL2023 NVIDIA AMIs
   * ship the driver and container toolkit only; Bottlerocket NVIDIA AMIs run the plugin as a host service.
   */
  needsDevicePlugin: boolean;
}

export const GPU_AMIS: Readonly<Record<GpuAmiType, GpuAmiSpec>> = {
  AL2023_x86_64_NVIDIA: { architecture: "x86_64", needsDevicePlugin: true },
  AL2023_ARM_64_NVIDIA: { architecture: "arm64", needsDevicePlugin: true },
  BOTTLEROCKET_x86_64_NVIDIA: { architecture: "x86_64", needsDevicePlugin: false },
  BOTTLEROCKET_ARM_64_NVIDIA: { architecture: "arm64", needsDevicePlugin: false },
};

/** Whether nodes of this AMI need the NVIDIA device plugin DaemonSet. */
export function devicePluginRequired(amiType: GpuAmiType): boolean {
  return GPU_AMIS[amiType].needsDevicePlugin;
}
