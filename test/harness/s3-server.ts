/**
 * A real S3-protocol server (s3rver) on 127.0.0.1, plus the AWS CLI v2 (Debian's `/usr/bin/aws`, or the one
 * ML_PLATFORM_AWS_CLI names) set up to talk to it, for running the shell scripts that ship in containers
 * exactly as they run there.
 *
 * The AWS CLI is used by absolute path because another `aws` (e.g. a pyenv shim) may come first on PATH.
 * Debian's AWS CLI (2.9) predates the `AWS_ENDPOINT_URL*` variables, so scripts must pass `--endpoint-url`
 * themselves when `S3_ENDPOINT` is set, which is what they do in-cluster too.
 *
 * s3rver 3.7.1 answers 500 to any listing that needs a second page (its continuation token uses a cipher
 * OpenSSL 3 no longer offers), so it cannot show what a script does with listings over 1,000 keys. Tests
 * of listings use SeaweedFS instead (`startSeaweedS3`, seaweedfs-s3.ts), which paginates as S3 does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import S3rver from "s3rver";
import { awsCliPath } from "../prerequisites/prerequisites";

export const AWS_CLI = awsCliPath();

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface S3TestServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  bucket: string;
  /**
   * Environment for a script or the AWS CLI: static test credentials, region, `S3_ENDPOINT`, no shared
   * config files and no instance metadata lookups.
   */
  env: NodeJS.ProcessEnv;
  /** Runs `aws <args> --endpoint-url <endpoint>` with the tests' AWS CLI. */
  aws(args: string[]): Promise<CommandResult>;
  /** Uploads one object. */
  put(key: string, body: string | Buffer): Promise<void>;
  /** Every key under a prefix, sorted. */
  keys(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Runs a command and collects its output; never rejects on a non-zero exit. */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    // A child that exits without reading stdin closes the pipe first: that EPIPE is not an error here.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** A long-running process (e.g. a container's main loop) whose output is collected. */
export interface RunningProcess {
  child: ChildProcess;
  /** stdout then stderr so far. */
  output(): string;
  /** SIGTERM (what the kubelet sends) unless it already exited, then its result. */
  stop(): Promise<CommandResult>;
}

/** Starts a process in the background, collecting its output; `stop()` ends it and gives its result. */
export function startProcess(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): RunningProcess {
  const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<CommandResult>((resolve) => child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })));
  return {
    child,
    output: () => stdout + stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Fails with an actionable message when the Debian AWS CLI is missing. */
export function requireAwsCli(): void {
  if (!existsSync(AWS_CLI)) {
    throw new Error(`${AWS_CLI} not found: install Debian's AWS CLI v2 (apt-get install awscli; .ci/run does this), or set ML_PLATFORM_AWS_CLI to an AWS CLI v2`);
  }
}

/** Starts s3rver on 127.0.0.1 with one empty bucket. */
export async function startS3Server(bucket = "models"): Promise<S3TestServer> {
  requireAwsCli();
  const directory = mkdtempSync(join(tmpdir(), "s3rver-"));
  const home = mkdtempSync(join(tmpdir(), "aws-home-"));
  const emptyConfig = join(home, "config");
  writeFileSync(emptyConfig, "");
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = (await server.run()) as AddressInfo;
  const endpoint = `http://127.0.0.1:${address.port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: emptyConfig,
    AWS_SHARED_CREDENTIALS_FILE: emptyConfig,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
    S3_ENDPOINT: endpoint,
  };
  const aws = (args: string[]) => run(AWS_CLI, [...args, "--endpoint-url", endpoint], { env });
  return {
    endpoint,
    bucket,
    env,
    aws,
    async put(key, body) {
      const file = join(home, `upload-${Math.random().toString(36).slice(2)}`);
      writeFileSync(file, body);
      const result = await aws(["s3api", "put-object", "--bucket", bucket, "--key", key, "--body", file]);
      rmSync(file);
      if (result.code !== 0) throw new Error(`put ${key} failed: ${result.stderr}`);
    },
    async keys(prefix = "") {
      const result = await aws(["s3api", "list-objects-v2", "--bucket", bucket, "--prefix", prefix, "--output", "json"]);
      if (result.code !== 0) throw new Error(`list ${prefix} failed: ${result.stderr}`);
      const listing = result.stdout.trim() ? (JSON.parse(result.stdout) as { Contents?: Array<{ Key: string }> }) : {};
      return (listing.Contents ?? []).map((o) => o.Key).sort();
    },
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    },
  };
}
