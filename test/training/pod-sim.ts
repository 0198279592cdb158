/**
 * Runs a training pod's containers on this machine, as the kubelet would: the restore init container
 * (checkpoints.sh restore), the store agent sidecar (store-agent.sh) and the trainer (entrypoint.sh with
 * the command), with the environment of a TrainingJob rendered under mocks. Pod-local volumes become
 * temporary directories, the store is a real S3-protocol server, and the AWS CLI is Debian's, behind a
 * small wrapper that logs every call so tests can check the order of uploads.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TRAINING_SCRIPTS, trainingScripts } from "../../components/training/scripts";
import { AWS_CLI, type CommandResult, run, type RunningProcess, type S3TestServer, startProcess } from "../harness/s3-server";
import { mountedScript } from "../harness/scripts-mount";
import { BUCKET, container, envOf, renderedRoles, type TestArgs, trainingRun } from "./fixtures";

/**
 * A training script as the pods run it: from the scripts ConfigMap TrainingJob ships (written out once per
 * test process), where upload-model.sh finds the store's publish-version.sh beside it.
 */
export function script(file: string): string {
  return mountedScript("training", trainingScripts, file);
}

/**
 * An `aws` that appends its arguments to a log, then runs the real AWS CLI. With AWS_FAIL_AFTER_CALLS=n
 * in its environment, every call after the n-th fails without reaching the store (an outage mid-way);
 * with AWS_FAIL_CALL=n, only the n-th call fails (a hiccup).
 */
export function loggingAwsCli(dir: string): { path: string; calls: () => string[] } {
  const log = join(dir, "aws-calls.log");
  const path = join(dir, "aws");
  writeFileSync(
    path,
    [
      "#!/bin/sh",
      `printf '%s\\n' "$*" >> '${log}'`,
      `calls=$(wc -l < '${log}')`,
      `if [ -n "\${AWS_FAIL_AFTER_CALLS:-}" ] && [ "$calls" -gt "$AWS_FAIL_AFTER_CALLS" ]; then echo "simulated store outage" >&2; exit 255; fi`,
      `if [ "\${AWS_FAIL_CALL:-}" = "$calls" ]; then echo "simulated store hiccup" >&2; exit 255; fi`,
      `exec ${AWS_CLI} "$@"`,
      "",
    ].join("\n"),
  );
  chmodSync(path, 0o755);
  return { path, calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : []) };
}

/**
 * Keys under a prefix, read straight from the test server (anonymous S3 ListObjectsV2), which is much
 * faster than starting the AWS CLI for every look. The scripts under test always use the AWS CLI.
 */
export async function storeKeys(s3: S3TestServer, prefix: string): Promise<string[]> {
  const response = await fetch(`${s3.endpoint}/${s3.bucket}?list-type=2&max-keys=1000&prefix=${encodeURIComponent(prefix)}`);
  if (!response.ok) throw new Error(`listing ${prefix}: HTTP ${response.status}`);
  const xml = await response.text();
  return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]).sort();
}

/** An object's content, read straight from the test server. */
export async function storeObject(s3: S3TestServer, key: string): Promise<string> {
  const response = await fetch(`${s3.endpoint}/${s3.bucket}/${key}`);
  if (!response.ok) throw new Error(`getting ${key}: HTTP ${response.status}`);
  return response.text();
}

/** The pod-local volumes of one simulated pod. */
export interface PodVolumes {
  root: string;
  exportDir: string;
  checkpointDir: string;
  logDir: string;
  stateDir: string;
  /** The store containers' /tmp (the restore containers and the agent share it). */
  agentTmpDir: string;
}

export function podVolumes(): PodVolumes {
  const root = mkdtempSync(join(tmpdir(), "pod-"));
  const volumes = {
    root,
    exportDir: join(root, "export"),
    checkpointDir: join(root, "checkpoints"),
    logDir: join(root, "logs"),
    stateDir: join(root, "state"),
    agentTmpDir: join(root, "agent-tmp"),
  };
  for (const dir of [volumes.exportDir, volumes.checkpointDir, volumes.logDir, volumes.stateDir, volumes.agentTmpDir]) mkdirSync(dir);
  return volumes;
}

/** Literal environment of the exporting pod's containers in a rendered TrainingJob. */
export interface RenderedPodEnv {
  trainer: Record<string, string>;
  agent: Record<string, string>;
  restore?: Record<string, string>;
  restoreLogs?: Record<string, string>;
}

/** Renders a TrainingJob (store bucket BUCKET) and returns its exporting pod's container environment. */
export async function renderedExporterEnv(args: TestArgs): Promise<RenderedPodEnv> {
  const run = await trainingRun(args);
  const exporter = run.result.plan.exporter.role;
  const role = renderedRoles(run).find((r) => r.role === exporter)!;
  const names = [...(role.podSpec.initContainers ?? []), ...role.podSpec.containers].map((c: { name: string }) => c.name);
  return {
    trainer: envOf(container(role.podSpec, "trainer")),
    agent: envOf(container(role.podSpec, "store-agent")),
    ...(names.includes("restore-checkpoints") ? { restore: envOf(container(role.podSpec, "restore-checkpoints")) } : {}),
    ...(names.includes("restore-logs") ? { restoreLogs: envOf(container(role.podSpec, "restore-logs")) } : {}),
  };
}

/** A rendered container environment with its pod-local volumes moved to temporary directories. */
export function withLocalVolumes(rendered: Record<string, string>, volumes: PodVolumes): NodeJS.ProcessEnv {
  const local: NodeJS.ProcessEnv = { ...rendered };
  if ("MODEL_EXPORT_DIR" in rendered) local.MODEL_EXPORT_DIR = volumes.exportDir;
  if ("CHECKPOINT_DIR" in rendered) local.CHECKPOINT_DIR = volumes.checkpointDir;
  if ("ML_PLATFORM_STATE_DIR" in rendered) local.ML_PLATFORM_STATE_DIR = volumes.stateDir;
  if ("TENSORBOARD_LOG_DIR" in rendered) local.TENSORBOARD_LOG_DIR = volumes.logDir;
  if ("LOGS_STATE_DIR" in rendered) local.LOGS_STATE_DIR = join(volumes.agentTmpDir, "ml-platform-logs");
  return local;
}

/** A store-facing container's environment on this machine: local volumes, the test store, the logging CLI. */
export function localStoreEnv(rendered: Record<string, string>, volumes: PodVolumes, s3: S3TestServer, awsCli: string): NodeJS.ProcessEnv {
  if (s3.bucket !== BUCKET || rendered.S3_BUCKET !== BUCKET) throw new Error(`start the S3 test server with bucket ${BUCKET}, as the rendered job uses`);
  // The test server's credentials, endpoint and isolated AWS config (HOME) stand in for the grant's.
  return { ...withLocalVolumes(rendered, volumes), AWS_CLI: awsCli, ...s3.env };
}

/** A sidecar that runs until stopped, like a native sidecar container. */
/** A sidecar: `stop()` sends SIGTERM (what the kubelet does once the main containers exited) and waits for the exit. */
export type Sidecar = RunningProcess;

export function startSidecar(file: string, env: NodeJS.ProcessEnv): Sidecar {
  return startProcess("sh", [script(file)], { env });
}

export interface PodRun {
  restore?: CommandResult;
  restoreLogs?: CommandResult;
  trainer: CommandResult;
  agent: CommandResult;
}

/**
 * Runs one pod to completion: the restore init containers (checkpoints, logs) the job has, then the store
 * agent beside the trainer, then stops the agent once the trainer exited.
 */
export async function runPod(options: {
  env: RenderedPodEnv;
  volumes: PodVolumes;
  s3: S3TestServer;
  awsCli: string;
  command: string[];
  /** Extra environment for the trainer (e.g. the training command's own settings). */
  trainerEnv?: NodeJS.ProcessEnv;
  /** The pod's index in its indexed Job (JOB_COMPLETION_INDEX, set in every container). @default unset (0) */
  index?: number;
  /** Extra environment for the store agent (e.g. shorter retry pauses). */
  agentEnv?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}): Promise<PodRun> {
  const { env, volumes, s3, awsCli } = options;
  const podIndex: NodeJS.ProcessEnv = options.index === undefined ? {} : { JOB_COMPLETION_INDEX: String(options.index) };
  const result: Partial<PodRun> = {};
  if (env.restore) {
    result.restore = await run("sh", [script(TRAINING_SCRIPTS.checkpoints), "restore"], { env: { ...localStoreEnv(env.restore, volumes, s3, awsCli), ...podIndex } });
    if (result.restore.code !== 0) throw new Error(`checkpoint restore failed: ${result.restore.stderr}`);
  }
  if (env.restoreLogs) {
    result.restoreLogs = await run("sh", [script(TRAINING_SCRIPTS.logs), "restore"], { env: { ...localStoreEnv(env.restoreLogs, volumes, s3, awsCli), ...podIndex } });
    if (result.restoreLogs.code !== 0) throw new Error(`logs restore failed: ${result.restoreLogs.stderr}`);
  }
  const agent = startSidecar(TRAINING_SCRIPTS.storeAgent, { ...localStoreEnv(env.agent, volumes, s3, awsCli), ...podIndex, ...options.agentEnv });
  try {
    result.trainer = await run("sh", [script(TRAINING_SCRIPTS.entrypoint), ...options.command], {
      // The trainer gets no store credentials, as in the cluster.
      env: { ...withLocalVolumes(env.trainer, volumes), PATH: process.env.PATH, HOME: volumes.root, ...podIndex, ...options.trainerEnv },
      timeoutMs: options.timeoutMs ?? 60_000,
    });
  } finally {
    result.agent = await agent.stop();
  }
  return result as PodRun;
}
