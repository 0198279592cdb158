/**
 * One test per check of the smoke run (smoke-tests/main.ts ran them and provides the report): endpoint > Service or pod > model > check.
 * A failed check fails its test with the check's message (endpoint, pod, model, check, expected and
 * observed); a check that could not run is skipped with the reason.
 */
import { describe, expect, inject, it } from "vitest";
import type { SmokeReport } from "./lib/report";
import type { CheckResult } from "./lib/results";
import "./provided-context";

/** A failed smoke check; its message says where, what was expected and what was observed. */
class SmokeCheckFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SmokeCheckFailure";
    // The message says everything; a stack into this file would only add noise to the report.
    this.stack = `${this.name}: ${message}`;
  }
}

const provided = inject("smokeReport") as SmokeReport | undefined;
if (!provided) throw new Error("no smoke report: run the suite with npm run smoke (smoke-tests/main.ts), not vitest directly");
const report: SmokeReport = provided;

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

function checkTest(result: CheckResult): void {
  it(result.check, (context) => {
    if (result.outcome === "skipped") context.skip(result.observed);
    if (result.outcome === "failed") throw new SmokeCheckFailure(result.message);
    if (result.latency) context.annotate(`p50 ${result.latency.p50Ms} ms, p95 ${result.latency.p95Ms} ms over ${result.latency.samples} Predicts`);
    expect(result.outcome).toBe("passed");
  });
}

it(`loads the targets from ${report.source}`, () => {
  expect(report.error).toBeNull();
});

for (const endpoint of report.endpoints) {
  describe(`endpoint ${endpoint.name}`, () => {
    const results = report.results.filter((r) => r.endpoint === endpoint.name);
    for (const result of results.filter((r) => r.model === null)) checkTest(result);
    const perAddress = groupBy(
      results.filter((r) => r.model !== null),
      (r) => (r.pod === null ? `service ${r.address}` : `pod ${r.pod}`),
    );
    for (const [where, addressResults] of perAddress) {
      describe(where, () => {
        const perModel = groupBy(addressResults, (r) => `model ${r.model}${r.version !== null ? ` version ${r.version}` : ""}${r.label !== null ? ` label ${r.label}` : ""}`);
        for (const [model, modelResults] of perModel) describe(model, () => modelResults.forEach(checkTest));
      });
    }
  });
}
