/**
 * The cluster environment of every pod, end to end: each case declares a real TrainingJob under mocks,
 * takes the rendered Job or JobSet (what the API server would receive), and runs the entrypoint wrapper
 * with `sh` once per pod, with that pod's container environment and index (JOB_COMPLETION_INDEX, which
 * Kubernetes sets in indexed Jobs). A fake `torchrun` on PATH prints the arguments it was launched with.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { FrameworkSelection } from "../../components/training/frameworks/registry";
import { TRAINING_SCRIPTS, TRAINING_SCRIPTS_DIR } from "../../components/training/scripts";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import { run } from "../harness/s3-server";
import { container, envOf, type RenderedRole, renderedRoles, type TestArgs, trainingRun } from "./fixtures";

const ENTRYPOINT = join(TRAINING_SCRIPTS_DIR, TRAINING_SCRIPTS.entrypoint);
const host = (role: string, i: number) => `train-v3-${role}-0-${i}.train-v3`;

let fakeBin: string;
beforeAll(() => {
  fakeBin = mkdtempSync(join(tmpdir(), "fake-torchrun-"));
  writeFileSync(join(fakeBin, "torchrun"), '#!/bin/sh\nprintf "torchrun-arg=%s\\n" "$@"\nenv\n');
  chmodSync(join(fakeBin, "torchrun"), 0o755);
});

interface PodResult {
  role: string;
  index: number;
  env: Record<string, string>;
  torchrunArgs: string[];
}

/** Runs the wrapper of every pod of every role, as the rendered pod templates say. */
async function runEveryPod(roles: RenderedRole[]): Promise<PodResult[]> {
  const results: PodResult[] = [];
  for (const { role, pods, podSpec } of roles) {
    const trainer = container(podSpec, "trainer");
    expect(trainer.command.slice(0, 2)).toEqual(["/bin/sh", "/opt/ml-platform/bin/entrypoint.sh"]);
    for (let index = 0; index < pods; index++) {
      const dir = mkdtempSync(join(tmpdir(), `pod-${role}-${index}-`));
      const env: NodeJS.ProcessEnv = {
        ...envOf(trainer),
        // Pod-local volumes live in a temporary directory here; no store agent in this test.
        MODEL_EXPORT_DIR: join(dir, "export"),
        ML_PLATFORM_STATE_DIR: "",
        PATH: `${fakeBin}:${process.env.PATH}`,
        JOB_COMPLETION_INDEX: String(index),
      };
      const result = await run("sh", [ENTRYPOINT, ...trainer.command.slice(2), ...(trainer.args ?? [])], { env });
      expect(result.stderr).toContain(`pod ${index}`);
      expect(result.code).toBe(0);
      const lines = result.stdout.split("\n");
      results.push({
        role,
        index,
        env: Object.fromEntries(lines.filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])),
        torchrunArgs: lines.filter((l) => l.startsWith("torchrun-arg=")).map((l) => l.slice("torchrun-arg=".length)),
      });
    }
  }
  return results;
}

async function podsOf(args: TestArgs) {
  const run = await trainingRun(args);
  expect(await expectValidKubernetesObjects(run)).toBeGreaterThan(0);
  return runEveryPod(renderedRoles(run));
}

const probe = { command: ["env"] };

describe("TensorFlow: TF_CONFIG of every pod", () => {
  it("single: no TF_CONFIG, and the one pod exports", async () => {
    const pods = await podsOf({ framework: "tensorflow", mode: "single", ...probe } satisfies TestArgs & FrameworkSelection);
    expect(pods).toHaveLength(1);
    expect(pods[0].env).not.toHaveProperty("TF_CONFIG");
    expect(pods[0].env).toMatchObject({ ML_PLATFORM_IS_EXPORTER: "true", ML_PLATFORM_POD_INDEX: "0", ML_PLATFORM_ROLE: "trainer" });
  });

  it("multi-worker: the cluster of all workers and the chief, each pod with its own task", async () => {
    const pods = await podsOf({ framework: "tensorflow", mode: "multi-worker", replicas: { chief: 1, worker: 3 }, ...probe });
    const cluster = {
      chief: [`${host("chief", 0)}:2222`],
      worker: [0, 1, 2].map((i) => `${host("worker", i)}:2222`),
    };
    expect(pods.map((p) => JSON.parse(p.env.TF_CONFIG))).toEqual([
      { cluster, task: { type: "chief", index: 0 } },
      { cluster, task: { type: "worker", index: 0 } },
      { cluster, task: { type: "worker", index: 1 } },
      { cluster, task: { type: "worker", index: 2 } },
    ]);
    expect(pods.map((p) => p.env.ML_PLATFORM_IS_EXPORTER)).toEqual(["true", "false", "false", "false"]);
  });

  it("parameter-server: chief, workers and parameter servers in one cluster; the evaluator names only itself", async () => {
    const pods = await podsOf({ framework: "tensorflow", mode: "parameter-server", replicas: { chief: 1, worker: 2, ps: 2, evaluator: 1 }, ...probe });
    const cluster = {
      chief: [`${host("chief", 0)}:2222`],
      worker: [`${host("worker", 0)}:2222`, `${host("worker", 1)}:2222`],
      ps: [`${host("ps", 0)}:2222`, `${host("ps", 1)}:2222`],
    };
    expect(pods.map((p) => [p.role, p.index, JSON.parse(p.env.TF_CONFIG)])).toEqual([
      ["chief", 0, { cluster, task: { type: "chief", index: 0 } }],
      ["worker", 0, { cluster, task: { type: "worker", index: 0 } }],
      ["worker", 1, { cluster, task: { type: "worker", index: 1 } }],
      ["ps", 0, { cluster, task: { type: "ps", index: 0 } }],
      ["ps", 1, { cluster, task: { type: "ps", index: 1 } }],
      ["evaluator", 0, { cluster: { evaluator: [`${host("evaluator", 0)}:2222`] }, task: { type: "evaluator", index: 0 } }],
    ]);
    expect(pods.filter((p) => p.env.ML_PLATFORM_IS_EXPORTER === "true").map((p) => [p.role, p.index])).toEqual([["chief", 0]]);
  });
});

describe("PyTorch: torchrun of every pod", () => {
  it("ddp on two 4-GPU nodes: node rank from the pod index, master address and port of pod 0, one process per GPU", async () => {
    const pods = await podsOf({
      framework: "pytorch",
      mode: "ddp",
      replicas: { worker: 2 },
      resources: { gpus: 4 },
      gpuInstanceType: "g5.12xlarge",
      command: ["python", "train.py"],
      args: ["--epochs", "2"],
    });
    expect(pods.map((p) => p.torchrunArgs)).toEqual(
      [0, 1].map((rank) => [
        ...["--nnodes", "2", "--nproc-per-node", "4", "--node-rank", String(rank)],
        ...["--master-addr", host("worker", 0), "--master-port", "29500"],
        ...["--no-python", "python", "train.py", "--epochs", "2"],
      ]),
    );
    expect(pods.map((p) => p.env.ML_PLATFORM_IS_EXPORTER)).toEqual(["true", "false"]);
  });

  it("single: the command runs as is, without torchrun", async () => {
    const pods = await podsOf({ framework: "pytorch", mode: "single", ...probe });
    expect(pods[0].torchrunArgs).toEqual([]);
    expect(pods[0].env.ML_PLATFORM_FRAMEWORK).toBe("pytorch");
  });
});

describe("MXNet: DMLC environment of every pod", () => {
  it("dist: each pod knows its role, the scheduler's address and the server and worker counts; worker 0 exports", async () => {
    const pods = await podsOf({ framework: "mxnet", mode: "dist", replicas: { scheduler: 1, server: 2, worker: 2 }, ...probe });
    expect(pods.map((p) => [p.role, p.index])).toEqual([
      ["scheduler", 0],
      ["server", 0],
      ["server", 1],
      ["worker", 0],
      ["worker", 1],
    ]);
    for (const pod of pods) {
      expect(pod.env).toMatchObject({
        DMLC_ROLE: pod.role,
        DMLC_PS_ROOT_URI: host("scheduler", 0),
        DMLC_PS_ROOT_PORT: "9091",
        DMLC_NUM_SERVER: "2",
        DMLC_NUM_WORKER: "2",
        DMLC_USE_KUBERNETES: "1",
      });
      expect(pod.env).not.toHaveProperty("TF_CONFIG");
    }
    expect(pods.filter((p) => p.env.ML_PLATFORM_IS_EXPORTER === "true").map((p) => [p.role, p.index])).toEqual([["worker", 0]]);
  });
});

describe("custom", () => {
  it("single: no cluster environment at all", async () => {
    const pods = await podsOf({ framework: "custom", mode: "single", ...probe });
    expect(Object.keys(pods[0].env).filter((k) => k.startsWith("TF_") || k.startsWith("DMLC_") || k.startsWith("ML_PLATFORM_TORCHRUN"))).toEqual([]);
    expect(pods[0].env).toMatchObject({ ML_PLATFORM_IS_EXPORTER: "true", MODEL_NAME: "linear", MODEL_VERSION: "3" });
  });
});

describe("entrypoint wrapper edge cases", () => {
  const base = { ML_PLATFORM_FRAMEWORK: "custom", PATH: process.env.PATH };

  it("defaults to pod 0 outside indexed Jobs and refuses a malformed index", async () => {
    const ok = await run("sh", [ENTRYPOINT, "sh", "-c", 'echo "$ML_PLATFORM_POD_INDEX"'], { env: base });
    expect(ok.stdout.trim()).toBe("0");
    const bad = await run("sh", [ENTRYPOINT, "true"], { env: { ...base, JOB_COMPLETION_INDEX: "one" } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/JOB_COMPLETION_INDEX must be a pod index/);
  });

  it("passes the command's exit status through and needs a command", async () => {
    expect((await run("sh", [ENTRYPOINT, "sh", "-c", "exit 7"], { env: base })).code).toBe(7);
    const none = await run("sh", [ENTRYPOINT], { env: base });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no training command/);
  });

  it("forwards SIGTERM to the command so it can save a last checkpoint", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sigterm-"));
    const marker = join(dir, "saved");
    // The command records that it got SIGTERM and exits 143 like a well-behaved trainer.
    const script = `trap 'touch ${marker}; exit 143' TERM; echo started; while :; do sleep 0.1; done`;
    const child = spawn("sh", [ENTRYPOINT, "sh", "-c", script], { env: base });
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    await new Promise<void>((resolve) => child.stdout.on("data", (d: Buffer) => d.toString().includes("started") && resolve()));
    child.kill("SIGTERM");
    expect(await exited).toBe(143);
    expect(existsSync(marker)).toBe(true);
  });
});
