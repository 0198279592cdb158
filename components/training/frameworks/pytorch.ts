/**
 * PyTorch: distributed data parallel through torchrun's static rendezvous. Every pod runs
 * `torchrun --nnodes N --nproc-per-node G --node-rank <pod index> --master-addr <pod 0> --master-port P`,
 * and torchrun starts one process per GPU with RANK, LOCAL_RANK and WORLD_SIZE set.
 */
import { type FrameworkModule, mapRoles, podHostname } from "./types";

/** torchrun's default master port. */
export const TORCH_MASTER_PORT = 29500;

export type PytorchSelection =
  | {
      /** Framework: pytorch. */
      framework: "pytorch";
      /** One pod; the command runs as is (call torchrun yourself for several GPUs). */
      mode: "single";
      /** Not used: one pod. */
      replicas?: undefined;
    }
  | {
      /** Framework: pytorch. */
      framework: "pytorch";
      /** DistributedDataParallel over `worker` pods (nodes), one process per GPU. */
      mode: "ddp";
      /** Number of worker pods, at least 1. */
      replicas: { worker: number };
    };

export const pytorch: FrameworkModule = {
  name: "pytorch",
  modes: {
    single: { engine: "job" },
    ddp: { engine: "jobset", roles: { worker: { min: 1, description: "DDP nodes; pod 0 is the rendezvous master" } } },
  },

  applyPolicy(plan, { workloadName, gpusPerPod }) {
    // Data loader workers exchange batches through shared memory; the container default (64 MiB) is too small.
    if (plan.engine === "job") return { ...plan, sharedMemory: true };
    return {
      ...mapRoles(plan, (role) => ({
        env: {
          ML_PLATFORM_TORCHRUN_NNODES: String(role.replicas),
          ML_PLATFORM_TORCHRUN_NPROC_PER_NODE: String(Math.max(gpusPerPod, 1)),
          ML_PLATFORM_TORCHRUN_MASTER_ADDR: podHostname(workloadName, "worker", 0),
          ML_PLATFORM_TORCHRUN_MASTER_PORT: String(TORCH_MASTER_PORT),
        },
        ports: [{ name: "torch-master", containerPort: TORCH_MASTER_PORT }],
        usesGpus: true,
      })),
      exporter: { role: "worker", index: 0 },
      successRoles: [],
      sharedMemory: true,
    };
  },
};
