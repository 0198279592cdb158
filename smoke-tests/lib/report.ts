/**
 * The machine-readable summary of a smoke run (SMOKE_REPORT=<file>), read by the CI promotion command,
 * and the human summary printed at the end of a run.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { CheckResult, Outcome } from "./results";
import type { EndpointSummary, SmokeRun } from "./run";

export const SMOKE_REPORT_FORMAT = "ml-platform/smoke-report@1";

export interface SmokeReport {
  format: typeof SMOKE_REPORT_FORMAT;
  /** True when no check failed and the targets could be loaded. */
  ok: boolean;
  /** Where the targets came from ("targets file ...", "stack ..."), or "none" when settings named no usable source. */
  source: string;
  startedAt: string;
  durationMs: number;
  settings: { waitSeconds: number; latencySamples: number; latencyMsP95: number | null; callTimeoutSeconds: number };
  counts: Record<Outcome, number>;
  endpoints: EndpointSummary[];
  /** Every check, failed or not, with its endpoint, pod, model, expected and observed values. */
  results: CheckResult[];
  /** Why the run could not start (bad settings, targets or fixtures); null when it ran. */
  error: string | null;
}

export function countOutcomes(results: readonly CheckResult[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { passed: 0, failed: 0, skipped: 0 };
  for (const result of results) counts[result.outcome] += 1;
  return counts;
}

export function buildReport(source: string, settings: SmokeReport["settings"], run: SmokeRun): SmokeReport {
  const counts = countOutcomes(run.results);
  return {
    format: SMOKE_REPORT_FORMAT,
    ok: counts.failed === 0,
    source,
    startedAt: run.startedAt,
    durationMs: run.durationMs,
    settings,
    counts,
    endpoints: run.endpoints,
    results: run.results,
    error: null,
  };
}

export function errorReport(source: string, settings: SmokeReport["settings"] | null, error: string): SmokeReport {
  return {
    format: SMOKE_REPORT_FORMAT,
    ok: false,
    source,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    settings: settings ?? { waitSeconds: 0, latencySamples: 0, latencyMsP95: null, callTimeoutSeconds: 0 },
    counts: { passed: 0, failed: 0, skipped: 0 },
    endpoints: [],
    results: [],
    error,
  };
}

export function writeReport(file: string, report: SmokeReport): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** A few lines for people: the counts, each endpoint's time, and every failure's message. */
export function summaryText(report: SmokeReport): string {
  if (report.error) return `smoke: error: could not start: ${report.error}`;
  const lines = [
    `smoke: ${report.counts.passed} passed, ${report.counts.failed} failed, ${report.counts.skipped} skipped; ${report.endpoints.length} endpoint(s) from ${report.source} in ${(report.durationMs / 1000).toFixed(1)} s`,
    ...report.endpoints.map((e) => `  ${e.ok ? "ok  " : "FAIL"} ${e.name} (${e.address}${e.pods.length ? `, pods ${e.pods.join(", ")}` : ""}) ${(e.durationMs / 1000).toFixed(1)} s`),
    ...report.results.filter((r) => r.latency).map((r) => `  latency ${r.endpoint} ${r.pod === null ? "service" : `pod ${r.pod}`} ${r.model}: p50 ${r.latency!.p50Ms} ms, p95 ${r.latency!.p95Ms} ms`),
    ...report.results.filter((r) => r.outcome === "failed").map((r) => `  FAILED ${r.message}`),
  ];
  return lines.join("\n");
}
