/**
 * A training pod's TensorBoard logs, for real: logs.sh (run as the restore init container and by the store
 * agent) and the agent itself against an S3-protocol server, with the environment of a TrainingJob rendered
 * under mocks and Debian's AWS CLI. Event files are TFRecord files written here record by record
 * (test/harness/tfrecord.ts), so each test controls exactly where a copy of a growing file would end.
 */
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRAINING_SCRIPTS } from "../../components/training/scripts";
import { run, type S3TestServer, startProcess, startS3Server } from "../harness/s3-server";
import { encodeRecord, readRecords } from "../harness/tfrecord";
import { BUCKET } from "./fixtures";
import { localStoreEnv, loggingAwsCli, podVolumes, type PodVolumes, type RenderedPodEnv, renderedExporterEnv, runPod, script, startSidecar, storeKeys, withLocalVolumes } from "./pod-sim";

const EVENT_FILE = "events.out.tfevents.1790000000.trainer.7.0.v2";
/** Six records of different lengths, as a summary writer appends them. */
const RECORDS = Array.from({ length: 6 }, (_, i) => encodeRecord(Buffer.from(`summary ${i};`.repeat(5 + 3 * i))));

let s3: S3TestServer;
const rendered = new Map<number, RenderedPodEnv>();
beforeAll(async () => {
  s3 = await startS3Server(BUCKET);
  // One model version per test; logs uploaded every second where a test watches the agent's passes.
  for (const version of [21, 22, 23, 24, 25, 26]) {
    rendered.set(version, await renderedExporterEnv({ framework: "tensorflow", mode: "single", version, logs: { uploadIntervalSeconds: 1 } }));
  }
});
afterAll(async () => s3?.close());
const pod = (version: number) => rendered.get(version)!;

/** An object's bytes, read straight from the test server. */
async function storeBytes(key: string): Promise<Buffer> {
  const response = await fetch(`${s3.endpoint}/${s3.bucket}/${key}`);
  if (!response.ok) throw new Error(`getting ${key}: HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

/** Runs logs.sh as the store agent runs it (`upload` or `final`), or as the restore init container (`restore`). */
function logsScript(action: "upload" | "final" | "restore", env: RenderedPodEnv, volumes: PodVolumes, awsCli: string) {
  const container = action === "restore" ? env.restoreLogs! : env.agent;
  return run("sh", [script(TRAINING_SCRIPTS.logs), action], { env: localStoreEnv(container, volumes, s3, awsCli) });
}

describe.concurrent("TensorBoard logs of a training pod", { timeout: 120_000 }, () => {
  it("uploads a growing event file only up to its last whole record, and only when it grew", async () => {
    const volumes = podVolumes();
    const aws = loggingAwsCli(mkdtempSync(join(tmpdir(), "aws-log-")));
    const file = join(volumes.logDir, EVENT_FILE);
    const key = `logs/linear/21/trainer-0/${EVENT_FILE}`;

    // Three records and the first 20 bytes of the fourth: a copy now would end inside a record.
    writeFileSync(file, Buffer.concat([...RECORDS.slice(0, 3), RECORDS[3]!.subarray(0, 20)]));
    const first = await logsScript("upload", pod(21), volumes, aws.path);
    expect(first.code, first.stderr).toBe(0);
    expect(readRecords(await storeBytes(key))).toEqual({ records: readRecords(Buffer.concat(RECORDS.slice(0, 3))).records, trailingBytes: 0 });

    // The rest of the fourth record, and half of the fifth.
    appendFileSync(file, Buffer.concat([RECORDS[3]!.subarray(20), RECORDS[4]!.subarray(0, RECORDS[4]!.length - 1)]));
    await logsScript("upload", pod(21), volumes, aws.path);
    const second = readRecords(await storeBytes(key));
    expect(second.trailingBytes).toBe(0);
    expect(second.records).toHaveLength(4);

    // Nothing new: no request at all.
    const calls = aws.calls().length;
    await logsScript("upload", pod(21), volumes, aws.path);
    expect(aws.calls()).toHaveLength(calls);

    // The writer finishes: the last upload has every record.
    appendFileSync(file, Buffer.concat([RECORDS[4]!.subarray(RECORDS[4]!.length - 1), RECORDS[5]!]));
    const last = await logsScript("final", pod(21), volumes, aws.path);
    expect(last.code, last.stderr).toBe(0);
    expect(await storeBytes(key)).toEqual(Buffer.concat(RECORDS));
    expect(await storeKeys(s3, "logs/linear/21/")).toEqual([key]);
  });

  it("uploads other files whole once they stopped changing, and at the end whatever changed", async () => {
    const volumes = podVolumes();
    const aws = loggingAwsCli(mkdtempSync(join(tmpdir(), "aws-log-")));
    mkdirSync(join(volumes.logDir, "plugins", "profile"), { recursive: true });
    const trace = join(volumes.logDir, "plugins", "profile", "host.trace.json");
    writeFileSync(trace, '{"traceEvents": [');
    // First seen: it may still be being written.
    await logsScript("upload", pod(22), volumes, aws.path);
    expect(await storeKeys(s3, "logs/linear/22/")).toEqual([]);
    // Unchanged since the previous pass: uploaded.
    await logsScript("upload", pod(22), volumes, aws.path);
    expect((await storeBytes("logs/linear/22/trainer-0/plugins/profile/host.trace.json")).toString()).toBe('{"traceEvents": [');
    // Changed, then the command exits: the last upload does not wait for it to settle.
    writeFileSync(trace, '{"traceEvents": []}', { flag: "a" });
    await logsScript("final", pod(22), volumes, aws.path);
    expect((await storeBytes("logs/linear/22/trainer-0/plugins/profile/host.trace.json")).toString()).toBe('{"traceEvents": [{"traceEvents": []}');
  });

  it("a restarted pod restores its run before the command starts and continues it", async () => {
    const env = pod(23);
    const records = join(mkdtempSync(join(tmpdir(), "records-")), "first");
    writeFileSync(records, Buffer.concat(RECORDS.slice(0, 2)));
    // First attempt: writes one event file, then crashes.
    const first = await runPod({
      env,
      volumes: podVolumes(),
      s3,
      awsCli: loggingAwsCli(mkdtempSync(join(tmpdir(), "aws-log-"))).path,
      command: ["sh", "-c", `cat '${records}' > "$TENSORBOARD_LOG_DIR/events.out.tfevents.100.trainer.1.0.v2"; exit 3`],
    });
    expect(first.trainer.code).toBe(3);
    expect(first.agent.stderr).toMatch(/logs: uploaded 1 file\(s\) to s3:\/\/acme-models\/logs\/linear\/23\/trainer-0\//);

    // Second attempt in a new pod: the earlier file is back before the command starts, and the new one joins it.
    const second = await runPod({
      env,
      volumes: podVolumes(),
      s3,
      awsCli: loggingAwsCli(mkdtempSync(join(tmpdir(), "aws-log-"))).path,
      command: ["sh", "-c", `ls "$TENSORBOARD_LOG_DIR"; printf 'later' > "$TENSORBOARD_LOG_DIR/notes.txt"; echo model > "$MODEL_EXPORT_DIR/saved_model.pb"`],
    });
    expect(second.restoreLogs?.stderr).toMatch(/logs: restored s3:\/\/acme-models\/logs\/linear\/23\/trainer-0\/ .*\(1 files\)/);
    expect(second.trainer.stdout).toContain("events.out.tfevents.100.trainer.1.0.v2");
    expect(second.trainer.code).toBe(0);
    expect(await storeKeys(s3, "logs/linear/23/")).toEqual(["logs/linear/23/trainer-0/events.out.tfevents.100.trainer.1.0.v2", "logs/linear/23/trainer-0/notes.txt"]);
    // The restored file was not uploaded again.
    expect(second.agent.stderr).toMatch(/logs: uploaded 1 file\(s\)/);
    expect(await storeBytes("logs/linear/23/trainer-0/events.out.tfevents.100.trainer.1.0.v2")).toEqual(Buffer.concat(RECORDS.slice(0, 2)));
  });

  it("on SIGTERM (preemption), the command is stopped and the pod ends only after its last logs are in the store", async () => {
    const env = pod(24);
    const volumes = podVolumes();
    const dir = mkdtempSync(join(tmpdir(), "records-"));
    writeFileSync(join(dir, "a"), RECORDS[0]!);
    writeFileSync(join(dir, "b"), RECORDS[1]!);
    const awsCli = loggingAwsCli(mkdtempSync(join(tmpdir(), "aws-log-"))).path;
    // No periodic upload during the test: only the last one can bring the second record.
    const agent = startSidecar(TRAINING_SCRIPTS.storeAgent, { ...localStoreEnv(env.agent, volumes, s3, awsCli), ML_PLATFORM_LOGS_INTERVAL: "3600" });
    const trainer = startProcess(
      "sh",
      [
        script(TRAINING_SCRIPTS.entrypoint),
        "sh",
        "-c",
        // A training loop that writes its last summary when told to stop, as summary writers flush on exit.
        `file="$TENSORBOARD_LOG_DIR/${EVENT_FILE}"; cat '${dir}/a' > "$file"; trap 'cat "${dir}/b" >> "$file"; exit 143' TERM; echo started; while :; do sleep 1; done`,
      ],
      { env: { ...withLocalVolumes(env.trainer, volumes), PATH: process.env.PATH, HOME: volumes.root } },
    );
    try {
      await until(() => trainer.output().includes("started"));
      const stopped = await trainer.stop();
      expect(stopped.code).toBe(143);
      expect(stopped.stderr).toContain("waiting for the store agent");
      // By the time the pod's main container is gone, both records are in the store.
      expect(await storeBytes(`logs/linear/24/trainer-0/${EVENT_FILE}`)).toEqual(Buffer.concat(RECORDS.slice(0, 2)));
    } finally {
      const result = await agent.stop();
      expect(result.code).toBe(0);
    }
  });

  it("on SIGTERM before the command handed over, the agent uploads what was written, then stops", async () => {
    const env = pod(25);
    const volumes = podVolumes();
    writeFileSync(join(volumes.logDir, EVENT_FILE), Buffer.concat([RECORDS[0]!, RECORDS[1]!.subarray(0, 9)]));
    const agent = startSidecar(TRAINING_SCRIPTS.storeAgent, {
      ...localStoreEnv(env.agent, volumes, s3, loggingAwsCli(mkdtempSync(join(tmpdir(), "aws-log-"))).path),
      ML_PLATFORM_LOGS_INTERVAL: "3600",
    });
    await until(() => agent.output().includes("store-agent: exporting pod 0"));
    const result = await agent.stop();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("stopping before the command finished: saving what it wrote");
    expect(await storeBytes(`logs/linear/25/trainer-0/${EVENT_FILE}`)).toEqual(RECORDS[0]);
  });

  it("a store that cannot be read does not hold the training back: the restore reports it and the pod starts", async () => {
    const volumes = podVolumes();
    const result = await run("sh", [script(TRAINING_SCRIPTS.logs), "restore"], {
      env: { ...localStoreEnv(pod(26).restoreLogs!, volumes, s3, loggingAwsCli(mkdtempSync(join(tmpdir(), "aws-log-"))).path), AWS_FAIL_AFTER_CALLS: "0", ML_PLATFORM_LOGS_RESTORE_ATTEMPTS: "2" },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/restoring s3:\/\/acme-models\/logs\/linear\/26\/trainer-0\/ failed; trying again in 2s/);
    expect(result.stderr).toMatch(/could not restore .* after 2 tries; starting without the earlier logs \(they stay in the store\)/);
  });
});

/** Waits (up to 30 s) for a condition another process brings about. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
