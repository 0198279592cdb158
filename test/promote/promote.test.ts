/**
 * The promotion flow against a fake workspace (fake-stacks.ts) with the real smoke suite library checking
 * TF Serving doubles on 127.0.0.1 over gRPC: success, the source gate failing, the target failing and
 * being rolled back exactly, the rollback failing, the canary flow, dry runs, and interleaving.
 */
import { afterEach, describe, expect, it } from "vitest";
import { promote, type PromoteOptions } from "../../promote/promote";
import type { PromotionReport } from "../../promote/report";
import { librarySmoker } from "../../promote/smoke";
import { DEFAULT_FIXTURES_DIR } from "../../smoke-tests/lib/settings";
import { FakeStacks, type FakeStackSpec } from "./fake-stacks";

const stable = (version: number) => ({ versions: [version], labels: { stable: version } });

let fake: FakeStacks | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function stacks(staging: FakeStackSpec, prod: FakeStackSpec): Promise<FakeStacks> {
  fake = await FakeStacks.start({ staging, prod });
  return fake;
}

/** Short smoke waits and few latency samples keep these runs fast. */
const smoker = librarySmoker({ waitSeconds: 2, latencySamples: 2, callTimeoutSeconds: 5, fixturesDir: DEFAULT_FIXTURES_DIR, pollIntervalMs: 50 });

async function run(workspace: FakeStacks, options: Partial<PromoteOptions> = {}): Promise<PromotionReport & { stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const report = await promote(
    { source: "staging", target: "prod", canary: false, dryRun: false, ...options },
    { workspace, smoker, out: (text) => (stdout += text), progress: (text) => (stderr += text) },
  );
  return { ...report, stdout, stderr };
}

/** "phase stack: passed|failed" per smoke run, in order. */
const smokes = (report: PromotionReport) => report.smoke.map((s) => `${s.phase} ${s.stack}: ${s.gate.passed ? "passed" : "failed"}`);

/** Passed label checks of a smoke run as "label -> version". */
const labelChecks = (report: PromotionReport, phase: string) =>
  report.smoke
    .find((s) => s.phase === phase)!
    .report.results.filter((r) => r.check === "label" && r.outcome === "passed")
    .map((r) => `${r.label} -> ${r.version}`);

describe("promote", () => {
  it("promotes: smokes the source, sets the target's releases, deploys, and smokes the target", async () => {
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: { linear: stable(4) } });
    const report = await run(workspace);

    expect(report.exitCode).toBe(0);
    expect(report.outcome).toBe("promoted");
    expect(report.changed).toBe(true);
    expect(workspace.configOf("prod")).toEqual({ linear: stable(5) });
    expect(workspace.deployedOf("prod")).toEqual({ linear: stable(5) });
    expect(workspace.servedBy("prod")).toEqual({ versions: [5], labels: { stable: 5 } });
    expect(workspace.changesTo("prod")).toEqual([
      { op: "writeReleases", stack: "prod", value: { linear: stable(5) } },
      { op: "preview", stack: "prod" },
      { op: "up", stack: "prod" },
    ]);
    expect(workspace.changesTo("staging")).toEqual([]);
    expect(smokes(report)).toEqual(["source staging: passed", "promote prod: passed"]);
    expect(labelChecks(report, "promote")).toEqual(["stable -> 5"]);
    // the smoke records carry the smoke suite's full reports
    expect(report.smoke[1]!.report.counts).toEqual({ passed: 5, failed: 0, skipped: 0 });
    expect(report.smoke[1]!.report.results.map((r) => r.check)).toEqual(["status", "label", "metadata", "predict", "latency"]);
    expect(report.targetReleases).toEqual({ before: { linear: stable(4) }, after: { linear: stable(5) } });
    expect(report.rollback).toBeNull();
    expect(report.stdout).toContain("plan: promote staging -> prod\n  linear: version 4 (stable 4) -> version 5 (stable 5)");
    expect(report.stdout).toContain("preview of step 1 (promote) on prod:\nPreviewing update (prod):");
    expect(report.stderr).toContain("Updating (prod):");
  });

  it("stops when the source fails its smoke gate: the target is untouched (exit 1)", async () => {
    const workspace = await stacks({ releases: { linear: stable(5) }, broken: [5] }, { releases: { linear: stable(4) } });
    const report = await run(workspace);

    expect(report.exitCode).toBe(1);
    expect(report.outcome).toBe("source-smoke-failed");
    expect(workspace.changesTo("prod")).toEqual([]);
    expect(workspace.configOf("prod")).toEqual({ linear: stable(4) });
    expect(report.changed).toBe(false);
    expect(smokes(report)).toEqual(["source staging: failed"]);
    expect(report.error).toMatch(/^the source staging failed its smoke gate; nothing changed:\n  - \d+ checks? failed: .*model linear \(version 5, label stable\): predict failed/);
  });

  it("rolls the target back when it fails its smoke gate: the previous config exactly, deployed and smoked (exit 3)", async () => {
    // versions stored as strings, as `pulumi config set --path` may leave them: put back as they were
    const previous = { linear: { versions: ["4"], labels: { stable: "4" } } };
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: previous, broken: [5] });
    const report = await run(workspace);

    expect(report.exitCode).toBe(3);
    expect(report.outcome).toBe("rolled-back");
    expect(workspace.configOf("prod")).toEqual(previous);
    expect(workspace.servedBy("prod")).toEqual({ versions: [4], labels: { stable: 4 } });
    expect(workspace.changesTo("prod")).toEqual([
      { op: "writeReleases", stack: "prod", value: { linear: stable(5) } },
      { op: "preview", stack: "prod" },
      { op: "up", stack: "prod" },
      { op: "writeReleases", stack: "prod", value: previous },
      { op: "up", stack: "prod" },
    ]);
    expect(smokes(report)).toEqual(["source staging: passed", "promote prod: failed", "rollback prod: passed"]);
    expect(labelChecks(report, "rollback")).toEqual(["stable -> 4"]);
    expect(report.rollback).toMatchObject({ restored: previous, redeployed: true, ok: true, error: null });
    expect(report.rollback!.reason).toMatch(/^step 1 \(promote\): prod failed its smoke gate: .*predict failed/);
    expect(report.targetReleases).toEqual({ before: previous, after: previous });
    expect(report.changed).toBe(false);
  });

  it("removes the promotion key on rollback when the target had none", async () => {
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: undefined, broken: [5] });
    const report = await run(workspace);

    expect(report.exitCode).toBe(3);
    expect(workspace.configOf("prod")).toBeUndefined();
    expect(workspace.changesTo("prod").filter((c) => c.op === "writeReleases")).toEqual([
      { op: "writeReleases", stack: "prod", value: { linear: stable(5) } },
      { op: "writeReleases", stack: "prod", value: undefined },
    ]);
    expect(workspace.servedBy("prod")).toEqual({ versions: [], labels: {} });
    expect(report.rollback).toMatchObject({ restored: null, ok: true });
  });

  it.each([
    {
      case: "the rollback's update fails",
      brokenInProd: [5],
      armRollbackFailure: (w: FakeStacks) => w.fail("up", "prod", 1),
      message: /the rollback failed: pulumi up --stack prod failed: exit 255: error: update failed; someone must look now$/,
    },
    {
      case: "the previous version fails its smoke too",
      brokenInProd: [4, 5],
      armRollbackFailure: () => undefined,
      message: /the rollback failed: the previous config failed its smoke gate: .*version 4, label stable\): predict failed.*; someone must look now$/,
    },
  ])("exits 4 when $case", async ({ brokenInProd, armRollbackFailure, message }) => {
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: { linear: stable(4) }, broken: brokenInProd });
    workspace.onCall = (call) => {
      // the rollback starts by writing the previous config back
      if (call.op === "writeReleases" && call.stack === "prod" && JSON.stringify(call.value) === JSON.stringify({ linear: stable(4) })) armRollbackFailure(workspace);
    };
    const report = await run(workspace);

    expect(report.exitCode).toBe(4);
    expect(report.outcome).toBe("rollback-failed");
    expect(report.error).toMatch(message);
    expect(report.rollback).toMatchObject({ ok: false, redeployed: true });
    // the previous config is back in the file, whatever the cluster now runs
    expect(workspace.configOf("prod")).toEqual({ linear: stable(4) });
  });

  it("canary: serves the new version beside stable, smokes the canary label, then makes it stable and drops the old one", async () => {
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: { linear: stable(4) } });
    const report = await run(workspace, { canary: true });

    expect(report.exitCode).toBe(0);
    const canary = { versions: [4, 5], labels: { stable: 4, canary: 5 } };
    expect(workspace.changesTo("prod")).toEqual([
      { op: "writeReleases", stack: "prod", value: { linear: canary } },
      { op: "preview", stack: "prod" },
      { op: "up", stack: "prod" },
      { op: "writeReleases", stack: "prod", value: { linear: stable(5) } },
      { op: "preview", stack: "prod" },
      { op: "up", stack: "prod" },
    ]);
    expect(smokes(report)).toEqual(["source staging: passed", "canary prod: passed", "promote prod: passed"]);
    expect(labelChecks(report, "canary")).toEqual(["stable -> 4", "canary -> 5"]);
    expect(labelChecks(report, "promote")).toEqual(["stable -> 5"]);
    expect(report.smoke[1]!.requirements).toEqual([
      { model: "linear", version: 5, label: "canary" },
      { model: "linear", version: 4, label: "stable" },
    ]);
    expect(workspace.servedBy("prod")).toEqual({ versions: [5], labels: { stable: 5 } });
    expect(report.steps.map((s) => [s.name, s.up !== null, s.error])).toEqual([
      ["canary", true, null],
      ["promote", true, null],
    ]);
  });

  it("canary: a failing canary is rolled back to the stable version before stable ever moves", async () => {
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: { linear: stable(4) }, broken: [5] });
    const report = await run(workspace, { canary: true });

    expect(report.exitCode).toBe(3);
    expect(smokes(report)).toEqual(["source staging: passed", "canary prod: failed", "rollback prod: passed"]);
    expect(report.steps.map((s) => s.name)).toEqual(["canary"]);
    expect(workspace.configOf("prod")).toEqual({ linear: stable(4) });
    expect(workspace.servedBy("prod")).toEqual({ versions: [4], labels: { stable: 4 } });
    expect(report.rollback!.reason).toMatch(/^step 1 \(canary\): prod failed its smoke gate: .*label canary\): predict failed/);
  });

  it("canary: a failing last step rolls back to the config from before the canary", async () => {
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: { linear: stable(4) } });
    workspace.onCall = (call) => {
      // the update that makes 5 stable fails
      if (call.op === "writeReleases" && JSON.stringify(call.value) === JSON.stringify({ linear: stable(5) })) workspace.fail("up", "prod");
    };
    const report = await run(workspace, { canary: true });

    expect(report.exitCode).toBe(3);
    expect(workspace.changesTo("prod").filter((c) => c.op !== "preview")).toEqual([
      { op: "writeReleases", stack: "prod", value: { linear: { versions: [4, 5], labels: { stable: 4, canary: 5 } } } },
      { op: "up", stack: "prod" },
      { op: "writeReleases", stack: "prod", value: { linear: stable(5) } },
      { op: "up", stack: "prod" },
      { op: "writeReleases", stack: "prod", value: { linear: stable(4) } },
      { op: "up", stack: "prod" },
    ]);
    expect(workspace.servedBy("prod")).toEqual({ versions: [4], labels: { stable: 4 } });
    expect(smokes(report)).toEqual(["source staging: passed", "canary prod: passed", "rollback prod: passed"]);
    expect(report.steps.map((s) => [s.name, s.error])).toEqual([
      ["canary", null],
      ["promote", "pulumi up --stack prod failed: exit 255: error: update failed"],
    ]);
  });

  it("a dry run plans, smokes the source and previews every step, and changes nothing", async () => {
    const previous = { linear: { versions: ["4"], labels: { stable: "4" } } };
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: previous });
    const report = await run(workspace, { canary: true, dryRun: true });

    expect(report.exitCode).toBe(0);
    expect(report.outcome).toBe("dry-run");
    expect(workspace.changesTo("prod").map((c) => c.op)).toEqual(["writeReleases", "preview", "writeReleases", "preview", "writeReleases"]);
    expect(workspace.calls.some((c) => c.op === "up")).toBe(false);
    expect(workspace.configOf("prod")).toEqual(previous);
    expect(workspace.deployedOf("prod")).toEqual({ linear: stable(4) });
    expect(smokes(report)).toEqual(["source staging: passed"]);
    expect(report.steps.map((s) => [s.name, s.preview, s.up])).toEqual([
      ["canary", { changeSummary: { update: 1, same: 12 } }, null],
      ["promote", { changeSummary: { update: 1, same: 12 } }, null],
    ]);
    expect(report.stdout).toContain("preview of step 2 (promote) on prod, relative to what is deployed now (dry run):");
    expect(report.changed).toBe(false);
  });

  it("does not count an empty smoke target list as a pass (exit 1)", async () => {
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: { linear: stable(4) } });
    workspace.overrideTargets("staging", { endpoints: [] });
    const report = await run(workspace);

    expect(report.exitCode).toBe(1);
    expect(report.smoke[0]!.report.ok).toBe(true); // the smoke run itself found no failure...
    expect(report.smoke[0]!.gate.problems).toEqual([
      "nothing was checked: the smoke targets list no endpoints (an empty smoke is not a pass)",
      "model linear version 5 was not checked: the smoke targets have no target for it",
    ]);
    expect(workspace.changesTo("prod")).toEqual([]);
  });

  it("has nothing to do when the target already serves the version as stable", async () => {
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: { linear: { versions: ["5"], labels: { stable: "5" } } } });
    const report = await run(workspace);

    expect(report.exitCode).toBe(0);
    expect(report.outcome).toBe("up-to-date");
    expect(report.smoke).toEqual([]);
    expect(workspace.changesTo("prod")).toEqual([]);
    expect(report.stdout).toContain("linear: already serves version 5 as stable; nothing to do");
  });

  it("refuses to start when a stack's config is not what is deployed (exit 2)", async () => {
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: { linear: stable(4) } });
    workspace.deployElsewhere("prod", { linear: stable(3) });
    const report = await run(workspace);

    expect(report.exitCode).toBe(2);
    expect(report.error).toBe(
      "prod: its config at ml-platform:releases (linear: version 4 (stable 4)) is not what is deployed (linear: version 3 (stable 3)); " +
        "deploy or revert that change first, so that the promotion starts from what was smoked",
    );
    expect(workspace.changesTo("prod")).toEqual([]);
  });

  it("stops without rolling back over another deployment that lands between two steps (exit 4)", async () => {
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: { linear: stable(4) } });
    let ups = 0;
    workspace.onCall = (call) => {
      if (call.op === "up") ups += 1;
      // another promotion deploys prod after our canary step
      if (call.op === "outputs" && call.stack === "prod" && ups === 1) workspace.deployElsewhere("prod", { linear: stable(6) });
    };
    const report = await run(workspace, { canary: true });

    expect(report.exitCode).toBe(4);
    expect(report.error).toBe(
      "prod's deployed releases changed while this promotion ran (expected linear: versions 4, 5 (canary 5, stable 4), found linear: version 6 (stable 6)): " +
        "another promotion or deployment interleaved; not rolling back over another deployment: someone must look now",
    );
    expect(report.rollback).toBeNull();
    expect(workspace.changesTo("prod").filter((c) => c.op === "up")).toHaveLength(1);
  });

  it("puts the config back and exits 2 when the first preview fails: nothing was deployed", async () => {
    const workspace = await stacks({ releases: { linear: stable(5) } }, { releases: { linear: stable(4) } });
    workspace.fail("preview", "prod");
    const report = await run(workspace);

    expect(report.exitCode).toBe(2);
    expect(report.error).toBe("pulumi preview --stack prod failed: exit 255: error: preview failed\nthe previous config was put back; nothing had been deployed");
    expect(workspace.configOf("prod")).toEqual({ linear: stable(4) });
    expect(workspace.calls.some((c) => c.op === "up")).toBe(false);
    expect(report.rollback).toMatchObject({ redeployed: false, ok: true });
  });
});
