/**
 * The local stack's data path for real, without Kubernetes: the program renders stacks/Pulumi.local.yaml
 * under mocks, and the pods it declares run on this machine with their rendered commands, env and mounted
 * files (test/harness/rendered-pod.ts), against a real SeaweedFS server configured with the identities the
 * InClusterModelStore and its grants render:
 *
 * - the store's bucket Job and both grant checks (training: write grant, serving: read grant);
 * - the serving's init sync container, which holds the pod while the store has no complete version;
 * - the training pod: the example trainer (TensorFlow CPU) under the entrypoint wrapper, and the store agent
 *   sidecar that publishes the export with upload-model.sh and publish-version.sh (write grant): the files, their
 *   `_MANIFEST`, `_SUCCESS` last;
 * - the serving's init sync (model-sync.sh once, read grant) bringing version 1, verified against its manifest,
 *   into the directory TF Serving reads, where it loads and answers the smoke fixture;
 * - version 2 with the stack set to follow new versions (`latest: 2`): the sync sidecar (model-sync.sh
 *   watch) adds it beside version 1, and only once complete, even while an upload attempt has failed
 *   before `_SUCCESS`; and through the promotion path (both versions pinned), a new pod fetches both.
 *
 * What differs from a cluster is passed explicitly: the store's address (127.0.0.1), the AWS CLI's path
 * (Debian's /usr/bin/aws instead of the image's), `python3` (the virtualenv's), and a 1 s sync interval.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type MockRun, type PropertyMap, runInMocks } from "../harness/pulumi-mocks";
import { type EnvOverrides, LocalPod, podTemplateOf, runStoreSetupJobs } from "../harness/rendered-pod";
import { AWS_CLI, type CommandResult, requireAwsCli, run } from "../harness/s3-server";
import { credentialOf, renderedFragments, type SeaweedFsServer, startSeaweedFs } from "../harness/seaweedfs-server";
import { stackConfig } from "../harness/stack-config";
import { PYTHON, QUIET_TENSORFLOW, requireTensorflow } from "../harness/tensorflow";
import { publishedVersion } from "../harness/version-manifest";

const NAMESPACE = "ml";
const JOB = "kubernetes:batch/v1:Job";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const FIXTURE = JSON.parse(readFileSync(join(__dirname, "../../smoke-tests/fixtures/linear.json"), "utf8")) as {
  request: { inputs: { x: number[][] } };
  expect: { outputs: { y: number[][] }; tolerance: number };
};

/** The program's resources for a local stack config. */
async function render(config: Record<string, unknown>): Promise<MockRun<unknown>> {
  vi.resetModules();
  return runInMocks(async () => (await import("../../stacks/index")) as unknown, { config, stack: "local" });
}

/** The committed local stack with its training moved to version 2 and the serving following the latest two. */
function followingNewVersions(): Record<string, unknown> {
  const config = structuredClone(stackConfig("local"));
  (config["ml-platform:trainings"] as PropertyMap[])[0]!.version = 2;
  config["ml-platform:releases"] = {};
  (config["ml-platform:servings"] as PropertyMap[])[0]!.models[0].versionPolicy = { latest: 2 };
  return config;
}

/** The committed local stack after the promotion path's change: version 2 trained, versions 1 and 2 pinned. */
function promotingVersion2(): Record<string, unknown> {
  const config = structuredClone(stackConfig("local"));
  (config["ml-platform:trainings"] as PropertyMap[])[0]!.version = 2;
  config["ml-platform:releases"] = { linear: { versions: [1, 2], labels: { stable: 1, canary: 2 } } };
  return config;
}

/** Every file under a directory (relative path -> content). */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(root, path)] = readFileSync(path, "latin1");
    }
  };
  walk(root);
  return out;
}

/** What a synced version directory holds: the exported files, and the manifest and marker they were published with. */
function publishedTree(exportDir: string): Record<string, string> {
  const files: Record<string, Buffer> = {};
  for (const path of Object.keys(tree(exportDir))) files[path] = readFileSync(join(exportDir, path));
  return Object.fromEntries(Object.entries(publishedVersion(files)).map(([path, body]) => [path, Buffer.from(body).toString("latin1")]));
}

/** Version directories TF Serving would see for a model. */
function servedVersions(modelsDir: string, model = "linear"): string[] {
  const dir = join(modelsDir, model);
  return existsSync(dir) ? readdirSync(dir).filter((n) => /^\d+$/.test(n)).sort() : [];
}

/** Waits (up to a deadline) for a condition that another process brings about. */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("the local stack's data path: trainer -> upload -> SeaweedFS -> sync -> TF Serving's directory", async () => {
  requireAwsCli();
  await requireTensorflow();

  const work = mkdtempSync(join(tmpdir(), "local-data-path-"));
  const bin = join(work, "bin");
  const emptyAwsConfig = join(work, "aws-config");
  let server: SeaweedFsServer;
  let stack: MockRun<unknown>;
  /** PATH of every container: `python3` is the virtualenv's; the rest is this machine's POSIX tools. */
  let path: string;
  /** How every store-facing container reaches the store from this machine. */
  let store: EnvOverrides;

  /** An `aws` that logs each call and, with `failSuccessOnce`, fails the first write of a `_SUCCESS` marker. */
  function awsCli(name: string, options: { failSuccessOnce?: boolean } = {}): { path: string; calls: () => string[] } {
    const file = join(bin, name);
    const log = `${file}.log`;
    const flag = `${file}.failed`;
    writeFileSync(
      file,
      [
        "#!/bin/sh",
        `printf '%s\\n' "$*" >>'${log}'`,
        ...(options.failSuccessOnce
          ? [`case " $* " in *" cp "*"/_SUCCESS "*) if [ ! -e '${flag}' ]; then : >'${flag}'; echo "simulated store outage" >&2; exit 255; fi ;; esac`]
          : []),
        `exec ${AWS_CLI} "$@"`,
        "",
      ].join("\n"),
    );
    chmodSync(file, 0o755);
    return { path: file, calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : []) };
  }

  /** Keys in the bucket, listed with the store's admin credential. */
  async function storeKeys(prefix: string): Promise<string[]> {
    const admin = credentialOf(stack, "models-admin-credentials");
    const result = await run(AWS_CLI, ["s3api", "list-objects-v2", "--bucket", "models", "--prefix", prefix, "--output", "json", "--endpoint-url", server.endpoint], {
      env: { PATH: process.env.PATH, HOME: work, AWS_CONFIG_FILE: emptyAwsConfig, AWS_SHARED_CREDENTIALS_FILE: emptyAwsConfig, AWS_REGION: "us-east-1", ...admin },
    });
    if (result.code !== 0) throw new Error(`listing ${prefix}: ${result.stderr}`);
    return result.stdout.trim() ? ((JSON.parse(result.stdout) as { Contents?: Array<{ Key: string }> }).Contents ?? []).map((o) => o.Key).sort() : [];
  }

  /** Exit status of a listing of `prefix` with a grant's credential (0: the grant may list there). */
  async function storeList(prefix: string, credential: Record<string, string>): Promise<number> {
    const result = await run(AWS_CLI, ["s3api", "list-objects-v2", "--bucket", "models", "--prefix", prefix, "--endpoint-url", server.endpoint], {
      env: { PATH: process.env.PATH, HOME: work, AWS_CONFIG_FILE: emptyAwsConfig, AWS_SHARED_CREDENTIALS_FILE: emptyAwsConfig, AWS_REGION: "us-east-1", ...credential },
    });
    return result.code;
  }

  /** What the model in a SavedModel directory answers to the smoke fixture's request. */
  async function predictions(...savedModels: string[]): Promise<number[][][]> {
    const script = [
      "import json, sys, tensorflow as tf",
      "x = tf.constant(json.loads(sys.argv[1]), dtype=tf.float32)",
      "print(json.dumps([tf.saved_model.load(d).signatures['serving_default'](x=x)['y'].numpy().tolist() for d in sys.argv[2:]]))",
    ].join("\n");
    const result = await run(PYTHON, ["-c", script, JSON.stringify(FIXTURE.request.inputs.x), ...savedModels], { env: { ...process.env, ...QUIET_TENSORFLOW }, timeoutMs: 120_000 });
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as number[][][];
  }

  function expectFixtureAnswers(y: number[][]): void {
    const expected = FIXTURE.expect.outputs.y;
    expect(y).toHaveLength(expected.length);
    y.forEach((row, i) => expect(Math.abs(row[0]! - expected[i]![0]!)).toBeLessThanOrEqual(FIXTURE.expect.tolerance));
  }

  /** Runs a training pod: the store agent beside the trainer, stopped (SIGTERM) once the trainer exited. */
  function startTrainingPod(pod: LocalPod, agentAwsCli: string) {
    const agent = pod.startContainer("store-agent", { path, overrides: { ...store, AWS_CLI: agentAwsCli } });
    const trainer = pod.runContainer("trainer", { path, overrides: QUIET_TENSORFLOW, timeoutMs: 300_000 });
    return {
      agent,
      async finished(): Promise<{ trainer: CommandResult; agent: CommandResult }> {
        const trainerResult = await trainer;
        return { trainer: trainerResult, agent: await agent.stop() };
      },
    };
  }

  const servingPod = (from: MockRun<unknown>, name: string) => new LocalPod(from, NAMESPACE, podTemplateOf(from, DEPLOYMENT, "linear"), join(work, name));
  const trainingPod = (from: MockRun<unknown>, version: number) => new LocalPod(from, NAMESPACE, podTemplateOf(from, JOB, `linear-train-v${version}`), join(work, `training-v${version}`));
  /** Version 1's training pod, whose export volume the later tests compare with what was synced. */
  let training1: LocalPod;
  const syncOverrides = (cli: string): EnvOverrides => ({ ...store, AWS_CLI: cli });

  beforeAll(async () => {
    stack = await render(stackConfig("local"));
    writeFileSync(emptyAwsConfig, "");
    mkdirSync(bin);
    writeFileSync(join(bin, "python3"), `#!/bin/sh\nexec '${PYTHON}' "$@"\n`);
    chmodSync(join(bin, "python3"), 0o755);
    path = [bin, "/usr/local/bin", "/usr/bin", "/bin"].join(":");

    server = await startSeaweedFs(join(work, "seaweedfs"), renderedFragments(stack));
    store = {
      S3_ENDPOINT: server.endpoint,
      AWS_CONFIG_FILE: emptyAwsConfig,
      AWS_SHARED_CREDENTIALS_FILE: emptyAwsConfig,
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_PAGER: "",
    };
    // The rendered pods name the in-cluster Service; here it is the server on 127.0.0.1.
    expect(podTemplateOf(stack, JOB, "linear-train-v1").initContainers[0].env).toContainEqual({ name: "S3_ENDPOINT", value: "http://models.ml-platform.svc.cluster.local:8333" });

    // The store's bucket Job, then the two grants' check Jobs, as Pulumi runs them before the workloads.
    await runStoreSetupJobs(stack, ["models-create-bucket", "linear-train-store-store-check", "linear-store-0-store-check"], { server, path, dir: work });
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it("the serving pod's init container holds the pod while the store has no complete version", async () => {
    const pod = servingPod(stack, "serving-early");
    const result = await pod.runContainer("model-sync-init-0", { path, overrides: syncOverrides(AWS_CLI) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/model "linear": no complete version in s3:\/\/models\/models\/linear\//);
    expect(servedVersions(pod.volumeDir("models"))).toEqual([]);
  });

  it("the training pod trains linear version 1 and its store agent uploads it with the write grant, _SUCCESS last", async () => {
    const pod = (training1 = trainingPod(stack, 1));
    // The store agent holds the training's write grant (from its Secret); the trainer holds no credential.
    const write = credentialOf(stack, "linear-train-store-store-credentials");
    expect(pod.process("store-agent", { path }).env).toMatchObject(write);
    expect(pod.process("trainer", { path }).env).not.toHaveProperty("AWS_ACCESS_KEY_ID");
    expect(write.AWS_ACCESS_KEY_ID).not.toBe(credentialOf(stack, "models-admin-credentials").AWS_ACCESS_KEY_ID);
    const aws = awsCli("aws-training-v1");
    const { trainer, agent } = await startTrainingPod(pod, aws.path).finished();
    expect(trainer.code, trainer.stderr).toBe(0);
    expect(agent.stderr).toMatch(/publish-version: s3:\/\/models\/models\/linear\/1\/ is complete \(manifest sha256 [0-9a-f]{64}\)/);

    const exported = tree(pod.volumeDir("export"));
    expect(Object.keys(exported)).toEqual(expect.arrayContaining(["saved_model.pb", "variables/variables.index"]));
    expect(await storeKeys("models/linear/1/")).toEqual(["_MANIFEST", "_SUCCESS", ...Object.keys(exported)].map((f) => `models/linear/1/${f}`).sort());
    expect(aws.calls().at(-1)).toMatch(/ s3 cp --only-show-errors \S+ s3:\/\/models\/models\/linear\/1\/_SUCCESS$/);
  }, 300_000);

  it("the serving's init container brings version 1, complete, where TF Serving reads it, and it answers the smoke fixture", async () => {
    const pod = servingPod(stack, "serving-v1");
    // The sync containers hold the serving's read grant.
    expect(pod.process("model-sync-init-0", { path }).env).toMatchObject(credentialOf(stack, "linear-store-0-store-credentials"));
    const result = await pod.runContainer("model-sync-init-0", { path, overrides: syncOverrides(AWS_CLI) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/model "linear": version 1 is in place/);

    // TF Serving's config points at /models/linear, the directory the sync containers fill.
    const config = readFileSync(join(pod.volumeDir("config"), "models.config"), "utf8");
    expect(config).toMatch(/base_path: "\/models\/linear"/);
    expect(pod.container("tf-serving").volumeMounts).toContainEqual({ name: "models", mountPath: "/models", readOnly: true });
    const modelsDir = pod.volumeDir("models");
    expect(servedVersions(modelsDir)).toEqual(["1"]);
    expect(tree(join(modelsDir, "linear", "1"))).toEqual(publishedTree(training1.volumeDir("export")));

    const [y] = await predictions(join(modelsDir, "linear", "1"));
    expectFixtureAnswers(y!);
  }, 180_000);

  it("following new versions, the sync sidecar adds version 2 beside version 1, and only once its upload is complete", async () => {
    const next = await render(followingNewVersions());
    // Same credentials; the one identity that changes is the training's, whose logs scope moves to version 2
    // (it may write its own version's logs only). The store's reloader would pick it up: so does this server.
    const before = renderedFragments(stack);
    const after = renderedFragments(next);
    expect(Object.keys(after).filter((key) => after[key] !== before[key])).toEqual(["grant-linear-train-store.json"]);
    const identity = (fragments: Record<string, string>) => JSON.parse(fragments["grant-linear-train-store.json"]!) as { credentials: unknown; actions: string[] };
    expect(identity(after).credentials).toEqual(identity(before).credentials);
    expect(identity(after).actions.filter((a) => a.includes("/logs/"))).toEqual(["List:models/logs/linear/2/*", "Read:models/logs/linear/2/*", "Write:models/logs/linear/2/*"]);
    await server.reloadIdentities(after);
    await until("the training's new identity to be loaded", async () => (await storeList("logs/linear/2/", credentialOf(next, "linear-train-store-store-credentials"))) === 0, 60_000);

    // A new serving pod of the stack that follows the latest two versions: its init container takes version 1.
    const serving = servingPod(next, "serving-following");
    const modelsDir = serving.volumeDir("models");
    const init = await serving.runContainer("model-sync-init-0", { path, overrides: syncOverrides(AWS_CLI) });
    expect(init.code, init.stderr).toBe(0);
    expect(servedVersions(modelsDir)).toEqual(["1"]);
    const version1 = tree(join(modelsDir, "linear", "1"));

    let training2: LocalPod | undefined;
    const sidecarAws = awsCli("aws-sidecar");
    const sidecar = serving.startContainer("model-sync-0", { path, overrides: { ...syncOverrides(sidecarAws.path), SYNC_INTERVAL_SECONDS: "1" } });
    // What TF Serving would see, sampled while the sidecar works: every version directory must be complete.
    const incomplete: string[] = [];
    let samples = 0;
    const sampler = setInterval(() => {
      samples++;
      for (const version of servedVersions(modelsDir)) {
        const dir = join(modelsDir, "linear", version);
        for (const file of ["_SUCCESS", "saved_model.pb", "variables/variables.index"]) {
          if (!existsSync(join(dir, file))) incomplete.push(`${version}/${file}`);
        }
      }
    }, 20);

    try {
      // Version 2's training pod; the first write of its _SUCCESS marker fails (a store outage).
      training2 = trainingPod(next, 2);
      const training = startTrainingPod(training2, awsCli("aws-training-v2", { failSuccessOnce: true }).path);
      await until("the first upload attempt to fail", () => training.agent.output().includes("upload attempt 1 failed"), 240_000);
      // The store now holds version 2 without _SUCCESS; the sidecar keeps syncing and leaves it alone.
      const partial = await storeKeys("models/linear/2/");
      expect(partial).toContain("models/linear/2/saved_model.pb");
      expect(partial).not.toContain("models/linear/2/_SUCCESS");
      const listedBefore = sidecarAws.calls().filter((c) => c.includes("list-objects-v2")).length;
      await until("two more sidecar passes", () => sidecarAws.calls().filter((c) => c.includes("list-objects-v2")).length >= listedBefore + 2, 30_000);
      expect(servedVersions(modelsDir)).toEqual(["1"]);

      // The agent's retry completes the upload; the sidecar then adds version 2 beside version 1.
      const { trainer, agent } = await training.finished();
      expect(trainer.code, trainer.stderr).toBe(0);
      expect(agent.stderr).toMatch(/upload attempt 1 failed; retrying in 10s[^]*publish-version: s3:\/\/models\/models\/linear\/2\/ is complete/);
      // The directory appears a moment before the sidecar logs it; stopping in between would lose the line.
      await until("version 2 in the models directory, logged", () => servedVersions(modelsDir).includes("2") && sidecar.output().includes('model "linear": version 2 is in place'), 30_000);
    } finally {
      clearInterval(sampler);
    }
    const stopped = await sidecar.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toMatch(/model "linear": version 2 is in place/);

    expect(samples).toBeGreaterThan(100);
    expect(incomplete).toEqual([]);
    expect(servedVersions(modelsDir)).toEqual(["1", "2"]);
    expect(tree(join(modelsDir, "linear", "1"))).toEqual(version1);
    expect(tree(join(modelsDir, "linear", "2"))).toEqual(publishedTree(training2!.volumeDir("export")));
    const [y1, y2] = await predictions(join(modelsDir, "linear", "1"), join(modelsDir, "linear", "2"));
    expectFixtureAnswers(y1!);
    expectFixtureAnswers(y2!);
  }, 420_000);

  it("through the promotion path (versions 1 and 2 pinned), a new serving pod's init container fetches both", async () => {
    const promoted = await render(promotingVersion2());
    const pod = servingPod(promoted, "serving-promoted");
    expect(readFileSync(join(pod.volumeDir("config"), "models.config"), "utf8")).toMatch(/specific \{\s*versions: 1\s*versions: 2\s*\}/);
    const result = await pod.runContainer("model-sync-init-0", { path, overrides: syncOverrides(AWS_CLI) });
    expect(result.code, result.stderr).toBe(0);
    expect(servedVersions(pod.volumeDir("models"))).toEqual(["1", "2"]);
  }, 120_000);
});
