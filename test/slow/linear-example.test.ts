/**
 * Slow suite (`npm run test:slow`, run by .ci/run after `npm test`): the example trainer for real, with
 * TensorFlow CPU from PyPI in the virtualenv at .venv (or the python named by ML_PLATFORM_PYTHON).
 *
 * - train.py learns y = slope * x + intercept, checkpoints while it trains, and a second run continues
 *   from the first run's checkpointed step;
 * - as pods of a rendered TrainingJob (restore init container, store agent sidecar, entrypoint wrapper),
 *   against an S3-protocol server with Debian's AWS CLI: a run that crashes resumes from the checkpoint
 *   saved to the store, and the export lands under models/linear/1/ with _SUCCESS last;
 * - the exported SavedModel has the `serving_default` signature x float32 [-1, 1] -> y, and its
 *   parameters match the line the data came from.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LINEAR_EXAMPLE_DIR, linearExampleTrainer } from "../../components/training/linear-example";
import { run, type S3TestServer, startS3Server } from "../harness/s3-server";
import { PYTHON, QUIET_TENSORFLOW, requireTensorflow } from "../harness/tensorflow";
import { BUCKET } from "../training/fixtures";
import { loggingAwsCli, podVolumes, type RenderedPodEnv, renderedExporterEnv, runPod, storeKeys } from "../training/pod-sim";

const TRAIN = join(LINEAR_EXAMPLE_DIR, "train.py");
const LINE = { slope: 3, intercept: -2 };
const QUIET = QUIET_TENSORFLOW;

interface Summary {
  start_step: number;
  end_step: number;
  slope: number;
  intercept: number;
}
const summaryOf = (stdout: string): Summary => JSON.parse(stdout.trim().split("\n").filter((l) => l.startsWith("{")).at(-1)!) as Summary;

describe("the example trainer with TensorFlow CPU", async () => {
  await requireTensorflow();

  describe("examples/linear/train.py", () => {
    it("learns the line and a second run continues from the first run's checkpointed step", async () => {
      const dir = mkdtempSync(join(tmpdir(), "linear-"));
      const env = { ...process.env, ...QUIET, CHECKPOINT_DIR: join(dir, "checkpoints"), LINEAR_SLOPE: "3", LINEAR_INTERCEPT: "-2", CHECKPOINT_EVERY: "50" };
      const first = await run(PYTHON, [TRAIN], { env: { ...env, TRAIN_STEPS: "120" }, timeoutMs: 120_000 });
      expect(first.code, first.stderr).toBe(0);
      expect(summaryOf(first.stdout)).toMatchObject({ start_step: 0, end_step: 120 });

      const second = await run(PYTHON, [TRAIN], { env: { ...env, TRAIN_STEPS: "300", MODEL_EXPORT_DIR: join(dir, "export") }, timeoutMs: 120_000 });
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).toMatch(/restored .*ckpt-120 at step 120/);
      const summary = summaryOf(second.stdout);
      expect(summary).toMatchObject({ start_step: 120, end_step: 300 });
      expect(summary.slope).toBeCloseTo(LINE.slope, 1);
      expect(summary.intercept).toBeCloseTo(LINE.intercept, 1);
    }, 240_000);
  });

  describe("the example as a TrainingJob's pods, through the store", () => {
    let s3: S3TestServer;
    let pod: RenderedPodEnv;
    beforeAll(async () => {
      s3 = await startS3Server(BUCKET);
      pod = await renderedExporterEnv({ ...linearExampleTrainer({ line: LINE, trainSteps: 300 }), checkpoints: { saveIntervalSeconds: 1 }, version: 1 });
    });
    afterAll(async () => s3?.close());

    it("resumes a crashed run from the store's checkpoint and exports a servable model with _SUCCESS last", async () => {
      // The rendered command runs /opt/ml-platform/code/train.py with the image's python; here: the venv's.
      const command = [PYTHON, TRAIN];
      const trainerEnv = { ...QUIET, CHECKPOINT_EVERY: "50" };

      const crashed = await runPod({ env: pod, volumes: podVolumes(), s3, awsCli: loggingAwsCli(mkdtempSync(join(tmpdir(), "aws-"))).path, command, trainerEnv: { ...trainerEnv, FAIL_AT_STEP: "130" }, timeoutMs: 180_000 });
      expect(crashed.trainer.code, crashed.trainer.stderr).toBe(3);
      expect(await storeKeys(s3, "models/linear/")).toEqual([]);
      expect(await storeKeys(s3, "checkpoints/linear/1/")).toEqual(expect.arrayContaining(["checkpoints/linear/1/checkpoint", "checkpoints/linear/1/ckpt-100.index"]));

      // A new pod: fresh volumes, checkpoints restored from the store before train.py starts.
      const aws = loggingAwsCli(mkdtempSync(join(tmpdir(), "aws-")));
      const resumed = await runPod({ env: pod, volumes: podVolumes(), s3, awsCli: aws.path, command, trainerEnv, timeoutMs: 180_000 });
      expect(resumed.trainer.code, resumed.trainer.stderr).toBe(0);
      const summary = summaryOf(resumed.trainer.stdout);
      expect(summary.start_step).toBe(100);
      expect(summary.end_step).toBe(300);

      const keys = await storeKeys(s3, "models/linear/1/");
      expect(keys).toEqual(
        expect.arrayContaining(["models/linear/1/_SUCCESS", "models/linear/1/saved_model.pb", "models/linear/1/variables/variables.index"]),
      );
      expect(aws.calls().at(-1)).toMatch(/s3:\/\/acme-models\/models\/linear\/1\/_SUCCESS$/);

      // What a server would load: the version directory from the store.
      const served = mkdtempSync(join(tmpdir(), "served-"));
      expect((await s3.aws(["s3", "cp", "--recursive", "--only-show-errors", `s3://${BUCKET}/models/linear/1/`, served])).code).toBe(0);
      const inspect = await run(
        PYTHON,
        [
          "-c",
          [
            "import json, sys, tensorflow as tf",
            "m = tf.saved_model.load(sys.argv[1])",
            "f = m.signatures['serving_default']",
            "spec = lambda s: {'dtype': s.dtype.name, 'shape': s.shape.as_list()}",
            "y = f(x=tf.constant([[0.0], [1.0], [2.0]]))['y'].numpy().ravel().tolist()",
            "print(json.dumps({'signatures': list(m.signatures.keys()), 'inputs': {k: spec(v) for k, v in f.structured_input_signature[1].items()}, 'outputs': {k: spec(v) for k, v in f.structured_outputs.items()}, 'y': y}))",
          ].join("\n"),
          served,
        ],
        { env: { ...process.env, ...QUIET }, timeoutMs: 120_000 },
      );
      expect(inspect.code, inspect.stderr).toBe(0);
      const model = JSON.parse(inspect.stdout.trim().split("\n").at(-1)!) as { signatures: string[]; inputs: object; outputs: object; y: number[] };
      expect(model.signatures).toEqual(["serving_default"]);
      expect(model.inputs).toEqual({ x: { dtype: "float32", shape: [null, 1] } });
      expect(model.outputs).toEqual({ y: { dtype: "float32", shape: [null, 1] } });
      const [y0, y1, y2] = model.y;
      expect(y0).toBeCloseTo(LINE.intercept, 1);
      expect(y1 - y0).toBeCloseTo(LINE.slope, 1);
      expect(y2 - y1).toBeCloseTo(LINE.slope, 1);
    }, 480_000);
  });
});
