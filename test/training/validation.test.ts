/** Bad TrainingJob input: clear errors naming the argument and what is allowed, before any resource. */
import { describe, expect, it } from "vitest";
import { ComponentValidationError } from "../../components/common/validation";
import type { TestArgs } from "./fixtures";
import { rejectedTrainingRun } from "./fixtures";

/** Declares the job under mocks and returns its error, checking that the job declared nothing. */
async function rejection(args: Record<string, unknown>, name = "train"): Promise<ComponentValidationError> {
  const run = await rejectedTrainingRun(args as TestArgs, name);
  expect(run.result).toBeInstanceOf(ComponentValidationError);
  expect(run.ofType("ml-platform:training:TrainingJob")).toEqual([]);
  expect(run.resources.filter((r) => r.type.startsWith("kubernetes:"))).toEqual([]);
  return run.result as ComponentValidationError;
}

describe("TrainingJob argument errors", () => {
  it.each([
    [{ framework: "jax", mode: "single" }, /framework: "jax" is not supported; use one of "tensorflow", "pytorch", "mxnet", "custom"/],
    [{ framework: "tensorflow", mode: "ddp", replicas: { worker: 2 } }, /mode: "ddp" is not a tensorflow mode; use one of "single", "multi-worker", "parameter-server"/],
    [{ framework: "custom", mode: "distributed" }, /mode: "distributed" is not a custom mode; use one of "single"/],
    [
      { framework: "tensorflow", mode: "parameter-server", replicas: { chief: 1, worker: 2 } },
      /replicas\.ps: tensorflow "parameter-server" needs at least 1 ps \(parameter servers that hold the variables\); got 0/,
    ],
    [{ framework: "tensorflow", mode: "parameter-server", replicas: { chief: 2, worker: 2, ps: 1 } }, /replicas\.chief: tensorflow "parameter-server" allows at most 1 chief/],
    [{ framework: "pytorch", mode: "ddp", replicas: { workers: 2 } }, /replicas\.workers: is not a role of pytorch "ddp"; roles: "worker"/],
    [{ framework: "pytorch", mode: "ddp" }, /replicas: pytorch mode "ddp" needs pod counts per role, e\.g\. \{ worker: 1 \}/],
    [{ framework: "mxnet", mode: "dist", replicas: { scheduler: 1, server: 1, worker: 1.5 } }, /replicas\.worker: must be a whole number of pods \(got 1\.5\)/],
    [{ framework: "tensorflow", mode: "single", replicas: { worker: 2 } }, /replicas: tensorflow mode "single" runs one pod: leave replicas unset/],
    [{ framework: "tensorflow", mode: "multi-worker", replicas: { worker: 1 } }, /replicas: multi-worker training needs at least 2 pods in all/],
  ])("framework, mode and role counts: %j", async (selection, message) => {
    expect((await rejection(selection)).message).toMatch(message);
  });

  it.each([0, -1, 1.5, "3", undefined])("rejects version %j", async (version) => {
    const error = await rejection({ framework: "tensorflow", mode: "single", version });
    expect(error.issues.map((i) => i.path)).toEqual(["version"]);
    expect(error.message).toMatch(/version: model version .* is invalid: it must be a positive integer/);
  });

  it("rejects GPUs without a GPU pool, and more GPUs per pod than the pool's nodes have", async () => {
    expect((await rejection({ framework: "pytorch", mode: "single", resources: { gpus: 2 } })).message).toMatch(
      /resources\.gpus: 2 GPU\(s\) per pod need gpuPool: a GpuNodePool whose nodes have the GPUs/,
    );
    expect((await rejection({ framework: "pytorch", mode: "ddp", replicas: { worker: 2 }, resources: { gpus: 8 }, gpuInstanceType: "g5.12xlarge" })).message).toMatch(
      /resources\.gpus: 8 GPUs per pod, but the nodes of gpuPool have 4; ask for at most 4 per pod/,
    );
    expect((await rejection({ framework: "pytorch", mode: "single", resources: { gpus: 0.5 }, gpuInstanceType: "g5.xlarge" })).message).toMatch(
      /resources\.gpus: must be a whole number of GPUs >= 0/,
    );
  });

  it("requires an image and a command", async () => {
    const error = await rejection({ framework: "custom", mode: "single", image: "", command: [] });
    expect(error.issues.map((i) => i.path)).toEqual(["image", "command"]);
    expect(error.message).toMatch(/image: is required: the container image with the training code/);
    expect(error.message).toMatch(/command: must be a non-empty list of non-empty strings/);
  });

  it("keeps the platform's environment to itself", async () => {
    const error = await rejection({ framework: "tensorflow", mode: "single", env: { TF_CONFIG: "{}", DMLC_ROLE: "x", "bad name": "1", EPOCHS: "3", TENSORBOARD_LOG_DIR: "/x" } });
    expect(error.issues.map((i) => i.path)).toEqual(["env.TF_CONFIG", "env.DMLC_ROLE", "env.bad name", "env.TENSORBOARD_LOG_DIR"]);
    expect(error.message).toMatch(/env\.TF_CONFIG: is set by the platform; reserved: "TF_CONFIG"/);
  });

  it("checks quantities, counts, the wait and the namespace", async () => {
    const error = await rejection({
      framework: "tensorflow",
      mode: "single",
      resources: { cpu: "four", memory: "16GB" },
      backoffLimit: -1,
      activeDeadlineSeconds: 0,
      ttlSecondsAfterFinished: 1.5,
      wait: { until: "complete", timeoutMinutes: 0 },
      checkpoints: { saveIntervalSeconds: 0 },
      logs: { uploadIntervalSeconds: 2.5 },
      namespace: "ML",
      sharedMemorySize: "lots",
    });
    expect(error.issues.map((i) => i.path)).toEqual([
      "resources.cpu",
      "resources.memory",
      "namespace",
      "backoffLimit",
      "ttlSecondsAfterFinished",
      "activeDeadlineSeconds",
      "wait.timeoutMinutes",
      "checkpoints.saveIntervalSeconds",
      "logs.uploadIntervalSeconds",
      "sharedMemorySize",
    ]);
    expect((await rejection({ framework: "tensorflow", mode: "single", wait: { until: "forever" } })).message).toMatch(
      /wait\.until: "forever" is not valid; use one of "complete", "created"/,
    );
  });

  it("keeps generated pod names within Kubernetes' 63 characters", async () => {
    const error = await rejection({ framework: "tensorflow", mode: "parameter-server", replicas: { chief: 1, worker: 12, ps: 2, evaluator: 1 } }, "recommendation-model-training-nightly-run");
    expect(error.message).toMatch(/name: "recommendation-model-training-nightly-run-v3" is too long: pod names such as ".*-evaluator-0-0-xxxxx"/);
    expect((await rejection({ framework: "pytorch", mode: "ddp", replicas: { worker: 2 } }, "7-day")).message).toMatch(/must start with a letter/);
  });

  it("reports every problem at once", async () => {
    const error = await rejection({ framework: "tensorflow", mode: "parameter-server", replicas: { worker: 0 }, version: 0, image: "", resources: { gpus: 1 } });
    expect(error.issues.map((i) => i.path)).toEqual(["replicas.chief", "replicas.worker", "replicas.ps", "image", "version", "resources.gpus"]);
    expect(error.message).toMatch(/^TrainingJob "train" has invalid arguments:/);
  });
});
