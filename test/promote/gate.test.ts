/**
 * The promotion gate over smoke reports built from check results: failures, runs that could not start,
 * runs that checked nothing, and requirements the run did not cover.
 */
import { describe, expect, it } from "vitest";
import { evaluateGate } from "../../promote/gate";
import { buildReport, type CheckResult } from "../../smoke-tests/lib/index";
import { errorReport } from "../../smoke-tests/lib/report";
import { checkResult, type CheckName, type Outcome } from "../../smoke-tests/lib/results";

const settings = { waitSeconds: 1, latencySamples: 0, latencyMsP95: null, callTimeoutSeconds: 1 };

function result(check: CheckName, outcome: Outcome, version: number, label: string | null = null): CheckResult {
  return checkResult({ endpoint: "linear", pod: null, address: "127.0.0.1:8500", model: "linear", version, label }, check, outcome, "e", "o", 1);
}

function report(results: CheckResult[], endpoints = 1) {
  const summaries = Array.from({ length: endpoints }, (_, i) => ({ name: `e${i}`, address: "127.0.0.1:8500", pods: [], ok: true, durationMs: 1 }));
  return buildReport("test", settings, { startedAt: new Date(0).toISOString(), durationMs: 1, endpoints: summaries, results });
}

describe("evaluateGate", () => {
  it("passes when every check passed and each requirement was checked", () => {
    const smoke = report([result("status", "passed", 5, "canary"), result("label", "passed", 5, "canary"), result("status", "passed", 4, "stable"), result("label", "passed", 4, "stable")]);
    expect(evaluateGate(smoke, [{ model: "linear", version: 5, label: "canary" }, { model: "linear", version: 4, label: "stable" }, { model: "linear", version: 4 }])).toEqual({
      passed: true,
      problems: [],
    });
  });

  it("fails on a failed check, naming it", () => {
    const failed = result("predict", "failed", 5, "stable");
    const verdict = evaluateGate(report([result("status", "passed", 5, "stable"), failed]), []);
    expect(verdict).toEqual({ passed: false, problems: [`1 check failed: ${failed.message}`] });
  });

  it("fails a run that checked nothing, unless told that is all there was to check", () => {
    expect(evaluateGate(report([], 0), []).problems).toEqual(["nothing was checked: the smoke targets list no endpoints (an empty smoke is not a pass)"]);
    expect(evaluateGate(report([result("status", "skipped", 5)]), []).problems).toEqual(["nothing was checked: no check passed (an empty smoke is not a pass)"]);
    expect(evaluateGate(report([], 0), [], { allowEmpty: true })).toEqual({ passed: true, problems: [] });
  });

  it("fails when a required version or label was not among the checks", () => {
    const smoke = report([result("status", "passed", 4, "stable"), result("label", "passed", 4, "stable"), result("label", "skipped", 5, "canary")]);
    expect(evaluateGate(smoke, [{ model: "linear", version: 5, label: "canary" }, { model: "linear", version: 6 }]).problems).toEqual([
      "model linear version 5 as label canary was not checked: o",
      "model linear version 6 was not checked: the smoke targets have no target for it",
    ]);
  });

  it("fails a run that could not start", () => {
    expect(evaluateGate(errorReport("stack prod", settings, "endpoint linear: `kubectl ...` exited with 1"), [])).toEqual({
      passed: false,
      problems: ["the smoke run could not start: endpoint linear: `kubectl ...` exited with 1"],
    });
  });
});
