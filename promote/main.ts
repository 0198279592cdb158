/**
 * `npm run promote -- --from staging --to prod [--model NAME] [--version N] [--canary] [--dry-run]`
 * and `npm run smoke:stack -- --stack dev` (`promote smoke`): the CI promotion command. `main` parses
 * the command line, runs, writes the JSON report and returns the exit code; it never exits the process
 * (only promote/bin.ts does), so tests call it in-process.
 *
 * stdout: the plan, the previews and the summary. stderr: progress (smoke, updates) and errors.
 */
import path from "node:path";
import type { Options } from "yargs";
import yargs from "yargs/yargs";
import { summaryText as smokeSummaryText, writeReport as writeSmokeReport } from "../smoke-tests/lib/index";
import { ConfigError, EXIT_CODE_MEANINGS, EXIT_PROMOTED, EXIT_SOURCE_SMOKE_FAILED, errorMessage, exitCodeFor, UsageError } from "./errors";
import { evaluateGate } from "./gate";
import { notStartedReport, promote, smokeTargetsOf, type PromoteOptions } from "./promote";
import { directReach, portForwardReach, type Reach } from "./reach";
import { summaryText, writePromotionReport, type PromotionReport } from "./report";
import { librarySmoker, smokeSettingsFromEnvironment, type SmokeRunSettings, type StackSmoker } from "./smoke";
import type { StackWorkspace } from "./workspace";

export interface Writer {
  write(text: string): unknown;
}

export interface PromoteIo {
  stdout: Writer;
  stderr: Writer;
  env: NodeJS.ProcessEnv;
  /** Relative paths (--report, --work-dir) resolve against this directory. */
  cwd: string;
}

/** What `main` builds its collaborators with; tests replace the workspace. */
export interface MainDeps {
  /** @default the Automation API over the project in `workDir` */
  workspace?: (workDir: string) => Promise<StackWorkspace>;
  /** @default the smoke suite's library */
  smoker?: (settings: SmokeRunSettings, reach: Reach) => StackSmoker;
}

export const REPO_ROOT = path.resolve(__dirname, "..");
export const DEFAULT_REPORT = "promotion-report.json";

export function processIo(): PromoteIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

const STACK_NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+){0,2}$/;

const reachOptions: Record<string, Options> = {
  "port-forward": {
    type: "boolean",
    default: false,
    describe: "Reach each stack's Services with kubectl port-forward, in the kubeconfig context named after the stack (see --kube-context)",
  },
  "kube-context": { type: "string", array: true, requiresArg: true, describe: "STACK=CONTEXT: the kubeconfig context of a stack's cluster (default: the stack's name)" },
  "work-dir": { type: "string", requiresArg: true, describe: "The Pulumi project directory (default: this repository)" },
};

const promoteOptions: Record<string, Options> = {
  from: { type: "string", demandOption: true, requiresArg: true, describe: "Source stack, e.g. staging" },
  to: { type: "string", demandOption: true, requiresArg: true, describe: "Target stack, e.g. prod" },
  model: { type: "string", requiresArg: true, describe: "Promote only this model (default: every model the source pins)" },
  version: { type: "string", requiresArg: true, describe: "The version to promote; needs --model (default: the source's stable version)" },
  canary: { type: "boolean", default: false, describe: "Serve the new version as canary beside stable, smoke it, then make it stable" },
  "dry-run": { type: "boolean", default: false, describe: "Plan, smoke the source and preview; change nothing" },
  report: { type: "string", requiresArg: true, default: DEFAULT_REPORT, describe: "Where to write the JSON report" },
  ...reachOptions,
};

const smokeOptions: Record<string, Options> = {
  stack: { type: "string", demandOption: true, requiresArg: true, describe: "The deployed stack to smoke, e.g. dev" },
  report: { type: "string", requiresArg: true, default: "smoke-report.json", describe: "Where to write the smoke suite's JSON report" },
  ...reachOptions,
};

function stackName(value: unknown, flag: string): string {
  const name = String(value);
  if (!STACK_NAME.test(name)) throw new UsageError(`--${flag} must be a stack name such as prod or org/project/prod (got "${name}")`);
  return name;
}

function reachFrom(options: Record<string, unknown>): Reach {
  const contexts: Record<string, string> = {};
  for (const entry of (options["kube-context"] as string[] | undefined) ?? []) {
    const match = /^([^=\s]+)=(\S+)$/.exec(entry);
    if (!match) throw new UsageError(`--kube-context must be STACK=CONTEXT (got "${entry}")`);
    contexts[match[1]!] = match[2]!;
  }
  if (!options["port-forward"]) {
    if (Object.keys(contexts).length) throw new UsageError("--kube-context applies only with --port-forward");
    return directReach;
  }
  return portForwardReach({ context: (stack) => contexts[stack] ?? stack });
}

function promoteRequest(options: Record<string, unknown>): PromoteOptions {
  const source = stackName(options["from"], "from");
  const target = stackName(options["to"], "to");
  if (source === target) throw new UsageError(`--from and --to name the same stack (${source})`);
  const model = options["model"] === undefined ? undefined : String(options["model"]);
  if (model !== undefined && !model) throw new UsageError("--model must not be empty");
  let version: number | undefined;
  if (options["version"] !== undefined) {
    const text = String(options["version"]);
    if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) throw new UsageError(`--version must be a positive whole number (got "${text}")`);
    if (model === undefined) throw new UsageError("--version needs --model: which model's version to promote");
    version = Number(text);
  }
  return { source, target, model, version, canary: Boolean(options["canary"]), dryRun: Boolean(options["dry-run"]) };
}

type Parsed = { error: Error | null | undefined; output: string; argv: Record<string, unknown> };

const PROMOTE_EXIT_CODES = EXIT_CODE_MEANINGS.map(([code, meaning]) => `  ${code}  ${meaning}`).join("\n");
const SMOKE_EXIT_CODES = ["  0  the gate passed", "  1  the gate failed (a check failed, or nothing was checked)", "  2  bad usage, or the stack cannot be read"].join("\n");

async function parse(argv: readonly string[], usage: string, options: Record<string, Options>, examples: Array<[string, string]>, exitCodes: string): Promise<Parsed> {
  const parser = yargs([...argv])
    .scriptName("promote")
    .version(false) // before the options: --version is the model version here
    .usage(usage)
    .options(options)
    .strict()
    .help("help")
    .alias("help", "h")
    .wrap(110)
    .epilogue(`Exit codes:\n${exitCodes}\n\nSmoke knobs: SMOKE_WAIT_SECONDS, SMOKE_LATENCY_SAMPLES, SMOKE_LATENCY_MS_P95, SMOKE_CALL_TIMEOUT_SECONDS, SMOKE_TLS_CA, SMOKE_FIXTURES_DIR (as for npm run smoke).`);
  for (const [example, description] of examples) parser.example(example, description);
  return new Promise((resolve) => {
    void parser.parse([...argv], {}, (error, parsedArgv, output) => resolve({ error, output, argv: parsedArgv as Record<string, unknown> }));
  });
}

async function runPromote(argv: readonly string[], io: PromoteIo, deps: MainDeps): Promise<number> {
  const parsed = await parse(
    argv,
    "npm run promote -- --from STACK --to STACK [--model NAME [--version N]] [--canary] [--dry-run] [--report FILE] [--port-forward]\n\n" +
      "Promotes model versions from one stack to another through ml-platform:releases, gated by the smoke suite, with automatic rollback.",
    promoteOptions,
    [
      ["npm run promote -- --from staging --to prod", "Promote every model's stable version from staging to prod"],
      ["npm run promote -- --from staging --to prod --model linear --version 5 --canary", "linear 5 as canary first, then stable"],
    ],
    PROMOTE_EXIT_CODES,
  );
  if (parsed.error) throw new UsageError(parsed.error.message);
  if (parsed.argv["help"]) {
    io.stdout.write(`${parsed.output}\n`);
    return EXIT_PROMOTED;
  }
  const request = promoteRequest(parsed.argv);
  const reach = reachFrom(parsed.argv);
  const settings = smokeSettingsFromEnvironment(io.env, io.cwd);
  const reportFile = path.resolve(io.cwd, String(parsed.argv["report"]));
  const workDir = path.resolve(io.cwd, String(parsed.argv["work-dir"] ?? REPO_ROOT));
  const smoker = (deps.smoker ?? librarySmoker)(settings, reach);
  // A run that cannot even open the Pulumi project never started: it writes no report (a report file
  // would stand for a promotion attempt, and CI would archive it as one).
  const workspace = await openWorkspace(deps, workDir);
  let report: PromotionReport;
  try {
    report = await promote(request, { workspace, smoker, out: (text) => io.stdout.write(text), progress: (text) => io.stderr.write(text) });
  } catch (error) {
    report = notStartedReport(request, error);
  }
  let written = true;
  try {
    writePromotionReport(reportFile, report);
  } catch (error) {
    // the promotion's outcome stands: a report that cannot be written must not change the exit code
    written = false;
    io.stderr.write(`promote: error: cannot write the report ${reportFile}: ${errorMessage(error)}\n`);
  }
  io.stdout.write(`\n${summaryText(report, written ? path.relative(io.cwd, reportFile) || reportFile : undefined)}\n`);
  if (report.error) io.stderr.write(`promote: error: ${report.error}\n`);
  return report.exitCode;
}

async function runSmoke(argv: readonly string[], io: PromoteIo, deps: MainDeps): Promise<number> {
  const parsed = await parse(
    argv,
    "npm run smoke:stack -- --stack STACK [--report FILE] [--port-forward]\n\n" +
      "Smokes a deployed stack's smokeTargets output through the promotion gate (which fails a run that checked nothing).",
    smokeOptions,
    [["npm run smoke:stack -- --stack dev --port-forward", "Smoke dev from outside its cluster"]],
    SMOKE_EXIT_CODES,
  );
  if (parsed.error) throw new UsageError(parsed.error.message);
  if (parsed.argv["help"]) {
    io.stdout.write(`${parsed.output}\n`);
    return EXIT_PROMOTED;
  }
  const stack = stackName(parsed.argv["stack"], "stack");
  const reach = reachFrom(parsed.argv);
  const settings = smokeSettingsFromEnvironment(io.env, io.cwd);
  const reportFile = path.resolve(io.cwd, String(parsed.argv["report"]));
  const workspace = await openWorkspace(deps, path.resolve(io.cwd, String(parsed.argv["work-dir"] ?? REPO_ROOT)));
  let outputs: Record<string, unknown>;
  try {
    outputs = await workspace.outputs(stack);
  } catch (error) {
    throw new ConfigError(`cannot read stack ${stack}: ${errorMessage(error)}`, { cause: error });
  }
  const targets = smokeTargetsOf(outputs, stack);
  const report = await (deps.smoker ?? librarySmoker)(settings, reach).smoke(stack, targets, (line) => io.stderr.write(`[smoke] ${line}\n`));
  writeSmokeReport(reportFile, report);
  const gate = evaluateGate(report, []);
  io.stdout.write(`${smokeSummaryText(report)}\n${gate.passed ? "gate: passed" : `gate: FAILED\n${gate.problems.map((p) => `  - ${p}`).join("\n")}`}\n  report: ${path.relative(io.cwd, reportFile)}\n`);
  return gate.passed ? EXIT_PROMOTED : EXIT_SOURCE_SMOKE_FAILED;
}

/** The workspace over the project in `workDir`; a failure (no Pulumi CLI, no project, not logged in) is a ConfigError. */
async function openWorkspace(deps: MainDeps, workDir: string): Promise<StackWorkspace> {
  try {
    if (deps.workspace) return await deps.workspace(workDir);
    const { automationWorkspace } = await import("./automation-workspace");
    return await automationWorkspace({ workDir, message: "ml-platform promotion" });
  } catch (error) {
    throw new ConfigError(errorMessage(error), { cause: error });
  }
}

/** Runs the command line and returns the exit code. */
export async function main(argv: readonly string[], io: PromoteIo = processIo(), deps: MainDeps = {}): Promise<number> {
  const smoke = argv[0] === "smoke";
  // errors name the command the user ran
  const command = smoke ? "smoke:stack" : "promote";
  try {
    return smoke ? await runSmoke(argv.slice(1), io, deps) : await runPromote(argv, io, deps);
  } catch (error) {
    io.stderr.write(`${command}: error: ${errorMessage(error)}\n`);
    if (error instanceof UsageError) io.stderr.write(`Run "npm run ${command} -- --help" for usage.\n`);
    return exitCodeFor(error);
  }
}
