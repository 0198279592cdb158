/**
 * The smoke suite's settings, read from environment variables (the knobs a CI job sets). Every problem
 * is reported at once, naming the variable and what it accepts.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

/** Where the targets come from: a JSON file, or a Pulumi stack's `smokeTargets` output. */
export type TargetsSource = { kind: "file"; path: string } | { kind: "stack"; stack: string };

export interface SmokeSettings {
  source: TargetsSource;
  /** How long to wait for models (and a headless Service's pods) to become available. @default 300 */
  waitSeconds: number;
  /** Sequential Predicts measured per model and address; 0 turns the latency check off. @default 20 */
  latencySamples: number;
  /** p95 budget in milliseconds for models whose target sets no `latencyMsP95`; none: p95 is only reported. */
  latencyMsP95: number | undefined;
  /** Deadline of each gRPC call. @default 10 */
  callTimeoutSeconds: number;
  /** Folder of `<model>.json` request fixtures. @default smoke-tests/fixtures */
  fixturesDir: string;
  /** Where to write the JSON report, if anywhere. */
  reportFile: string | undefined;
  /** Where vitest writes the JUnit XML report, if anywhere (read by the vitest config). */
  junitFile: string | undefined;
  /** PEM CA bundle trusted for `tls: true` endpoints instead of the system roots. */
  tlsCaFile: string | undefined;
  /**
   * Endpoint name to the HOST:PORT to dial instead of its `grpc` address (e.g. a `kubectl port-forward`);
   * pods of those endpoints are not checked, as pod addresses are not reachable through a port-forward.
   */
  endpointAddresses: Record<string, string>;
}

/** smoke-tests/fixtures of the package, found upwards from here (the sources, or the compiled dist/ tree). */
function packageFixturesDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "smoke-tests", "fixtures");
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, "..", "fixtures");
  }
}

export const DEFAULT_FIXTURES_DIR = packageFixturesDir();

/** Thrown for unusable settings; lists every problem with its variable. */
export class SmokeSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid smoke suite settings:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "SmokeSettingsError";
  }
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value.trim()));

function numberVar(description: string, check: (n: number) => boolean) {
  return optionalText.pipe(
    z
      .string()
      .optional()
      .refine((text) => text === undefined || (/^\d+(\.\d+)?$/.test(text) && check(Number(text))), { message: `must be ${description}` })
      .transform((text) => (text === undefined ? undefined : Number(text))),
  );
}

const endpointAddresses = optionalText.pipe(
  z
    .string()
    .optional()
    .transform((text, ctx) => {
      const map: Record<string, string> = {};
      for (const entry of (text ?? "").split(",").map((e) => e.trim()).filter(Boolean)) {
        const match = /^([^=\s]+)=(.+)$/.exec(entry);
        if (!match || !HOST_PORT.test(match[2]!)) {
          ctx.addIssue({ code: "custom", message: `entry "${entry}" must be ENDPOINT=HOST:PORT (entries separated by commas)` });
          continue;
        }
        map[match[1]!] = match[2]!;
      }
      return map;
    }),
);

const envSchema = z.object({
  SMOKE_WAIT_SECONDS: numberVar("a number of seconds >= 0, e.g. 300", (n) => n >= 0),
  SMOKE_LATENCY_SAMPLES: numberVar("a whole number >= 0, e.g. 20", (n) => Number.isSafeInteger(n)),
  SMOKE_LATENCY_MS_P95: numberVar("a number of milliseconds > 0, e.g. 250", (n) => n > 0),
  SMOKE_CALL_TIMEOUT_SECONDS: numberVar("a number of seconds > 0, e.g. 10", (n) => n > 0),
  SMOKE_FIXTURES_DIR: optionalText,
  SMOKE_REPORT: optionalText,
  SMOKE_JUNIT: optionalText,
  SMOKE_TLS_CA: optionalText,
  SMOKE_ENDPOINT_ADDRESSES: endpointAddresses,
});

/** Reads the settings from `env` (relative paths are taken from `cwd`). */
export function readSmokeSettings(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): SmokeSettings {
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`);
  const targets = env["SMOKE_TARGETS"]?.trim();
  const stack = env["SMOKE_STACK"]?.trim();
  let source: TargetsSource | undefined;
  if (targets && stack) problems.push("set SMOKE_TARGETS (a targets file) or SMOKE_STACK (a Pulumi stack), not both");
  else if (targets) source = { kind: "file", path: path.resolve(cwd, targets) };
  else if (stack) source = { kind: "stack", stack };
  else problems.push("set SMOKE_TARGETS=<targets.json> or SMOKE_STACK=<stack> to say what to smoke-test");
  if (!parsed.success || !source) throw new SmokeSettingsError(problems);

  const vars = parsed.data;
  const file = (value: string | undefined) => (value === undefined ? undefined : path.resolve(cwd, value));
  return {
    source,
    waitSeconds: vars.SMOKE_WAIT_SECONDS ?? 300,
    latencySamples: vars.SMOKE_LATENCY_SAMPLES ?? 20,
    latencyMsP95: vars.SMOKE_LATENCY_MS_P95,
    callTimeoutSeconds: vars.SMOKE_CALL_TIMEOUT_SECONDS ?? 10,
    fixturesDir: file(vars.SMOKE_FIXTURES_DIR) ?? DEFAULT_FIXTURES_DIR,
    reportFile: file(vars.SMOKE_REPORT),
    junitFile: file(vars.SMOKE_JUNIT),
    tlsCaFile: file(vars.SMOKE_TLS_CA),
    endpointAddresses: vars.SMOKE_ENDPOINT_ADDRESSES,
  };
}
