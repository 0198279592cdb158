/**
 * The promotion gate over a smoke report: every check passed, something was checked at all, and the
 * versions and labels the promotion is about were among the things checked. A smoke run whose targets
 * list no endpoints passes every check it ran (none), so "no failure" alone would let an empty or
 * unrelated target list wave a promotion through; the gate does not.
 */
import type { CheckResult, SmokeReport } from "../smoke-tests/lib/index";

/**
 * A version (and, with `label`, a label pointing at it) that must have been checked and passed: a
 * passed `label` check for labelled requirements, else a passed `status` check of that version.
 */
export interface SmokeRequirement {
  model: string;
  version: number;
  label?: string;
}

export interface GateVerdict {
  passed: boolean;
  /** Why it did not pass; empty when it did. */
  problems: string[];
}

export interface GateOptions {
  /** Let a run that checked nothing pass (only for a rollback to a stack that served nothing). @default false */
  allowEmpty?: boolean;
}

export function describeRequirement(requirement: SmokeRequirement): string {
  return `model ${requirement.model} version ${requirement.version}${requirement.label ? ` as label ${requirement.label}` : ""}`;
}

/** The check that shows a requirement: its `label` check, or the `status` check of its version. */
function checks(result: CheckResult, requirement: SmokeRequirement): boolean {
  if (result.model !== requirement.model || result.version !== requirement.version) return false;
  return requirement.label === undefined ? result.check === "status" : result.check === "label" && result.label === requirement.label;
}

export function evaluateGate(report: SmokeReport, requirements: readonly SmokeRequirement[], options: GateOptions = {}): GateVerdict {
  if (report.error) return { passed: false, problems: [`the smoke run could not start: ${report.error}`] };
  const problems: string[] = [];
  const failed = report.results.filter((r) => r.outcome === "failed");
  if (failed.length) problems.push(`${failed.length} check${failed.length === 1 ? "" : "s"} failed: ${failed.map((r) => r.message).join("; ")}`);
  if (report.counts.passed === 0 && !options.allowEmpty) {
    problems.push(
      report.endpoints.length === 0
        ? "nothing was checked: the smoke targets list no endpoints (an empty smoke is not a pass)"
        : "nothing was checked: no check passed (an empty smoke is not a pass)",
    );
  }
  for (const requirement of requirements) {
    const relevant = report.results.filter((result) => checks(result, requirement));
    if (relevant.some((result) => result.outcome === "passed")) continue;
    if (relevant.some((result) => result.outcome === "failed")) continue; // already listed with the failures
    problems.push(
      relevant.length
        ? `${describeRequirement(requirement)} was not checked: ${relevant[0]!.observed}`
        : `${describeRequirement(requirement)} was not checked: the smoke targets have no ${requirement.label ? `label ${requirement.label} target` : "target"} for it`,
    );
  }
  return { passed: problems.length === 0, problems };
}
