/**
 * Slow suite: a trained version to a TensorFlow Lite model, for real. TensorFlow CPU (the virtualenv at .venv, the
 * TensorFlow of the converter's pinned image) trains the example; then
 *
 * - convert_tflite.py, run with exactly the command line of issue 15 from the repository root, converts the
 *   SavedModel with each optimization; an independent TFLite interpreter run predicts what the SavedModel predicts,
 *   within the threshold, on inputs beyond the samples the script used; report.json and signature.json say so;
 * - a tightened threshold, a model TFLite cannot express and a broken SavedModel fail with the documented exit
 *   status and write nothing;
 * - the local stack's MobileExport pod (rendered under mocks, run on this machine as test/harness/rendered-pod.ts
 *   does) waits for `models/linear/1/`, downloads it verified, converts it, and publishes `mobile/linear/1/` with
 *   `_SUCCESS` last to a real SeaweedFS server configured with the identities the program renders: its grant reads
 *   that version and writes that mobile prefix, and nothing else;
 * - a damaged version, a broken SavedModel and a tightened threshold stop the pod before anything is uploaded.
 *
 * What differs from a cluster is passed explicitly: the store's address, Debian's AWS CLI, `python3` (the
 * virtualenv's), and a 1 s poll while waiting for a version.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MOBILE_DEFAULT_MAX_ABS_DIFF, MOBILE_OPTIMIZATIONS, type MobileOptimization } from "../../components/mobile/args";
import { MODEL_SYNC_SCRIPT, modelSyncScripts } from "../../components/serving/sync";
import { LINEAR_EXAMPLE_DIR } from "../../components/training/linear-example";
import { PUBLISH_VERSION_SCRIPT_PATH } from "../../components/storage/version-publishing";
import { type MockRun, type PropertyMap, runInMocks } from "../harness/pulumi-mocks";
import { type EnvOverrides, LocalPod, podTemplateOf, runStoreSetupJobs } from "../harness/rendered-pod";
import { mountedScript } from "../harness/scripts-mount";
import { AWS_CLI, type CommandResult, requireAwsCli, run } from "../harness/s3-server";
import { credentialOf, renderedFragments, type SeaweedFsServer, startSeaweedFs } from "../harness/seaweedfs-server";
import { stackConfig } from "../harness/stack-config";
import { PYTHON, QUIET_TENSORFLOW, requireTensorflow } from "../harness/tensorflow";
import { publishedVersion, sha256 } from "../harness/version-manifest";

const REPO = join(__dirname, "../..");
const NAMESPACE = "ml";
const JOB = "kubernetes:batch/v1:Job";
/** What the local stack's example trainer learns: y = 2x + 1. */
const LINE = { slope: 2, intercept: 1 };
/** Inputs of the independent check, beyond the [-1, 1] the converter's generated samples cover. */
const CHECK_X = [[-1], [-0.5], [0], [0.25], [1], [2], [3.5]];

interface Report {
  format: string;
  signature_key: string;
  optimization: MobileOptimization;
  saved_model_bytes: number;
  tflite_bytes: number;
  max_abs_diff: number;
  max_abs_diff_threshold: number;
  outputs_max_abs_diff: Record<string, number>;
  sample_inputs: { source: string; batches: number; batch_shapes: Array<Record<string, number[]>> };
  tensorflow_version: string;
}

const LINEAR_SIGNATURE = {
  signature_key: "serving_default",
  inputs: [{ name: "x", dtype: "float32", shape: [-1, 1], index: 0 }],
  outputs: [{ name: "y", dtype: "float32", shape: [-1, 1], index: 0 }],
};

/** Every file under a directory (relative path -> content). */
function tree(root: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(root, path)] = readFileSync(path);
    }
  };
  walk(root);
  return out;
}

/** A version's published objects (the files, `_MANIFEST`, `_SUCCESS`) as bytes, to compare with a downloaded tree. */
const published = (files: Record<string, Buffer>): Record<string, Buffer> =>
  Object.fromEntries(Object.entries(publishedVersion(files)).map(([file, body]) => [file, Buffer.from(body)]));

const bytesOf = (files: Record<string, Buffer>) => Object.values(files).reduce((sum, body) => sum + body.length, 0);

/** Waits (up to a deadline) for a condition that another process brings about. */
async function until(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  await vi.waitFor(() => {
    if (!condition()) throw new Error(`still waiting for ${what}`);
  }, { timeout: timeoutMs, interval: 100 });
}

describe("mobile export: a trained version to TensorFlow Lite, with TensorFlow CPU and a real S3-protocol server", async () => {
  requireAwsCli();
  await requireTensorflow();

  const work = mkdtempSync(join(tmpdir(), "mobile-export-"));
  const bin = join(work, "bin");
  const savedModel = join(work, "saved-model");
  const timings: string[] = [];
  /** PATH of every command: `python3` is the virtualenv's, the rest this machine's POSIX tools. */
  let path: string;

  async function timed<T>(what: string, action: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      return await action();
    } finally {
      timings.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  }

  /** What the SavedModel and each TFLite file predict for CHECK_X, with an interpreter run of this test's own. */
  async function predictions(saved: string, tflites: string[]): Promise<{ saved: number[]; tflite: number[][] }> {
    const script = [
      "import json, sys, warnings, numpy as np, tensorflow as tf",
      "x = np.array(json.loads(sys.argv[1]), dtype=np.float32)",
      "saved = tf.saved_model.load(sys.argv[2]).signatures['serving_default'](x=tf.constant(x))['y'].numpy().ravel().tolist()",
      "out = []",
      "for path in sys.argv[3:]:",
      "    with warnings.catch_warnings():",
      "        warnings.simplefilter('ignore')",
      "        interpreter = tf.lite.Interpreter(model_path=path)",
      "    out.append(interpreter.get_signature_runner('serving_default')(x=x)['y'].ravel().tolist())",
      "print(json.dumps({'saved': saved, 'tflite': out}))",
    ].join("\n");
    const result = await run(PYTHON, ["-c", script, JSON.stringify(CHECK_X), saved, ...tflites], { env: { ...process.env, ...QUIET_TENSORFLOW }, timeoutMs: 180_000 });
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as { saved: number[]; tflite: number[][] };
  }

  /** The command line, as written, from the repository root (`python3` on PATH is the virtualenv's). */
  function convertCommand(args: string): Promise<CommandResult> {
    return run("sh", ["-c", `python3 components/mobile/scripts/convert_tflite.py ${args}`], {
      cwd: REPO,
      env: { PATH: path, HOME: work, ...QUIET_TENSORFLOW },
      timeoutMs: 240_000,
    });
  }

  beforeAll(async () => {
    mkdirSync(bin);
    writeFileSync(join(bin, "python3"), `#!/bin/sh\nexec '${PYTHON}' "$@"\n`);
    chmodSync(join(bin, "python3"), 0o755);
    path = [bin, "/usr/local/bin", "/usr/bin", "/bin"].join(":");
    const trained = await timed("training", () =>
      run(PYTHON, [join(LINEAR_EXAMPLE_DIR, "train.py")], { env: { ...process.env, ...QUIET_TENSORFLOW, MODEL_EXPORT_DIR: savedModel }, timeoutMs: 240_000 }),
    );
    expect(trained.code, trained.stderr).toBe(0);
  }, 300_000);

  afterAll(() => {
    console.log(`mobile-export timings: ${timings.join(", ")}`);
    rmSync(work, { recursive: true, force: true });
  });

  describe("convert_tflite.py on the example trainer's SavedModel", () => {
    const reports = new Map<MobileOptimization, Report>();

    it("converts with each optimization (none, float16, dynamic-range), exactly as issue 15's command line is written", async () => {
      for (const optimization of MOBILE_OPTIMIZATIONS) {
        const output = join(work, `tflite-${optimization}`);
        const result = await timed(`convert ${optimization}`, () => convertCommand(`--saved-model ${savedModel} --output ${output} --signature serving_default --optimize ${optimization}`));
        expect(result.code, result.stderr).toBe(0);
        const files = tree(output);
        expect(Object.keys(files).sort()).toEqual(["model.tflite", "report.json", "signature.json"]);
        expect(readdirSync(work).filter((name) => name.includes(".partial-"))).toEqual([]);

        const report = JSON.parse(files["report.json"]!.toString()) as Report;
        expect(JSON.parse(result.stdout) as Report).toEqual(report);
        console.log(`report.json (${optimization}): ${JSON.stringify(report)}`);
        expect(report).toMatchObject({
          format: "ml-platform-tflite-report v1",
          signature_key: "serving_default",
          optimization,
          saved_model_bytes: bytesOf(tree(savedModel)),
          tflite_bytes: files["model.tflite"]!.length,
          max_abs_diff_threshold: MOBILE_DEFAULT_MAX_ABS_DIFF[optimization],
          sample_inputs: { source: "generated", batches: 2, batch_shapes: [{ x: [1, 1] }, { x: [16, 1] }] },
          tensorflow_version: "2.21.0",
        });
        expect(report.max_abs_diff).toBeLessThanOrEqual(MOBILE_DEFAULT_MAX_ABS_DIFF[optimization]);
        expect(report.outputs_max_abs_diff).toEqual({ y: report.max_abs_diff });
        // A TFLite flatbuffer ("TFL3" at offset 4).
        expect(files["model.tflite"]!.subarray(4, 8).toString()).toBe("TFL3");
        expect(JSON.parse(files["signature.json"]!.toString())).toEqual(LINEAR_SIGNATURE);
        reports.set(optimization, report);
      }
      // float32 converts without loss beyond rounding; float16 weights round the learned slope and intercept.
      expect(reports.get("none")!.max_abs_diff).toBeLessThan(1e-6);
      expect(reports.get("float16")!.max_abs_diff).toBeGreaterThan(1e-6);
    }, 600_000);

    it("the TFLite interpreter predicts what the SavedModel does, within each threshold, beyond the sampled range too", async () => {
      const { saved, tflite } = await timed("interpreter check", () => predictions(savedModel, MOBILE_OPTIMIZATIONS.map((o) => join(work, `tflite-${o}`, "model.tflite"))));
      saved.forEach((y, i) => expect(Math.abs(y - (LINE.slope * CHECK_X[i]![0]! + LINE.intercept))).toBeLessThan(0.01));
      MOBILE_OPTIMIZATIONS.forEach((optimization, k) => {
        const worst = Math.max(...tflite[k]!.map((y, i) => Math.abs(y - saved[i]!)));
        expect(worst, optimization).toBeLessThanOrEqual(MOBILE_DEFAULT_MAX_ABS_DIFF[optimization]);
      });
    }, 300_000);

    it("reads sample inputs from a file (the smoke fixture's request)", async () => {
      const fixture = JSON.parse(readFileSync(join(REPO, "smoke-tests/fixtures/linear.json"), "utf8")) as { request: { inputs: { x: number[][] } } };
      const samples = join(work, "samples.json");
      writeFileSync(samples, JSON.stringify(fixture.request.inputs));
      const output = join(work, "tflite-samples");
      const result = await convertCommand(`--saved-model ${savedModel} --output ${output} --optimize float16 --sample-inputs ${samples}`);
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(readFileSync(join(output, "report.json"), "utf8")) as Report;
      expect(report.sample_inputs).toEqual({ source: "file", batches: 1, batch_shapes: [{ x: [fixture.request.inputs.x.length, 1] }] });
    }, 300_000);

    it("a tightened threshold fails with exit 1, naming the difference, and writes nothing", async () => {
      const output = join(work, "tflite-tight");
      const result = await convertCommand(`--saved-model ${savedModel} --output ${output} --optimize float16 --max-abs-diff 1e-9`);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/convert_tflite: error: the TFLite model's output 'y' differs from the SavedModel's by up to [0-9.e-]+, more than --max-abs-diff 1e-09 \(optimize: float16\); nothing was written/);
      expect(result.stdout).toBe("");
      expect(existsSync(output)).toBe(false);
      expect(readdirSync(work).filter((name) => name.includes(".partial-"))).toEqual([]);
    }, 300_000);

    it("a model TFLite's built-in ops cannot express fails with exit 1 and the converter's reason", async () => {
      const unsupported = join(work, "unsupported");
      const saved = await run(
        PYTHON,
        [
          "-c",
          [
            "import sys, tensorflow as tf",
            "class M(tf.Module):",
            "    @tf.function(input_signature=[tf.TensorSpec([None, 3, 3], tf.float32, name='x')])",
            "    def serve(self, x):",
            "        return {'y': tf.linalg.expm(x)}",
            "m = M()",
            "tf.saved_model.save(m, sys.argv[1], signatures={'serving_default': m.serve})",
          ].join("\n"),
          unsupported,
        ],
        { env: { ...process.env, ...QUIET_TENSORFLOW }, timeoutMs: 120_000 },
      );
      expect(saved.code, saved.stderr).toBe(0);
      const output = join(work, "tflite-unsupported");
      const result = await convertCommand(`--saved-model ${unsupported} --output ${output}`);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/convert_tflite: error: the TFLite converter failed on signature 'serving_default': .*'tf\.MatrixSolve' op is neither a custom op nor a flex op/);
      expect(existsSync(output)).toBe(false);
    }, 300_000);

    it("a broken SavedModel or an unknown signature exits 2 and writes nothing", async () => {
      const broken = join(work, "broken");
      mkdirSync(join(broken, "variables"), { recursive: true });
      for (const [file, body] of Object.entries(tree(savedModel))) if (file.startsWith("variables/")) writeFileSync(join(broken, file), body);
      writeFileSync(join(broken, "saved_model.pb"), "this is not a SavedModel protocol buffer");
      const fromBroken = await convertCommand(`--saved-model ${broken} --output ${join(work, "tflite-broken")}`);
      expect(fromBroken.code).toBe(2);
      expect(fromBroken.stderr).toMatch(/convert_tflite: error: --saved-model .*broken is not a SavedModel TensorFlow can load: /);
      const unknown = await convertCommand(`--saved-model ${savedModel} --output ${join(work, "tflite-unknown")} --signature predict`);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/convert_tflite: error: --saved-model .* has no signature 'predict' \(its signatures: serving_default\)/);
      expect(readdirSync(work).filter((name) => name.startsWith("tflite-broken") || name.startsWith("tflite-unknown") || name.includes(".partial-"))).toEqual([]);
    }, 300_000);
  });

  describe("the local stack's MobileExport pod, against SeaweedFS with the identities the program renders", () => {
    const emptyAwsConfig = join(work, "aws-config");
    let server: SeaweedFsServer;
    let stack: MockRun<unknown>;
    /** How the store-facing containers reach the store from this machine. */
    let store: EnvOverrides;
    let adminEnv: NodeJS.ProcessEnv;

    /**
     * The committed local stack, plus three exports the failure tests use (each its own grant): version 2 (to be
     * damaged after it is published), version 3 (a broken SavedModel) and version 4 (a threshold nothing meets).
     */
    function config(): Record<string, unknown> {
      const local = structuredClone(stackConfig("local"));
      const exports = local["ml-platform:mobileExports"] as PropertyMap[];
      expect(exports).toEqual([{ name: "linear-mobile", team: "ml", store: "models", model: "linear", version: 1, resources: { cpu: "500m", memory: "1Gi" } }]);
      exports.push(
        { name: "damaged-mobile", team: "ml", store: "models", model: "linear", version: 2 },
        { name: "broken-mobile", team: "ml", store: "models", model: "linear", version: 3 },
        { name: "strict-mobile", team: "ml", store: "models", model: "linear", version: 4, optimize: "float16", maxAbsDiff: 1e-9 },
      );
      return local;
    }

    const exportPod = (name: string, version: number) => new LocalPod(stack, NAMESPACE, podTemplateOf(stack, JOB, `${name}-v${version}`), join(work, `pod-${name}`));

    /** An `aws` that logs each call, then runs Debian's AWS CLI. */
    function loggingAws(name: string): { path: string; calls: () => string[] } {
      const file = join(bin, name);
      const log = `${file}.log`;
      writeFileSync(file, ["#!/bin/sh", `printf '%s\\n' "$*" >>'${log}'`, `exec ${AWS_CLI} "$@"`, ""].join("\n"));
      chmodSync(file, 0o755);
      return { path: file, calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : []) };
    }

    async function storeKeys(prefix: string): Promise<string[]> {
      const result = await run(AWS_CLI, ["s3api", "list-objects-v2", "--bucket", "models", "--prefix", prefix, "--output", "json", "--endpoint-url", server.endpoint], { env: adminEnv });
      if (result.code !== 0) throw new Error(`listing ${prefix}: ${result.stderr}`);
      return result.stdout.trim() ? ((JSON.parse(result.stdout) as { Contents?: Array<{ Key: string }> }).Contents ?? []).map((o) => o.Key).sort() : [];
    }

    /** Publishes a directory as a model version, as a training's store agent does (with the admin credential here). */
    async function publishModel(dir: string, version: number): Promise<void> {
      const result = await run("sh", [PUBLISH_VERSION_SCRIPT_PATH, dir, `s3://models/models/linear/${version}/`], { env: { ...adminEnv, AWS_CLI, S3_ENDPOINT: server.endpoint } });
      expect(result.code, result.stderr).toBe(0);
    }

    /** Runs an export pod's containers in order, as the kubelet does, stopping at the first that fails. */
    async function runExportPod(pod: LocalPod, overrides: { fetch?: EnvOverrides; publishAws?: string } = {}) {
      const results: Record<string, CommandResult> = {};
      results.fetch = await pod.runContainer("fetch-version", { path, overrides: { ...store, AWS_CLI, ...overrides.fetch }, timeoutMs: 120_000 });
      if (results.fetch.code !== 0) return results;
      results.convert = await timed("pod convert", () => pod.runContainer("convert", { path, overrides: QUIET_TENSORFLOW, timeoutMs: 240_000 }));
      if (results.convert.code !== 0) return results;
      results.publish = await pod.runContainer("publish", { path, overrides: { ...store, AWS_CLI: overrides.publishAws ?? AWS_CLI } });
      return results;
    }

    beforeAll(async () => {
      vi.resetModules();
      stack = await runInMocks(async () => (await import("../../stacks/index")) as unknown, { config: config(), stack: "local" });
      writeFileSync(emptyAwsConfig, "");
      server = await startSeaweedFs(join(work, "seaweedfs"), renderedFragments(stack));
      store = { S3_ENDPOINT: server.endpoint, AWS_CONFIG_FILE: emptyAwsConfig, AWS_SHARED_CREDENTIALS_FILE: emptyAwsConfig, AWS_EC2_METADATA_DISABLED: "true", AWS_PAGER: "" };
      adminEnv = { PATH: process.env.PATH, HOME: work, AWS_REGION: "us-east-1", ...store, ...credentialOf(stack, "models-admin-credentials") };
      // The store's bucket Job, then the export grants' check Jobs, as Pulumi runs them before the exports' Jobs.
      const checks = ["linear", "damaged", "broken", "strict"].map((name) => `${name}-mobile-store-store-check`);
      await runStoreSetupJobs(stack, ["models-create-bucket", ...checks], { server, path, dir: work });
    }, 300_000);

    afterAll(async () => {
      await server?.stop();
    }, 60_000);

    it("waits for models/linear/1/ to be complete, converts it, and publishes mobile/linear/1/ with _SUCCESS last", async () => {
      const pod = exportPod("linear-mobile", 1);
      // The store steps hold the export's grant (from its Secret); the converter holds no credential.
      const grant = credentialOf(stack, "linear-mobile-store-store-credentials");
      expect(pod.process("fetch-version", { path }).env).toMatchObject(grant);
      expect(pod.process("publish", { path }).env).toMatchObject(grant);
      expect(pod.process("convert", { path }).env).not.toHaveProperty("AWS_ACCESS_KEY_ID");

      // The version is not in the store yet: the download step waits, looking every second here.
      const fetch = pod.startContainer("fetch-version", { path, overrides: { ...store, AWS_CLI, VERSION_POLL_SECONDS: "1" } });
      await until("the download step to wait", () => fetch.output().includes("waiting up to 86400s for s3://models/models/linear/1/_SUCCESS"));
      await publishModel(savedModel, 1);
      await until("the download step to finish", () => fetch.child.exitCode !== null, 60_000);
      const fetched = await fetch.stop();
      expect(fetched.code, fetched.stderr).toBe(0);
      expect(fetched.stderr).toMatch(/fetch-version: version 1 of "linear" is in place, verified against its manifest/);
      expect(tree(join(pod.volumeDir("work"), "models", "linear", "1"))).toEqual(published(tree(savedModel)));

      const convert = await timed("pod convert", () => pod.runContainer("convert", { path, overrides: QUIET_TENSORFLOW, timeoutMs: 240_000 }));
      expect(convert.code, convert.stderr).toBe(0);
      const exported = tree(join(pod.volumeDir("work"), "export"));
      expect(Object.keys(exported).sort()).toEqual(["model.tflite", "report.json", "signature.json"]);
      // The SavedModel's size leaves out the version's _MANIFEST and _SUCCESS.
      const report = JSON.parse(exported["report.json"]!.toString()) as Report;
      expect(report).toMatchObject({ optimization: "none", saved_model_bytes: bytesOf(tree(savedModel)), max_abs_diff_threshold: MOBILE_DEFAULT_MAX_ABS_DIFF.none });
      expect(report.max_abs_diff).toBeLessThan(1e-6);

      const aws = loggingAws("aws-publish");
      const publish = await pod.runContainer("publish", { path, overrides: { ...store, AWS_CLI: aws.path } });
      expect(publish.code, publish.stderr).toBe(0);
      expect(publish.stderr).toMatch(/publish-export: s3:\/\/models\/mobile\/linear\/1\/ is published/);
      expect(aws.calls().at(-1)).toMatch(/ s3 cp --only-show-errors \S+ s3:\/\/models\/mobile\/linear\/1\/_SUCCESS$/);
      expect(await storeKeys("mobile/")).toEqual(["_MANIFEST", "_SUCCESS", "model.tflite", "report.json", "signature.json"].map((f) => `mobile/linear/1/${f}`));

      // What an app build downloads verifies against the manifest, and predicts like the SavedModel.
      const downloaded = join(work, "downloaded");
      const copied = await run(AWS_CLI, ["s3", "cp", "--recursive", "--only-show-errors", "s3://models/mobile/linear/1/", downloaded, "--endpoint-url", server.endpoint], { env: adminEnv });
      expect(copied.code, copied.stderr).toBe(0);
      expect(tree(downloaded)).toEqual(published(exported));
      const { saved, tflite } = await predictions(savedModel, [join(downloaded, "model.tflite")]);
      tflite[0]!.forEach((y, i) => expect(Math.abs(y - saved[i]!)).toBeLessThan(1e-6));
    }, 600_000);

    it("docs/mobile.md's fetch examples download it, verified against its manifest, with aws s3 cp and a presigned URL", async () => {
      const page = readFileSync(join(REPO, "docs/mobile.md"), "utf8");
      const section = page.slice(page.indexOf("## Fetch the model in an app build"), page.indexOf("## Load it on Android"));
      const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
      expect(blocks).toHaveLength(2);
      // The examples' `aws` is the reader's, configured for their store; here, Debian's pointed at this server.
      const shim = join(bin, "aws");
      writeFileSync(shim, `#!/bin/sh\nexec ${AWS_CLI} "$@" --endpoint-url ${server.endpoint}\n`);
      chmodSync(shim, 0o755);
      const cwd = mkdtempSync(join(work, "app-build-"));
      const result = await run("sh", ["-euc", blocks.join("\n")], { cwd, env: { ...adminEnv, PATH: path } });
      rmSync(shim);
      expect(result.code, result.stderr).toBe(0);
      const published = (await run(AWS_CLI, ["s3", "cp", "--only-show-errors", "s3://models/mobile/linear/1/model.tflite", join(work, "published.tflite"), "--endpoint-url", server.endpoint], { env: adminEnv })).code;
      expect(published).toBe(0);
      const model = readFileSync(join(work, "published.tflite"));
      expect(readFileSync(join(cwd, "build/linear-tflite/model.tflite"))).toEqual(model);
      // The second block runs in the folder the first one changed to.
      expect(readFileSync(join(cwd, "build/linear-tflite/linear.tflite"))).toEqual(model);

      // The manifest check catches a changed file.
      writeFileSync(join(cwd, "build/linear-tflite/signature.json"), "{}");
      const check = blocks[0]!.split("\n").filter((line) => line.startsWith("tail -n +2 _MANIFEST")).join("\n");
      const tampered = await run("sh", ["-euc", check], { cwd: join(cwd, "build/linear-tflite"), env: { PATH: path } });
      expect(tampered.code).not.toBe(0);
      expect(tampered.stdout + tampered.stderr).toMatch(/signature\.json: FAILED/);
    }, 120_000);

    it("its grant reads that version and writes that mobile prefix, and nothing else", async () => {
      const grantEnv = { ...adminEnv, ...credentialOf(stack, "linear-mobile-store-store-credentials") };
      const aws = (...args: string[]) => run(AWS_CLI, [...args, "--endpoint-url", server.endpoint], { env: grantEnv });
      const file = join(work, "probe.txt");
      writeFileSync(file, "probe");
      expect((await aws("s3api", "get-object", "--bucket", "models", "--key", "models/linear/1/saved_model.pb", join(work, "got.pb"))).code).toBe(0);
      expect(readFileSync(join(work, "got.pb"))).toEqual(tree(savedModel)["saved_model.pb"]);
      for (const denied of [
        ["s3api", "list-objects-v2", "--bucket", "models", "--prefix", "models/linear/", "--delimiter", "/"],
        ["s3api", "list-objects-v2", "--bucket", "models", "--prefix", "models/linear/2/"],
        ["s3api", "put-object", "--bucket", "models", "--key", "models/linear/1/extra.txt", "--body", file],
        ["s3api", "put-object", "--bucket", "models", "--key", "mobile/linear/2/model.tflite", "--body", file],
        ["s3api", "put-object", "--bucket", "models", "--key", "mobile/other/1/model.tflite", "--body", file],
      ]) {
        const result = await aws(...denied);
        expect(result.code, denied.join(" ")).not.toBe(0);
        expect(result.stderr, denied.join(" ")).toMatch(/AccessDenied/);
      }
      // So the serving sync's `once` (which lists the model's version folders) cannot use it; `fetch` can.
      const manifest = join(work, "linear.models");
      writeFileSync(manifest, "linear specific 1\n");
      const once = await run("sh", [mountedScript("model-sync", modelSyncScripts, MODEL_SYNC_SCRIPT), "once"], { env: { ...grantEnv, AWS_CLI, S3_BUCKET: "models", S3_ENDPOINT: server.endpoint, SYNC_MANIFEST: manifest, MODELS_DIR: join(work, "sync-once") } });
      expect(once.code).toBe(1);
      expect(once.stderr).toMatch(/cannot list s3:\/\/models\/models\/linear\/ .*AccessDenied/);
      expect(await storeKeys("mobile/linear/2/")).toEqual([]);
      expect(await storeKeys("models/linear/1/extra")).toEqual([]);
    }, 120_000);

    it("a damaged version is never converted: the download step exits 1 naming the file, and nothing is uploaded", async () => {
      await publishModel(savedModel, 2);
      // The variables' data changed after the version was published.
      const data = "variables/variables.data-00000-of-00001";
      const body = tree(savedModel)[data]!;
      const changed = Buffer.from(body);
      changed[changed.length - 1] ^= 0xff;
      writeFileSync(join(work, "changed-data"), changed);
      const put = await run(AWS_CLI, ["s3", "cp", "--only-show-errors", join(work, "changed-data"), `s3://models/models/linear/2/${data}`, "--endpoint-url", server.endpoint], { env: adminEnv });
      expect(put.code, put.stderr).toBe(0);

      const results = await runExportPod(exportPod("damaged-mobile", 2));
      expect(results.fetch!.code).toBe(1);
      expect(results.fetch!.stderr).toMatch(new RegExp(`version 2 rejected \\(sha256-mismatch\\): file ${data}: expected sha256 ${sha256(body)}`));
      expect(results.fetch!.stderr).toMatch(/fetch-version: version 2 of "linear" in s3:\/\/models\/models\/linear\/2\/ is damaged \(see above\): not converting it/);
      expect(results).not.toHaveProperty("convert");
      expect(await storeKeys("mobile/linear/2/")).toEqual([]);
    }, 300_000);

    it("a broken SavedModel stops the pod at the conversion (exit 2), and nothing is uploaded", async () => {
      const broken = join(work, "broken-version");
      mkdirSync(join(broken, "variables"), { recursive: true });
      for (const [file, body] of Object.entries(tree(savedModel))) writeFileSync(join(broken, file), file === "saved_model.pb" ? "not a SavedModel" : body);
      await publishModel(broken, 3);
      const pod = exportPod("broken-mobile", 3);
      const results = await runExportPod(pod);
      expect(results.fetch!.code, results.fetch!.stderr).toBe(0);
      expect(results.convert!.code).toBe(2);
      expect(results.convert!.stderr).toMatch(/is not a SavedModel TensorFlow can load/);
      expect(results).not.toHaveProperty("publish");
      // Were the upload step to run anyway, there is nothing it could publish.
      const publish = await pod.runContainer("publish", { path, overrides: { ...store, AWS_CLI } });
      expect(publish.code).toBe(1);
      expect(publish.stderr).toMatch(/publish-export: \S+ has no model\.tflite: the conversion did not finish/);
      expect(await storeKeys("mobile/linear/3/")).toEqual([]);
    }, 300_000);

    it("a threshold the float16 model cannot meet stops the pod at the conversion (exit 1), and nothing is uploaded", async () => {
      await publishModel(savedModel, 4);
      const results = await runExportPod(exportPod("strict-mobile", 4));
      expect(results.fetch!.code, results.fetch!.stderr).toBe(0);
      expect(results.convert!.code).toBe(1);
      expect(results.convert!.stderr).toMatch(/differs from the SavedModel's by up to [0-9.e-]+, more than --max-abs-diff 1e-09 \(optimize: float16\); nothing was written/);
      expect(results).not.toHaveProperty("publish");
      expect(await storeKeys("mobile/linear/4/")).toEqual([]);
    }, 300_000);
  });
});
