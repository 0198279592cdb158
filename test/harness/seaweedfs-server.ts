/**
 * A real SeaweedFS server on 127.0.0.1 for the slow suite, run the way the InClusterModelStore runs it: the
 * identity fragments its Secret (and the grants' SecretPatches) hold, joined by the store's own
 * render-identities.sh, and `weed server` with the component's arguments (ports, paths and the S3 bind
 * address moved to this machine). `weed` comes from test/slow/install-seaweedfs.sh (.ci/run runs it).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { seaweedServerArgs } from "../../components/storage/in-cluster/in-cluster-store-specs";
import type { MockRun } from "./pulumi-mocks";
import { run } from "./s3-server";

const REPO = join(__dirname, "../..");
export const STORE_SCRIPTS_DIR = join(REPO, "components/storage/in-cluster/scripts");

export function weedBinary(): string {
  const path = process.env.SEAWEEDFS_WEED ?? execFileSync("sh", [join(REPO, "test/slow/install-seaweedfs.sh")], { encoding: "utf8" }).trim();
  if (!existsSync(path)) throw new Error(`weed not found at ${path}: run test/slow/install-seaweedfs.sh (.ci/run does)`);
  return path;
}

/** A free TCP port on 127.0.0.1 whose +10000 neighbour (SeaweedFS's gRPC port) is free too. */
export async function freePortPair(): Promise<number> {
  const listen = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 25000);
    if ((await listen(port)) && (await listen(port + 10000))) return port;
  }
  throw new Error("no free port pair");
}

/** Stops a process we started: SIGTERM, then SIGKILL if it has not exited after a grace period. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const grace = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 10_000).unref());
  if ((await Promise.race([exited, grace])) === "timeout") {
    child.kill("SIGKILL");
    await exited;
  }
}

const decode = (value: string) => Buffer.from(value, "base64").toString("utf8");

/** The identity fragments the store's identities Secret and its grants' SecretPatches hold (key -> JSON). */
export function renderedFragments(run: MockRun<unknown>, storeName = "models"): Record<string, string> {
  const fragments: Record<string, string> = {};
  for (const [key, value] of Object.entries<string>(run.get("kubernetes:core/v1:Secret", `${storeName}-identities`).inputs.data)) fragments[key] = decode(value);
  for (const patch of run.ofType("kubernetes:core/v1:SecretPatch")) {
    for (const [key, value] of Object.entries<string>(patch.inputs.data)) fragments[key] = decode(value);
  }
  return fragments;
}

/** The credential a grant's Secret (or the admin Secret) holds. */
export function credentialOf(run: MockRun<unknown>, secretName: string): { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string } {
  const data = run.get("kubernetes:core/v1:Secret", secretName).inputs.data;
  return { AWS_ACCESS_KEY_ID: decode(data.AWS_ACCESS_KEY_ID), AWS_SECRET_ACCESS_KEY: decode(data.AWS_SECRET_ACCESS_KEY) };
}

export interface SeaweedFsServer {
  /** `http://127.0.0.1:<port>`: the S3 gateway. */
  endpoint: string;
  /** Directory of the identity fragments (as the Secret volume holds them) and the rendered config file. */
  fragmentsDir: string;
  configFile: string;
  /** Name of this server's process (a uniquely named link to weed), for the reloader's SIGHUP. */
  processName: string;
  log(): string;
  /**
   * What the store's reloader does when grants change: writes the fragments (these and no others), renders the
   * config file and sends the server SIGHUP. The server reloads a moment later; callers wait for the access
   * they need.
   */
  reloadIdentities(fragments: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

async function writeFragments(fragmentsDir: string, configFile: string, fragments: Record<string, string>): Promise<void> {
  mkdirSync(fragmentsDir, { recursive: true });
  for (const file of readdirSync(fragmentsDir)) rmSync(join(fragmentsDir, file));
  for (const [key, value] of Object.entries(fragments)) writeFileSync(join(fragmentsDir, key), value);
  const rendered = await run("dash", [join(STORE_SCRIPTS_DIR, "render-identities.sh"), fragmentsDir, configFile]);
  if (rendered.code !== 0) throw new Error(`render-identities.sh failed: ${rendered.stderr}`);
}

/** Writes the fragments, renders the S3 config with render-identities.sh and starts `weed server` in `work`. */
export async function startSeaweedFs(work: string, fragments: Record<string, string>): Promise<SeaweedFsServer> {
  const fragmentsDir = join(work, "identities");
  const configFile = join(work, "s3.json");
  await writeFragments(fragmentsDir, configFile, fragments);

  const port = await freePortPair();
  const [master, volume, filer] = [await freePortPair(), await freePortPair(), await freePortPair()];
  // A uniquely named link (at most 15 characters, the kernel's limit for process names), so a reloader
  // signals this server and no other weed process.
  const processName = `weed-${port}`;
  const weed = join(work, processName);
  symlinkSync(weedBinary(), weed);
  mkdirSync(join(work, "data"));
  const args = seaweedServerArgs().map((arg) =>
    arg.startsWith("-dir=") ? `-dir=${join(work, "data")}` : arg.startsWith("-s3.config=") ? `-s3.config=${configFile}` : arg === "-s3.ip.bind=0.0.0.0" ? "-s3.ip.bind=127.0.0.1" : arg,
  );
  let log = "";
  const server = spawn(weed, [...args, `-s3.port=${port}`, `-master.port=${master}`, `-volume.port=${volume}`, `-filer.port=${filer}`], {
    cwd: work,
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  server.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    fragmentsDir,
    configFile,
    processName,
    log: () => log,
    async reloadIdentities(next) {
      await writeFragments(fragmentsDir, configFile, next);
      server.kill("SIGHUP");
    },
    stop: () => stopProcess(server),
  };
}
