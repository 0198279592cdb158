/**
 * The promotion's JSON report (`--report FILE`, default promotion-report.json), for the CI run's
 * artifacts: what was asked, the plan, what changed, every smoke run with its full SmokeReport and
 * gate verdict, each step's preview and update, and the rollback if there was one.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { SmokeReport } from "../smoke-tests/lib/index";
import type { ExitCode } from "./errors";
import type { GateVerdict, SmokeRequirement } from "./gate";
import type { PromotionPlan, StepName } from "./plan";
import type { ChangeSummary } from "./workspace";

export const PROMOTION_REPORT_FORMAT = "ml-platform/promotion-report@1";

export type PromotionOutcome =
  | "promoted"
  | "up-to-date"
  | "dry-run"
  | "source-smoke-failed"
  | "not-started"
  | "rolled-back"
  | "rollback-failed";

/** The outcome each exit code stands for, for errors that carry only the code. */
export const OUTCOME_OF_EXIT: Readonly<Record<ExitCode, PromotionOutcome>> = {
  0: "promoted",
  1: "source-smoke-failed",
  2: "not-started",
  3: "rolled-back",
  4: "rollback-failed",
};

export type SmokePhase = "source" | StepName | "rollback";

export interface SmokeRecord {
  stack: string;
  phase: SmokePhase;
  requirements: SmokeRequirement[];
  gate: GateVerdict;
  report: SmokeReport;
}

export interface StepRecord {
  name: StepName;
  /** The value written at `ml-platform:releases`. */
  releases: Record<string, unknown>;
  preview: { changeSummary: ChangeSummary } | null;
  up: { changeSummary: ChangeSummary } | null;
  error: string | null;
}

export interface RollbackRecord {
  reason: string;
  /** The value put back at `ml-platform:releases` (null: the key was removed, as it did not exist). */
  restored: Record<string, unknown> | null;
  /** Whether the previous config was deployed again (false when nothing had been deployed yet). */
  redeployed: boolean;
  ok: boolean;
  error: string | null;
}

export interface PromotionReport {
  format: typeof PROMOTION_REPORT_FORMAT;
  outcome: PromotionOutcome;
  exitCode: ExitCode;
  /** One line for people. */
  message: string;
  source: string;
  target: string;
  request: { model: string | null; version: number | null; canary: boolean; dryRun: boolean };
  startedAt: string;
  durationMs: number;
  plan: PromotionPlan | null;
  /** The target's value at `ml-platform:releases` before, and at the end (null: key absent or unknown). */
  targetReleases: { before: Record<string, unknown> | null; after: Record<string, unknown> | null };
  /** True when promoted: the target now serves the new versions. False otherwise (after a failed rollback, see `rollback`). */
  changed: boolean;
  smoke: SmokeRecord[];
  steps: StepRecord[];
  rollback: RollbackRecord | null;
  /** Why it did not promote; null when it did (or had nothing to do). */
  error: string | null;
}

export function writePromotionReport(file: string, report: PromotionReport): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

function smokeLine(record: SmokeRecord): string {
  const { counts } = record.report;
  const verdict = record.gate.passed ? "passed" : "FAILED";
  const detail = record.report.error ? `could not run` : `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
  return `  ${record.phase} smoke (${record.stack}): ${verdict} (${detail})${record.gate.passed ? "" : `\n${record.gate.problems.map((p) => `    - ${p}`).join("\n")}`}`;
}

/** A short summary for people: the outcome, each smoke gate, the rollback. */
export function summaryText(report: PromotionReport, reportFile?: string): string {
  const lines = [`promote ${report.source} -> ${report.target}: ${report.message} (exit ${report.exitCode}, ${(report.durationMs / 1000).toFixed(1)} s)`];
  lines.push(...report.smoke.map(smokeLine));
  if (report.rollback) {
    const r = report.rollback;
    lines.push(`  rollback: ${r.ok ? "done" : "FAILED"}: ${r.restored === null ? "removed ml-platform:releases" : "restored the previous ml-platform:releases"}${r.redeployed ? ", deployed and smoked" : " (nothing had been deployed)"}${r.error ? `: ${r.error}` : ""}`);
  }
  if (reportFile) lines.push(`  report: ${reportFile}`);
  return lines.join("\n");
}
