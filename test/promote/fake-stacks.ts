/**
 * A fake of the promotion's StackWorkspace, with real model servers behind it. Each stack has its config
 * at `ml-platform:releases` (raw, written and read back exactly), what is deployed, and a TF Serving
 * double (test/grpc) standing in for its serving endpoint. `up` deploys the config: the stack's outputs
 * (`releases`, `smokeTargets`) follow from it, and the double starts serving exactly those versions of
 * the `linear` model with those labels, each version computing what that stack's model store holds
 * for it (so a version can be broken in one stack and fine in another). The smoke suite then checks
 * the double over gRPC, for real.
 */
import { parseReleases, type Releases } from "../../promote/releases";
import type { OutputSink, StackWorkspace, UpSummary } from "../../promote/workspace";
import type { SmokeModelTarget, SmokeTargets } from "../../contracts/smoke-targets";
import { startTfServingDouble, type TfServingDouble } from "../grpc/tf-serving-double";
import { linearModel, TRAINED_LINE } from "../smoke/smoke-doubles";

export interface Line {
  slope: number;
  intercept: number;
}

/** A model version that computes the wrong line: the smoke suite's predict check fails on it. */
export const BROKEN_LINE: Line = { slope: 3, intercept: -2 };

export interface FakeStackSpec {
  /** The raw value at `ml-platform:releases`; undefined: the key is absent. Deployed as is at the start. */
  releases: Record<string, unknown> | undefined;
  /** Versions of `linear` whose export in this stack's store computes another line. @default none */
  broken?: number[];
}

export type WorkspaceCall =
  | { op: "outputs" | "readReleases" | "preview" | "up"; stack: string }
  | { op: "writeReleases"; stack: string; value: unknown };

interface FakeStack {
  config: Record<string, unknown> | undefined;
  deployed: Releases;
  server: TfServingDouble;
  broken: Set<number>;
  /** When set, the smokeTargets output is this instead of what the deployment implies. */
  targetsOverride?: SmokeTargets;
}

const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

export class FakeStacks implements StackWorkspace {
  readonly calls: WorkspaceCall[] = [];
  /** Called as each call starts (e.g. to deploy something else behind the promotion's back). */
  onCall?: (call: WorkspaceCall) => void;
  private readonly stacks = new Map<string, FakeStack>();
  private readonly failures: Array<{ op: "preview" | "up"; stack: string; remaining: number }> = [];

  private constructor() {}

  static async start(specs: Record<string, FakeStackSpec>): Promise<FakeStacks> {
    const fake = new FakeStacks();
    for (const [name, spec] of Object.entries(specs)) {
      const server = await startTfServingDouble({ models: [] });
      const stack: FakeStack = { config: clone(spec.releases), deployed: {}, server, broken: new Set(spec.broken ?? []) };
      fake.stacks.set(name, stack);
      fake.deploy(stack, parseReleases(spec.releases, `${name} releases`));
    }
    return fake;
  }

  async close(): Promise<void> {
    await Promise.all([...this.stacks.values()].map((s) => s.server.close()));
  }

  private record(call: WorkspaceCall): void {
    this.calls.push(call);
    this.onCall?.(call);
  }

  private stack(name: string): FakeStack {
    const stack = this.stacks.get(name);
    if (!stack) throw new Error(`error: no stack named '${name}' found`);
    return stack;
  }

  /** The next `times` calls of `op` on `stack` fail, as Pulumi does when an update fails. */
  fail(op: "preview" | "up", stack: string, times = 1): void {
    this.failures.push({ op, stack, remaining: times });
  }

  /** The stack's smokeTargets output becomes `targets`, whatever is deployed. */
  overrideTargets(stack: string, targets: SmokeTargets): void {
    this.stack(stack).targetsOverride = targets;
  }

  /** Deploys `releases` without touching the stack's config here (as another checkout's `up` would). */
  deployElsewhere(stack: string, releases: Releases): void {
    this.deploy(this.stack(stack), releases);
  }

  /** The raw config at `ml-platform:releases`, as stored. */
  configOf(stack: string): Record<string, unknown> | undefined {
    return clone(this.stack(stack).config);
  }

  deployedOf(stack: string): Releases {
    return clone(this.stack(stack).deployed);
  }

  /** What the stack's model server serves now: version -> AVAILABLE, and labels. */
  servedBy(stack: string): { versions: number[]; labels: Record<string, number> } {
    const model = this.stack(stack).server.models.find((m) => m.name === "linear");
    return { versions: (model?.versions ?? []).map((v) => v.version), labels: { ...(model?.labels ?? {}) } };
  }

  private deploy(stack: FakeStack, releases: Releases): void {
    stack.deployed = clone(releases);
    const release = releases["linear"];
    stack.server.models = release
      ? [
          linearModel({
            versions: release.versions.map((version) => ({ version, ...(stack.broken.has(version) ? BROKEN_LINE : TRAINED_LINE) })),
            labels: release.labels,
          }),
        ]
      : [];
  }

  private smokeTargets(stack: FakeStack): SmokeTargets {
    if (stack.targetsOverride) return stack.targetsOverride;
    // As TfServing's smokeTarget: one target per label, and one per version no label points at.
    const endpoints = Object.entries(stack.deployed).map(([model, release]) => {
      const labelled = Object.entries(release.labels).map(([label, version]): SmokeModelTarget => ({ name: model, version, label }));
      const rest = release.versions.filter((v) => !Object.values(release.labels).includes(v)).map((version): SmokeModelTarget => ({ name: model, version }));
      return { name: model, grpc: stack.server.endpoint, models: [...labelled, ...rest] };
    });
    return { endpoints };
  }

  private failing(op: "preview" | "up", stack: string): boolean {
    const failure = this.failures.find((f) => f.op === op && f.stack === stack && f.remaining > 0);
    if (failure) failure.remaining -= 1;
    return failure !== undefined;
  }

  async outputs(name: string): Promise<Record<string, unknown>> {
    this.record({ op: "outputs", stack: name });
    const stack = this.stack(name);
    return { releases: clone(stack.deployed), smokeTargets: clone(this.smokeTargets(stack)) };
  }

  async readReleases(name: string): Promise<unknown> {
    this.record({ op: "readReleases", stack: name });
    return clone(this.stack(name).config);
  }

  async writeReleases(name: string, value: unknown): Promise<void> {
    this.record({ op: "writeReleases", stack: name, value: clone(value) });
    this.stack(name).config = clone(value) as Record<string, unknown> | undefined;
  }

  async preview(name: string, output: OutputSink): Promise<{ changeSummary: Record<string, number> }> {
    this.record({ op: "preview", stack: name });
    const stack = this.stack(name);
    if (this.failing("preview", name)) throw new Error(`pulumi preview --stack ${name} failed: exit 255: error: preview failed`);
    const next = parseReleases(stack.config, `${name} releases`);
    output(`Previewing update (${name}):\n  ~ ml-platform:serving:TfServing linear update [releases: ${JSON.stringify(next)}]\n`);
    return { changeSummary: { update: 1, same: 12 } };
  }

  async up(name: string, output: OutputSink): Promise<UpSummary> {
    this.record({ op: "up", stack: name });
    const stack = this.stack(name);
    if (this.failing("up", name)) throw new Error(`pulumi up --stack ${name} failed: exit 255: error: update failed`);
    this.deploy(stack, parseReleases(stack.config, `${name} releases`));
    output(`Updating (${name}):\n  ~ ml-platform:serving:TfServing linear updated\n`);
    return { outputs: await this.outputsWithoutRecording(stack), changeSummary: { update: 1, same: 12 } };
  }

  private async outputsWithoutRecording(stack: FakeStack): Promise<Record<string, unknown>> {
    return { releases: clone(stack.deployed), smokeTargets: clone(this.smokeTargets(stack)) };
  }

  /** The calls of one stack, without reads: what changed it. */
  changesTo(stack: string): WorkspaceCall[] {
    return this.calls.filter((c) => c.stack === stack && (c.op === "writeReleases" || c.op === "preview" || c.op === "up"));
  }
}
