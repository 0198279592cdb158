/** TrainingJob's `queue`: the Job or JobSet goes to Kueue suspended, and later updates leave Kueue's suspend alone. */
import { describe, expect, it } from "vitest";
import { planTrainingJob } from "../../components/training/plan";
import type { TrainingJobArgs } from "../../components/training/args";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import { trainingRun, workloadOf } from "./fixtures";

describe("a queued training", () => {
  it("is a Job created suspended with Kueue's queue label (Kueue unsuspends it on admission); updates ignore spec.suspend", async () => {
    const run = await trainingRun({ framework: "tensorflow", mode: "single", namespace: "vision", queue: "vision", resources: { gpus: 1 }, gpuInstanceType: "g5.xlarge" });
    const job = workloadOf(run);
    expect(job.inputs.metadata.labels["kueue.x-k8s.io/queue-name"]).toBe("vision");
    expect(job.inputs.spec.suspend).toBe(true);
    expect(job.ignoreChanges).toEqual(["spec.suspend"]);
    // Only the Job carries the label: Kueue looks at the top-level object, the pods are its business.
    expect(job.inputs.spec.template.metadata.labels["kueue.x-k8s.io/queue-name"]).toBeUndefined();
    expect(await expectValidKubernetesObjects(run)).toBeGreaterThan(0);
  });

  it("is a JobSet created suspended with the label, for distributed training", async () => {
    const run = await trainingRun({ framework: "pytorch", mode: "ddp", replicas: { worker: 2 }, namespace: "vision", queue: "vision" });
    const jobSet = workloadOf(run);
    expect(jobSet.inputs.kind).toBe("JobSet");
    expect(jobSet.inputs.metadata.labels["kueue.x-k8s.io/queue-name"]).toBe("vision");
    expect(jobSet.inputs.spec.suspend).toBe(true);
    expect(jobSet.ignoreChanges).toEqual(["spec.suspend"]);
    expect(await expectValidKubernetesObjects(run)).toBeGreaterThan(0);
  });

  it("without a queue, starts at once as before: no label, no suspend, nothing ignored", async () => {
    const run = await trainingRun({ framework: "tensorflow", mode: "single" });
    const job = workloadOf(run);
    expect(job.inputs.metadata.labels["kueue.x-k8s.io/queue-name"]).toBeUndefined();
    expect(job.inputs.spec.suspend).toBeUndefined();
    expect(job.ignoreChanges).toEqual([]);
  });

  it("must name a LocalQueue", () => {
    const args = { framework: "tensorflow", mode: "single", image: "i", command: ["c"], model: "m", version: 1, clusterName: "c", store: {} as never, queue: "Vision Team" } as TrainingJobArgs;
    expect(() => planTrainingJob("train", args)).toThrow(/queue: "Vision Team" must be 1-63 lowercase letters.*\(the name of a Kueue LocalQueue in the job's namespace\)/);
  });
});
