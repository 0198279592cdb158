/**
 * One result per check: which endpoint, pod and model, which check, what was expected and what was
 * observed. The JSON report and the vitest tests are both built from these.
 */

/** The checks, in the order they run for each model at each address ("pods" runs once per endpoint). */
export const CHECK_NAMES = ["pods", "status", "label", "metadata", "predict", "latency"] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export type Outcome = "passed" | "failed" | "skipped";

/** What a check looked at. */
export interface CheckSubject {
  /** The endpoint's `name`. */
  endpoint: string;
  /** The pod address checked, or null for the endpoint's Service address. */
  pod: string | null;
  /** The HOST:PORT dialed. */
  address: string;
  /** The model, or null for endpoint-level checks ("pods"). */
  model: string | null;
  /** The target's expected version and label, when it names them. */
  version: number | null;
  label: string | null;
}

export interface LatencyStats {
  samples: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** The p95 budget applied; null when there is none (p95 is then only reported). */
  budgetMs: number | null;
}

export interface CheckResult extends CheckSubject {
  check: CheckName;
  outcome: Outcome;
  expected: string;
  observed: string;
  /** One line naming the endpoint, pod, model and check, with the expected and observed values. */
  message: string;
  durationMs: number;
  /** Latency check only. */
  latency?: LatencyStats;
}

/** "endpoint linear-serving, pod 10.0.1.12:8500, model linear (version 3, label stable)" */
export function describeSubject(subject: CheckSubject): string {
  const where = subject.pod === null ? `service ${subject.address}` : `pod ${subject.pod}`;
  const parts = [`endpoint ${subject.endpoint}`, where];
  if (subject.model !== null) {
    const details = [subject.version !== null ? `version ${subject.version}` : undefined, subject.label !== null ? `label ${subject.label}` : undefined].filter(Boolean);
    parts.push(`model ${subject.model}${details.length ? ` (${details.join(", ")})` : ""}`);
  }
  return parts.join(", ");
}

export function checkResult(
  subject: CheckSubject,
  check: CheckName,
  outcome: Outcome,
  expected: string,
  observed: string,
  durationMs: number,
  latency?: LatencyStats,
): CheckResult {
  const message = `${describeSubject(subject)}: ${check} ${outcome}: expected ${expected}; observed ${observed}`;
  return { ...subject, check, outcome, expected, observed, message, durationMs: Math.round(durationMs), ...(latency ? { latency } : {}) };
}

/** Results of the checks that did not run because an earlier one failed or had nothing to work with. */
export function skippedChecks(subject: CheckSubject, checks: readonly CheckName[], reason: string): CheckResult[] {
  return checks.map((check) => checkResult(subject, check, "skipped", "to run", `not run: ${reason}`, 0));
}
