/**
 * A smoke run: every endpoint at once (so a run takes about as long as its slowest endpoint), and
 * within an endpoint its Service address and each pod at once; the models of one address are checked
 * one after the other so that latency samples do not compete with each other.
 */
import { TfServingClient } from "../../client/client";
import type { SmokeEndpoint, SmokeTargets } from "../../contracts/smoke-targets";
import { checkModel } from "./checks";
import { resolvePods, splitHostPort, type HostResolver } from "./pods";
import { checkResult, type CheckResult, type CheckSubject } from "./results";
import { TargetsLoadError, planModel, type ModelPlan } from "./targets";

export interface RunOptions {
  /** How long models (and a headless Service's pods) may take to become available, from the run's start. */
  waitSeconds: number;
  /** Sequential Predicts per model and address for the latency check; 0 turns it off. */
  latencySamples: number;
  /** p95 budget for models whose target has no `latencyMsP95`. */
  latencyMsP95?: number;
  callTimeoutSeconds: number;
  fixturesDir: string;
  /** PEM CA bundle for `tls: true` endpoints (default: the system roots). */
  tlsCa?: Buffer;
  /** Endpoint name to the HOST:PORT to dial instead of `grpc`; their pods are not checked. */
  endpointAddresses?: Readonly<Record<string, string>>;
  /** Resolves the `dns` form of `pods` (default: the system resolver, as getaddrinfo). */
  resolver?: HostResolver;
  /** Progress lines (waiting, endpoint done). Default: none. */
  progress?: (line: string) => void;
  /** How often to poll while waiting. @default min(1000, wait / 10), at least 50 */
  pollIntervalMs?: number;
}

export interface EndpointSummary {
  name: string;
  /** The HOST:PORT dialed for the Service. */
  address: string;
  /** The pod addresses checked. */
  pods: string[];
  ok: boolean;
  durationMs: number;
}

export interface SmokeRun {
  startedAt: string;
  durationMs: number;
  endpoints: EndpointSummary[];
  results: CheckResult[];
}

interface RunContext {
  options: RunOptions;
  deadline: number;
  pollIntervalMs: number;
  progress: (line: string) => void;
}

/** Completes every model target with its fixture; throws TargetsLoadError before any call is made. */
export function planTargets(targets: SmokeTargets, options: Pick<RunOptions, "fixturesDir" | "endpointAddresses">): ModelPlan[][] {
  const names = new Set(targets.endpoints.map((e) => e.name));
  const repeated = [...new Set(targets.endpoints.map((e) => e.name).filter((name, i, all) => all.indexOf(name) !== i))];
  if (repeated.length) throw new TargetsLoadError(`endpoint names must be unique (results are reported by name): ${repeated.join(", ")} appear${repeated.length > 1 ? "" : "s"} more than once`);
  const unknown = Object.keys(options.endpointAddresses ?? {}).filter((name) => !names.has(name));
  if (unknown.length) {
    throw new TargetsLoadError(`SMOKE_ENDPOINT_ADDRESSES names endpoint${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}, which the targets lack (they have: ${[...names].join(", ") || "none"})`);
  }
  return targets.endpoints.map((endpoint, e) => endpoint.models.map((model, m) => planModel(model, options.fixturesDir, `endpoints[${e}].models[${m}]`)));
}

async function checkAddress(context: RunContext, endpoint: SmokeEndpoint, plans: ModelPlan[], pod: string | null, address: string): Promise<CheckResult[]> {
  const { options } = context;
  const serverName = address === endpoint.grpc ? undefined : splitHostPort(endpoint.grpc).host;
  const client = new TfServingClient({
    endpoint: address,
    tls: endpoint.tls ? { ...(options.tlsCa ? { ca: options.tlsCa } : {}), ...(serverName ? { serverName } : {}) } : false,
    timeoutMs: options.callTimeoutSeconds * 1000,
  });
  const results: CheckResult[] = [];
  try {
    for (const plan of plans) {
      const subject: CheckSubject = { endpoint: endpoint.name, pod, address, model: plan.target.name, version: plan.target.version ?? null, label: plan.target.label ?? null };
      results.push(
        ...(await checkModel({
          client,
          subject,
          plan,
          deadline: context.deadline,
          pollIntervalMs: context.pollIntervalMs,
          callTimeoutMs: options.callTimeoutSeconds * 1000,
          latencySamples: options.latencySamples,
          latencyBudgetMs: plan.target.latencyMsP95 ?? options.latencyMsP95,
          progress: context.progress,
        })),
      );
    }
  } finally {
    client.close();
  }
  return results;
}

async function smokeEndpoint(context: RunContext, endpoint: SmokeEndpoint, plans: ModelPlan[]): Promise<{ summary: EndpointSummary; results: CheckResult[] }> {
  const started = performance.now();
  const override = context.options.endpointAddresses?.[endpoint.name];
  const address = override ?? endpoint.grpc;
  const serviceChecks = checkAddress(context, endpoint, plans, null, address);

  const podChecks: CheckResult[] = [];
  let pods: string[] = [];
  if (endpoint.pods) {
    const subject: CheckSubject = { endpoint: endpoint.name, pod: null, address, model: null, version: null, label: null };
    const expected = Array.isArray(endpoint.pods) ? "the listed pod addresses" : `the pod addresses ${endpoint.pods.dns} resolves to`;
    const podsStarted = performance.now();
    if (override) {
      podChecks.push(checkResult(subject, "pods", "skipped", expected, `not checked: the endpoint is reached at ${override} (SMOKE_ENDPOINT_ADDRESSES)`, 0));
    } else {
      const resolution = await resolvePods(endpoint.pods, {
        deadline: context.deadline,
        pollIntervalMs: context.pollIntervalMs,
        resolver: context.options.resolver,
        onWait: (observed) => context.progress(`endpoint ${endpoint.name}: waiting for pods: ${observed}`),
      });
      podChecks.push(checkResult(subject, "pods", resolution.ok ? "passed" : "failed", expected, resolution.observed, performance.now() - podsStarted));
      if (resolution.ok) {
        pods = resolution.pods;
        const perPod = await Promise.all(pods.map((pod) => checkAddress(context, endpoint, plans, pod, pod)));
        podChecks.push(...perPod.flat());
      }
    }
  }
  const results = [...(await serviceChecks), ...podChecks];
  const durationMs = Math.round(performance.now() - started);
  const count = (outcome: CheckResult["outcome"]) => results.filter((r) => r.outcome === outcome).length;
  context.progress(`endpoint ${endpoint.name}: ${count("passed")} passed, ${count("failed")} failed, ${count("skipped")} skipped in ${(durationMs / 1000).toFixed(1)} s`);
  return { summary: { name: endpoint.name, address, pods, ok: count("failed") === 0, durationMs }, results };
}

/** Checks every endpoint of `targets`, all at once. Throws TargetsLoadError for unusable fixtures or overrides. */
export async function runSmoke(targets: SmokeTargets, options: RunOptions): Promise<SmokeRun> {
  const plans = planTargets(targets, options);
  const startedAt = new Date();
  const started = performance.now();
  const waitMs = options.waitSeconds * 1000;
  const context: RunContext = {
    options,
    deadline: startedAt.getTime() + waitMs,
    pollIntervalMs: options.pollIntervalMs ?? Math.max(50, Math.min(1000, waitMs / 10)),
    progress: options.progress ?? (() => undefined),
  };
  const perEndpoint = await Promise.all(targets.endpoints.map((endpoint, i) => smokeEndpoint(context, endpoint, plans[i]!)));
  return {
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    endpoints: perEndpoint.map((e) => e.summary),
    results: perEndpoint.flatMap((e) => e.results),
  };
}
