/**
 * The smoke suite's checking library, for programs that gate on it (e.g. the CI promotion pipeline):
 * `runSmoke(targets, options)` checks endpoints and returns every result; `smokeFromEnvironment()` is what
 * `npm run smoke` runs (settings from SMOKE_* variables, JSON report); `SmokeReport` is the report's shape.
 */
export { CHECK_NAMES, describeSubject, type CheckName, type CheckResult, type CheckSubject, type LatencyStats, type Outcome } from "./results";
export { runSmoke, planTargets, type EndpointSummary, type RunOptions, type SmokeRun } from "./run";
export { SMOKE_REPORT_FORMAT, buildReport, countOutcomes, summaryText, writeReport, type SmokeReport } from "./report";
export { smokeFromEnvironment, type EnvironmentRunOptions } from "./from-environment";
export { readSmokeSettings, SmokeSettingsError, DEFAULT_FIXTURES_DIR, type SmokeSettings, type TargetsSource } from "./settings";
export { loadTargets, stackOutputCommand, TargetsLoadError, type CommandRunner } from "./targets";
export { resolveHost, type HostResolver } from "./pods";
