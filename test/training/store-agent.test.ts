/**
 * A training pod's containers working together, for real: the entrypoint wrapper runs a stand-in
 * training command (a shell script), the store agent sidecar saves checkpoints and uploads the export,
 * and the restore init container brings checkpoints back after a restart. The environment is that of a
 * TrainingJob rendered under mocks; the store is an S3-protocol server driven by Debian's AWS CLI.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AWS_CLI, type S3TestServer, startS3Server } from "../harness/s3-server";
import { BUCKET } from "./fixtures";
import { loggingAwsCli, podVolumes, type RenderedPodEnv, renderedExporterEnv, runPod, storeKeys, storeObject } from "./pod-sim";

let s3: S3TestServer;
/** Rendered pods by model version; Pulumi's mock runtime is global, so all are rendered up front. */
const rendered = new Map<number, RenderedPodEnv>();
let ddp: RenderedPodEnv;
beforeAll(async () => {
  s3 = await startS3Server(BUCKET);
  // Model "linear", one version per test. Checkpoints: the default interval where only the last save after
  // the command matters, every second where the test watches saves during training.
  for (const version of [3, 4]) rendered.set(version, await renderedExporterEnv({ framework: "tensorflow", mode: "single", checkpoints: true, version }));
  rendered.set(6, await renderedExporterEnv({ framework: "tensorflow", mode: "single", checkpoints: { saveIntervalSeconds: 1 }, version: 6 }));
  rendered.set(5, await renderedExporterEnv({ framework: "tensorflow", mode: "single", version: 5 }));
  // Without logs, so that the AWS CLI calls the test counts are the export's alone.
  rendered.set(7, await renderedExporterEnv({ framework: "tensorflow", mode: "single", version: 7, logs: false }));
  ddp = await renderedExporterEnv({ framework: "pytorch", mode: "ddp", replicas: { worker: 2 }, model: "ddp-model" });
});
const single = (version: number) => rendered.get(version)!;
afterAll(async () => s3?.close());

const awsCli = () => loggingAwsCli(mkdtempSync(join(tmpdir(), "aws-log-")));
const keys = (prefix: string) => storeKeys(s3, prefix);

/** A stand-in training command: writes a checkpoint and a SavedModel-shaped export, then exits. */
const train = (exitCode = 0) => [
  "sh",
  "-c",
  `echo "step 100" > "$CHECKPOINT_DIR/ckpt-100"; mkdir -p "$MODEL_EXPORT_DIR/variables"; echo graph > "$MODEL_EXPORT_DIR/saved_model.pb"; echo vars > "$MODEL_EXPORT_DIR/variables/variables.index"; exit ${exitCode}`,
];

describe.concurrent("store agent and entrypoint wrapper in one pod", { timeout: 90_000 }, () => {
  it("after the command succeeds, the pod completes only once the export is in the store with its manifest, _SUCCESS last", async () => {
    const aws = awsCli();
    const pod = await runPod({ env: { ...single(3), restore: undefined }, volumes: podVolumes(), s3, awsCli: aws.path, command: train() });
    expect(pod.trainer.stderr).toContain("waiting for the store agent");
    expect(pod.trainer.code).toBe(0);
    expect(pod.agent.stderr).toContain("done (status 0)");
    expect(await keys("models/linear/3/")).toEqual([
      "models/linear/3/_MANIFEST",
      "models/linear/3/_SUCCESS",
      "models/linear/3/saved_model.pb",
      "models/linear/3/variables/variables.index",
    ]);
    expect(aws.calls().at(-1)).toMatch(/s3:\/\/acme-models\/models\/linear\/3\/_SUCCESS$/);
    // The last checkpoint was saved too.
    expect(await storeObject(s3, "checkpoints/linear/3/ckpt-100")).toBe("step 100\n");
  });

  it("when the command fails, the pod fails with its status, nothing is uploaded, and the last checkpoint is saved", async () => {
    const env = single(4);
    const pod = await runPod({ env: { ...env, restore: undefined }, volumes: podVolumes(), s3, awsCli: awsCli().path, command: train(5) });
    expect(pod.trainer.code).toBe(5);
    expect(pod.agent.stderr).toMatch(/failed with status 5: nothing is uploaded or marked complete/);
    expect(await keys("models/linear/4/")).toEqual([]);
    expect(await keys("checkpoints/linear/4/")).toEqual(["checkpoints/linear/4/ckpt-100"]);
  });

  it("when the command succeeds but the export cannot be uploaded, the pod fails", async () => {
    const env = single(5);
    const pod = await runPod({ env, volumes: podVolumes(), s3, awsCli: awsCli().path, command: ["true"] });
    expect(pod.trainer.code).toBe(1);
    expect(pod.trainer.stderr).toMatch(/the training succeeded but the export was not uploaded/);
    expect(pod.agent.stderr).toMatch(/exported nothing/);
    expect(await keys("models/linear/5/")).toEqual([]);
  });

  it("retries the upload when the store fails for a moment", async () => {
    const aws = awsCli();
    const pod = await runPod({
      env: single(7),
      volumes: podVolumes(),
      s3,
      awsCli: aws.path,
      command: ["sh", "-c", 'echo graph > "$MODEL_EXPORT_DIR/saved_model.pb"'],
      // The fourth AWS CLI call (writing _SUCCESS, after the check, the files and _MANIFEST) fails once;
      // retry after 1 s instead of 10.
      agentEnv: { AWS_FAIL_CALL: "4", ML_PLATFORM_UPLOAD_RETRY_SECONDS: "1" },
    });
    expect(pod.agent.stderr).toMatch(/simulated store hiccup[\s\S]*upload attempt 1 failed; retrying in 1s/);
    expect(pod.trainer.code).toBe(0);
    expect(await keys("models/linear/7/")).toEqual(["models/linear/7/_MANIFEST", "models/linear/7/_SUCCESS", "models/linear/7/saved_model.pb"]);
    expect(aws.calls()).toHaveLength(8);
  });

  it("saves checkpoints while training runs, and a restarted pod restores them before the command starts", async () => {
    const env = single(6);
    // First attempt: checkpoints step 50, keeps "training" until it sees that checkpoint in the store
    // (only a save during the run can put it there), then crashes.
    const { HOME: _home, ...storeAccess } = s3.env;
    const watcher = { AWS: AWS_CLI, EP: s3.endpoint, ...storeAccess };
    const first = await runPod({
      env,
      volumes: podVolumes(),
      s3,
      awsCli: awsCli().path,
      trainerEnv: watcher,
      command: [
        "sh",
        "-c",
        [
          'echo 50 > "$CHECKPOINT_DIR/step"',
          "tries=0",
          'until "$AWS" --endpoint-url "$EP" s3 ls s3://acme-models/checkpoints/linear/6/step >/dev/null 2>&1; do',
          "  tries=$((tries + 1)); [ $tries -lt 40 ] || exit 99; sleep 1",
          "done",
          'echo "checkpoint is in the store while training runs"',
          "exit 137",
        ].join("\n"),
      ],
    });
    expect(first.trainer.stdout).toContain("checkpoint is in the store while training runs");
    expect(first.trainer.code).toBe(137);

    // Second attempt in a new pod (fresh volumes): the init container restores step 50 first.
    const second = await runPod({
      env,
      volumes: podVolumes(),
      s3,
      awsCli: awsCli().path,
      command: ["sh", "-c", 'echo "resuming at step $(cat "$CHECKPOINT_DIR/step")"; mkdir -p "$MODEL_EXPORT_DIR"; echo model > "$MODEL_EXPORT_DIR/saved_model.pb"'],
    });
    expect(second.restore?.stderr).toMatch(/restored s3:\/\/acme-models\/checkpoints\/linear\/6\/ .*\(1 files\)/);
    expect(second.trainer.stdout).toContain("resuming at step 50");
    expect(second.trainer.code).toBe(0);
    expect(await keys("models/linear/6/")).toEqual(["models/linear/6/_MANIFEST", "models/linear/6/_SUCCESS", "models/linear/6/saved_model.pb"]);
  });

  it("only the exporting pod uploads the export: the other pods of the role upload their own logs only", async () => {
    // Stands in for torchrun: runs the command after --no-python on this one machine.
    const bin = mkdtempSync(join(tmpdir(), "torchrun-"));
    writeFileSync(join(bin, "torchrun"), '#!/bin/sh\nwhile [ "$#" -gt 0 ] && [ "$1" != --no-python ]; do shift; done\nshift\nexec "$@"\n', { mode: 0o755 });
    const exportOnly = ["sh", "-c", 'echo graph > "$MODEL_EXPORT_DIR/saved_model.pb"; echo "rank $ML_PLATFORM_POD_INDEX" > "$TENSORBOARD_LOG_DIR/notes.txt"'];
    const trainerEnv = { PATH: `${bin}:${process.env.PATH}` };
    const other = await runPod({ env: ddp, volumes: podVolumes(), s3, awsCli: awsCli().path, command: exportOnly, index: 1, trainerEnv });
    expect(other.trainer.stderr).toContain("(exporter: false)");
    expect(other.trainer.code).toBe(0);
    expect(await keys("models/ddp-model/")).toEqual([]);
    // Its own run, under its role and index, is in the store before the pod ends.
    expect(await storeObject(s3, "logs/ddp-model/3/worker-1/notes.txt")).toBe("rank 1\n");

    const exporter = await runPod({ env: ddp, volumes: podVolumes(), s3, awsCli: awsCli().path, command: exportOnly, index: 0, trainerEnv });
    expect(exporter.trainer.stderr).toContain("(exporter: true)");
    expect(exporter.trainer.code).toBe(0);
    expect(await keys("models/ddp-model/3/")).toEqual(["models/ddp-model/3/_MANIFEST", "models/ddp-model/3/_SUCCESS", "models/ddp-model/3/saved_model.pb"]);
  });
});
