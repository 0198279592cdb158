/**
 * Framework modules, table-driven: the plan each framework's policy makes of a mode and its role counts
 * (roles, pods, GPU roles, static cluster environment, exporter, success roles). What depends on a pod's
 * index is derived at run time; cluster-env.test.ts runs the wrapper for every pod.
 */
import { describe, expect, it } from "vitest";
import { IssueCollector } from "../../components/common/validation";
import { FRAMEWORKS, frameworkModule } from "../../components/training/frameworks/registry";
import type { TrainingPlan } from "../../components/training/frameworks/types";
import { basePlan } from "../../components/training/plan";

const context = { workloadName: "train-v3", gpusPerPod: 0 };

function plan(framework: string, mode: string, counts: Record<string, number> = {}, gpusPerPod = 0): TrainingPlan {
  const module = FRAMEWORKS[framework];
  return module.applyPolicy(basePlan(framework, mode, module.modes[mode], counts), { ...context, gpusPerPod });
}

const host = (role: string, i: number) => `train-v3-${role}-0-${i}.train-v3`;

interface Case {
  name: string;
  framework: string;
  mode: string;
  counts?: Record<string, number>;
  gpusPerPod?: number;
  engine: "job" | "jobset";
  roles: Array<[role: string, pods: number, usesGpus: boolean]>;
  exporter: string;
  successRoles: string[];
  sharedMemory: boolean;
  /** Expected static environment per role. */
  env: Record<string, Record<string, string>>;
}

const tfCluster = (roles: Record<string, number>) =>
  JSON.stringify(Object.fromEntries(Object.entries(roles).map(([role, n]) => [role, Array.from({ length: n }, (_, i) => `${host(role, i)}:2222`)])));

const cases: Case[] = [
  {
    name: "tensorflow single: one pod, no TF_CONFIG",
    framework: "tensorflow",
    mode: "single",
    engine: "job",
    roles: [["trainer", 1, true]],
    exporter: "trainer",
    successRoles: [],
    sharedMemory: false,
    env: { trainer: {} },
  },
  {
    name: "tensorflow multi-worker without a chief: worker 0 exports",
    framework: "tensorflow",
    mode: "multi-worker",
    counts: { worker: 3 },
    engine: "jobset",
    roles: [["worker", 3, true]],
    exporter: "worker",
    successRoles: [],
    sharedMemory: false,
    env: { worker: { TF_CLUSTER_SPEC: tfCluster({ worker: 3 }), TF_TASK_TYPE: "worker" } },
  },
  {
    name: "tensorflow multi-worker with a chief: the chief exports",
    framework: "tensorflow",
    mode: "multi-worker",
    counts: { chief: 1, worker: 2 },
    engine: "jobset",
    roles: [
      ["chief", 1, true],
      ["worker", 2, true],
    ],
    exporter: "chief",
    successRoles: [],
    sharedMemory: false,
    env: {
      chief: { TF_CLUSTER_SPEC: tfCluster({ chief: 1, worker: 2 }), TF_TASK_TYPE: "chief" },
      worker: { TF_CLUSTER_SPEC: tfCluster({ chief: 1, worker: 2 }), TF_TASK_TYPE: "worker" },
    },
  },
  {
    name: "tensorflow parameter-server: chief exports and decides success; the evaluator is outside the cluster",
    framework: "tensorflow",
    mode: "parameter-server",
    counts: { chief: 1, worker: 2, ps: 2, evaluator: 1 },
    engine: "jobset",
    roles: [
      ["chief", 1, false],
      ["worker", 2, true],
      ["ps", 2, false],
      ["evaluator", 1, true],
    ],
    exporter: "chief",
    successRoles: ["chief"],
    sharedMemory: false,
    env: {
      chief: { TF_CLUSTER_SPEC: tfCluster({ chief: 1, worker: 2, ps: 2 }), TF_TASK_TYPE: "chief" },
      worker: { TF_CLUSTER_SPEC: tfCluster({ chief: 1, worker: 2, ps: 2 }), TF_TASK_TYPE: "worker" },
      ps: { TF_CLUSTER_SPEC: tfCluster({ chief: 1, worker: 2, ps: 2 }), TF_TASK_TYPE: "ps" },
      evaluator: { TF_CLUSTER_SPEC: tfCluster({ evaluator: 1 }), TF_TASK_TYPE: "evaluator" },
    },
  },
  {
    name: "pytorch single: one pod with shared memory",
    framework: "pytorch",
    mode: "single",
    engine: "job",
    roles: [["trainer", 1, true]],
    exporter: "trainer",
    successRoles: [],
    sharedMemory: true,
    env: { trainer: {} },
  },
  {
    name: "pytorch ddp on GPU nodes: one process per GPU, pod 0 is the master",
    framework: "pytorch",
    mode: "ddp",
    counts: { worker: 2 },
    gpusPerPod: 4,
    engine: "jobset",
    roles: [["worker", 2, true]],
    exporter: "worker",
    successRoles: [],
    sharedMemory: true,
    env: {
      worker: {
        ML_PLATFORM_TORCHRUN_NNODES: "2",
        ML_PLATFORM_TORCHRUN_NPROC_PER_NODE: "4",
        ML_PLATFORM_TORCHRUN_MASTER_ADDR: host("worker", 0),
        ML_PLATFORM_TORCHRUN_MASTER_PORT: "29500",
      },
    },
  },
  {
    name: "pytorch ddp on CPU: one process per pod",
    framework: "pytorch",
    mode: "ddp",
    counts: { worker: 3 },
    engine: "jobset",
    roles: [["worker", 3, true]],
    exporter: "worker",
    successRoles: [],
    sharedMemory: true,
    env: {
      worker: {
        ML_PLATFORM_TORCHRUN_NNODES: "3",
        ML_PLATFORM_TORCHRUN_NPROC_PER_NODE: "1",
        ML_PLATFORM_TORCHRUN_MASTER_ADDR: host("worker", 0),
        ML_PLATFORM_TORCHRUN_MASTER_PORT: "29500",
      },
    },
  },
  {
    name: "mxnet single: no DMLC environment",
    framework: "mxnet",
    mode: "single",
    engine: "job",
    roles: [["trainer", 1, true]],
    exporter: "trainer",
    successRoles: [],
    sharedMemory: false,
    env: { trainer: {} },
  },
  {
    name: "mxnet dist: scheduler, servers and workers share the scheduler's address; workers decide success",
    framework: "mxnet",
    mode: "dist",
    counts: { scheduler: 1, server: 2, worker: 3 },
    engine: "jobset",
    roles: [
      ["scheduler", 1, false],
      ["server", 2, false],
      ["worker", 3, true],
    ],
    exporter: "worker",
    successRoles: ["worker"],
    sharedMemory: false,
    env: Object.fromEntries(
      ["scheduler", "server", "worker"].map((role) => [
        role,
        {
          DMLC_ROLE: role,
          DMLC_PS_ROOT_URI: host("scheduler", 0),
          DMLC_PS_ROOT_PORT: "9091",
          DMLC_NUM_SERVER: "2",
          DMLC_NUM_WORKER: "3",
          DMLC_USE_KUBERNETES: "1",
        },
      ]),
    ),
  },
  {
    name: "custom single: any command, no cluster environment",
    framework: "custom",
    mode: "single",
    engine: "job",
    roles: [["trainer", 1, true]],
    exporter: "trainer",
    successRoles: [],
    sharedMemory: false,
    env: { trainer: {} },
  },
];

describe.each(cases)("$name", (c) => {
  const result = plan(c.framework, c.mode, c.counts, c.gpusPerPod);

  it("has the roles, pod counts and GPU roles of the mode", () => {
    expect(result.engine).toBe(c.engine);
    expect(result.roles.map((r) => [r.name, r.replicas, r.usesGpus])).toEqual(c.roles);
  });

  it("exports from pod 0 of the exporting role and succeeds on the right roles", () => {
    expect(result.exporter).toEqual({ role: c.exporter, index: 0 });
    expect(result.successRoles).toEqual(c.successRoles);
    expect(result.sharedMemory).toBe(c.sharedMemory);
  });

  it("gives every role its static cluster environment", () => {
    expect(Object.fromEntries(result.roles.map((r) => [r.name, r.env]))).toEqual(c.env);
  });
});

describe("framework details", () => {
  it("only a parameter-server evaluator follows the saved checkpoints; everyone else restores them once", () => {
    const ps = plan("tensorflow", "parameter-server", { chief: 1, worker: 1, ps: 1, evaluator: 1 });
    expect(Object.fromEntries(ps.roles.map((r) => [r.name, r.checkpoints]))).toEqual({ chief: "restore", worker: "restore", ps: "restore", evaluator: "follow" });
  });

  it("declares the ports the frameworks listen on", () => {
    expect(plan("tensorflow", "multi-worker", { worker: 2 }).roles[0].ports).toEqual([{ name: "tf-grpc", containerPort: 2222 }]);
    expect(plan("pytorch", "ddp", { worker: 2 }).roles[0].ports).toEqual([{ name: "torch-master", containerPort: 29500 }]);
    const mx = plan("mxnet", "dist", { scheduler: 1, server: 1, worker: 1 });
    expect(mx.roles.map((r) => r.ports)).toEqual([[{ name: "dmlc-scheduler", containerPort: 9091 }], [], []]);
  });

  it("TensorFlow multi-worker needs at least two pods in all", () => {
    const issues = new IssueCollector();
    FRAMEWORKS.tensorflow.validate!("multi-worker", { worker: 1 }, issues);
    expect(issues.list()).toEqual([{ path: "replicas", message: expect.stringMatching(/at least 2 pods.*use mode "single"/) }]);
    const ok = new IssueCollector();
    FRAMEWORKS.tensorflow.validate!("multi-worker", { chief: 1, worker: 1 }, ok);
    expect(ok.count).toBe(0);
  });

  it("the registry knows exactly the four frameworks and nothing from Object's prototype", () => {
    expect(Object.keys(FRAMEWORKS)).toEqual(["tensorflow", "pytorch", "mxnet", "custom"]);
    expect(frameworkModule("toString")).toBeUndefined();
    expect(frameworkModule("jax")).toBeUndefined();
    expect(Object.keys(FRAMEWORKS.custom.modes)).toEqual(["single"]);
  });
});
