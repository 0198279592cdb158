/**
 * TensorFlow: each pod gets `TF_CONFIG` (the cluster spec plus its own task type and index), as
 * `tf.distribute.cluster_resolver.TFConfigClusterResolver` expects.
 */
import { type FrameworkModule, mapRoles, podHostname, type TrainingPlan } from "./types";

/** Port of TensorFlow's gRPC servers (the usual TFJob port). */
export const TENSORFLOW_PORT = 2222;

export type TensorflowSelection =
  | {
      /** Framework: tensorflow. */
      framework: "tensorflow";
      /** One pod, no cluster environment. */
      mode: "single";
      /** Not used: one pod. */
      replicas?: undefined;
    }
  | {
      /** Framework: tensorflow. */
      framework: "tensorflow";
      /** `tf.distribute.MultiWorkerMirroredStrategy`: synchronous data parallelism. */
      mode: "multi-worker";
      /** `worker` pods and an optional `chief` (otherwise worker 0 is the chief); at least 2 pods in all. */
      replicas: { worker: number; chief?: number };
    }
  | {
      /** Framework: tensorflow. */
      framework: "tensorflow";
      /** `tf.distribute.ParameterServerStrategy`: a chief (the coordinator), workers and parameter servers. */
      mode: "parameter-server";
      /** Exactly 1 `chief`, at least 1 `worker` and 1 `ps`, optionally 1 sidecar `evaluator`. */
      replicas: { chief: number; worker: number; ps: number; evaluator?: number };
    };

function hosts(plan: TrainingPlan, workloadName: string, roles: string[]): Record<string, string[]> {
  const cluster: Record<string, string[]> = {};
  for (const role of plan.roles.filter((r) => roles.includes(r.name))) {
    cluster[role.name] = Array.from({ length: role.replicas }, (_, i) => `${podHostname(workloadName, role.name, i)}:${TENSORFLOW_PORT}`);
  }
  return cluster;
}

/** Static halves of TF_CONFIG; the wrapper adds `"task": {"type": TF_TASK_TYPE, "index": <pod index>}`. */
function tfConfigEnv(cluster: Record<string, string[]>, taskType: string): Record<string, string> {
  return { TF_CLUSTER_SPEC: JSON.stringify(cluster), TF_TASK_TYPE: taskType };
}

const port = [{ name: "tf-grpc", containerPort: TENSORFLOW_PORT }];

export const tensorflow: FrameworkModule = {
  name: "tensorflow",
  modes: {
    single: { engine: "job" },
    "multi-worker": {
      engine: "jobset",
      roles: {
        chief: { min: 0, max: 1, description: "worker that also saves checkpoints and exports (optional: worker 0 otherwise)" },
        worker: { min: 1, description: "MultiWorkerMirroredStrategy workers" },
      },
    },
    "parameter-server": {
      engine: "jobset",
      roles: {
        chief: { min: 1, max: 1, description: "the coordinator, which also checkpoints and exports" },
        worker: { min: 1, description: "workers that run the training steps" },
        ps: { min: 1, description: "parameter servers that hold the variables" },
        evaluator: { min: 0, max: 1, description: "sidecar evaluator (optional)" },
      },
    },
  },

  validate(mode, replicas, issues) {
    if (mode === "multi-worker" && (replicas.worker ?? 0) + (replicas.chief ?? 0) < 2) {
      issues.add("replicas", `multi-worker training needs at least 2 pods in all (chief + worker); use mode "single" for one pod`);
    }
  },

  applyPolicy(plan, { workloadName }) {
    if (plan.engine === "job") return plan;
    if (plan.mode === "multi-worker") {
      const cluster = hosts(plan, workloadName, ["chief", "worker"]);
      const hasChief = plan.roles.some((r) => r.name === "chief");
      return {
        ...mapRoles(plan, (role) => ({ env: tfConfigEnv(cluster, role.name), ports: port, usesGpus: true })),
        exporter: { role: hasChief ? "chief" : "worker", index: 0 },
        successRoles: [],
      };
    }
    // parameter-server: the evaluator is not part of the training cluster; its TF_CONFIG names only itself.
    const cluster = hosts(plan, workloadName, ["chief", "worker", "ps"]);
    const evaluatorCluster = hosts(plan, workloadName, ["evaluator"]);
    return {
      ...mapRoles(plan, (role) => ({
        env: tfConfigEnv(role.name === "evaluator" ? evaluatorCluster : cluster, role.name),
        ports: port,
        // The coordinator dispatches steps and parameter servers hold variables: the compute is on workers.
        usesGpus: role.name === "worker" || role.name === "evaluator",
        checkpoints: role.name === "evaluator" ? "follow" : "restore",
      })),
      exporter: { role: "chief", index: 0 },
      // Parameter servers serve until killed: the run is done when the coordinator is.
      successRoles: ["chief"],
    };
  },
};
