/**
 * What `npm run smoke` does before its tests run: read the settings from the environment, load the
 * targets, check every endpoint, print progress and a summary to stderr, and write SMOKE_REPORT.
 * Never throws: a run that cannot start is a report with `error` set (and so a failing run).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { buildReport, errorReport, summaryText, writeReport, type SmokeReport } from "./report";
import { runSmoke, type RunOptions } from "./run";
import { readSmokeSettings, type SmokeSettings } from "./settings";
import { describeSource, loadTargets, runCommand, type CommandRunner } from "./targets";

export interface EnvironmentRunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where progress and the summary go. @default process.stderr */
  log?: (line: string) => void;
  /** Runs `pulumi` for SMOKE_STACK. */
  run?: CommandRunner;
  resolver?: RunOptions["resolver"];
}

function reportSettings(settings: SmokeSettings): SmokeReport["settings"] {
  return {
    waitSeconds: settings.waitSeconds,
    latencySamples: settings.latencySamples,
    latencyMsP95: settings.latencyMsP95 ?? null,
    callTimeoutSeconds: settings.callTimeoutSeconds,
  };
}

export async function smokeFromEnvironment(options: EnvironmentRunOptions = {}): Promise<SmokeReport> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const started = Date.now();
  const progress = (line: string) => log(`[smoke +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);

  let settings: SmokeSettings | undefined;
  let report: SmokeReport;
  try {
    settings = readSmokeSettings(env, options.cwd);
    const source = describeSource(settings.source);
    progress(`loading targets from ${source}`);
    const targets = await loadTargets(settings.source, options.run ?? runCommand);
    progress(
      `checking ${targets.endpoints.length} endpoint(s) at once: ${targets.endpoints.map((e) => e.name).join(", ") || "none"} ` +
        `(wait up to ${settings.waitSeconds} s, ${settings.latencySamples} latency samples)`,
    );
    const run = await runSmoke(targets, {
      waitSeconds: settings.waitSeconds,
      latencySamples: settings.latencySamples,
      latencyMsP95: settings.latencyMsP95,
      callTimeoutSeconds: settings.callTimeoutSeconds,
      fixturesDir: settings.fixturesDir,
      tlsCa: settings.tlsCaFile ? readFileSync(settings.tlsCaFile) : undefined,
      endpointAddresses: settings.endpointAddresses,
      resolver: options.resolver,
      progress,
    });
    report = buildReport(source, reportSettings(settings), run);
    if (targets.endpoints.length === 0) log("smoke: warning: the targets list no endpoints; nothing was checked");
  } catch (error) {
    const source = settings ? describeSource(settings.source) : "none";
    report = errorReport(source, settings ? reportSettings(settings) : null, error instanceof Error ? error.message : String(error));
  }
  log(summaryText(report));
  // SMOKE_REPORT is honoured even when other settings are unusable, so CI always gets a report.
  const reportFile = settings?.reportFile ?? (env["SMOKE_REPORT"]?.trim() ? path.resolve(options.cwd ?? process.cwd(), env["SMOKE_REPORT"].trim()) : undefined);
  if (reportFile) {
    writeReport(reportFile, report);
    log(`smoke: JSON report written to ${reportFile}`);
  }
  return report;
}
