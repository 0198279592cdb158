/**
 * The real StackWorkspace (Pulumi's Automation API) at its seam: there is no Pulumi CLI here, so the
 * Automation API runs a stand-in CLI (fixtures/fake-pulumi.js) that records every call and answers as
 * the CLI does. This checks the commands and arguments the promotion would run, in which directory,
 * and how their answers are read; not Pulumi itself.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PulumiCommand } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { automationWorkspace, configEntryValue, describePulumiFailure, PULUMI_CLI_MISSING, releasesConfigJson } from "../../promote/automation-workspace";
import type { StackWorkspace } from "../../promote/workspace";

const REPO_ROOT = path.resolve(__dirname, "../..");
const dir = mkdtempSync(path.join(tmpdir(), "fake-pulumi-"));
const logFile = path.join(dir, "calls.jsonl");
const stateFile = path.join(dir, "state.json");

let workspace: StackWorkspace;

beforeAll(async () => {
  // PulumiCommand.get({ root }) runs <root>/bin/pulumi, as it would a real installation
  mkdirSync(path.join(dir, "bin"));
  const cli = path.join(dir, "bin", "pulumi");
  writeFileSync(cli, `#!/bin/sh\nexec "${process.execPath}" "${path.join(__dirname, "fixtures", "fake-pulumi.js")}" "$@"\n`);
  chmodSync(cli, 0o755);
  const pulumiCommand = await PulumiCommand.get({ root: dir });
  workspace = await automationWorkspace({
    workDir: REPO_ROOT,
    pulumiCommand,
    envVars: { FAKE_PULUMI_LOG: logFile, FAKE_PULUMI_STATE: stateFile },
    message: "ml-platform promotion",
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const outputs = { releases: { linear: { versions: [4], labels: { stable: 4 } } }, smokeTargets: { endpoints: [] } };

beforeEach(() => {
  writeFileSync(logFile, "");
  writeFileSync(stateFile, JSON.stringify({ config: { "aws:region": "us-west-2", "ml-platform:releases": { linear: { versions: ["4"], labels: { stable: "4" } } } }, outputs }));
});

/** The CLI calls made since the test started: arguments, and the directory they ran in. */
function calls(): Array<{ args: string[]; cwd: string }> {
  return readFileSync(logFile, "utf8").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as { args: string[]; cwd: string });
}

const state = () => JSON.parse(readFileSync(stateFile, "utf8")) as { config: Record<string, unknown> };

describe("the Automation API workspace", () => {
  it("reads outputs and the promotion path with the stack's config, in the project directory", async () => {
    expect(await workspace.outputs("prod")).toEqual(outputs);
    expect(await workspace.readReleases("prod")).toEqual({ linear: { versions: ["4"], labels: { stable: "4" } } });
    expect(calls()).toEqual([
      { args: ["stack", "select", "--stack", "prod", "--non-interactive"], cwd: REPO_ROOT },
      { args: ["stack", "output", "--json", "--stack", "prod", "--non-interactive"], cwd: REPO_ROOT },
      { args: ["stack", "output", "--json", "--show-secrets", "--stack", "prod", "--non-interactive"], cwd: REPO_ROOT },
      { args: ["config", "--show-secrets", "--json", "--stack", "prod", "--non-interactive"], cwd: REPO_ROOT },
    ]);
  });

  it("writes the promotion path as one object with `config set-all --json`, and reads back exactly what it wrote", async () => {
    const value = { linear: { versions: [4, 5], labels: { stable: 4, canary: 5 } }, vision: { versions: ["7"], labels: { stable: "7" } } };
    await workspace.writeReleases("prod", value);
    expect(calls()).toEqual([{ args: ["config", "set-all", "--stack", "prod", "--json", releasesConfigJson(value), "--non-interactive"], cwd: REPO_ROOT }]);
    expect(JSON.parse(releasesConfigJson(value))).toEqual({ "ml-platform:releases": { value: JSON.stringify(value), objectValue: value, secret: false } });
    expect(await workspace.readReleases("prod")).toEqual(value);
    expect(state().config["aws:region"]).toBe("us-west-2");
  });

  it("removes the key for an absent value, and only when it is there", async () => {
    await workspace.writeReleases("prod", undefined);
    await workspace.writeReleases("prod", undefined);
    expect(calls().map((c) => c.args)).toEqual([
      ["config", "--show-secrets", "--json", "--stack", "prod", "--non-interactive"],
      ["config", "rm", "ml-platform:releases", "--stack", "prod", "--non-interactive"],
      ["config", "--show-secrets", "--json", "--stack", "prod", "--non-interactive"],
    ]);
    expect(await workspace.readReleases("prod")).toBeUndefined();
  });

  it("previews with a diff, streaming the CLI's output, and reads the change summary from the engine events", async () => {
    let streamed = "";
    const preview = await workspace.preview("prod", (text) => (streamed += text));
    expect(preview).toEqual({ changeSummary: { update: 1, same: 11 } });
    expect(streamed).toBe("Previewing update (prod):\n  ~ ml-platform:serving:TfServing linear update\n");
    const [call] = calls();
    expect(call!.args.slice(0, 6)).toEqual(["preview", "--message", "ml-platform promotion", "--diff", "--color", "never"]);
    expect(call!.args).toEqual(expect.arrayContaining(["--exec-kind", "auto.local", "--stack", "prod", "--non-interactive"]));
    expect(call!.args[call!.args.indexOf("--event-log") + 1]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
  });

  it("updates without prompting, then reads the outputs and the update's summary", async () => {
    let streamed = "";
    const up = await workspace.up("prod", (text) => (streamed += text));
    expect(up).toEqual({ outputs, changeSummary: { update: 1, same: 11 } });
    expect(streamed).toBe("Updating (prod):\n  ~ ml-platform:serving:TfServing linear updated\n");
    expect(calls().map((c) => c.args)).toEqual([
      ["up", "--yes", "--skip-preview", "--message", "ml-platform promotion", "--color", "never", "--exec-kind", "auto.local", "--stack", "prod", "--non-interactive"],
      ["stack", "output", "--json", "--stack", "prod", "--non-interactive"],
      ["stack", "output", "--json", "--show-secrets", "--stack", "prod", "--non-interactive"],
      ["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", "prod", "--non-interactive"],
    ]);
  });

  it("reports a failed update with the operation and Pulumi's own error, which it also streams", async () => {
    writeFileSync(stateFile, JSON.stringify({ ...JSON.parse(readFileSync(stateFile, "utf8")), failUp: true }));
    let streamed = "";
    await expect(workspace.up("prod", (text) => (streamed += text))).rejects.toThrow(
      "pulumi up --stack prod failed: exit 255: error: update failed: 1 error occurred:\n    * the Deployment linear did not become ready",
    );
    expect(streamed).toBe("error: update failed: 1 error occurred:\n    * the Deployment linear did not become ready\n");
  });
});

describe("reading Pulumi's answers", () => {
  it("takes an object's objectValue, else its JSON, else its text; refuses a secret", () => {
    expect(configEntryValue({ value: '{"a":1}', objectValue: { a: "1" } })).toEqual({ a: "1" });
    expect(configEntryValue({ value: '{"a":1}' })).toEqual({ a: 1 });
    expect(configEntryValue({ value: "plain" })).toBe("plain");
    expect(() => configEntryValue({ value: "[secret]", secret: true })).toThrow("ml-platform:releases is a secret; the promotion path must be plain config");
  });

  it("describes a missing CLI and any other failure", () => {
    expect(describePulumiFailure({ commandResult: { code: -2, stdout: "", stderr: "spawn pulumi ENOENT", err: { code: "ENOENT" } } })).toBe(
      PULUMI_CLI_MISSING,
    );
    const conflict = "error: [409] Conflict: Another update is currently in progress.\n";
    expect(describePulumiFailure({ commandResult: { code: -2, stdout: "", stderr: "Command failed with exit code 255", err: { exitCode: 255, stdout: "", stderr: conflict } } })).toBe(
      "exit 255: error: [409] Conflict: Another update is currently in progress.",
    );
    expect(describePulumiFailure(new Error("plain"))).toBe("plain");
  });
});

// The preview's summary arrives by engine event; a warning from the Automation API would mean it did not.
vi.spyOn(console, "warn");
afterAll(() => expect(console.warn).not.toHaveBeenCalled());
