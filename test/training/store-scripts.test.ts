/**
 * The upload and checkpoint scripts, run for real: Debian's AWS CLI v2 against an S3-protocol server on
 * 127.0.0.1, the scripts as files under `sh` (dash): the training scripts as the pods get them (with the
 * store's publish-version.sh beside them), and publish-version.sh itself.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PUBLISH_VERSION_SCRIPT_PATH } from "../../components/storage/version-publishing";
import { TRAINING_SCRIPTS } from "../../components/training/scripts";
import { run, type S3TestServer, startS3Server } from "../harness/s3-server";
import { manifestText, publishedVersion, sha256, successMarker } from "../harness/version-manifest";
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

// Each test runs several AWS CLI processes (about half a second of CPU each): generous time on a busy machine.
describe.concurrent("upload-model.sh", { timeout: 120_000 }, () => {
  const upload = (e: NodeJS.ProcessEnv) => run("sh", [script(TRAINING_SCRIPTS.uploadModel)], { env: e });
  const savedModel = { "saved_model.pb": "graph", "variables/variables.index": "index", "variables/variables.data-00000-of-00001": "data" };

  it("publishes the export as models/<model>/<version>/ with its manifest, and _SUCCESS naming the manifest last", async () => {
    const { aws, env: e } = env({ MODEL_VERSION: "1", MODEL_EXPORT_DIR: exportDir(savedModel) });
    const result = await upload(e);
    expect(result.stderr).toMatch(/publish-version: s3:\/\/acme-models\/models\/linear\/1\/ is complete \(manifest sha256 [0-9a-f]{64}\)/);
    expect(result.code).toBe(0);
    expect(await keys("models/linear/1/")).toEqual([
      "models/linear/1/_MANIFEST",
      "models/linear/1/_SUCCESS",
      "models/linear/1/saved_model.pb",
      "models/linear/1/variables/variables.data-00000-of-00001",
      "models/linear/1/variables/variables.index",
    ]);
    expect(await download("models/linear/1/variables/variables.index")).toBe("index");
    expect(await download("models/linear/1/_MANIFEST")).toBe(manifestText(savedModel));
    expect(await download("models/linear/1/_SUCCESS")).toBe(successMarker(manifestText(savedModel)));
    // The endpoint is passed explicitly (the CLI predates AWS_ENDPOINT_URL); the files, the manifest, then the marker.
    const calls = aws.calls();
    expect(calls.every((c) => c.startsWith(`--endpoint-url ${s3.endpoint} `))).toBe(true);
    expect(calls.map((c) => c.replace(`--endpoint-url ${s3.endpoint} `, "").split(" ").slice(0, 2).join(" "))).toEqual(["s3api list-objects-v2", "s3 cp", "s3 cp", "s3 cp"]);
    expect(calls[1]).toContain("--recursive");
    expect(calls[2]).toMatch(/ s3:\/\/acme-models\/models\/linear\/1\/_MANIFEST$/);
    expect(calls.at(-1)).toMatch(/ s3:\/\/acme-models\/models\/linear\/1\/_SUCCESS$/);
  });

  it("never marks a partial upload complete, and fails so that the agent retries", async () => {
    // The store fails once the files were sent: writing _MANIFEST fails, so there is no _SUCCESS.
    const { env: e } = env({ MODEL_VERSION: "2", MODEL_EXPORT_DIR: exportDir(), AWS_FAIL_AFTER_CALLS: "2" });
    const result = await upload(e);
    expect(result.code).toBe(75);
    expect(result.stderr).toMatch(/writing s3:\/\/acme-models\/models\/linear\/2\/_MANIFEST failed: the version stays incomplete/);
    const listed = await keys("models/linear/2/");
    expect(listed).toContain("models/linear/2/saved_model.pb");
    expect(listed).not.toContain("models/linear/2/_SUCCESS");
  });

  it("fails without marking anything when the store goes away before _SUCCESS", async () => {
    const { env: e } = env({ MODEL_VERSION: "3", MODEL_EXPORT_DIR: exportDir(), AWS_FAIL_AFTER_CALLS: "3" });
    const result = await upload(e);
    expect(result.code).toBe(75);
    expect(result.stderr).toMatch(/writing s3:\/\/acme-models\/models\/linear\/3\/_SUCCESS failed/);
    const listed = await keys("models/linear/3/");
    expect(listed).toEqual(expect.arrayContaining(["models/linear/3/saved_model.pb", "models/linear/3/_MANIFEST"]));
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

describe.concurrent("publish-version.sh, the store's uploader for any <prefix>/<name>/<version>/", { timeout: 120_000 }, () => {
  const publish = (args: string[], e: NodeJS.ProcessEnv) => run("sh", [PUBLISH_VERSION_SCRIPT_PATH, ...args], { env: e });

  it("publishes under any prefix, with names that need care, byte for byte the contract's manifest", async () => {
    const files = { "events.out.tfevents.1": "e1", "plugins/profile/run 1/trace [0].json.gz": "t", "ünïcode.txt": "u", "empty.txt": "" };
    const { env: e } = env({});
    const result = await publish([exportDir(files), "s3://acme-models/tensorboard/team-a/linear/7/"], e);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("uploading 4 files (4 bytes)");
    const published = publishedVersion(files);
    expect(await keys("tensorboard/team-a/linear/7/")).toEqual(Object.keys(published).map((f) => `tensorboard/team-a/linear/7/${f}`).sort());
    expect(await download("tensorboard/team-a/linear/7/_MANIFEST")).toBe(published._MANIFEST);
    expect(await download("tensorboard/team-a/linear/7/_SUCCESS")).toBe(published._SUCCESS);
    // The manifest lists paths in byte order, each with its size and SHA-256.
    expect((published._MANIFEST as string).split("\n")).toEqual([
      "ml-platform-manifest v1",
      `${sha256("")} 0 empty.txt`,
      `${sha256("e1")} 2 events.out.tfevents.1`,
      `${sha256("t")} 1 plugins/profile/run 1/trace [0].json.gz`,
      `${sha256("u")} 1 ünïcode.txt`,
      "",
    ]);
  });

  it("accepts version 9223372036854775807, and refuses destinations TF Serving or the contract cannot take, writing nothing", async () => {
    const { env: e } = env({});
    const dir = exportDir({ "model.tflite": "m" });
    expect((await publish([dir, "s3://acme-models/mobile/linear/9223372036854775807"], e)).code).toBe(0);
    expect(await keys("mobile/linear/9223372036854775807/")).toHaveLength(3);
    const refusals: Array<[string, RegExp]> = [
      ["s3://acme-models/mobile/linear/9223372036854775808/", /beyond 9223372036854775807/],
      ["s3://acme-models/mobile/linear/007/", /version "007" is not a version number/],
      ["s3://acme-models/mobile/linear/0/", /version "0" is not a version number/],
      ["s3://acme-models/mobile/linear/v1/", /version "v1" is not a version number/],
      ["s3://acme-models/3/", /needs <prefix>\/<name>\/ before the version/],
      ["s3://acme-models/mobile/../linear/3/", /path segment "\.\." is not allowed/],
      ["s3://acme-models/mobile//linear/3/", /path segment "" is not allowed/],
      ["s3://acme-models/mobile/li'near/3/", /path segment "li'near" is not allowed/],
      ["/tmp/linear/3/", /is not an s3:\/\/ URL/],
    ];
    for (const [destination, message] of refusals) {
      const result = await publish([dir, destination], e);
      expect(result.code, destination).toBe(1);
      expect(result.stderr, destination).toMatch(message);
    }
    const usage = await publish([dir], e);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/usage: publish-version\.sh SOURCE_DIR s3:\/\/BUCKET\/PREFIX\/NAME\/VERSION\//);
    expect(await keys("mobile/linear/9223372036854775808/")).toEqual([]);
  });

  it("refuses sources it cannot describe in a manifest: control characters in names, links, reserved names, no files", async () => {
    const { aws, env: e } = env({});
    const newline = exportDir({ "ok.txt": "x" });
    writeFileSync(join(newline, "bad\nname.txt"), "y");
    const linked = exportDir({ "saved_model.pb": "graph" });
    symlinkSync(join(linked, "saved_model.pb"), join(linked, "alias.pb"));
    const reserved = exportDir({ "saved_model.pb": "graph", _SUCCESS: "" });
    const cases: Array<[string, RegExp]> = [
      [newline, /1 file name\(s\) contain a control character/],
      [linked, /alias\.pb is not a regular file or directory/],
      [reserved, /_SUCCESS is written by publish-version\.sh itself/],
      [mkdtempSync(join(tmpdir(), "empty-")), /has no files: nothing to publish/],
      [join(tmpdir(), "no-such-export"), /is not a directory: nothing to publish/],
    ];
    for (const [dir, message] of cases) {
      const result = await publish([dir, "s3://acme-models/models/refused/1/"], e);
      expect(result.code, dir).toBe(1);
      expect(result.stderr, dir).toMatch(message);
    }
    expect(await keys("models/refused/")).toEqual([]);
    // All of it is found before any request to the store.
    expect(aws.calls()).toEqual([]);
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
