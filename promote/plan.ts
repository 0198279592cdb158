/**
 * The promotion planner, a pure function: what the source and the target pin at the promotion path and
 * what was asked for in; the target's new config, step by step, and what each step's smoke gate must
 * see, out. Nothing here touches a stack.
 *
 * - Plain: the target serves exactly the promoted version, labelled stable.
 * - Canary (two steps): first the new version beside the target's stable one, labelled canary (gate:
 *   the canary label serves the new version, stable still the old one); then stable moves to the new
 *   version and the old one is dropped (gate: stable serves the new version).
 *
 * A promotion owns the promoted model's whole entry (`ml-platform:releases.<model>`); other models'
 * entries are kept exactly as they are.
 */
import { ConfigError } from "./errors";
import type { SmokeRequirement } from "./gate";
import { describeRelease, sameRelease, type ReleaseConfig, type Releases } from "./releases";

export interface PromotionRequest {
  /** Promote only this model. @default every model the source pins */
  model?: string;
  /** The version to promote (needs `model`). @default the source's stable version */
  version?: number;
  /** Two steps through the canary label. */
  canary: boolean;
}

/** One stack's promotion path: parsed, and raw as the config holds it (written back as is). */
export interface StackReleases {
  stack: string;
  releases: Releases;
  /** The raw value at `ml-platform:releases` (an object), or undefined when the key is absent. */
  raw: Record<string, unknown> | undefined;
}

export interface ModelPromotion {
  model: string;
  version: number;
  /** What the target pins before the promotion. */
  from: ReleaseConfig | null;
  /** The canary step's release; null when there is no canary step for this model. */
  canary: ReleaseConfig | null;
  /** What the target pins afterwards. */
  to: ReleaseConfig;
}

export type StepName = "canary" | "promote";

export interface PlanStep {
  name: StepName;
  description: string;
  /** The target's whole new value at `ml-platform:releases`. */
  releases: Record<string, unknown>;
  /** What this step's smoke gate must see passing on the target. */
  requirements: SmokeRequirement[];
}

export interface PromotionPlan {
  source: string;
  target: string;
  canary: boolean;
  promotions: ModelPromotion[];
  /** Models whose promotion changes nothing (the target already serves exactly that). */
  upToDate: Array<{ model: string; version: number }>;
  /** What the source's smoke gate must see passing: every promoted version. */
  sourceRequirements: SmokeRequirement[];
  /** Empty when there is nothing to do. */
  steps: PlanStep[];
}

/** The request cannot be planned against these stacks. Nothing was changed. */
export class PlanError extends ConfigError {}

const quoteList = (items: readonly string[]) => (items.length ? items.map((i) => `"${i}"`).join(", ") : "(none)");

function versionToPromote(source: StackReleases, model: string, release: ReleaseConfig, requested: number | undefined): number {
  const version = requested ?? release.labels["stable"] ?? (release.versions.length === 1 ? release.versions[0] : undefined);
  if (version === undefined) {
    throw new PlanError(
      `${source.stack} serves ${model} ${describeRelease(release)} with no stable label, so which version to promote is not clear: pass --model ${model} --version N`,
    );
  }
  if (!release.versions.includes(version)) {
    throw new PlanError(`${source.stack} does not serve ${model} version ${version}: its ml-platform:releases.${model} serves ${describeRelease(release)}`);
  }
  return version;
}

function planModel(source: StackReleases, target: StackReleases, model: string, request: PromotionRequest): ModelPromotion | { model: string; version: number; upToDate: true } {
  const sourceRelease = source.releases[model];
  if (!sourceRelease) {
    throw new PlanError(`${source.stack} pins no release of model "${model}" at ml-platform:releases (it pins ${quoteList(Object.keys(source.releases).sort())})`);
  }
  const version = versionToPromote(source, model, sourceRelease, request.version);
  const current = target.releases[model];
  const to: ReleaseConfig = { versions: [version], labels: { stable: version } };
  if (sameRelease(current, to)) return { model, version, upToDate: true };
  if (!request.canary) return { model, version, from: current ?? null, canary: null, to };

  const stable = current?.labels["stable"];
  if (current === undefined || stable === undefined) {
    throw new PlanError(
      `--canary serves the new version beside the target's stable one, but ${target.stack} has no stable version of ${model} ` +
        `(its ml-platform:releases.${model}: ${describeRelease(current)}); promote without --canary`,
    );
  }
  // Already stable on the target (only other versions or labels to drop): no canary phase is needed.
  if (stable === version) return { model, version, from: current, canary: null, to };
  const canary: ReleaseConfig = { versions: [...new Set([stable, version])].sort((a, b) => a - b), labels: { stable, canary: version } };
  // The canary phase is already deployed (e.g. set by an earlier run): go straight to the final step.
  return { model, version, from: current, canary: sameRelease(current, canary) ? null : canary, to };
}

function releasesWith(raw: Record<string, unknown> | undefined, changes: ReadonlyArray<readonly [string, ReleaseConfig]>): Record<string, unknown> {
  const next: Record<string, unknown> = { ...(raw ?? {}) };
  for (const [model, release] of changes) next[model] = { versions: [...release.versions], labels: { ...release.labels } };
  return next;
}

export function planPromotion(source: StackReleases, target: StackReleases, request: PromotionRequest): PromotionPlan {
  if (source.stack === target.stack) throw new PlanError(`the source and the target are the same stack (${source.stack})`);
  if (request.version !== undefined && request.model === undefined) throw new PlanError("--version needs --model: which model's version to promote");
  const models = request.model !== undefined ? [request.model] : Object.keys(source.releases).sort();
  if (models.length === 0) throw new PlanError(`${source.stack} pins no model releases at ml-platform:releases: nothing to promote`);

  const promotions: ModelPromotion[] = [];
  const upToDate: PromotionPlan["upToDate"] = [];
  for (const model of models) {
    const planned = planModel(source, target, model, request);
    if ("upToDate" in planned) upToDate.push({ model: planned.model, version: planned.version });
    else promotions.push(planned);
  }

  const steps: PlanStep[] = [];
  const canaries = promotions.filter((p) => p.canary !== null);
  if (canaries.length) {
    steps.push({
      name: "canary",
      description: `serve ${canaries.map((p) => `${p.model} ${p.version} as canary beside stable ${p.canary!.labels["stable"]}`).join(", ")}`,
      releases: releasesWith(target.raw, canaries.map((p) => [p.model, p.canary!] as const)),
      requirements: canaries.flatMap((p) => [
        { model: p.model, version: p.version, label: "canary" },
        { model: p.model, version: p.canary!.labels["stable"]!, label: "stable" },
      ]),
    });
  }
  if (promotions.length) {
    steps.push({
      name: "promote",
      description: `serve ${promotions.map((p) => `${p.model} ${p.version} as stable${p.from ? ` (was ${describeRelease(p.from)})` : ""}`).join(", ")}`,
      releases: releasesWith(target.raw, promotions.map((p) => [p.model, p.to] as const)),
      requirements: promotions.map((p) => ({ model: p.model, version: p.version, label: "stable" })),
    });
  }
  return {
    source: source.stack,
    target: target.stack,
    canary: request.canary,
    promotions,
    upToDate,
    sourceRequirements: promotions.map(({ model, version }) => ({ model, version })),
    steps,
  };
}

/** The plan for people: one line per model, one per step. */
export function planText(plan: PromotionPlan): string {
  const lines = [`plan: promote ${plan.source} -> ${plan.target}${plan.canary ? " (canary)" : ""}`];
  for (const p of plan.promotions) lines.push(`  ${p.model}: ${describeRelease(p.from)} -> ${describeRelease(p.to)}`);
  for (const u of plan.upToDate) lines.push(`  ${u.model}: already serves version ${u.version} as stable; nothing to do`);
  plan.steps.forEach((step, i) => lines.push(`  step ${i + 1} (${step.name}): ${step.description}`));
  if (plan.steps.length === 0) lines.push(`  nothing to do: ${plan.target} is up to date`);
  return lines.join("\n");
}
