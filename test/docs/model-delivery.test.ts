/**
 * docs/model-delivery.md is run, not just read: its publishing example runs against an S3-protocol server and must
 * write the manifest and marker the page shows; the log lines it shows are the ones the sync writes when that
 * version is damaged (and an older version has no manifest); its table of rejection reasons is the script's.
 */
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MODEL_SYNC_SCRIPT, MODEL_SYNC_SCRIPT_PATH, modelSyncScripts } from "../../components/serving/sync";
import { AWS_CLI, run, type S3TestServer, startProcess, startS3Server } from "../harness/s3-server";
import { mountedScript } from "../harness/scripts-mount";

const REPO = join(__dirname, "../..");
const page = readFileSync(join(REPO, "docs/model-delivery.md"), "utf8");

/** The fenced code blocks of the page, in order, with their language. */
const blocks = [...page.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, code: m[2]! }));
/** The block right after a sentence of the page. */
function blockAfter(text: string): string {
  const at = page.indexOf(text);
  if (at < 0) throw new Error(`docs/model-delivery.md no longer says ${JSON.stringify(text)}`);
  const match = /^```\w*\n([\s\S]*?)^```$/m.exec(page.slice(at));
  if (!match) throw new Error(`no code block after ${JSON.stringify(text)}`);
  return match[1]!;
}
const withoutTimestamp = (line: string) => line.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /, "");

describe("docs/model-delivery.md", () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server("acme-models");
  });
  afterAll(async () => s3?.close());

  it("has one shell example, and it publishes the manifest and _SUCCESS the page shows", async () => {
    const shell = blocks.filter((block) => block.lang === "sh");
    expect(shell).toHaveLength(1);
    // The example runs from the repository root; here from a folder that has the repository's components/.
    const cwd = mkdtempSync(join(tmpdir(), "docs-example-"));
    symlinkSync(join(REPO, "components"), join(cwd, "components"));
    const result = await run("sh", ["-euc", shell[0]!.code], { cwd, env: { ...s3.env, AWS_CLI }, timeoutMs: 120_000 });
    expect(result.code, result.stderr).toBe(0);

    const stored = async (key: string) => (await fetch(`${s3.endpoint}/acme-models/${key}`)).text();
    expect(await stored("models/linear/3/_MANIFEST")).toBe(blockAfter("It writes `models/linear/3/_MANIFEST`"));
    expect(await stored("models/linear/3/_SUCCESS")).toBe(blockAfter("and then `models/linear/3/_SUCCESS`"));
  }, 180_000);

  it("shows the lines the sync writes when that version's data file was overwritten and version 2 has no manifest", async () => {
    // Runs after the example above published version 3.
    await s3.put("models/linear/3/variables/variables.data-00000-of-00001", "date");
    await s3.put("models/linear/2/saved_model.pb", "graph 2");
    await s3.put("models/linear/2/_SUCCESS", "");
    const work = mkdtempSync(join(tmpdir(), "docs-sync-"));
    writeFileSync(join(work, "store-0.models"), "linear latest 1\n");
    const sidecar = startProcess("sh", [mountedScript("model-sync", modelSyncScripts, MODEL_SYNC_SCRIPT), "watch"], {
      env: { ...s3.env, AWS_CLI, S3_BUCKET: "acme-models", SYNC_MANIFEST: join(work, "store-0.models"), MODELS_DIR: join(work, "models"), SYNC_INTERVAL_SECONDS: "1" },
    });
    let stderr = "";
    try {
      await vi.waitFor(() => expect(sidecar.output()).toContain("ALERT"), { timeout: 120_000, interval: 100 });
    } finally {
      stderr = (await sidecar.stop()).stderr;
    }
    const written = stderr.split("\n").map(withoutTimestamp);
    const alerting = blockAfter("overwritten with `date`").trimEnd().split("\n").map(withoutTimestamp);
    expect(alerting).toHaveLength(2);
    expect(written).toContain(alerting[0]);
    expect(written).toContain(alerting[1]);
    expect(written).toContain(withoutTimestamp(blockAfter("logs one line when it\ntakes it:").trimEnd()));
  }, 180_000);

  it("lists every reason the sync rejects a version for, and no other", () => {
    const script = readFileSync(MODEL_SYNC_SCRIPT_PATH, "utf8");
    const inScript = new Set([...script.matchAll(/\breject ([a-z][a-z0-9-]+) /g), ...script.matchAll(/\breason=([a-z][a-z0-9-]+)/g)].map((m) => m[1]!));
    const alerting = page.slice(page.indexOf("## Alerting"));
    const documented = new Set([...alerting.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]!));
    expect([...documented].sort()).toEqual([...inScript].sort());
  });
});
