/**
 * The promotion command line: `main(argv, io, deps)` in-process (usage errors, a whole run with the fake
 * workspace and the real smoke library, the JSON report, the smoke command), and the npm script as CI
 * runs it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { main, type MainDeps, type PromoteIo } from "../../promote/main";
import type { PromotionReport } from "../../promote/report";
import type { SmokeReport } from "../../smoke-tests/lib/index";
import { run } from "../harness/s3-server";
import { FakeStacks } from "./fake-stacks";

const REPO_ROOT = path.resolve(__dirname, "../..");
const dir = mkdtempSync(path.join(tmpdir(), "promote-main-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fake: FakeStacks | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const FAST_SMOKE = { SMOKE_WAIT_SECONDS: "2", SMOKE_LATENCY_SAMPLES: "2" };

function captureIo(env: NodeJS.ProcessEnv = FAST_SMOKE): PromoteIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, env, cwd: dir, out: () => out, err: () => err };
}

/** Deps whose workspace must not be reached (usage errors stop before it). */
const unreachable: MainDeps = {
  workspace: () => {
    throw new Error("the workspace was opened");
  },
};

const stable = (version: number) => ({ versions: [version], labels: { stable: version } });

describe("main: usage errors exit 2 before anything is read", () => {
  it.each([
    [[], "Missing required arguments: from, to"],
    [["--from", "staging"], "Missing required argument: to"],
    [["--from", "prod", "--to", "prod"], "--from and --to name the same stack (prod)"],
    [["--from", "staging", "--to", "prod", "--version", "5"], "--version needs --model: which model's version to promote"],
    [["--from", "staging", "--to", "prod", "--model", "linear", "--version", "0"], '--version must be a positive whole number (got "0")'],
    [["--from", "staging", "--to", "prod", "--model", "linear", "--version", "5a"], '--version must be a positive whole number (got "5a")'],
    [["--from", "staging", "--to", "prod", "--canry"], "Unknown argument: canry"],
    [["--from", "staging", "--to", "prod", "extra"], "Unknown argument: extra"],
    [["--from", "staging prod", "--to", "prod"], '--from must be a stack name such as prod or org/project/prod (got "staging prod")'],
    [["--from", "staging", "--to", "prod", "--port-forward", "--kube-context", "staging"], '--kube-context must be STACK=CONTEXT (got "staging")'],
    [["--from", "staging", "--to", "prod", "--kube-context", "staging=ctx"], "--kube-context applies only with --port-forward"],
    [["smoke"], "Missing required argument: stack"],
  ])("%j", async (argv, message) => {
    const io = captureIo();
    expect(await main(argv, io, unreachable)).toBe(2);
    const command = argv[0] === "smoke" ? "smoke:stack" : "promote";
    expect(io.err()).toBe(`${command}: error: ${message}\nRun "npm run ${command} -- --help" for usage.\n`);
    expect(io.out()).toBe("");
  });

  it("refuses unusable smoke settings, and SMOKE_ENDPOINT_ADDRESSES (one cluster's addresses) for two stacks", async () => {
    const bad = captureIo({ SMOKE_WAIT_SECONDS: "soon" });
    expect(await main(["--from", "staging", "--to", "prod"], bad, unreachable)).toBe(2);
    expect(bad.err()).toBe("promote: error: invalid smoke suite settings:\n  - SMOKE_WAIT_SECONDS: must be a number of seconds >= 0, e.g. 300\n");
    const addresses = captureIo({ SMOKE_ENDPOINT_ADDRESSES: "linear=127.0.0.1:8500" });
    expect(await main(["--from", "staging", "--to", "prod"], addresses, unreachable)).toBe(2);
    expect(addresses.err()).toMatch(/^promote: error: SMOKE_ENDPOINT_ADDRESSES does not apply here .*use --port-forward/);
  });

  it("prints help on stdout with the exit codes", async () => {
    const io = captureIo();
    expect(await main(["--help"], io, unreachable)).toBe(0);
    expect(io.out()).toContain("npm run promote -- --from STACK --to STACK [--model NAME [--version N]] [--canary] [--dry-run]");
    expect(io.out()).toContain("  3  the target failed and was rolled back to its previous config\n");
    expect(io.err()).toBe("");
  });
});

describe("main: a run", () => {
  it("promotes with the plan and summary on stdout, progress on stderr, and the JSON report in --report", async () => {
    fake = await FakeStacks.start({ staging: { releases: { linear: stable(5) } }, prod: { releases: { linear: stable(4) } } });
    const workspace = fake;
    const io = captureIo();
    const code = await main(["--from", "staging", "--to", "prod", "--model", "linear", "--report", "out/report.json"], io, { workspace: async () => workspace });

    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(path.join(dir, "out", "report.json"), "utf8")) as PromotionReport;
    expect(report).toMatchObject({ format: "ml-platform/promotion-report@1", outcome: "promoted", exitCode: 0, changed: true, request: { model: "linear", version: null, canary: false, dryRun: false } });
    expect(report.smoke.map((s) => [s.phase, s.gate.passed, s.report.format])).toEqual([
      ["source", true, "ml-platform/smoke-report@1"],
      ["promote", true, "ml-platform/smoke-report@1"],
    ]);
    expect(io.out()).toMatch(/^plan: promote staging -> prod\n  linear: version 4 \(stable 4\) -> version 5 \(stable 5\)\n/);
    expect(io.out()).toMatch(/\npromote staging -> prod: promoted linear 5 \(exit 0, \d+\.\d s\)\n  source smoke \(staging\): passed \(5 passed, 0 failed, 0 skipped\)\n  promote smoke \(prod\): passed \(5 passed, 0 failed, 0 skipped\)\n  report: out\/report\.json\n$/);
    expect(io.err()).toContain("[source smoke] endpoint linear: 5 passed, 0 failed, 0 skipped");
    expect(io.err()).toContain("Updating (prod):");
    expect(io.out()).not.toContain("[source smoke]");
  });

  it("exits 2 without writing a report when the Pulumi project cannot be opened (the run never started)", async () => {
    const io = captureIo();
    const code = await main(["--from", "staging", "--to", "prod", "--report", "never.json"], io, {
      workspace: () => Promise.reject(new Error("opening the Pulumi project in /repo failed: the pulumi CLI was not found on PATH")),
    });
    expect(code).toBe(2);
    expect(existsSync(path.join(dir, "never.json"))).toBe(false);
    expect(io.out()).toBe("");
    expect(io.err()).toBe("promote: error: opening the Pulumi project in /repo failed: the pulumi CLI was not found on PATH\n");
  });

  it("smoke:stack errors are its own", async () => {
    const io = captureIo();
    const code = await main(["smoke", "--stack", "dev"], io, { workspace: () => Promise.reject(new Error("no project")) });
    expect(code).toBe(2);
    expect(io.err()).toBe("smoke:stack: error: no project\n");
  });

  it("keeps the promotion's exit code when the report cannot be written", async () => {
    fake = await FakeStacks.start({ staging: { releases: { linear: stable(5) } }, prod: { releases: { linear: stable(4) } } });
    const workspace = fake;
    writeFileSync(path.join(dir, "a-file"), "");
    const io = captureIo();
    const code = await main(["--from", "staging", "--to", "prod", "--report", "a-file/report.json"], io, { workspace: async () => workspace });
    expect(code).toBe(0);
    expect(workspace.configOf("prod")).toEqual({ linear: stable(5) });
    expect(io.err()).toMatch(/promote: error: cannot write the report .*a-file\/report\.json: /);
  });

  it("smoke: gates one deployed stack, and fails one whose targets list nothing", async () => {
    fake = await FakeStacks.start({ dev: { releases: { linear: stable(1) } }, empty: { releases: undefined } });
    const workspace = fake;
    const ok = captureIo();
    expect(await main(["smoke", "--stack", "dev", "--report", "dev-smoke.json"], ok, { workspace: async () => workspace })).toBe(0);
    expect((JSON.parse(readFileSync(path.join(dir, "dev-smoke.json"), "utf8")) as SmokeReport).counts).toEqual({ passed: 5, failed: 0, skipped: 0 });
    expect(ok.out()).toMatch(/^smoke: 5 passed, 0 failed, 0 skipped; 1 endpoint\(s\) from stack dev \(smokeTargets output\) in \d+\.\d s\n[\s\S]*gate: passed\n  report: dev-smoke\.json\n$/);

    const empty = captureIo();
    expect(await main(["smoke", "--stack", "empty"], empty, { workspace: async () => workspace })).toBe(1);
    expect(empty.out()).toContain("gate: FAILED\n  - nothing was checked: the smoke targets list no endpoints (an empty smoke is not a pass)\n");
  });
});

describe("npm run promote", () => {
  it("without a Pulumi CLI: says how to get it, exits 2, and leaves no report", async () => {
    // only Node (and npm, which comes with it or from /usr/bin) on PATH: this machine has no pulumi
    const PATH = [path.dirname(process.execPath), "/usr/bin", "/bin"].join(path.delimiter);
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST"))), PATH };
    const report = path.join(dir, "no-cli-report.json");
    const result = await run("npm", ["run", "--silent", "promote", "--", "--from", "staging", "--to", "prod", "--report", report], { cwd: REPO_ROOT, env, timeoutMs: 60_000 });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^promote: error: opening the Pulumi project in .* failed: the pulumi CLI was not found on PATH\. Install the Pulumi CLI 3\.214 or later: https:\/\/www\.pulumi\.com\/docs\/iac\/download-install\/ /);
    expect(existsSync(report)).toBe(false);
  }, 60_000);

  it("exits with main's code", async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST")));
    const result = await run("npm", ["run", "--silent", "promote", "--", "--from", "staging", "--to", "staging"], { cwd: REPO_ROOT, env, timeoutMs: 30_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('promote: error: --from and --to name the same stack (staging)\nRun "npm run promote -- --help" for usage.\n');
  });
});
