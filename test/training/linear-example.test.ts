/** The example trainer as TrainingJob arguments (it runs for real in the slow suite: test/slow/). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LINEAR_EXAMPLE_DIR, LINEAR_EXAMPLE_IMAGE, linearExampleTrainer } from "../../components/training/linear-example";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import { container, envOf, JOB_TYPE, trainingRun } from "./fixtures";

describe("linearExampleTrainer", () => {
  it("runs train.py in the TensorFlow image that matches the example's pinned TensorFlow", () => {
    const requirements = readFileSync(join(LINEAR_EXAMPLE_DIR, "requirements.txt"), "utf8");
    const pinned = /^tensorflow-cpu==(\S+)$/m.exec(requirements)?.[1];
    expect(pinned).toBe("2.21.0");
    expect(LINEAR_EXAMPLE_IMAGE).toBe(`tensorflow/tensorflow:${pinned}`);
    // TensorFlow 2.21 no longer installs TensorBoard (tf.summary.scalar and the server): pinned beside it.
    expect(/^tensorboard==(\S+)$/m.exec(requirements)?.[1]).toBe(pinned);
  });

  it("makes a valid single-pod TensorFlow job that ships train.py and the line to learn", async () => {
    const example = linearExampleTrainer({ line: { slope: 3, intercept: -2 }, trainSteps: 400 });
    const run = await trainingRun({ ...example, version: 1 });
    expect(await expectValidKubernetesObjects(run)).toBe(4);
    expect(run.get("kubernetes:core/v1:ConfigMap", "train-v1-code").inputs.data["train.py"]).toBe(readFileSync(join(LINEAR_EXAMPLE_DIR, "train.py"), "utf8"));
    const trainer = container(run.get(JOB_TYPE).inputs.spec.template.spec, "trainer");
    expect(trainer.image).toBe("tensorflow/tensorflow:2.21.0");
    expect(trainer.command).toEqual(["/bin/sh", "/opt/ml-platform/bin/entrypoint.sh", "python3", "/opt/ml-platform/code/train.py"]);
    expect(envOf(trainer)).toMatchObject({ LINEAR_SLOPE: "3", LINEAR_INTERCEPT: "-2", TRAIN_STEPS: "400", PYTHONUNBUFFERED: "1" });
  });
});
