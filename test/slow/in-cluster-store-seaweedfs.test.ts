/**
 * The in-cluster store's identity configuration, proved on a real SeaweedFS server (no Kubernetes): the
 * identities the InClusterModelStore renders under mocks are written out as its Secret volume would hold
 * them, joined by the real render-identities.sh, and served by `weed server` with the component's own
 * arguments (ports and paths moved to a temporary directory on 127.0.0.1). The AWS CLI (/usr/bin/aws)
 * then shows what each grant can and cannot do, and the real reloader adds and revokes a grant on a
 * running server. `weed` comes from test/slow/install-seaweedfs.sh (.ci/run runs it).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InClusterModelStore } from "../../components/storage/in-cluster/in-cluster-model-store";
import type { MockRun } from "../harness/pulumi-mocks";
import { runInMocks } from "../harness/pulumi-mocks";
import { AWS_CLI, type CommandResult, requireAwsCli, run } from "../harness/s3-server";
import { credentialOf, renderedFragments, type SeaweedFsServer, STORE_SCRIPTS_DIR as SCRIPTS, startSeaweedFs } from "../harness/seaweedfs-server";

describe("InClusterModelStore identities on a real SeaweedFS server", () => {
  const work = mkdtempSync(join(tmpdir(), "seaweedfs-"));
  let server: SeaweedFsServer | undefined;
  let reloader: ChildProcess | undefined;
  let endpoint = "";
  let mocks: MockRun<unknown>;
  let extraGrant: MockRun<unknown>;

  const baseEnv = (credential: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string }): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: work,
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    S3_ENDPOINT: endpoint,
    S3_BUCKET: "models",
    ...credential,
  });
  const aws = (credential: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string }, args: string[]): Promise<CommandResult> =>
    run(AWS_CLI, [...args, "--endpoint-url", endpoint], { env: baseEnv(credential), cwd: work });
  const s3Client = (credential: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string }, args: string[], timeoutSeconds = 20) =>
    run("dash", [join(SCRIPTS, "s3-client.sh"), ...args], {
      env: { ...baseEnv(credential), WAIT_TIMEOUT_SECONDS: String(timeoutSeconds), WAIT_INTERVAL_SECONDS: "1" },
      timeoutMs: (timeoutSeconds + 30) * 1000,
    });
  const writeFragments = (fragments: Record<string, string>) => {
    for (const [key, value] of Object.entries(fragments)) writeFileSync(join(server!.fragmentsDir, key), value);
  };

  beforeAll(async () => {
    requireAwsCli();
    mocks = await runInMocks(() => {
      const store = new InClusterModelStore("models");
      store.grantAccess("serving", { access: "read", models: ["linear"], serviceAccount: { clusterName: "local", namespace: "serving", name: "serving" } });
      store.grantAccess("training", { access: "write", models: ["linear"], checkpoints: true, serviceAccount: { clusterName: "local", namespace: "training", name: "trainer" } });
    });
    extraGrant = await runInMocks(() => {
      const store = new InClusterModelStore("models");
      store.grantAccess("late", { access: "read", models: ["linear"], serviceAccount: { clusterName: "local", namespace: "serving", name: "late" } });
    });

    server = await startSeaweedFs(work, renderedFragments(mocks));
    endpoint = server.endpoint;

    // The store's bucket job: create-bucket retries until the server answers.
    const admin = credentialOf(mocks, "models-admin-credentials");
    const created = await s3Client(admin, ["create-bucket"], 90);
    expect(created.code, `${created.stdout}${created.stderr}\n${server.log().slice(-3000)}`).toBe(0);
  }, 240_000);

  afterAll(async () => {
    reloader?.kill("SIGTERM");
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it("creates the bucket idempotently with the admin identity", async () => {
    const again = await s3Client(credentialOf(mocks, "models-admin-credentials"), ["create-bucket"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/HTTP 409/);
  });

  it("lets a write grant upload (multipart too) only under its models and checkpoints", async () => {
    const trainer = credentialOf(mocks, "training-store-credentials");
    const file = join(work, "model.bin");
    writeFileSync(file, Buffer.alloc(12 * 1024 * 1024, 7));
    writeFileSync(join(work, "empty"), "");
    const upload = await aws(trainer, ["s3", "cp", file, "s3://models/models/linear/1/variables/variables.data-00000-of-00001"]);
    expect(upload.code, upload.stderr).toBe(0);
    expect((await aws(trainer, ["s3", "cp", join(work, "empty"), "s3://models/models/linear/1/_SUCCESS"])).code).toBe(0);
    expect((await aws(trainer, ["s3", "cp", join(work, "empty"), "s3://models/checkpoints/linear/1/ckpt-1.index"])).code).toBe(0);

    const elsewhere = await aws(trainer, ["s3", "cp", join(work, "empty"), "s3://models/models/other/1/_SUCCESS"]);
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toMatch(/AccessDenied/);
    const root = await aws(trainer, ["s3", "cp", join(work, "empty"), "s3://models/linear-at-root"]);
    expect(root.stderr).toMatch(/AccessDenied/);
  });

  it("lets a read grant list and get its model, and nothing else", async () => {
    const serving = credentialOf(mocks, "serving-store-credentials");
    const ready = await s3Client(serving, ["wait-for-access", "models/linear/"]);
    expect(ready.code, ready.stderr).toBe(0);
    const listing = await aws(serving, ["s3api", "list-objects-v2", "--bucket", "models", "--prefix", "models/linear/", "--output", "json"]);
    expect(listing.code, listing.stderr).toBe(0);
    const keys = (JSON.parse(listing.stdout) as { Contents: Array<{ Key: string }> }).Contents.map((o) => o.Key).sort();
    expect(keys).toEqual(["models/linear/1/_SUCCESS", "models/linear/1/variables/variables.data-00000-of-00001"]);
    const download = await aws(serving, ["s3", "cp", "s3://models/models/linear/1/_SUCCESS", join(work, "downloaded")]);
    expect(download.code, download.stderr).toBe(0);

    const put = await aws(serving, ["s3", "cp", join(work, "empty"), "s3://models/models/linear/2/_SUCCESS"]);
    expect(put.stderr).toMatch(/AccessDenied/);
    const remove = await aws(serving, ["s3", "rm", "s3://models/models/linear/1/_SUCCESS"]);
    expect(remove.stderr).toMatch(/AccessDenied/);
    expect((await aws(serving, ["s3", "ls", "s3://models/"])).stderr).toMatch(/AccessDenied/);
    expect((await aws(serving, ["s3", "ls", "s3://models/checkpoints/linear/"])).stderr).toMatch(/AccessDenied/);
    expect((await aws(serving, ["s3", "cp", "s3://models/checkpoints/linear/1/ckpt-1.index", join(work, "x")])).code).not.toBe(0);
  });

  it("adds and revokes a grant on the running server through the reloader, without a restart", async () => {
    const late = credentialOf(extraGrant, "late-store-credentials");
    const before = await aws(late, ["s3", "ls", "s3://models/models/linear/"]);
    expect(before.stderr).toMatch(/InvalidAccessKeyId/);

    reloader = spawn("dash", [join(SCRIPTS, "reload-identities.sh"), server!.fragmentsDir, server!.configFile, "1"], {
      env: { PATH: process.env.PATH, SERVER_PROCESS: server!.processName },
      stdio: "ignore",
    });
    // The grant's key appears in the Secret volume, as a SecretPatch would add it.
    const lateKey = "grant-late.json";
    writeFragments({ [lateKey]: renderedFragments(extraGrant)[lateKey] });
    const granted = await s3Client(late, ["wait-for-access", "models/linear/"], 30);
    expect(granted.code, granted.stderr).toBe(0);

    // Deleting the patch removes the key: the identity is gone on the next reload.
    rmSync(join(server!.fragmentsDir, lateKey));
    const ls = ["s3", "ls", "s3://models/models/linear/"];
    let listing = await aws(late, ls);
    for (let attempt = 0; attempt < 60 && listing.code === 0; attempt++) listing = await aws(late, ls);
    expect(listing.stderr).toMatch(/InvalidAccessKeyId/);
    // The other grants were untouched by the reloads.
    expect((await aws(credentialOf(mocks, "serving-store-credentials"), ["s3", "ls", "s3://models/models/linear/"])).code).toBe(0);
  }, 120_000);
});
