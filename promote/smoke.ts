/**
 * Smoking a stack for the promotion: the smoke suite's own library (`runSmoke`) over the targets the
 * stack's `smokeTargets` output lists, reached directly or through port-forwards, as a SmokeReport.
 */
import { readFileSync } from "node:fs";
import type { SmokeTargets } from "../contracts/smoke-targets";
import { buildReport, readSmokeSettings, type RunOptions, runSmoke, type SmokeReport } from "../smoke-tests/lib/index";
import { errorReport } from "../smoke-tests/lib/report";
import { directReach, type Reach } from "./reach";
import { UsageError } from "./errors";

export interface StackSmoker {
  /** Checks every endpoint of `targets` (the stack's `smokeTargets` output). Never throws: problems are the report's `error`. */
  smoke(stack: string, targets: SmokeTargets, progress: (line: string) => void): Promise<SmokeReport>;
}

/** The smoke suite's knobs that apply to a promotion (what SMOKE_WAIT_SECONDS etc. set for `npm run smoke`). */
export type SmokeRunSettings = Pick<
  RunOptions,
  "waitSeconds" | "latencySamples" | "latencyMsP95" | "callTimeoutSeconds" | "fixturesDir" | "tlsCa" | "pollIntervalMs"
>;

/**
 * Reads the SMOKE_* knobs as `npm run smoke` does. The targets come from each stack's output, so
 * SMOKE_TARGETS and SMOKE_STACK do not apply; SMOKE_ENDPOINT_ADDRESSES is refused, as it names one
 * cluster's endpoints while a promotion smokes two (use --port-forward).
 */
export function smokeSettingsFromEnvironment(env: NodeJS.ProcessEnv, cwd: string): SmokeRunSettings {
  if (env["SMOKE_ENDPOINT_ADDRESSES"]?.trim()) {
    throw new UsageError("SMOKE_ENDPOINT_ADDRESSES does not apply here (it names one cluster's endpoints): use --port-forward to reach each stack's Services");
  }
  const settings = readSmokeSettings({ ...env, SMOKE_TARGETS: "", SMOKE_STACK: "(each stack's smokeTargets output)" }, cwd);
  return {
    waitSeconds: settings.waitSeconds,
    latencySamples: settings.latencySamples,
    latencyMsP95: settings.latencyMsP95,
    callTimeoutSeconds: settings.callTimeoutSeconds,
    fixturesDir: settings.fixturesDir,
    tlsCa: settings.tlsCaFile ? readFileSync(settings.tlsCaFile) : undefined,
  };
}

export function librarySmoker(settings: SmokeRunSettings, reach: Reach = directReach): StackSmoker {
  const reportSettings: SmokeReport["settings"] = {
    waitSeconds: settings.waitSeconds,
    latencySamples: settings.latencySamples,
    latencyMsP95: settings.latencyMsP95 ?? null,
    callTimeoutSeconds: settings.callTimeoutSeconds,
  };
  return {
    async smoke(stack, targets, progress) {
      const source = `stack ${stack} (smokeTargets output${reach === directReach ? "" : `, via ${reach.description}`})`;
      let opened: Awaited<ReturnType<Reach["open"]>> | undefined;
      try {
        opened = await reach.open(stack, targets, progress);
        const run = await runSmoke(targets, { ...settings, endpointAddresses: opened.endpointAddresses, progress });
        return buildReport(source, reportSettings, run);
      } catch (error) {
        return errorReport(source, reportSettings, error instanceof Error ? error.message : String(error));
      } finally {
        await opened?.close();
      }
    },
  };
}
