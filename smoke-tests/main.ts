/**
 * `npm run smoke`: runs every check once through the smoke library, then hands the results to vitest, which
 * turns each check into a test (so its reporters, e.g. JUnit with SMOKE_JUNIT, show every check). `main`
 * returns the exit code and never exits the process (smoke-tests/bin.ts does), so tests call it in-process.
 *
 * Exit codes: 0 every check passed; 1 a check failed; 2 the run could not start (settings, targets).
 */
import path from "node:path";
import { smokeFromEnvironment, type EnvironmentRunOptions } from "./lib/from-environment";
import type { SmokeReport } from "./lib/report";

export const EXIT_PASSED = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_NOT_STARTED = 2;

/** Turns the report into vitest tests; returns whether vitest saw a failure. */
export type ReportRunner = (report: SmokeReport) => Promise<{ failed: boolean }>;

const PACKAGE_ROOT = path.resolve(__dirname, "..");

/** vitest over smoke-tests/endpoints.smoke.ts, with the report provided to it (no second smoke run). */
export const vitestRunner: ReportRunner = async (report) => {
  const { startVitest } = await import("vitest/node");
  const previous = process.exitCode;
  process.exitCode = undefined;
  await startVitest("test", [], { root: PACKAGE_ROOT, config: path.join(PACKAGE_ROOT, "smoke-tests", "vitest.config.mts"), watch: false, run: true, provide: { smokeReport: report } });
  // vitest records its verdict in process.exitCode; the verdict is ours to return
  const failed = process.exitCode !== undefined && process.exitCode !== 0;
  process.exitCode = previous;
  return { failed };
};

export interface SmokeMainOptions extends EnvironmentRunOptions {
  stderr?: { write(text: string): unknown };
  runner?: ReportRunner;
}

export async function main(options: SmokeMainOptions = {}): Promise<number> {
  const stderr = options.stderr ?? process.stderr;
  // progress, the summary and (for a run that cannot start) "smoke: error: could not start: ..." go to stderr
  const report = await smokeFromEnvironment({ ...options, log: options.log ?? ((line) => stderr.write(`${line}\n`)) });
  if (report.error !== null) return EXIT_NOT_STARTED;
  const { failed } = await (options.runner ?? vitestRunner)(report);
  return failed || !report.ok ? EXIT_CHECK_FAILED : EXIT_PASSED;
}
