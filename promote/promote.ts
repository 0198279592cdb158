/**
 * The promotion flow over a StackWorkspace and a StackSmoker:
 *
 * 1. Read both stacks: outputs and config at `ml-platform:releases`. Each stack's config must be what
 *    is deployed (so the promotion starts from what was smoked, and a concurrent change shows).
 * 2. Plan (pure, plan.ts); print the plan. Nothing to do: done.
 * 3. Smoke the source; its gate must pass, else stop (exit 1, nothing changed).
 * 4. Per step: check the target's deployment is still the one expected, write the step's config,
 *    preview (printed), up, smoke the target through the step's gate.
 * 5. Any failure after the config was first written: put the previous config back exactly (removing
 *    the key if it did not exist), and when something was deployed, `up` and smoke again. Exit 3 when
 *    that worked, 4 when it did not.
 *
 * `dryRun` stops before the first `up`: it writes each step's config, previews it, and puts the
 * previous config back.
 */
import { parseSmokeTargets, SmokeTargetsError, type SmokeTargets } from "../contracts/smoke-targets";
import { ConfigError, errorMessage, exitCodeFor, RollbackFailed, SourceSmokeFailed, TargetRolledBack } from "./errors";
import { evaluateGate, type GateOptions, type SmokeRequirement } from "./gate";
import { planPromotion, planText, type PromotionPlan, type StackReleases } from "./plan";
import { describeReleases, parseReleases, sameReleases, type Releases } from "./releases";
import { OUTCOME_OF_EXIT, PROMOTION_REPORT_FORMAT, type PromotionOutcome, type PromotionReport, type SmokePhase, type SmokeRecord, type StepRecord } from "./report";
import type { StackSmoker } from "./smoke";
import type { StackWorkspace } from "./workspace";

export interface PromoteOptions {
  source: string;
  target: string;
  model?: string;
  version?: number;
  canary: boolean;
  dryRun: boolean;
}

export interface PromoteDeps {
  workspace: StackWorkspace;
  smoker: StackSmoker;
  /** The plan, the previews and the summary (stdout). */
  out: (text: string) => void;
  /** Progress: smoke progress and the updates' output (stderr). */
  progress: (text: string) => void;
}

/** A stack as the promotion sees it. */
export interface StackState extends StackReleases {
  /** What the stack's `releases` output says is deployed. */
  deployed: Releases;
  /** The stack's `smokeTargets` output. */
  targets: SmokeTargets;
}

/** The target's deployment is not the one this promotion expects: someone else deployed it meanwhile. */
export class InterleavedDeployment extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InterleavedDeployment";
  }
}

/** A stack's `smokeTargets` output, checked against the format. */
export function smokeTargetsOf(outputs: Record<string, unknown>, stack: string): SmokeTargets {
  try {
    return parseSmokeTargets(outputs["smokeTargets"]);
  } catch (error) {
    if (error instanceof SmokeTargetsError) throw new ConfigError(`${stack}: output "smokeTargets": ${error.message}`, { cause: error });
    throw error;
  }
}

/** Reads a stack's promotion path and outputs, and checks that its config is what is deployed. */
export async function readStack(workspace: StackWorkspace, stack: string): Promise<StackState> {
  let outputs: Record<string, unknown>;
  let raw: unknown;
  try {
    [outputs, raw] = await Promise.all([workspace.outputs(stack), workspace.readReleases(stack)]);
  } catch (error) {
    throw new ConfigError(`cannot read stack ${stack}: ${errorMessage(error)}`, { cause: error });
  }
  const releases = parseReleases(raw, `${stack} config ml-platform:releases`);
  if (!("smokeTargets" in outputs)) {
    throw new ConfigError(`${stack} has no smokeTargets output: it has not been deployed with this program (pulumi up --stack ${stack})`);
  }
  const deployed = parseReleases(outputs["releases"], `${stack} output releases`);
  if (!sameReleases(releases, deployed)) {
    throw new ConfigError(
      `${stack}: its config at ml-platform:releases (${describeReleases(releases)}) is not what is deployed (${describeReleases(deployed)}); ` +
        "deploy or revert that change first, so that the promotion starts from what was smoked",
    );
  }
  return { stack, releases, raw: raw as Record<string, unknown> | undefined, deployed, targets: smokeTargetsOf(outputs, stack) };
}

/** What a rollback's smoke gate must see: the previous labels and versions of the promoted models. */
export function rollbackRequirements(plan: PromotionPlan): SmokeRequirement[] {
  return plan.promotions.flatMap(({ model, from }) => {
    if (!from) return [];
    const labelled = Object.entries(from.labels).map(([label, version]) => ({ model, version, label }));
    const unlabelled = from.versions.filter((v) => !Object.values(from.labels).includes(v)).map((version) => ({ model, version }));
    return [...labelled, ...unlabelled];
  });
}

function firstLine(text: string): string {
  return text.split("\n")[0]!;
}

function initialReport(options: PromoteOptions): PromotionReport {
  return {
    format: PROMOTION_REPORT_FORMAT,
    outcome: "not-started",
    exitCode: 2,
    message: "",
    source: options.source,
    target: options.target,
    request: { model: options.model ?? null, version: options.version ?? null, canary: options.canary, dryRun: options.dryRun },
    startedAt: new Date().toISOString(),
    durationMs: 0,
    plan: null,
    targetReleases: { before: null, after: null },
    changed: false,
    smoke: [],
    steps: [],
    rollback: null,
    error: null,
  };
}

/** The report of a run that could not start (e.g. Pulumi could not be used): exit 2, nothing changed. */
export function notStartedReport(options: PromoteOptions, error: unknown): PromotionReport {
  const message = errorMessage(error);
  return { ...initialReport(options), error: message, message: `not-started: ${firstLine(message)}` };
}

class Promotion {
  readonly report: PromotionReport;

  constructor(
    private readonly options: PromoteOptions,
    private readonly deps: PromoteDeps,
  ) {
    this.report = initialReport(options);
  }

  private async smoke(stack: string, targets: SmokeTargets, phase: SmokePhase, requirements: SmokeRequirement[], options?: GateOptions): Promise<SmokeRecord> {
    this.deps.progress(`promote: smoking ${stack} (${phase}): ${targets.endpoints.length} endpoint(s)\n`);
    const report = await this.deps.smoker.smoke(stack, targets, (line) => this.deps.progress(`[${phase} smoke] ${line}\n`));
    const record: SmokeRecord = { stack, phase, requirements, gate: evaluateGate(report, requirements, options), report };
    this.report.smoke.push(record);
    this.deps.progress(`promote: ${phase} smoke of ${stack} ${record.gate.passed ? "passed" : `failed: ${record.gate.problems.join("; ")}`}\n`);
    return record;
  }

  private async expectDeployed(stack: string, expected: Releases): Promise<void> {
    const outputs = await this.deps.workspace.outputs(stack);
    const deployed = parseReleases(outputs["releases"], `${stack} output releases`);
    if (!sameReleases(deployed, expected)) {
      throw new InterleavedDeployment(
        `${stack}'s deployed releases changed while this promotion ran (expected ${describeReleases(expected)}, found ${describeReleases(deployed)}): ` +
          "another promotion or deployment interleaved",
      );
    }
  }

  async run(): Promise<{ outcome: PromotionOutcome; message: string }> {
    const { workspace } = this.deps;
    const [source, target] = await Promise.all([readStack(workspace, this.options.source), readStack(workspace, this.options.target)]);
    this.report.targetReleases.before = target.raw ?? null;
    const plan = planPromotion(source, target, { model: this.options.model, version: this.options.version, canary: this.options.canary });
    this.report.plan = plan;
    this.deps.out(`${planText(plan)}\n`);
    if (plan.steps.length === 0) {
      return { outcome: "up-to-date", message: `nothing to do: ${target.stack} already serves ${plan.upToDate.map((u) => `${u.model} ${u.version}`).join(", ")} as stable` };
    }

    const sourceSmoke = await this.smoke(source.stack, source.targets, "source", plan.sourceRequirements);
    if (!sourceSmoke.gate.passed) {
      throw new SourceSmokeFailed(`the source ${source.stack} failed its smoke gate; nothing changed:\n${sourceSmoke.gate.problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    const promoted = plan.promotions.map((p) => `${p.model} ${p.version}`).join(", ");
    if (this.options.dryRun) {
      await this.dryRun(plan, target);
      return { outcome: "dry-run", message: `dry run: would promote ${promoted} in ${plan.steps.length} step(s); nothing changed` };
    }
    await this.apply(plan, target);
    this.report.changed = true;
    return { outcome: "promoted", message: `promoted ${promoted}${plan.canary ? " through canary" : ""}` };
  }

  private async dryRun(plan: PromotionPlan, target: StackState): Promise<void> {
    let failure: unknown;
    for (const [i, step] of plan.steps.entries()) {
      const record: StepRecord = { name: step.name, releases: step.releases, preview: null, up: null, error: null };
      this.report.steps.push(record);
      try {
        await this.deps.workspace.writeReleases(target.stack, step.releases);
        this.deps.out(`\npreview of step ${i + 1} (${step.name}) on ${target.stack}, relative to what is deployed now (dry run):\n`);
        record.preview = await this.deps.workspace.preview(target.stack, this.deps.out);
      } catch (error) {
        record.error = errorMessage(error);
        failure = error;
        break;
      }
    }
    try {
      await this.deps.workspace.writeReleases(target.stack, target.raw);
    } catch (error) {
      throw new RollbackFailed(`dry run: could not put ${target.stack}'s ml-platform:releases back: ${errorMessage(error)}; someone must look now`, { cause: error });
    }
    if (failure !== undefined) throw new ConfigError(`dry run: the preview failed: ${errorMessage(failure)}; the config was put back`, { cause: failure });
  }

  private async apply(plan: PromotionPlan, target: StackState): Promise<void> {
    const { workspace } = this.deps;
    let expected = target.deployed;
    let configWritten = false;
    let upAttempted = false;
    try {
      for (const [i, step] of plan.steps.entries()) {
        const record: StepRecord = { name: step.name, releases: step.releases, preview: null, up: null, error: null };
        this.report.steps.push(record);
        try {
          await this.expectDeployed(target.stack, expected);
          await workspace.writeReleases(target.stack, step.releases);
          configWritten = true;
          this.deps.out(`\npreview of step ${i + 1} (${step.name}) on ${target.stack}:\n`);
          record.preview = await workspace.preview(target.stack, this.deps.out);
          this.deps.progress(`promote: step ${i + 1} (${step.name}): pulumi up --stack ${target.stack}\n`);
          upAttempted = true;
          const up = await workspace.up(target.stack, this.deps.progress);
          record.up = { changeSummary: up.changeSummary };
          expected = parseReleases(step.releases, `step ${step.name} releases`);
          const smoke = await this.smoke(target.stack, smokeTargetsOf(up.outputs, target.stack), step.name, step.requirements);
          if (!smoke.gate.passed) throw new Error(`step ${i + 1} (${step.name}): ${target.stack} failed its smoke gate: ${smoke.gate.problems.join("; ")}`);
        } catch (error) {
          record.error = errorMessage(error);
          throw error;
        }
      }
    } catch (error) {
      if (error instanceof InterleavedDeployment) {
        if (!configWritten) throw new ConfigError(`${error.message}; nothing changed`, { cause: error });
        throw new RollbackFailed(`${error.message}; not rolling back over another deployment: someone must look now`, { cause: error });
      }
      if (!configWritten) throw error;
      await this.rollback(plan, target, errorMessage(error), upAttempted);
    }
  }

  /** Puts the previous config back (and redeploys and smokes it when something was deployed). Always throws. */
  private async rollback(plan: PromotionPlan, target: StackState, reason: string, redeploy: boolean): Promise<never> {
    const { workspace } = this.deps;
    const record = { reason, restored: target.raw ?? null, redeployed: redeploy, ok: false, error: null as string | null };
    this.report.rollback = record;
    this.deps.progress(`promote: rolling back ${target.stack}: ${reason}\n`);
    try {
      await workspace.writeReleases(target.stack, target.raw);
      if (redeploy) {
        const up = await workspace.up(target.stack, this.deps.progress);
        const smoke = await this.smoke(target.stack, smokeTargetsOf(up.outputs, target.stack), "rollback", rollbackRequirements(plan), {
          allowEmpty: target.targets.endpoints.length === 0,
        });
        if (!smoke.gate.passed) throw new Error(`the previous config failed its smoke gate: ${smoke.gate.problems.join("; ")}`);
      }
      record.ok = true;
    } catch (error) {
      record.error = errorMessage(error);
      throw new RollbackFailed(`${reason}\nthe rollback failed: ${record.error}; someone must look now`, { cause: error });
    }
    if (redeploy) throw new TargetRolledBack(`${reason}\nrolled back: ${target.stack} serves ${describeReleases(target.releases)} again, smoked`);
    throw new ConfigError(`${reason}\nthe previous config was put back; nothing had been deployed`);
  }
}

/** Runs a promotion. Never throws: the report says how it ended, with its exit code. */
export async function promote(options: PromoteOptions, deps: PromoteDeps): Promise<PromotionReport> {
  const started = performance.now();
  const promotion = new Promotion(options, deps);
  const { report } = promotion;
  try {
    const { outcome, message } = await promotion.run();
    Object.assign(report, { outcome, message, exitCode: 0 });
  } catch (error) {
    const exitCode = exitCodeFor(error);
    Object.assign(report, { exitCode, outcome: OUTCOME_OF_EXIT[exitCode], error: errorMessage(error), message: `${OUTCOME_OF_EXIT[exitCode]}: ${firstLine(errorMessage(error))}` });
  }
  try {
    report.targetReleases.after = ((await deps.workspace.readReleases(options.target)) as Record<string, unknown> | undefined) ?? null;
  } catch {
    report.targetReleases.after = null;
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}
