/**
 * The upload and checkpoint scripts, run for real: Debian's AWS CLI v2 against an S3-protocol server on
 * 127.0.0.1, the scripts as files under `sh` (dash).
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRAINING_SCRIPTS } from "../../components/training/scripts";
import { run, type S3TestServer, startS3Server } from "../harness/s3-server";
import { BUCKET } from "./fixtures";
import { loggingAwsCli, script, storeKeys, storeObject } from "./pod-sim";

let s3: S3TestServer;
beforeAll(async () => {
  s3 = await startS3Server(BUCKET);
});
afterAll(async () => s3?.close());

/** A SavedModel-shaped export directory. */
function exportDir(files: Record<string, string> = { "saved_model.pb": "graph", "variables/variables.index": "index", "variables/variables.data-00000-of-00001": "data" }) {
  const dir = mkdtempSync(join(tmpdir(), "export-"));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
  return dir;
}

function env(extra: NodeJS.ProcessEnv) {
  const aws = loggingAwsCli(mkdtempSync(join(tmpdir(), "aws-log-")));
  return { aws, env: { ...s3.env, AWS_CLI: aws.path, S3_BUCKET: BUCKET, MODEL_NAME: "linear", ...extra } };
}

const download = (key: string) => storeObject(s3, key);
const keys = (prefix: string) => storeKeys(s3, prefix);

describe.concurrent("upload-model.sh", () => {
  const upload = (e: NodeJS.ProcessEnv) => run("sh", [script(TRAINING_SCRIPTS.uploadModel)], { env: e });

  it("uploads the export under models/<model>/<version>/ and writes _SUCCESS last", async () => {
    const { aws, env: e } = env({ MODEL_VERSION: "1", MODEL_EXPORT_DIR: exportDir() });
    const result = await upload(e);
    expect(result.stderr).toContain("models/linear/1/ is complete");
    expect(result.code).toBe(0);
    expect(await keys("models/linear/1/")).toEqual([
      "models/linear/1/_SUCCESS",
      "models/linear/1/saved_model.pb",
      "models/linear/1/variables/variables.data-00000-of-00001",
      "models/linear/1/variables/variables.index",
    ]);
    expect(await download("models/linear/1/variables/variables.index")).toBe("index");
    // The endpoint is passed explicitly (the CLI predates AWS_ENDPOINT_URL); the marker is the last call.
    const calls = aws.calls();
    expect(calls.every((c) => c.startsWith(`--endpoint-url ${s3.endpoint} s3 `))).toBe(true);
    expect(calls.map((c) => c.replace(`--endpoint-url ${s3.endpoint} `, "").split(" ").slice(0, 2).join(" "))).toEqual(["s3 ls", "s3 cp", "s3 cp"]);
    expect(calls[1]).toContain("--recursive");
    expect(calls.at(-1)).toMatch(/ s3:\/\/acme-models\/models\/linear\/1\/_SUCCESS$/);
  });

  it("never marks a partial upload complete, and fails", async () => {
    // A file that vanished (a dangling link) makes the recursive copy fail after uploading the rest.
    const dir = exportDir({ "saved_model.pb": "graph" });
    symlinkSync(join(dir, "missing"), join(dir, "variables.index"));
    const { aws, env: e } = env({ MODEL_VERSION: "2", MODEL_EXPORT_DIR: dir });
    const result = await upload(e);
    expect(result.code).toBe(75);
    expect(result.stderr).toMatch(/upload to s3:\/\/acme-models\/models\/linear\/2\/ failed: the version stays incomplete/);
    const listed = await keys("models/linear/2/");
    expect(listed).toContain("models/linear/2/saved_model.pb");
    expect(listed).not.toContain("models/linear/2/_SUCCESS");
    expect(aws.calls().some((c) => c.includes("_SUCCESS") && c.includes(" cp "))).toBe(false);
  });

  it("fails without marking anything when the store goes away after the files were sent", async () => {
    const { env: e } = env({ MODEL_VERSION: "3", MODEL_EXPORT_DIR: exportDir(), AWS_FAIL_AFTER_CALLS: "2" });
    const result = await upload(e);
    expect(result.code).toBe(75);
    expect(result.stderr).toMatch(/writing s3:\/\/acme-models\/models\/linear\/3\/_SUCCESS failed/);
    const listed = await keys("models/linear/3/");
    expect(listed).toContain("models/linear/3/saved_model.pb");
    expect(listed).not.toContain("models/linear/3/_SUCCESS");
  });

  it("fails when the store cannot be reached, and when there is nothing to upload", async () => {
    const unreachable = await upload(env({ MODEL_VERSION: "4", MODEL_EXPORT_DIR: exportDir(), S3_ENDPOINT: "http://127.0.0.1:9", AWS_MAX_ATTEMPTS: "1" }).env);
    // Store failures exit 75 (worth retrying); a missing export or bad settings exit 1.
    expect(unreachable.code).toBe(75);
    expect(unreachable.stderr).toMatch(/cannot check s3:\/\/acme-models\/models\/linear\/4\//);
    const empty = await upload(env({ MODEL_VERSION: "4", MODEL_EXPORT_DIR: mkdtempSync(join(tmpdir(), "empty-")) }).env);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/is empty: the training command exported nothing/);
    const bad = await upload(env({ MODEL_VERSION: "04", MODEL_EXPORT_DIR: exportDir() }).env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/MODEL_VERSION must be a positive integer/);
    expect(await keys("models/linear/4/")).toEqual([]);
    expect(await keys("models/linear/04/")).toEqual([]);
  });

  it("leaves a version that is already complete untouched", async () => {
    await s3.put("models/linear/5/saved_model.pb", "first run");
    await s3.put("models/linear/5/_SUCCESS", "");
    const result = await upload(env({ MODEL_VERSION: "5", MODEL_EXPORT_DIR: exportDir({ "saved_model.pb": "second run" }) }).env);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/already complete; leaving it untouched/);
    expect(await download("models/linear/5/saved_model.pb")).toBe("first run");
  });
});

describe.concurrent("checkpoints.sh", () => {
  const checkpoints = (action: string, e: NodeJS.ProcessEnv) => run("sh", [script(TRAINING_SCRIPTS.checkpoints), action], { env: e });
  const tfCheckpoint = {
    checkpoint: 'model_checkpoint_path: "ckpt-2"\n',
    "ckpt-1.index": "i1",
    "ckpt-1.data-00000-of-00001": "d1",
    "ckpt-2.index": "i2",
    "ckpt-2.data-00000-of-00001": "d2",
  };

  it("saves $CHECKPOINT_DIR and restores it into a fresh pod", async () => {
    const saved = await checkpoints("save", env({ MODEL_VERSION: "1", CHECKPOINT_DIR: exportDir(tfCheckpoint) }).env);
    expect(saved.code).toBe(0);
    expect(await keys("checkpoints/linear/1/")).toEqual(Object.keys(tfCheckpoint).map((f) => `checkpoints/linear/1/${f}`).sort());

    const fresh = join(mkdtempSync(join(tmpdir(), "pod-")), "checkpoints");
    const restored = await checkpoints("restore", env({ MODEL_VERSION: "1", CHECKPOINT_DIR: fresh }).env);
    expect(restored.code).toBe(0);
    expect(restored.stderr).toMatch(/5 files/);
    for (const [file, content] of Object.entries(tfCheckpoint)) expect(readFileSync(join(fresh, file), "utf8")).toBe(content);
  });

  it("uploads checkpoint data before the index that names it", async () => {
    // The store fails after the first pass: the data is there, the index pointing at it is not yet.
    const { aws, env: e } = env({ MODEL_VERSION: "2", CHECKPOINT_DIR: exportDir(tfCheckpoint), AWS_FAIL_AFTER_CALLS: "1" });
    const interrupted = await checkpoints("save", e);
    expect(interrupted.code).not.toBe(0);
    expect(await keys("checkpoints/linear/2/")).toEqual(
      ["ckpt-1.data-00000-of-00001", "ckpt-1.index", "ckpt-2.data-00000-of-00001", "ckpt-2.index"].map((f) => `checkpoints/linear/2/${f}`),
    );
    expect(aws.calls()[0]).toContain('--exclude checkpoint --exclude */checkpoint');
  });

  it("restores nothing (and succeeds) before the first save, and saves nothing before the first checkpoint", async () => {
    const fresh = join(mkdtempSync(join(tmpdir(), "pod-")), "checkpoints");
    const restored = await checkpoints("restore", env({ MODEL_VERSION: "9", CHECKPOINT_DIR: fresh }).env);
    expect(restored.code).toBe(0);
    expect(restored.stderr).toMatch(/0 files/);
    const saved = await checkpoints("save", env({ MODEL_VERSION: "9", CHECKPOINT_DIR: join(fresh, "not-yet") }).env);
    expect(saved.code).toBe(0);
    expect(await keys("checkpoints/linear/9/")).toEqual([]);
    expect((await checkpoints("bogus", env({ MODEL_VERSION: "9", CHECKPOINT_DIR: fresh }).env)).code).toBe(2);
  });
});
