/**
 * The local stack's TensorBoard for real, without Kubernetes: the program renders stacks/Pulumi.local.yaml under
 * mocks, and the pods it declares run on this machine with their rendered commands, env and mounted files
 * (test/harness/rendered-pod.ts), against a real SeaweedFS server configured with the identities the
 * InClusterModelStore and its grants render:
 *
 * - the training pod: TensorFlow CPU trains the example (summaries with tf.summary) under the entrypoint wrapper,
 *   beside the real store agent, which uploads the logs with the training's write grant (logs/linear/<version>/
 *   only); its restore-logs init container runs first;
 * - the TensorBoard pod: the real log sync sidecar (log-sync.sh watch, TensorBoard's read grant: logs/linear/
 *   only) and a real `tensorboard` process (TensorBoard 2.21.0 in the virtualenv, the rendered command and
 *   arguments) serving 127.0.0.1; the test reads TensorBoard's HTTP data API, as its web page does.
 *
 * What differs from a cluster is passed explicitly: the store's address (127.0.0.1), the AWS CLI's path
 * (Debian's), `python3` (the virtualenv's), TensorBoard's address (127.0.0.1 and a free port instead of every
 * interface on 6006), its log directory (the data volume's folder here), and 1 s intervals for the sync and
 * TensorBoard's reloads.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type MockRun, type PropertyMap, runInMocks } from "../harness/pulumi-mocks";
import { type EnvOverrides, LocalPod, podTemplateOf, runStoreSetupJobs, type RunningContainer } from "../harness/rendered-pod";
import { AWS_CLI, requireAwsCli, run, startProcess } from "../harness/s3-server";
import { credentialOf, freePortPair, renderedFragments, type SeaweedFsServer, startSeaweedFs } from "../harness/seaweedfs-server";
import { stackConfig } from "../harness/stack-config";
import { PYTHON, QUIET_TENSORFLOW, requireTensorboard } from "../harness/tensorflow";
import { readRecords } from "../harness/tfrecord";

/** The team's namespace, where the training and the TensorBoard run. */
const NAMESPACE = "ml";
const JOB = "kubernetes:batch/v1:Job";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const MINUTES = 60_000;

/** A scalar as TensorBoard's data API returns it: [wall time, step, value]. */
type ScalarPoint = [number, number, number];

/** The program's resources for a local stack config. */
async function render(config: Record<string, unknown>): Promise<MockRun<unknown>> {
  vi.resetModules();
  return runInMocks(async () => (await import("../../stacks/index")) as unknown, { config, stack: "local" });
}

/** The committed local stack with its training moved to another version (and, optionally, checkpoints). */
function trainingVersion(version: number, extra: PropertyMap = {}): Record<string, unknown> {
  const config = structuredClone(stackConfig("local"));
  Object.assign((config["ml-platform:trainings"] as PropertyMap[])[0]!, { version, ...extra });
  return config;
}

/** Waits (up to a deadline) for a condition that another process brings about. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 2 * MINUTES): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("the local stack's TensorBoard: training summaries -> store agent -> SeaweedFS -> log sync -> TensorBoard", async () => {
  requireAwsCli();
  await requireTensorboard();

  const work = mkdtempSync(join(tmpdir(), "tensorboard-path-"));
  const bin = join(work, "bin");
  const emptyAwsConfig = join(work, "aws-config");
  let server: SeaweedFsServer;
  let stack: MockRun<unknown>;
  /** PATH of every container: `python3` is the virtualenv's; the rest is this machine's POSIX tools. */
  let path: string;
  /** How every store-facing container reaches the store from this machine. */
  let store: EnvOverrides;
  let sync: RunningContainer;
  let tensorboard: ReturnType<typeof startProcess>;
  let tensorboardUrl: string;
  /** What TensorBoard returned, for the record (printed at the end). */
  const returned: Record<string, ScalarPoint[]> = {};

  /** A GET of TensorBoard's data API (`/data/...`), as JSON; undefined unless it answers 200. */
  async function tensorboardData<T>(route: string): Promise<T | undefined> {
    const response = await fetch(`${tensorboardUrl}/data/${route}`);
    if (!response.ok) {
      await response.arrayBuffer();
      return undefined;
    }
    return (await response.json()) as T;
  }

  /** A run's scalar series once TensorBoard has at least `count` points of it. */
  function series(runName: string, tag: string, count: number): Promise<ScalarPoint[]> {
    return until(`${count} points of ${tag} in run ${runName}`, async () => {
      const points = await tensorboardData<ScalarPoint[]>(`plugin/scalars/scalars?run=${encodeURIComponent(runName)}&tag=${tag}`);
      return points && points.length >= count ? points : undefined;
    });
  }

  /** Keys in the bucket with their content, read with the store's admin credential. */
  async function storeObject(key: string): Promise<Buffer> {
    const admin = credentialOf(stack, "models-admin-credentials");
    const file = join(work, `object-${Math.random().toString(36).slice(2)}`);
    const result = await run(AWS_CLI, ["s3", "cp", "--only-show-errors", `s3://models/${key}`, file, "--endpoint-url", server.endpoint], {
      env: { PATH: process.env.PATH, HOME: work, AWS_CONFIG_FILE: emptyAwsConfig, AWS_SHARED_CREDENTIALS_FILE: emptyAwsConfig, AWS_REGION: "us-east-1", ...admin },
    });
    if (result.code !== 0) throw new Error(`getting ${key}: ${result.stderr}`);
    return readFileSync(file);
  }

  async function storeKeys(prefix: string, credential = credentialOf(stack, "models-admin-credentials")): Promise<string[] | undefined> {
    const result = await run(AWS_CLI, ["s3api", "list-objects-v2", "--bucket", "models", "--prefix", prefix, "--output", "json", "--endpoint-url", server.endpoint], {
      env: { PATH: process.env.PATH, HOME: work, AWS_CONFIG_FILE: emptyAwsConfig, AWS_SHARED_CREDENTIALS_FILE: emptyAwsConfig, AWS_REGION: "us-east-1", ...credential },
    });
    if (result.code !== 0) return undefined;
    return result.stdout.trim() ? ((JSON.parse(result.stdout) as { Contents?: Array<{ Key: string }> }).Contents ?? []).map((o) => o.Key).sort() : [];
  }

  /** Runs one training pod as the kubelet would: its init containers, then the store agent beside the trainer. */
  async function trainingPod(from: MockRun<unknown>, version: number, name: string, trainerEnv: EnvOverrides = {}) {
    const template = podTemplateOf(from, JOB, `linear-train-v${version}`);
    const pod = new LocalPod(from, NAMESPACE, template, join(work, name));
    const init: Record<string, string> = {};
    for (const container of template.initContainers as PropertyMap[]) {
      if (container.restartPolicy === "Always") continue;
      const result = await pod.runContainer(container.name, { path, overrides: store });
      expect(result.code, `${container.name}: ${result.stderr}`).toBe(0);
      init[container.name] = result.stderr;
    }
    const agent = pod.startContainer("store-agent", { path, overrides: store });
    const trainer = await pod.runContainer("trainer", { path, overrides: { ...QUIET_TENSORFLOW, ...trainerEnv }, timeoutMs: 5 * MINUTES });
    const agentResult = await agent.stop();
    return { pod, init, trainer, agent: agentResult };
  }

  /** The event files a pod wrote into its log directory. */
  const eventFiles = (pod: LocalPod) => readdirSync(pod.volumeDir("logs")).filter((f) => f.includes("tfevents")).sort();

  beforeAll(async () => {
    stack = await render(stackConfig("local"));
    writeFileSync(emptyAwsConfig, "");
    mkdirSync(bin);
    writeFileSync(join(bin, "python3"), `#!/bin/sh\nexec '${PYTHON}' "$@"\n`);
    chmodSync(join(bin, "python3"), 0o755);
    path = [bin, "/usr/local/bin", "/usr/bin", "/bin"].join(":");

    server = await startSeaweedFs(join(work, "seaweedfs"), renderedFragments(stack));
    store = { S3_ENDPOINT: server.endpoint, AWS_CLI, AWS_CONFIG_FILE: emptyAwsConfig, AWS_SHARED_CREDENTIALS_FILE: emptyAwsConfig, AWS_EC2_METADATA_DISABLED: "true", AWS_PAGER: "" };
    // The store's bucket Job, then the grants' check Jobs of the training and the TensorBoard.
    await runStoreSetupJobs(stack, ["models-create-bucket", "linear-train-store-store-check", "linear-tensorboard-0-store-check"], { server, path, dir: work });

    // The TensorBoard pod: its log sync sidecar, and TensorBoard.
    const pod = new LocalPod(stack, NAMESPACE, podTemplateOf(stack, DEPLOYMENT, "linear-tensorboard"), join(work, "tensorboard"));
    sync = pod.startContainer("log-sync-0", { path, overrides: { ...store, SYNC_INTERVAL_SECONDS: "1" } });
    const port = await freePortPair();
    const rendered = pod.process("tensorboard", { path });
    const moved: Record<string, string> = {
      "--logdir=/var/lib/tensorboard/logs": `--logdir=${pod.volumeDir("data")}/logs`,
      "--bind_all": "--host=127.0.0.1",
      "--port=6006": `--port=${port}`,
      "--reload_interval=5": "--reload_interval=1",
    };
    for (const arg of Object.keys(moved)) expect(rendered.args).toContain(arg);
    expect([rendered.command, ...rendered.args.slice(0, 2)]).toEqual(["python3", "-m", "tensorboard.main"]);
    tensorboard = startProcess(rendered.command, rendered.args.map((arg) => moved[arg] ?? arg), { env: { ...rendered.env, ...QUIET_TENSORFLOW }, cwd: join(work, "tensorboard") });
    tensorboardUrl = `http://127.0.0.1:${port}`;
    const environment = await until("TensorBoard to answer", () => tensorboardData<{ version: string }>("environment"), 3 * MINUTES);
    expect(environment.version).toBe("2.21.0");
  }, 10 * MINUTES);

  afterAll(async () => {
    // What TensorBoard returned, for the record.
    for (const [name, points] of Object.entries(returned)) {
      const shown = points.filter((p) => p[1] <= 5 || p[1] % 50 === 0).map(([, step, value]) => `${step}: ${value.toPrecision(6)}`);
      process.stdout.write(`TensorBoard ${name} (${points.length} points): ${shown.join(", ")}\n`);
    }
    await tensorboard?.stop();
    await sync?.stop();
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  }, MINUTES);

  it("version 1: the store agent uploads the summaries in whole records, the sync brings them, and TensorBoard shows the loss falling", async () => {
    const training = await trainingPod(stack, 1, "training-v1");
    expect(training.trainer.code, training.trainer.stderr).toBe(0);
    expect(training.init["restore-logs"]).toMatch(/logs: restored s3:\/\/models\/logs\/linear\/1\/trainer-0\/ .*\(0 files\)/);
    expect(training.agent.stderr).toMatch(/logs: uploaded 1 file\(s\) to s3:\/\/models\/logs\/linear\/1\/trainer-0\//);

    // The store holds the pod's event file as written, every record whole: the loss, slope and intercept of
    // 300 steps and the file's header.
    const [file] = eventFiles(training.pod);
    expect(await storeKeys("logs/linear/")).toEqual([`logs/linear/1/trainer-0/${file}`]);
    const uploaded = await storeObject(`logs/linear/1/trainer-0/${file}`);
    expect(uploaded).toEqual(readFileSync(join(training.pod.volumeDir("logs"), file!)));
    const records = readRecords(uploaded);
    expect(records.trailingBytes).toBe(0);
    expect(records.records.length).toBeGreaterThanOrEqual(901);

    const tags = await until("the run's tags", async () => (await tensorboardData<Record<string, Record<string, unknown>>>("plugin/scalars/tags"))?.["linear/1/trainer-0"]);
    expect(Object.keys(tags).sort()).toEqual(["intercept", "loss", "slope"]);
    const loss = (returned["linear/1/trainer-0 loss"] = await series("linear/1/trainer-0", "loss", 300));
    expect(loss.map(([, step]) => step)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    // Gradient descent on this quadratic loss: it falls at every step, by orders of magnitude overall, down to
    // the floor the data's noise sets (stddev 0.01: a mean squared error of about 1e-4), where float32 rounding
    // of the mean over 256 points moves it by about a part in 10^6 either way.
    for (let i = 1; i < loss.length; i++) expect(loss[i]![2], `step ${loss[i]![1]}`).toBeLessThanOrEqual(loss[i - 1]![2] * (1 + 1e-5));
    expect(loss[0]![2] / loss[299]![2]).toBeGreaterThan(1000);
    expect(loss[299]![2]).toBeGreaterThan(0.5e-4);
    expect(loss[299]![2]).toBeLessThan(2e-4);
    const slope = await series("linear/1/trainer-0", "slope", 300);
    const intercept = await series("linear/1/trainer-0", "intercept", 300);
    expect(slope.at(-1)![2]).toBeCloseTo(2, 2);
    expect(intercept.at(-1)![2]).toBeCloseTo(1, 2);
  }, 10 * MINUTES);

  it("version 2, trained without the TensorBoard package (as in tensorflow/tensorflow:2.21.0), appears after the next sync, TensorBoard still running", async () => {
    const next = await render(trainingVersion(2));
    // The training's grant now writes version 2's logs (and no longer version 1's); the store's reloader
    // would load the new identity, as this server does.
    await server.reloadIdentities(renderedFragments(next));
    await until("the new training identity", async () => (await storeKeys("logs/linear/2/", credentialOf(next, "linear-train-store-store-credentials"))) && true);

    // A Python where `import tensorboard` fails: the trainer writes its summaries with tf.summary.write.
    const hidden = join(work, "no-tensorboard");
    mkdirSync(hidden);
    writeFileSync(join(hidden, "sitecustomize.py"), 'import sys\nsys.modules["tensorboard"] = None\n');
    const probe = await run(PYTHON, ["-c", "import tensorboard"], { env: { ...process.env, PYTHONPATH: hidden } });
    expect(probe.stderr).toMatch(/ModuleNotFoundError|ImportError/);
    const training = await trainingPod(next, 2, "training-v2", { PYTHONPATH: hidden });
    expect(training.trainer.code, training.trainer.stderr).toBe(0);

    const loss = (returned["linear/2/trainer-0 loss"] = await series("linear/2/trainer-0", "loss", 300));
    expect(loss.map(([, step]) => step)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    // Same data, same steps: the same curve as version 1's, written without TensorBoard's own summary code.
    loss.forEach(([, step, value], i) => expect(value, `step ${step}`).toBeCloseTo(returned["linear/1/trainer-0 loss"]![i]![2], 6));
    const runs = await tensorboardData<string[]>("runs");
    expect(runs).toEqual(expect.arrayContaining(["linear/1/trainer-0", "linear/2/trainer-0"]));
    // The same TensorBoard process all along.
    expect(tensorboard.child.exitCode).toBeNull();
    expect(sync.output()).toMatch(/model "linear": 1 file\(s\) brought in from s3:\/\/models\/logs\/linear\//);
  }, 10 * MINUTES);

  it("version 3, with checkpoints: a pod that crashes and its replacement make one run that continues to the end", async () => {
    const next = await render(trainingVersion(3, { checkpoints: { saveIntervalSeconds: 1 } }));
    await server.reloadIdentities(renderedFragments(next));
    await until("the new training identity", async () => (await storeKeys("checkpoints/linear/3/", credentialOf(next, "linear-train-store-store-credentials"))) && true);

    // The first pod stops at step 150 (its last checkpoint is step 100's); its logs are saved on the way out.
    const first = await trainingPod(next, 3, "training-v3-a", { FAIL_AT_STEP: "150" });
    expect(first.trainer.code).toBe(3);
    expect(first.agent.stderr).toMatch(/logs: uploaded 1 file\(s\) to s3:\/\/models\/logs\/linear\/3\/trainer-0\//);
    // Its replacement (a new pod: fresh volumes) restores the checkpoints and the run's earlier file first.
    const second = await trainingPod(next, 3, "training-v3-b");
    expect(second.trainer.code, second.trainer.stderr).toBe(0);
    expect(second.trainer.stderr).toMatch(/restored .*ckpt-100 at step 100/);
    expect(second.init["restore-logs"]).toMatch(/logs: restored s3:\/\/models\/logs\/linear\/3\/trainer-0\/ .*\(1 files\)/);
    expect(eventFiles(second.pod)).toHaveLength(2);
    expect(await storeKeys("logs/linear/3/")).toEqual(eventFiles(second.pod).map((f) => `logs/linear/3/trainer-0/${f}`));

    // One run: steps 1 to 150 from the first pod, 101 to 300 from the second (TensorBoard shows the steps
    // between the last checkpoint and the crash twice, as it does for any restarted run).
    const loss = (returned["linear/3/trainer-0 loss"] = await series("linear/3/trainer-0", "loss", 350));
    expect(loss.map(([, step]) => step)).toEqual([...Array.from({ length: 150 }, (_, i) => i + 1), ...Array.from({ length: 200 }, (_, i) => i + 101)]);
    expect((await tensorboardData<string[]>("runs"))?.filter((name) => name.startsWith("linear/3/"))).toEqual(["linear/3/trainer-0"]);
    // Resumed from the checkpoint, not from scratch: the curve ends where version 1's did.
    expect(loss.at(-1)![2]).toBeCloseTo(returned["linear/1/trainer-0 loss"]!.at(-1)![2], 6);
  }, 10 * MINUTES);
});
