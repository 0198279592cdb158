/**
 * MXNet: the distributed key-value store (ps-lite) with a scheduler, servers and workers. Every pod gets
 * `DMLC_ROLE` and the scheduler's address (`DMLC_PS_ROOT_URI`, `DMLC_PS_ROOT_PORT`) plus the server and
 * worker counts; ps-lite assigns ranks itself, so nothing depends on the pod index.
 */
import { type FrameworkModule, mapRoles, podHostname } from "./types";

/** Port of the ps-lite scheduler (the usual MXJob port). */
export const MXNET_SCHEDULER_PORT = 9091;

export type MxnetSelection =
  | {
      /** Framework: mxnet. */
      framework: "mxnet";
      /** One pod, no DMLC environment. */
      mode: "single";
      /** Not used: one pod. */
      replicas?: undefined;
    }
  | {
      /** Framework: mxnet. */
      framework: "mxnet";
      /** Distributed kvstore (`dist_sync`/`dist_async`). */
      mode: "dist";
      /** Exactly 1 `scheduler`, at least 1 `server` and 1 `worker`. */
      replicas: { scheduler: number; server: number; worker: number };
    };

export const mxnet: FrameworkModule = {
  name: "mxnet",
  modes: {
    single: { engine: "job" },
    dist: {
      engine: "jobset",
      roles: {
        scheduler: { min: 1, max: 1, description: "the ps-lite scheduler" },
        server: { min: 1, description: "kvstore servers" },
        worker: { min: 1, description: "workers that run the training" },
      },
    },
  },

  applyPolicy(plan, { workloadName }) {
    if (plan.engine === "job") return plan;
    const count = (name: string) => String(plan.roles.find((r) => r.name === name)?.replicas ?? 0);
    return {
      ...mapRoles(plan, (role) => ({
        env: {
          DMLC_ROLE: role.name,
          DMLC_PS_ROOT_URI: podHostname(workloadName, "scheduler", 0),
          DMLC_PS_ROOT_PORT: String(MXNET_SCHEDULER_PORT),
          DMLC_NUM_SERVER: count("server"),
          DMLC_NUM_WORKER: count("worker"),
          // ps-lite resolves the scheduler's host name instead of expecting an IP address.
          DMLC_USE_KUBERNETES: "1",
        },
        ports: role.name === "scheduler" ? [{ name: "dmlc-scheduler", containerPort: MXNET_SCHEDULER_PORT }] : [],
        usesGpus: role.name === "worker",
      })),
      exporter: { role: "worker", index: 0 },
      // The scheduler and servers stop when the workers finalize; success is the workers finishing.
      successRoles: ["worker"],
    };
  },
};
