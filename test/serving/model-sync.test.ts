/**
 * Runs the real model-sync.sh (with dash, as `sh`) against a real S3-protocol server, with Debian's AWS CLI.
 * AWS CLI calls cost ~0.4 s each, so the bucket is filled with one recursive upload and each test lists
 * each model once.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MODEL_SYNC_SCRIPT_PATH, type SyncManifestModel, syncManifestText } from "../../components/serving/sync";
import { AWS_CLI, type CommandResult, run, type S3TestServer, startS3Server } from "../harness/s3-server";

const BUCKET = "models";
const OBSERVING_AWS = join(__dirname, "fixtures", "observing-aws.sh");
const FAILING_DOWNLOAD_AWS = join(__dirname, "fixtures", "failing-download-aws.sh");

/** The files of one exported version (a stand-in SavedModel) and their contents. */
function versionFiles(model: string, version: number, shards = 2): Record<string, string> {
  const files: Record<string, string> = {
    "saved_model.pb": `graph of ${model} v${version}`,
    "variables/variables.index": `index of ${model} v${version}`,
  };
  for (let i = 0; i < shards; i++) files[`variables/variables.data-${i}-of-${shards}`] = `${model}/${version}/${i}:`.padEnd(32 * 1024, "w");
  return files;
}

interface FixtureVersion {
  model: string;
  version: number;
  complete: boolean;
  shards?: number;
}

// What the bucket holds at the start. Versions without `complete` lack _SUCCESS (an upload in progress).
const FIXTURE: FixtureVersion[] = [
  { model: "linear", version: 1, complete: true },
  { model: "linear", version: 2, complete: true },
  { model: "linear", version: 3, complete: true },
  { model: "linear", version: 4, complete: false },
  { model: "vision", version: 1, complete: true },
  { model: "vision", version: 2, complete: true },
  { model: "vision", version: 10, complete: true },
  { model: "text", version: 1, complete: true },
  { model: "text", version: 2, complete: true },
  { model: "empty", version: 1, complete: false },
  { model: "rolling", version: 1, complete: true },
  { model: "rolling", version: 2, complete: false },
  { model: "watched", version: 1, complete: true },
  { model: "watched", version: 2, complete: false, shards: 24 },
  { model: "observed", version: 7, complete: true, shards: 8 },
  { model: "flaky", version: 1, complete: true },
  { model: "flaky", version: 2, complete: true },
];

function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** Every file under a directory, relative to it, with its content. */
function readTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(root, path)] = readFileSync(path, "utf8");
    }
  };
  walk(root);
  return out;
}

function sameTree(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a).sort();
  return JSON.stringify(keys) === JSON.stringify(Object.keys(b).sort()) && keys.every((k) => a[k] === b[k]);
}

/** Version directories TF Serving would see for a model (numeric names under /models/<model>). */
function servedVersions(modelsDir: string, model: string): string[] {
  const dir = join(modelsDir, model);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(a) - Number(b));
}

const expectedTree = (model: string, version: number, shards?: number) => ({ ...versionFiles(model, version, shards), _SUCCESS: "" });

describe("model-sync.sh against an S3-protocol server", () => {
  let s3: S3TestServer;
  let work: string;

  beforeAll(async () => {
    s3 = await startS3Server(BUCKET);
    work = mkdtempSync(join(tmpdir(), "model-sync-"));
    const upload = join(work, "upload");
    for (const v of FIXTURE) {
      const files = versionFiles(v.model, v.version, v.shards);
      writeTree(join(upload, "models", v.model, String(v.version)), v.complete ? { ...files, _SUCCESS: "" } : files);
    }
    const result = await s3.aws(["s3", "cp", "--recursive", "--only-show-errors", upload, `s3://${BUCKET}/`]);
    if (result.code !== 0) throw new Error(`fixture upload failed: ${result.stderr}`);
  });
  afterAll(async () => s3?.close());

  let counter = 0;
  /** A fresh models directory and the manifest TfServing renders for these models (or these raw lines). */
  function setup(models: SyncManifestModel[] | string[]) {
    const dir = join(work, `case-${++counter}`);
    const modelsDir = join(dir, "models");
    mkdirSync(modelsDir, { recursive: true });
    const manifest = join(dir, "store-0.models");
    const text = models.every((m) => typeof m === "string") ? `# raw\n${models.join("\n")}\n` : syncManifestText(models as SyncManifestModel[]);
    writeFileSync(manifest, text);
    return { dir, modelsDir, manifest };
  }

  function syncEnv(modelsDir: string, manifest: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { ...s3.env, AWS_CLI, S3_BUCKET: BUCKET, SYNC_MANIFEST: manifest, MODELS_DIR: modelsDir, ...extra };
  }

  function syncOnce(modelsDir: string, manifest: string, extra: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
    return run("sh", [MODEL_SYNC_SCRIPT_PATH, "once"], { env: syncEnv(modelsDir, manifest, extra) });
  }

  it("latest n, all and specific: syncs exactly the wanted complete versions, with every file", async () => {
    const { modelsDir, manifest } = setup([
      { name: "linear", versionPolicy: { latest: 2 } },
      { name: "vision", versionPolicy: { latest: 1 } },
      { name: "text", versionPolicy: { specific: [1] } },
      { name: "observed", versionPolicy: { all: true } },
    ]);
    const result = await syncOnce(modelsDir, manifest);
    expect(result.stderr).toContain("every model is in place");
    expect(result.code).toBe(0);
    // linear 4 has no _SUCCESS: it is not a candidate for "latest".
    expect(servedVersions(modelsDir, "linear")).toEqual(["2", "3"]);
    // Versions compare as numbers: 10 is the latest, not 2.
    expect(servedVersions(modelsDir, "vision")).toEqual(["10"]);
    expect(servedVersions(modelsDir, "text")).toEqual(["1"]);
    expect(servedVersions(modelsDir, "observed")).toEqual(["7"]);
    expect(readTree(join(modelsDir, "linear", "3"))).toEqual(expectedTree("linear", 3));
    expect(readTree(join(modelsDir, "vision", "10"))).toEqual(expectedTree("vision", 10));
    // Nothing is left behind in the staging area.
    expect(readdirSync(join(modelsDir, ".staging"))).toEqual([]);
  });

  it("ignores an upload without _SUCCESS until it completes, then serves it and drops the superseded version", async () => {
    const { modelsDir, manifest } = setup([{ name: "rolling", versionPolicy: { latest: 1 } }]);
    const first = await syncOnce(modelsDir, manifest);
    expect(first.code).toBe(0);
    expect(servedVersions(modelsDir, "rolling")).toEqual(["1"]);

    await s3.put("models/rolling/2/_SUCCESS", "");
    const second = await syncOnce(modelsDir, manifest);
    expect(second.code).toBe(0);
    expect(servedVersions(modelsDir, "rolling")).toEqual(["2"]);
    expect(readTree(join(modelsDir, "rolling", "2"))).toEqual(expectedTree("rolling", 2));
    expect(second.stderr).toMatch(/model "rolling": removed version 1 \(no longer wanted by its policy\)/);
  });

  it("removes the versions that a changed policy no longer wants", async () => {
    const { modelsDir, manifest } = setup([{ name: "text", versionPolicy: { specific: [2, 1] } }]);
    expect((await syncOnce(modelsDir, manifest)).code).toBe(0);
    expect(servedVersions(modelsDir, "text")).toEqual(["1", "2"]);

    writeFileSync(manifest, syncManifestText([{ name: "text", versionPolicy: { specific: [2] } }]));
    const result = await syncOnce(modelsDir, manifest);
    expect(result.code).toBe(0);
    expect(servedVersions(modelsDir, "text")).toEqual(["2"]);
    // The kept version was not downloaded again.
    expect(result.stderr).not.toMatch(/version 2 is in place/);
  });

  it("fails naming each model without a complete version, or missing a version its policy or labels require", async () => {
    const { modelsDir, manifest } = setup([
      { name: "empty", versionPolicy: { latest: 1 } },
      { name: "text", versionPolicy: { specific: [2, 7] } },
      // Labelled versions must exist even under { all: true }.
      { name: "observed", versionPolicy: { all: true }, versionLabels: { stable: 7, canary: 9 } },
    ]);
    const result = await syncOnce(modelsDir, manifest);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/model "empty": no complete version in s3:\/\/models\/models\/empty\//);
    expect(result.stderr).toMatch(/model "text": version\(s\) 7 required by its policy or labels have no complete copy in s3:\/\/models\/models\/text\/ \(complete versions: 1 2\)/);
    expect(result.stderr).toMatch(/model "observed": version\(s\) 9 required by its policy or labels have no complete copy/);
    expect(result.stderr).toContain("some models cannot be served as configured");
    // What does exist is still synced, so the message is the only thing left to fix.
    expect(servedVersions(modelsDir, "text")).toEqual(["2"]);
    expect(servedVersions(modelsDir, "observed")).toEqual(["7"]);
  });

  it("fails clearly when the store is unreachable", async () => {
    const { modelsDir, manifest } = setup([{ name: "linear", versionPolicy: { latest: 1 } }]);
    // Port 9 (discard) on loopback: nothing listens, so connections are refused at once.
    const result = await syncOnce(modelsDir, manifest, { S3_ENDPOINT: "http://127.0.0.1:9", AWS_MAX_ATTEMPTS: "1" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /model "linear": cannot list s3:\/\/models\/models\/linear\/ \(is the store reachable, and may this pod read it\?\): Could not connect to the endpoint URL/,
    );
    expect(servedVersions(modelsDir, "linear")).toEqual([]);
  });

  it("keeps the versions on disk when a download fails, and says so", async () => {
    const { modelsDir, manifest } = setup([{ name: "flaky", versionPolicy: { specific: [1] } }]);
    expect((await syncOnce(modelsDir, manifest)).code).toBe(0);
    expect(servedVersions(modelsDir, "flaky")).toEqual(["1"]);

    writeFileSync(manifest, syncManifestText([{ name: "flaky", versionPolicy: { latest: 1 } }]));
    const result = await syncOnce(modelsDir, manifest, { AWS_CLI: FAILING_DOWNLOAD_AWS, REAL_AWS_CLI: AWS_CLI });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/model "flaky": downloading version\(s\) 2 from s3:\/\/models\/models\/flaky\/ failed: download failed: Connection was closed/);
    expect(result.stderr).toMatch(/model "flaky": keeping the versions on disk until the wanted ones are in place/);
    // Version 1 is no longer wanted, but it is all the model has: it stays until version 2 arrives.
    expect(servedVersions(modelsDir, "flaky")).toEqual(["1"]);
    expect(readTree(join(modelsDir, "flaky", "1"))).toEqual(expectedTree("flaky", 1));
    expect(readdirSync(join(modelsDir, ".staging"))).toEqual([]);
  });

  it("rejects a malformed manifest line, naming the line and the allowed policies", async () => {
    const { modelsDir, manifest } = setup(["linear newest 2"]);
    const result = await syncOnce(modelsDir, manifest);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/store-0\.models line 2: unknown policy "newest" for model "linear"; use latest, all or specific/);
  });

  it("never shows a partial version under its final name: downloads land in staging on the same volume, then are renamed", async () => {
    const { dir, modelsDir, manifest } = setup([{ name: "observed", versionPolicy: { latest: 1 } }]);
    const observations = join(dir, "observations.log");
    const result = await syncOnce(modelsDir, manifest, { AWS_CLI: OBSERVING_AWS, REAL_AWS_CLI: AWS_CLI, OBSERVATIONS: observations });
    expect(result.code).toBe(0);

    // Right after the download finished, all files were in the staging copy and nothing under the final name.
    const log = readFileSync(observations, "utf8");
    const afterCopy = log.split(/^after aws /m).find((block) => block.startsWith("s3 cp"));
    expect(afterCopy).toBeDefined();
    const seen = afterCopy!.split("\n").slice(1).filter(Boolean);
    const staged = join(modelsDir, ".staging", "observed", "incoming", "7");
    for (const file of Object.keys(expectedTree("observed", 7, 8))) expect(seen).toContain(join(staged, file));
    expect(seen.filter((path) => path.startsWith(join(modelsDir, "observed", "7")))).toEqual([]);

    // Afterwards the final name holds the complete version and the staging copy is gone.
    expect(readTree(join(modelsDir, "observed", "7"))).toEqual(expectedTree("observed", 7, 8));
    expect(existsSync(staged)).toBe(false);
  });

  describe("watch mode (the sidecar)", () => {
    let child: ChildProcess | undefined;
    afterAll(() => {
      child?.kill("SIGKILL");
    });

    it("picks up a version once it completes, removes the old one, never exposes a partial directory, and stops on SIGTERM", async () => {
      const { modelsDir, manifest } = setup([{ name: "watched", versionPolicy: { latest: 1 } }]);
      child = spawn("sh", [MODEL_SYNC_SCRIPT_PATH, "watch"], {
        env: syncEnv(modelsDir, manifest, { SYNC_INTERVAL_SECONDS: "1" }),
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)));

      // Every time we look, each version directory TF Serving could see is complete.
      const partialSightings: string[] = [];
      const look = () => {
        for (const version of servedVersions(modelsDir, "watched")) {
          let tree: Record<string, string>;
          try {
            tree = readTree(join(modelsDir, "watched", version));
          } catch (err) {
            // Renamed away (removed) between listing and reading: gone, not partial.
            if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
            throw err;
          }
          if (!sameTree(tree, expectedTree("watched", Number(version), version === "2" ? 24 : 2))) {
            partialSightings.push(version);
          }
        }
        return servedVersions(modelsDir, "watched");
      };

      await vi.waitFor(() => expect(look()).toEqual(["1"]), { timeout: 15_000, interval: 20 });
      await s3.put("models/watched/2/_SUCCESS", "");
      await vi.waitFor(() => expect(look()).toEqual(["2"]), { timeout: 15_000, interval: 5 });
      expect(partialSightings).toEqual([]);
      await vi.waitFor(() => expect(stderr).toMatch(/model "watched": removed version 1/), { timeout: 5_000, interval: 20 });

      const stopAsked = Date.now();
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(Date.now() - stopAsked).toBeLessThan(5_000);
      expect(stderr).toContain("stopping");
    });
  });
});
