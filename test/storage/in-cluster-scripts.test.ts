/**
 * The in-cluster store's container scripts, run as files with Debian's dash: rendering identities from
 * Secret fragments, the reloader that signals the server, and the curl-based S3 client against a real
 * S3-protocol server (s3rver). test/slow/ runs them against a real SeaweedFS server too.
 */
import { spawn } from "node:child_process";
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminIdentity, grantIdentity, identityFragment, s3Configuration } from "../../components/storage/in-cluster/seaweedfs-identities";
import { run, startS3Server, type S3TestServer } from "../harness/s3-server";

const SCRIPTS = join(__dirname, "../../components/storage/in-cluster/scripts");
const script = (name: string) => join(SCRIPTS, name);

const admin = adminIdentity({ accessKey: "ADMINKEY", secretKey: "adminsecret" });
const reader = grantIdentity({ grantName: "serving", bucket: "models", grants: [{ prefix: "models/linear/", access: "read" }], credential: { accessKey: "READKEY", secretKey: "readsecret" } });

/** A directory laid out like a Kubernetes Secret volume: keys are symlinks into a hidden ..data dir. */
function secretVolume(fragments: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "identities-"));
  const data = join(dir, "..2026_01_01_00_00_00.000");
  mkdirSync(data);
  for (const [key, value] of Object.entries(fragments)) {
    writeFileSync(join(data, key), value);
  }
  symlinkSync(data, join(dir, "..data"));
  for (const key of Object.keys(fragments)) symlinkSync(join("..data", key), join(dir, key));
  return dir;
}

describe("render-identities.sh", () => {
  it("joins the fragments into the configuration the builders describe, and reports whether it changed", async () => {
    const volume = secretVolume({ "admin.json": identityFragment(admin), "grant-serving.json": identityFragment(reader) });
    const out = join(mkdtempSync(join(tmpdir(), "config-")), "s3.json");
    const first = await run("dash", [script("render-identities.sh"), volume, out]);
    expect(first).toMatchObject({ code: 0, stdout: "changed\n" });
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(s3Configuration([admin, reader]));
    const second = await run("dash", [script("render-identities.sh"), volume, out]);
    expect(second).toMatchObject({ code: 0, stdout: "unchanged\n" });
  });

  it("refuses to write a configuration without identities (which would deny everyone) and keeps the old one", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "config-")), "s3.json");
    writeFileSync(out, "previous");
    const result = await run("dash", [script("render-identities.sh"), secretVolume({}), out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no identity fragments/);
    expect(readFileSync(out, "utf8")).toBe("previous");
    expect((await run("dash", [script("render-identities.sh"), "/nonexistent", out])).stderr).toMatch(/does not exist/);
  });
});

describe("reload-identities.sh", () => {
  it("re-renders when a grant is added and signals the server process with SIGHUP", async () => {
    const work = mkdtempSync(join(tmpdir(), "reload-"));
    const fragments = join(work, "fragments");
    mkdirSync(fragments);
    writeFileSync(join(fragments, "admin.json"), identityFragment(admin));
    const config = join(work, "s3.json");
    const marker = join(work, "hups");
    // A stand-in server with a unique process name that records each SIGHUP.
    const serverName = `fakeweed${process.pid % 100000}`;
    const server = join(work, serverName);
    copyFileSync(join(__dirname, "fixtures/record-sighup.sh"), server);
    chmodSync(server, 0o755);
    const fake = spawn(server, [marker], { stdio: "ignore" });
    const hups = () => (existsSync(marker) ? readFileSync(marker, "utf8").split("\n").filter((l) => l === "hup").length : 0);
    await waitFor(() => existsSync(marker), 10_000);
    const reloader = spawn("dash", [script("reload-identities.sh"), fragments, config, "1"], { env: { ...process.env, SERVER_PROCESS: serverName }, stdio: "pipe" });
    let log = "";
    reloader.stdout.on("data", (d: Buffer) => (log += d.toString()));
    try {
      // The first render is a change too.
      await waitFor(() => existsSync(config) && hups() === 1, 10_000);
      expect(JSON.parse(readFileSync(config, "utf8"))).toEqual(s3Configuration([admin]));
      writeFileSync(join(fragments, "grant-serving.json"), identityFragment(reader));
      await waitFor(() => hups() === 2, 10_000);
      expect(JSON.parse(readFileSync(config, "utf8"))).toEqual(s3Configuration([admin, reader]));
      expect(log).toMatch(/identities changed; signalled fakeweed/);
      // Removing a grant (its key leaves the Secret) revokes it the same way.
      rmSync(join(fragments, "grant-serving.json"));
      await waitFor(() => hups() === 3, 10_000);
      expect(JSON.parse(readFileSync(config, "utf8"))).toEqual(s3Configuration([admin]));
    } finally {
      reloader.kill("SIGTERM");
      fake.kill("SIGTERM");
      rmSync(work, { recursive: true, force: true });
    }
  });
});

/** Polls a condition (a file appearing) with a deadline; the processes under test work on their own clock. */
async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("s3-client.sh against a real S3-protocol server", () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server("models");
  });
  afterAll(async () => {
    await s3.close();
  });

  const env = (overrides: Record<string, string>) => ({ ...s3.env, S3_BUCKET: "models", WAIT_TIMEOUT_SECONDS: "3", WAIT_INTERVAL_SECONDS: "1", ...overrides });

  it("creates a bucket, and succeeds again when it exists (idempotent)", async () => {
    const first = await run("dash", [script("s3-client.sh"), "create-bucket"], { env: env({ S3_BUCKET: "fresh-bucket" }) });
    expect(first.stdout).toMatch(/create bucket fresh-bucket: HTTP 200/);
    expect(first.code).toBe(0);
    const again = await run("dash", [script("s3-client.sh"), "create-bucket"], { env: env({ S3_BUCKET: "fresh-bucket" }) });
    expect(again.stdout).toMatch(/create bucket fresh-bucket: HTTP 409/);
    expect(again.code).toBe(0);
    expect((await s3.aws(["s3api", "head-bucket", "--bucket", "fresh-bucket"])).code).toBe(0);
  });

  it("waits for access with valid credentials and gives up, saying why, with rejected ones", async () => {
    await s3.put("models/linear/1/_SUCCESS", "");
    const ok = await run("dash", [script("s3-client.sh"), "wait-for-access", "models/linear/"], { env: env({}) });
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/list s3:\/\/models\/models\/linear\/: HTTP 200/);

    const denied = await run("dash", [script("s3-client.sh"), "wait-for-access", "models/linear/"], { env: env({ AWS_ACCESS_KEY_ID: "WRONG" }) });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/gave up after 3s; last answer HTTP 403/);
    // The credential never appears on the command line or in the output.
    expect(denied.stderr + denied.stdout).not.toContain(s3.env.AWS_SECRET_ACCESS_KEY as string);
  });

  it("fails fast on a missing setting or a bad command", async () => {
    const missing = await run("dash", [script("s3-client.sh"), "create-bucket"], { env: { PATH: process.env.PATH } });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/S3_ENDPOINT is required/);
    const usage = await run("dash", [script("s3-client.sh"), "delete-everything"], { env: env({}) });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/usage:/);
  });
});
