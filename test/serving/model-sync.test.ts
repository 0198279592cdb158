/**
 * Runs the real model-sync.sh (with dash, as `sh`, and bash, the AWS CLI image's /bin/sh) against a real
 * S3-protocol server that paginates (SeaweedFS, test/harness/seaweedfs-s3.ts), with Debian's AWS CLI. The
 * server's proxy records every request, so tests count what a pass asks of the store.
 *
 * Versions are laid out per the store's contract (docs/model-delivery.md): files, `_MANIFEST`, `_SUCCESS`.
 * The "issue 18" blocks each prove one finding of that issue; every one of them failed against the sync
 * script before manifests (see the commit that introduced them).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MODEL_SYNC_SCRIPT, modelSyncScripts, type SyncManifestModel, syncManifestText } from "../../components/serving/sync";
import { PUBLISH_VERSION_SCRIPT_PATH } from "../../components/storage/version-publishing";
import { AWS_CLI, type CommandResult, run, type RunningProcess, startProcess } from "../harness/s3-server";
import { mountedScript } from "../harness/scripts-mount";
import { type SeaweedS3Server, startSeaweedS3 } from "../harness/seaweedfs-s3";
import { type FileContents, manifestText, publishedVersion, sha256, successMarker, under } from "../harness/version-manifest";

/** The sync as the serving pods run it: from its scripts ConfigMap, with the helpers it sources beside it. */
const MODEL_SYNC = mountedScript("model-sync", modelSyncScripts, MODEL_SYNC_SCRIPT);

const BUCKET = "models";
const OBSERVING_AWS = join(__dirname, "fixtures", "observing-aws.sh");
const FAILING_DOWNLOAD_AWS = join(__dirname, "fixtures", "failing-download-aws.sh");
const FULL_DISK_AWS = join(__dirname, "fixtures", "full-disk-aws.sh");

/** The files of one exported version (a stand-in SavedModel) and their contents. */
function versionFiles(model: string, version: number | string, shards = 2): Record<string, string> {
  const files: Record<string, string> = {
    "saved_model.pb": `graph of ${model} v${version}`,
    "variables/variables.index": `index of ${model} v${version}`,
  };
  for (let i = 0; i < shards; i++) files[`variables/variables.data-${i}-of-${shards}`] = `${model}/${version}/${i}:`.padEnd(32 * 1024, "w");
  return files;
}

/** What a served version directory holds: the files, and the manifest and marker it was verified with. */
const expectedTree = (model: string, version: number | string, shards?: number) => publishedVersion(versionFiles(model, version, shards)) as Record<string, string>;

/** Store objects of a published version. */
const storedVersion = (model: string, version: number | string, files: FileContents = versionFiles(model, version)) =>
  under(`models/${model}/${version}`, publishedVersion(files));
/** Store objects of an upload in progress: the files (and the manifest, when given), no `_SUCCESS`. */
const uploading = (model: string, version: number | string, options: { shards?: number; withManifest?: boolean } = {}) => {
  const files = versionFiles(model, version, options.shards);
  return under(`models/${model}/${version}`, options.withManifest ? { ...files, _MANIFEST: manifestText(files) } : files);
};

// What the bucket holds at the start.
const FIXTURE: FileContents = {
  ...storedVersion("linear", 1),
  ...storedVersion("linear", 2),
  ...storedVersion("linear", 3),
  ...uploading("linear", 4),
  ...storedVersion("vision", 1),
  ...storedVersion("vision", 2),
  ...storedVersion("vision", 10),
  ...storedVersion("text", 1),
  ...storedVersion("text", 2),
  ...uploading("empty", 1),
  ...storedVersion("watched", 1),
  ...uploading("watched", 2, { shards: 24, withManifest: true }),
  ...storedVersion("observed", 7, versionFiles("observed", 7, 8)),
  ...storedVersion("flaky", 1),
  ...storedVersion("flaky", 2),
};

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
    .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
}

const alertLines = (stderr: string) => stderr.split("\n").filter((line) => / model-sync: ALERT /.test(line));

// Tests run concurrently (each on its own models and models directory; request counts are per model), so
// two AWS CLI processes share the machine's cores.
describe.concurrent("model-sync.sh against a paginating S3-protocol server (SeaweedFS)", { timeout: 180_000 }, () => {
  let s3: SeaweedS3Server;
  let work: string;

  beforeAll(async () => {
    s3 = await startSeaweedS3(BUCKET);
    work = mkdtempSync(join(tmpdir(), "model-sync-"));
    await s3.putMany(FIXTURE);
  });
  afterAll(async () => s3?.close());

  let counter = 0;
  /** A fresh models directory and the models file TfServing renders for these models (or these raw lines). */
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

  function syncOnce(modelsDir: string, manifest: string, extra: NodeJS.ProcessEnv = {}, shell: string[] = ["sh"]): Promise<CommandResult> {
    return run(shell[0]!, [...shell.slice(1), MODEL_SYNC, "once"], { env: syncEnv(modelsDir, manifest, extra), timeoutMs: 170_000 });
  }

  function startWatch(modelsDir: string, manifest: string, extra: NodeJS.ProcessEnv = {}): RunningProcess {
    return startProcess("sh", [MODEL_SYNC, "watch"], { env: syncEnv(modelsDir, manifest, { SYNC_INTERVAL_SECONDS: "1", ...extra }) });
  }

  /** Listings of a model's folder (one per page per pass) since a mark of the request log. */
  const modelListings = (model: string, from: number) => s3.requests.all(from).filter((r) => r.kind === "list" && r.query.get("prefix") === `models/${model}/`);
  /** Every request that concerns a model, since a mark of the request log. */
  const modelRequests = (model: string, from: number) => s3.requests.all(from).filter((r) => (r.kind === "list" ? r.query.get("prefix") ?? "" : r.key).startsWith(`models/${model}/`));

  // The server itself (test/harness/seaweedfs-s3.ts), checked here so that one server serves the whole file.
  describe("the S3-protocol server these tests run on", () => {
    it("pages listings of more than 1,000 keys and common prefixes, and the AWS CLI follows every page", async () => {
      const objects: Record<string, string> = {};
      for (let v = 1; v <= 1_050; v++) objects[`paged/${v}/_SUCCESS`] = "";
      await s3.putMany(objects);
      const listing = async (args: string[]) => {
        const mark = s3.requests.mark();
        const result = await s3.aws(["s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", "paged/", ...args, "--output", "json"]);
        expect(result.code, result.stderr).toBe(0);
        const pages = s3.requests.all(mark).filter((r) => r.kind === "list" && r.query.get("prefix") === "paged/");
        return { entries: JSON.parse(result.stdout) as string[], pages };
      };
      const keys = await listing(["--query", "Contents[].Key"]);
      expect(keys.entries).toHaveLength(1_050);
      expect(keys.pages).toHaveLength(2);
      expect(keys.pages[1]!.query.get("continuation-token")).toBeTruthy();
      const prefixes = await listing(["--delimiter", "/", "--query", "CommonPrefixes[].Prefix"]);
      expect(prefixes.entries).toHaveLength(1_050);
      expect(prefixes.pages).toHaveLength(2);
    });

    it("stores keys with newlines and glob characters, and the CLI's JSON output escapes them", async () => {
      const hostile = "hostile/README\nhostile/9/_SUCCESS";
      await s3.put(hostile, "x");
      await s3.put("hostile/1/vocab [v2] *.txt?", "y");
      expect(await s3.keys("hostile/")).toEqual(["hostile/1/vocab [v2] *.txt?", hostile]);
      const listed = await s3.aws(["s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", "hostile/", "--delimiter", "/", "--query", "CommonPrefixes[].Prefix", "--output", "json"]);
      expect(listed.stdout).toContain('"hostile/README\\nhostile/"');
      expect(JSON.parse(listed.stdout)).toEqual(["hostile/1/", "hostile/README\nhostile/"]);
      expect((await s3.get("hostile/1/vocab [v2] *.txt?"))?.toString()).toBe("y");
    });
  });

  // ("all" is in the test of failures below, with labelled versions.)
  it("latest n and specific: syncs exactly the wanted complete versions, verified, with every file", async () => {
    const { modelsDir, manifest } = setup([
      { name: "linear", versionPolicy: { latest: 2 } },
      { name: "vision", versionPolicy: { latest: 1 } },
      { name: "text", versionPolicy: { specific: [1] } },
    ]);
    const result = await syncOnce(modelsDir, manifest);
    expect(result.stderr).toContain("every model is in place");
    expect(result.code).toBe(0);
    // linear 4 has no _SUCCESS: it is not a candidate for "latest".
    expect(servedVersions(modelsDir, "linear")).toEqual(["2", "3"]);
    // Versions compare as numbers: 10 is the latest, not 2.
    expect(servedVersions(modelsDir, "vision")).toEqual(["10"]);
    expect(servedVersions(modelsDir, "text")).toEqual(["1"]);
    expect(readTree(join(modelsDir, "linear", "3"))).toEqual(expectedTree("linear", 3));
    expect(readTree(join(modelsDir, "vision", "10"))).toEqual(expectedTree("vision", 10));
    expect(alertLines(result.stderr)).toEqual([]);
    // Nothing is left behind in the staging area.
    expect(readdirSync(join(modelsDir, ".staging"))).toEqual([]);
  });

  it("removes the versions that a changed policy no longer wants, and downloads nothing it has", async () => {
    // Versions 1 and 2 are served (as a pass under `specific: [1, 2]` left them); the policy now wants 2 only.
    const { modelsDir, manifest } = setup([{ name: "text", versionPolicy: { specific: [2] } }]);
    for (const version of [1, 2]) writeTree(join(modelsDir, "text", String(version)), expectedTree("text", version));
    const mark = s3.requests.mark();
    const result = await syncOnce(modelsDir, manifest);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/model "text": removed version 1 \(no longer wanted by its policy\)/);
    expect(servedVersions(modelsDir, "text")).toEqual(["2"]);
    expect(readTree(join(modelsDir, "text", "2"))).toEqual(expectedTree("text", 2));
    // The kept version was not downloaded again: one listing of the model's version folders.
    expect(modelRequests("text", mark).map((r) => r.kind)).toEqual(["list"]);
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
    expect(result.stderr).toMatch(/model "text": version\(s\) 7 required by its policy or labels have no complete copy in s3:\/\/models\/models\/text\/ \(versions in the store: 1 2\)/);
    expect(result.stderr).toMatch(/model "observed": version\(s\) 9 required by its policy or labels have no complete copy/);
    expect(result.stderr).toContain("some models cannot be served as configured");
    // What does exist is still synced, so the message is the only thing left to fix.
    expect(servedVersions(modelsDir, "text")).toEqual(["2"]);
    expect(servedVersions(modelsDir, "observed")).toEqual(["7"]);
    expect(readTree(join(modelsDir, "observed", "7"))).toEqual(expectedTree("observed", 7, 8));
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

  it("skips a version whose download fails, keeps what is on disk serving, and raises an alert", async () => {
    // Version 1 is served (as an earlier pass left it); the policy now wants the latest, version 2.
    const { modelsDir, manifest } = setup([{ name: "flaky", versionPolicy: { latest: 1 } }]);
    writeTree(join(modelsDir, "flaky", "1"), expectedTree("flaky", 1));
    const result = await syncOnce(modelsDir, manifest, { AWS_CLI: FAILING_DOWNLOAD_AWS, REAL_AWS_CLI: AWS_CLI });
    expect(result.stderr).toMatch(
      /model "flaky": version 2 rejected \(download-failed\): downloading its _SUCCESS and _MANIFEST from s3:\/\/models\/models\/flaky\/2\/ failed: download failed: Connection was closed/,
    );
    expect(alertLines(result.stderr)).toEqual([expect.stringMatching(/ALERT version-rejected model=flaky version=2 reason=download-failed failures=1$/)]);
    // Version 2 is skipped; version 1 is the latest the sync can serve, so it stays, complete.
    expect(result.code).toBe(0);
    expect(servedVersions(modelsDir, "flaky")).toEqual(["1"]);
    expect(readTree(join(modelsDir, "flaky", "1"))).toEqual(expectedTree("flaky", 1));
    expect(readdirSync(join(modelsDir, ".staging"))).toEqual([]);
  });

  it("rejects a malformed models file line, naming the line (after other models were synced) and the allowed policies", async () => {
    const { modelsDir, manifest } = setup(["text specific 2", "linear newest 2"]);
    const result = await syncOnce(modelsDir, manifest);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/store-0\.models line 3: unknown policy "newest" for model "linear"; use latest, all or specific/);
  });

  it("never shows a partial version under its final name: downloads land in staging on the same volume, then are renamed", async () => {
    const { dir, modelsDir, manifest } = setup([{ name: "observed", versionPolicy: { latest: 1 } }]);
    const observations = join(dir, "observations.log");
    const result = await syncOnce(modelsDir, manifest, { AWS_CLI: OBSERVING_AWS, REAL_AWS_CLI: AWS_CLI, OBSERVATIONS: observations });
    expect(result.code).toBe(0);

    // Right after the last download finished, all files were in the staging copy and nothing under the final name.
    const log = readFileSync(observations, "utf8");
    const afterCopy = log.split(/^after aws /m).filter((block) => block.startsWith("s3 cp")).at(-1);
    expect(afterCopy).toBeDefined();
    const seen = afterCopy!.split("\n").slice(1).filter(Boolean);
    const staged = join(modelsDir, ".staging", "observed", "incoming-7");
    for (const file of Object.keys(expectedTree("observed", 7, 8))) expect(seen).toContain(join(staged, file));
    expect(seen.filter((path) => path.startsWith(join(modelsDir, "observed", "7")))).toEqual([]);

    // Afterwards the final name holds the complete version and the staging copy is gone.
    expect(readTree(join(modelsDir, "observed", "7"))).toEqual(expectedTree("observed", 7, 8));
    expect(existsSync(staged)).toBe(false);
  });

  // Under bash too: the AWS CLI image's /bin/sh is bash, these tests' `sh` is dash.
  it("serves a version published by publish-version.sh, verified, with file names that need care (bash --posix)", async () => {
    const files = { ...versionFiles("scripted", 1), "assets/vocab [v2] *.txt": "a b c\n", "assets/ünïcode spaced.txt": "ü\n" };
    const exportDir = join(work, "scripted-export");
    writeTree(exportDir, files);
    const published = await run("sh", [PUBLISH_VERSION_SCRIPT_PATH, exportDir, `s3://${BUCKET}/models/scripted/1/`], { env: { ...s3.env, AWS_CLI } });
    expect(published.code, published.stderr).toBe(0);
    // A stray object beside the version's files is not part of it, and is not downloaded.
    await s3.put("models/scripted/1/stray.txt", "not in the manifest");

    const { modelsDir, manifest } = setup([{ name: "scripted", versionPolicy: { latest: 1 } }]);
    const result = await syncOnce(modelsDir, manifest, {}, ["bash", "--posix"]);
    expect(result.code, result.stderr).toBe(0);
    expect(readTree(join(modelsDir, "scripted", "1"))).toEqual(publishedVersion(files));
  });

  describe("watch mode (the sidecar)", () => {
    let sidecar: RunningProcess | undefined;
    afterAll(async () => {
      await sidecar?.stop();
    });

    it("picks up a version once it completes (its _MANIFEST alone does not count), removes the old one, never exposes a partial directory, and stops on SIGTERM", async () => {
      const { modelsDir, manifest } = setup([{ name: "watched", versionPolicy: { latest: 1 } }]);
      sidecar = startWatch(modelsDir, manifest);

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
          if (!sameTree(tree, expectedTree("watched", Number(version), version === "2" ? 24 : 2))) partialSightings.push(version);
        }
        return servedVersions(modelsDir, "watched");
      };

      await vi.waitFor(() => expect(look()).toEqual(["1"]), { timeout: 90_000, interval: 20 });
      await s3.put("models/watched/2/_SUCCESS", successMarker(manifestText(versionFiles("watched", 2, 24))));
      await vi.waitFor(() => expect(look()).toEqual(["2"]), { timeout: 90_000, interval: 20 });
      expect(partialSightings).toEqual([]);
      await vi.waitFor(() => expect(sidecar!.output()).toMatch(/model "watched": removed version 1/), { timeout: 30_000, interval: 20 });

      const stopAsked = Date.now();
      const stopped = await sidecar.stop();
      expect(stopped.code).toBe(0);
      expect(Date.now() - stopAsked).toBeLessThan(5_000);
      expect(stopped.stderr).toContain("stopping");
    });
  });

  describe("fetch mode: one version, for jobs that read one (a mobile export)", () => {
    const fetchOne = (modelsDir: string, model: string, version: string, extra: NodeJS.ProcessEnv = {}) =>
      run("sh", [MODEL_SYNC, "fetch", model, version], { env: { ...s3.env, AWS_CLI, S3_BUCKET: BUCKET, MODELS_DIR: modelsDir, ...extra }, timeoutMs: 170_000 });
    const data = "variables/variables.data-1-of-2";

    beforeAll(async () => {
      // "single" for the first test alone (tests run concurrently, and it looks at every request about its model).
      await s3.putMany({ ...storedVersion("single", 1), ...storedVersion("single", 2), ...storedVersion("fetched", 1), ...storedVersion("fetched", 3), ...uploading("fetched", 4, { withManifest: true }) });
      // Version 3's shard changed after it was published.
      await s3.put(`models/fetched/3/${data}`, `X${versionFiles("fetched", 3)[data]!.slice(1)}`);
    });

    it("brings exactly that version, verified, asking the store about nothing but that version's folder", async () => {
      const { modelsDir } = setup([]);
      const mark = s3.requests.mark();
      const result = await fetchOne(modelsDir, "single", "2");
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/model "single": version 2 is in place/);
      expect(servedVersions(modelsDir, "single")).toEqual(["2"]);
      expect(readTree(join(modelsDir, "single", "2"))).toEqual(expectedTree("single", 2));
      expect(readdirSync(join(modelsDir, ".staging"))).toEqual([]);
      // So a grant on models/fetched/2/ alone is enough: no listing of the model's folder.
      const requests = modelRequests("single", mark);
      expect(requests.length).toBeGreaterThan(0);
      for (const r of requests) expect(r.kind === "list" ? r.query.get("prefix") : r.key).toMatch(/^models\/single\/2\//);
      // Run again on the same directory: already there, nothing asked.
      const again = s3.requests.mark();
      expect((await fetchOne(modelsDir, "single", "2")).code).toBe(0);
      expect(modelRequests("single", again)).toEqual([]);
    });

    it("exits 3 for a version not complete yet, 1 for a damaged one, 75 when the store fails, and 2 on bad usage, placing nothing", async () => {
      const { modelsDir } = setup([]);
      const incomplete = await fetchOne(modelsDir, "fetched", "4");
      expect(incomplete.code).toBe(3);
      expect(incomplete.stderr).toMatch(/model "fetched": version 4 is not complete yet \(no s3:\/\/models\/models\/fetched\/4\/_SUCCESS\)/);

      const damaged = await fetchOne(modelsDir, "fetched", "3");
      expect(damaged.code).toBe(1);
      expect(damaged.stderr).toMatch(new RegExp(`version 3 rejected \\(sha256-mismatch\\): file ${data}: expected sha256 [0-9a-f]{64} \\(32768 bytes\\), got sha256 [0-9a-f]{64} \\(32768 bytes\\); not using it`));

      const outage = await fetchOne(modelsDir, "fetched", "1", { AWS_CLI: FAILING_DOWNLOAD_AWS, REAL_AWS_CLI: AWS_CLI });
      expect(outage.code).toBe(75);
      expect(outage.stderr).toMatch(/version 1 rejected \(download-failed\)/);

      for (const args of [["fetched"], ["Fetched", "1"], ["fetched", "01"], ["fetched", "1", "2"]]) {
        const bad = await run("sh", [MODEL_SYNC, "fetch", ...args], { env: { ...s3.env, AWS_CLI, S3_BUCKET: BUCKET, MODELS_DIR: modelsDir } });
        expect(bad.code, args.join(" ")).toBe(2);
      }
      expect(servedVersions(modelsDir, "fetched")).toEqual([]);
    });
  });

  describe("versions published before manifests existed (an empty _SUCCESS, no _MANIFEST)", () => {
    it("serves them unverified, as before, with a warning naming each one", async () => {
      await s3.putMany(under("models/legacy/1", { ...versionFiles("legacy", 1), _SUCCESS: "" }));
      const { modelsDir, manifest } = setup([{ name: "legacy", versionPolicy: { latest: 1 } }]);
      const result = await syncOnce(modelsDir, manifest);
      expect(result.code, result.stderr).toBe(0);
      expect(readTree(join(modelsDir, "legacy", "1"))).toEqual({ ...versionFiles("legacy", 1), _SUCCESS: "" });
      expect(result.stderr).toMatch(/WARNING unverified-version model=legacy version=1: published without a manifest/);
    });

    it("rejects an empty _SUCCESS beside a _MANIFEST: a version with a manifest must name it", async () => {
      const files = versionFiles("downgraded", 1);
      await s3.putMany(under("models/downgraded/1", { ...files, _MANIFEST: manifestText(files), _SUCCESS: "" }));
      const { modelsDir, manifest } = setup([{ name: "downgraded", versionPolicy: { latest: 1 } }]);
      const result = await syncOnce(modelsDir, manifest);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/version 1 rejected \(bad-marker\): its _SUCCESS is empty but it has a _MANIFEST/);
      expect(servedVersions(modelsDir, "downgraded")).toEqual([]);
    });
  });

  describe("issue 18, finding 1: version names TF Serving cannot load", () => {
    beforeAll(async () => {
      // Complete versions, all of them; only 5 (and, for "maxed", the int64 maximum) are loadable names.
      await s3.putMany({
        ...storedVersion("numbers", 5),
        ...storedVersion("numbers", "99999999999999999999"),
        ...storedVersion("numbers", "9223372036854775808"),
        ...storedVersion("numbers", "007"),
        ...storedVersion("numbers", "0"),
        ...storedVersion("maxed", 3),
        ...storedVersion("maxed", "9223372036854775807"),
      });
    });

    it("serves the latest version TF Serving can load and ignores the other names with one log line", async () => {
      const { modelsDir, manifest } = setup([
        { name: "numbers", versionPolicy: { latest: 1 } },
        { name: "maxed", versionPolicy: { latest: 1 } },
      ]);
      const result = await syncOnce(modelsDir, manifest);
      expect(result.code, result.stderr).toBe(0);
      expect(servedVersions(modelsDir, "numbers")).toEqual(["5"]);
      expect(readTree(join(modelsDir, "numbers", "5"))).toEqual(expectedTree("numbers", 5));
      // The largest int64 is a version like any other.
      expect(servedVersions(modelsDir, "maxed")).toEqual(["9223372036854775807"]);
      const ignored = result.stderr.split("\n").filter((line) => line.includes("ignoring"));
      expect(ignored).toHaveLength(1);
      expect(ignored[0]).toMatch(
        /model "numbers": ignoring 4 name\(s\) under s3:\/\/models\/models\/numbers\/ that are not version numbers \(1 to 9223372036854775807, without sign or leading zero\)/,
      );
      for (const name of ["0", "007", "9223372036854775808", "99999999999999999999"]) expect(ignored[0]).toContain(`"models/numbers/${name}/"`);
    });

    it("a running sidecar keeps serving the loadable version, and says what it ignores once, not every pass", async () => {
      const { modelsDir, manifest } = setup([{ name: "numbers", versionPolicy: { latest: 1 } }]);
      const mark = s3.requests.mark();
      const sidecar = startWatch(modelsDir, manifest);
      let stderr = "";
      try {
        await vi.waitFor(() => expect(modelListings("numbers", mark).length).toBeGreaterThanOrEqual(3), { timeout: 90_000, interval: 100 });
      } finally {
        stderr = (await sidecar.stop()).stderr;
      }
      expect(servedVersions(modelsDir, "numbers")).toEqual(["5"]);
      expect(stderr.split("\n").filter((line) => line.includes("ignoring"))).toHaveLength(1);
    });
  });

  describe("issue 18, finding 2: keys are data, not structure", () => {
    beforeAll(async () => {
      // Version 9 is an upload in progress; a key with a newline spells its _SUCCESS marker.
      for (const model of ["tricked", "tricked-live"]) {
        await s3.putMany({ ...storedVersion(model, 1), ...uploading(model, 9), [`models/${model}/README\nmodels/${model}/9/_SUCCESS`]: "not a marker" });
      }
    });

    it("a key holding a newline and another key's name does not make an incomplete version complete", async () => {
      const { modelsDir, manifest } = setup([{ name: "tricked", versionPolicy: { latest: 1 } }]);
      const result = await syncOnce(modelsDir, manifest);
      expect(result.code, result.stderr).toBe(0);
      expect(servedVersions(modelsDir, "tricked")).toEqual(["1"]);
      // The key is shown escaped, on the one line that says what is ignored.
      expect(result.stderr).toContain('ignoring 1 name(s) under s3://models/models/tricked/ that are not version numbers');
      expect(result.stderr).toContain('"models/tricked/README\\nmodels/"');
    });

    it("a sidecar following the latest version takes a real new version", async () => {
      const { modelsDir, manifest } = setup([{ name: "tricked-live", versionPolicy: { latest: 1 } }]);
      const sidecar = startWatch(modelsDir, manifest);
      try {
        await vi.waitFor(() => expect(servedVersions(modelsDir, "tricked-live")).toEqual(["1"]), { timeout: 90_000, interval: 50 });
        await s3.putMany(storedVersion("tricked-live", 2));
        await vi.waitFor(() => expect(servedVersions(modelsDir, "tricked-live")).toEqual(["2"]), { timeout: 90_000, interval: 50 });
        expect(readTree(join(modelsDir, "tricked-live", "2"))).toEqual(expectedTree("tricked-live", 2));
      } finally {
        await sidecar.stop();
      }
    });
  });

  describe("issue 18, finding 3: content is verified against the manifest", () => {
    const data = "variables/variables.data-0-of-2";
    const dataOf = (version: number) => versionFiles("guarded", version)[data]!;
    // Version 3's shard changed in place (same size, other bytes); version 4's truncated.
    const changed = `X${dataOf(3).slice(1)}`;
    const truncated = dataOf(4).slice(0, 1000);
    const manifestOf = (version: number) => manifestText(versionFiles("guarded", version));
    const rewrittenManifest = `${manifestOf(5)}${sha256("extra")} 5 extra.txt\n`;

    beforeAll(async () => {
      await s3.putMany({
        ...storedVersion("guarded", 1),
        // 2: a file deleted after _SUCCESS.
        ...storedVersion("guarded", 2),
        // 3: a file changed in place (same size); 4: a file truncated.
        ...storedVersion("guarded", 3),
        ...storedVersion("guarded", 4),
        // 5: the manifest rewritten after _SUCCESS named it.
        ...storedVersion("guarded", 5),
        ...storedVersion("lonely", 1),
      });
      await s3.remove(`models/guarded/2/${data}`);
      await s3.put(`models/guarded/3/${data}`, changed);
      await s3.put(`models/guarded/4/${data}`, truncated);
      await s3.put("models/guarded/5/_MANIFEST", rewrittenManifest);
      await s3.remove(`models/lonely/1/saved_model.pb`);
    });

    it("a version with a missing, changed or truncated file, or a rewritten manifest, is skipped with the file and both hashes; the last good version is served", async () => {
      const { modelsDir, manifest } = setup([{ name: "guarded", versionPolicy: { latest: 1 } }]);
      const result = await syncOnce(modelsDir, manifest);
      const expectedOf = (version: number) => sha256(dataOf(version));

      expect(result.stderr).toMatch(
        new RegExp(`version 5 rejected \\(manifest-mismatch\\): file _MANIFEST: expected sha256 ${sha256(manifestOf(5))} \\(named by _SUCCESS\\), got sha256 ${sha256(rewrittenManifest)}`),
      );
      expect(result.stderr).toMatch(
        new RegExp(`version 4 rejected \\(size-mismatch\\): file ${data}: expected sha256 ${expectedOf(4)} \\(32768 bytes\\), got sha256 ${sha256(truncated)} \\(1000 bytes\\)`),
      );
      expect(result.stderr).toMatch(
        new RegExp(`version 3 rejected \\(sha256-mismatch\\): file ${data}: expected sha256 ${expectedOf(3)} \\(32768 bytes\\), got sha256 ${sha256(changed)} \\(32768 bytes\\)`),
      );
      expect(result.stderr).toMatch(new RegExp(`version 2 rejected \\(file-missing\\): file ${data}: expected sha256 ${expectedOf(2)} \\(32768 bytes\\), got no such file in the store`));
      expect(alertLines(result.stderr).map((line) => line.replace(/^.* ALERT /, ""))).toEqual([
        "version-rejected model=guarded version=5 reason=manifest-mismatch failures=1",
        "version-rejected model=guarded version=4 reason=size-mismatch failures=1",
        "version-rejected model=guarded version=3 reason=sha256-mismatch failures=1",
        "version-rejected model=guarded version=2 reason=file-missing failures=1",
      ]);
      // The newest version whose every file matches is the one served; the pod starts.
      expect(result.code).toBe(0);
      expect(servedVersions(modelsDir, "guarded")).toEqual(["1"]);
      expect(readTree(join(modelsDir, "guarded", "1"))).toEqual(expectedTree("guarded", 1));
      expect(readdirSync(join(modelsDir, ".staging"))).toEqual([]);
    });

    it("a new pod whose only version is damaged does not start", async () => {
      const { modelsDir, manifest } = setup([{ name: "lonely", versionPolicy: { latest: 1 } }]);
      const result = await syncOnce(modelsDir, manifest);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/version 1 rejected \(file-missing\): file saved_model\.pb/);
      expect(result.stderr).toMatch(/model "lonely": no complete version in s3:\/\/models\/models\/lonely\/ \(skipped, see above: 1\)/);
      expect(servedVersions(modelsDir, "lonely")).toEqual([]);
    });
  });

  describe("issue 18, finding 4: requests per pass depend on the versions, not on the files in them", () => {
    const historyVersions = 300;
    const longVersions = 1_100;
    beforeAll(async () => {
      // 300 versions of 2 files, _MANIFEST and _SUCCESS: 1,200 objects. "long": 1,100 version folders, of
      // which the newest two are complete (one file each) and the rest uploads that never finished (2,202
      // objects).
      const history: FileContents = {};
      for (let v = 1; v <= historyVersions; v++) Object.assign(history, storedVersion("history", v, { "saved_model.pb": `graph ${v}`, "variables/variables.index": `index ${v}` }));
      const long: FileContents = {};
      for (let v = 1; v <= longVersions - 2; v++) Object.assign(long, uploading("long", v, { shards: 0 }));
      for (const v of [longVersions - 1, longVersions]) Object.assign(long, storedVersion("long", v, { "model.tflite": `tflite ${v}` }));
      await s3.putMany({ ...history, ...long });
    }, 120_000);

    it("300 versions (1,200 objects): a steady pass is one listing; bringing the latest version lists only that version", async () => {
      const { modelsDir, manifest } = setup([{ name: "history", versionPolicy: { latest: 1 } }]);
      const start = s3.requests.mark();
      expect((await syncOnce(modelsDir, manifest)).code).toBe(0);
      expect(servedVersions(modelsDir, "history")).toEqual(["300"]);
      const first = modelRequests("history", start);
      // The model's version folders; then version 300's markers (a listing of its folder and 2 GETs) and files.
      expect(first.filter((r) => r.kind === "list").map((r) => r.query.get("prefix"))).toEqual(["models/history/", "models/history/300/", "models/history/300/"]);
      expect(first.filter((r) => r.kind === "get").map((r) => r.key).sort()).toEqual(
        ["_MANIFEST", "_SUCCESS", "saved_model.pb", "variables/variables.index"].map((f) => `models/history/300/${f}`),
      );
      expect(first).toHaveLength(7);

      const steady = s3.requests.mark();
      expect((await syncOnce(modelsDir, manifest)).code).toBe(0);
      expect(modelRequests("history", steady).map((r) => `${r.kind} ${r.query.get("prefix")}`)).toEqual(["list models/history/"]);
    });

    it("1,100 version folders: the listing follows both pages, the latest versions are found, and a steady pass is two listings", async () => {
      const { modelsDir, manifest } = setup([{ name: "long", versionPolicy: { latest: 2 } }]);
      expect((await syncOnce(modelsDir, manifest)).code).toBe(0);
      expect(servedVersions(modelsDir, "long")).toEqual(["1099", "1100"]);
      expect(readTree(join(modelsDir, "long", "1100"))).toEqual(publishedVersion({ "model.tflite": "tflite 1100" }));

      const mark = s3.requests.mark();
      expect((await syncOnce(modelsDir, manifest)).code).toBe(0);
      const steady = modelRequests("long", mark);
      expect(steady.map((r) => r.kind)).toEqual(["list", "list"]);
      expect(steady[1]!.query.get("continuation-token")).toBeTruthy();
    });
  });

  describe("issue 18, finding 5: a version that keeps failing backs off", () => {
    beforeAll(async () => {
      // Version 2's data shard (64 KiB) does not fit on the disk; version 1's files do.
      await s3.putMany({ ...storedVersion("full", 1, { "saved_model.pb": "graph 1" }), ...storedVersion("full", 2, { "saved_model.pb": "graph 2", "variables/variables.data": "d".repeat(64 * 1024) }) });
    });

    it("a version that cannot fit is tried in passes 1 and 3 of 5, not every pass, while the version on disk keeps serving", async () => {
      const { dir, modelsDir, manifest } = setup([{ name: "full", versionPolicy: { latest: 1 } }]);
      const mark = s3.requests.mark();
      const calls = join(dir, "aws-calls.log");
      writeFileSync(calls, "");
      // A pass starts with the one `s3api list-objects-v2` of the model's folder.
      const passes = () => readFileSync(calls, "utf8").split("\n").filter((call) => call.startsWith("s3api list-objects-v2")).length;
      // Passes 2 s apart, so that the sidecar is stopped well before pass 6 (which tries again).
      const sidecar = startWatch(modelsDir, manifest, { AWS_CLI: FULL_DISK_AWS, REAL_AWS_CLI: AWS_CLI, DISK_FREE_BYTES: "4096", AWS_CALLS_LOG: calls, SYNC_INTERVAL_SECONDS: "2" });
      let stderr = "";
      try {
        await vi.waitFor(() => expect(passes()).toBeGreaterThanOrEqual(5), { timeout: 150_000, interval: 100 });
      } finally {
        stderr = (await sidecar.stop()).stderr;
      }
      expect(passes()).toBeGreaterThanOrEqual(5);
      expect(passes()).toBeLessThan(7);
      // Each try downloads the big shard (a GET that reaches the store) and fails on the full disk.
      const tries = s3.requests.all(mark).filter((r) => r.kind === "get" && r.key === "models/full/2/variables/variables.data").length;
      // Passes 1 and 3; pass 6 is the third (then 11, 20, ...: it sits out 1, 2, 4, 8 passes, at most 64).
      expect(tries).toBe(2);
      expect(stderr).toMatch(/version 2 rejected \(download-failed\): downloading 2 file\(s\), 65543 bytes, from s3:\/\/models\/models\/full\/2\/ failed: .*No space left on device/);
      // The alert stays up every pass while the version waits, saying when it is tried again.
      const alerts = alertLines(stderr).map((line) => line.replace(/^.* ALERT /, ""));
      expect(alerts.slice(0, 4)).toEqual([
        "version-rejected model=full version=2 reason=download-failed failures=1 retry_in_passes=1",
        "version-rejected model=full version=2 reason=download-failed failures=1 retry_in_passes=0",
        "version-rejected model=full version=2 reason=download-failed failures=2 retry_in_passes=2",
        "version-rejected model=full version=2 reason=download-failed failures=2 retry_in_passes=1",
      ]);
      // Pass 1 took version 1 when version 2 failed; it served throughout.
      expect(servedVersions(modelsDir, "full")).toEqual(["1"]);
      expect(stderr.match(/version 1 is in place/g)).toHaveLength(1);
    });
  });
});
