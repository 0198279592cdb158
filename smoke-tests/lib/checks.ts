/**
 * The five checks of one model at one address (a Service or a pod): status (waiting for AVAILABLE),
 * label, metadata, predict and latency. Each yields a CheckResult; a check that cannot run because an
 * earlier one failed is reported as skipped with the reason.
 */
import type { ModelRef, TfServingClient } from "../../client/client";
import { isSupportedDType } from "../../client/dtypes";
import { GrpcStatusError } from "../../client/errors";
import { columnsToTensors } from "../../client/json-requests";
import { formatShape, shapeFits, type Signature } from "../../client/signatures";
import { tensor, type Tensor, type TensorLike } from "../../client/tensor-codec";
import { DEFAULT_TOLERANCE, compareOutput, outputsJson, preview } from "./compare";
import { checkResult, describeSubject, skippedChecks, type CheckName, type CheckResult, type CheckSubject } from "./results";
import { percentile, roundMs } from "./stats";
import type { ModelPlan } from "./targets";

export interface ModelCheckContext {
  client: TfServingClient;
  subject: CheckSubject;
  plan: ModelPlan;
  /** When waiting for AVAILABLE ends (epoch ms). */
  deadline: number;
  pollIntervalMs: number;
  callTimeoutMs: number;
  latencySamples: number;
  /** The p95 budget for this model, if any. */
  latencyBudgetMs: number | undefined;
  progress: (line: string) => void;
}

/** "UNAVAILABLE: No connection established..." for gRPC failures, the message otherwise. */
export function errorText(error: unknown): string {
  if (error instanceof GrpcStatusError) return `${error.codeName}: ${error.details}`;
  return error instanceof Error ? error.message : String(error);
}

const elapsed = (started: number) => performance.now() - started;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The version the checks address: the expected version, else the label, else the latest. */
function servedRef(plan: ModelPlan): ModelRef {
  const { name, version, label } = plan.target;
  if (version !== undefined) return { model: name, version };
  if (label !== undefined) return { model: name, label };
  return { model: name };
}

function describeInputs(signature: Signature): string {
  const inputs = Object.entries(signature.inputs).map(([name, spec]) => `${name} (${spec.dtype} ${formatShape(spec.shape)})`);
  return inputs.length ? inputs.join(", ") : "none";
}

/** How many distinct observations a failed wait lists. */
const MAX_SEEN = 5;
/** Progress while waiting: on every change, and at least this often. */
const PROGRESS_EVERY_MS = 10_000;

async function checkStatus(ctx: ModelCheckContext): Promise<CheckResult> {
  const { target } = ctx.plan;
  const started = performance.now();
  const expected = target.version !== undefined ? `version ${target.version} AVAILABLE` : "a version AVAILABLE";
  const seen: string[] = [];
  let lastPrinted: string | undefined;
  let lastPrintedAt = 0;
  for (;;) {
    let observed: string;
    let available = false;
    const remaining = ctx.deadline - Date.now();
    try {
      const timeoutMs = Math.min(ctx.callTimeoutMs, Math.max(remaining, 1000));
      const states = await ctx.client.getModelStatus({ model: target.name, version: target.version }, { timeoutMs });
      observed = states.length ? states.map((s) => `version ${s.version} ${s.state}${s.status.message ? ` (${s.status.message})` : ""}`).join(", ") : "no versions";
      available = states.some((s) => s.state === "AVAILABLE" && (target.version === undefined || s.version === target.version));
    } catch (error) {
      observed = errorText(error);
    }
    if (seen[seen.length - 1] !== observed) seen.push(observed);
    if (available) return checkResult(ctx.subject, "status", "passed", expected, observed, elapsed(started));
    const left = ctx.deadline - Date.now();
    if (left <= 0) {
      const waited = (elapsed(started) / 1000).toFixed(1);
      const history = seen.length > 1 ? `; states seen while waiting: ${seen.slice(-MAX_SEEN).join(" -> ")}` : "";
      return checkResult(ctx.subject, "status", "failed", expected, `${observed} after waiting ${waited} s${history}`, elapsed(started));
    }
    const now = Date.now();
    if (observed !== lastPrinted || now - lastPrintedAt >= PROGRESS_EVERY_MS) {
      ctx.progress(`${describeSubject(ctx.subject)}: waiting for ${expected}: ${observed} (${Math.ceil(left / 1000)} s left)`);
      lastPrinted = observed;
      lastPrintedAt = now;
    }
    await sleep(Math.min(ctx.pollIntervalMs, left));
  }
}

/** A Predict (or, when the request does not fit, a GetModelMetadata) addressed by the label is served by the expected version. */
async function checkLabel(ctx: ModelCheckContext, label: string): Promise<CheckResult> {
  const { target, request } = ctx.plan;
  const started = performance.now();
  const expected = target.version !== undefined ? `label ${label} served by version ${target.version}` : `label ${label} served by an AVAILABLE version`;
  const ref = { model: target.name, label };
  try {
    const metadata = await ctx.client.getModelMetadata(ref, { timeoutMs: ctx.callTimeoutMs });
    let served = metadata.modelSpec.version;
    let via = "GetModelMetadata";
    const signature = metadata.signatures[ctx.plan.signature];
    const inputs = request && signature ? tryTensors(signature, request.inputs) : undefined;
    if (inputs) {
      const result = await ctx.client.predict({ ...ref, signature: ctx.plan.signature, inputs }, { timeoutMs: ctx.callTimeoutMs });
      served = result.modelSpec.version;
      via = "Predict";
    }
    const observed = `${via} by label ${label} served ${served === undefined ? "no version number" : `version ${served}`}`;
    const ok = served !== undefined && (target.version === undefined || served === target.version);
    return checkResult(ctx.subject, "label", ok ? "passed" : "failed", expected, observed, elapsed(started));
  } catch (error) {
    return checkResult(ctx.subject, "label", "failed", expected, errorText(error), elapsed(started));
  }
}

function tryTensors(signature: Signature, inputs: Record<string, unknown>): Record<string, Tensor> | undefined {
  try {
    return columnsToTensors(signature, inputs);
  } catch {
    return undefined;
  }
}

/** Why the request's inputs do not fit the signature (empty when they do). */
export function requestProblems(signature: Signature, inputs: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(inputs)) {
    const spec = signature.inputs[name];
    if (!spec) {
      problems.push(`the request's input "${name}" is not in the signature`);
      continue;
    }
    if (!isSupportedDType(spec.dtype) || spec.encoding !== "dense") {
      problems.push(`input "${name}" is a ${spec.encoding} ${spec.dtype} tensor, which the suite cannot send`);
      continue;
    }
    let encoded: Tensor;
    try {
      encoded = tensor(spec.dtype, value as TensorLike);
    } catch (error) {
      problems.push(`input "${name}": the request's value does not fit ${spec.dtype}: ${(error as Error).message}`);
      continue;
    }
    if (!shapeFits(encoded.shape, spec.shape)) {
      problems.push(`input "${name}": the request's value has shape ${formatShape(encoded.shape)}, the signature ${formatShape(spec.shape)}`);
    }
  }
  for (const name of Object.keys(signature.inputs)) {
    if (!(name in inputs) && !signature.inputsWithDefaults.includes(name)) problems.push(`the signature requires input "${name}", which the request lacks`);
  }
  return problems;
}

async function checkMetadata(ctx: ModelCheckContext): Promise<{ result: CheckResult; signature?: Signature }> {
  const { plan } = ctx;
  const started = performance.now();
  const wanted = plan.request ? Object.keys(plan.request.inputs) : [];
  const expected = `signature "${plan.signature}"${wanted.length ? ` with input${wanted.length > 1 ? "s" : ""} ${wanted.join(", ")} accepting the request's values` : ""}`;
  try {
    const metadata = await ctx.client.getModelMetadata(servedRef(plan), { timeoutMs: ctx.callTimeoutMs });
    const signature = metadata.signatures[plan.signature];
    if (!signature) {
      const known = Object.keys(metadata.signatures).filter((name) => name !== "__saved_model_init_op").sort();
      return { result: checkResult(ctx.subject, "metadata", "failed", expected, `no signature "${plan.signature}"; the model has: ${known.join(", ") || "none"}`, elapsed(started)) };
    }
    const problems = plan.request ? requestProblems(signature, plan.request.inputs) : [];
    const observed = `signature "${plan.signature}" has inputs ${describeInputs(signature)}${problems.length ? `: ${problems.join("; ")}` : ""}`;
    const result = checkResult(ctx.subject, "metadata", problems.length ? "failed" : "passed", expected, observed, elapsed(started));
    return problems.length ? { result } : { result, signature };
  } catch (error) {
    return { result: checkResult(ctx.subject, "metadata", "failed", expected, errorText(error), elapsed(started)) };
  }
}

async function checkPredict(ctx: ModelCheckContext, inputs: Record<string, Tensor>): Promise<{ result: CheckResult; served: boolean }> {
  const { plan } = ctx;
  const { target } = plan;
  const started = performance.now();
  const tolerance = plan.expect?.tolerance ?? DEFAULT_TOLERANCE;
  const expected = plan.expect
    ? `${Object.entries(plan.expect.outputs).map(([name, value]) => `${name} = ${preview(value)}`).join(", ")} (tolerance ${tolerance})`
    : "a Predict response (no expected outputs given)";
  try {
    const response = await ctx.client.predict({ ...servedRef(plan), signature: plan.signature, inputs }, { timeoutMs: ctx.callTimeoutMs });
    const problems: string[] = [];
    if (target.version !== undefined && response.modelSpec.version !== undefined && response.modelSpec.version !== target.version) {
      problems.push(`served by version ${response.modelSpec.version}`);
    }
    for (const [name, value] of Object.entries(plan.expect?.outputs ?? {})) {
      const output = response.outputs[name];
      if (!output) problems.push(`no output "${name}" (outputs: ${Object.keys(response.outputs).sort().join(", ") || "none"})`);
      else problems.push(...compareOutput(name, value, output, tolerance));
    }
    const got = outputsJson(response.outputs);
    const shown = plan.expect ? Object.keys(plan.expect.outputs).filter((name) => name in got) : Object.keys(got).sort();
    const values = shown.map((name) => `${name} = ${preview(got[name])}`).join(", ") || "no outputs";
    const observed = problems.length ? `${values}: ${problems.join("; ")}` : values;
    return { result: checkResult(ctx.subject, "predict", problems.length ? "failed" : "passed", expected, observed, elapsed(started)), served: true };
  } catch (error) {
    return { result: checkResult(ctx.subject, "predict", "failed", expected, errorText(error), elapsed(started)), served: false };
  }
}

async function checkLatency(ctx: ModelCheckContext, inputs: Record<string, Tensor>): Promise<CheckResult> {
  const { plan } = ctx;
  const started = performance.now();
  const samples = ctx.latencySamples;
  const budget = ctx.latencyBudgetMs;
  const expected = budget !== undefined ? `p95 <= ${budget} ms over ${samples} sequential Predicts` : `${samples} sequential Predicts (no p95 budget: reported only)`;
  const durations: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    try {
      await ctx.client.predict({ ...servedRef(plan), signature: plan.signature, inputs }, { timeoutMs: ctx.callTimeoutMs });
    } catch (error) {
      return checkResult(ctx.subject, "latency", "failed", expected, `Predict ${i + 1} of ${samples} failed: ${errorText(error)}`, elapsed(started));
    }
    durations.push(performance.now() - t0);
  }
  const stats = { samples, p50Ms: roundMs(percentile(durations, 0.5)), p95Ms: roundMs(percentile(durations, 0.95)), maxMs: roundMs(Math.max(...durations)), budgetMs: budget ?? null };
  const over = budget !== undefined && stats.p95Ms > budget;
  const observed = `p50 ${stats.p50Ms} ms, p95 ${stats.p95Ms} ms${over ? ` (over the ${budget} ms budget)` : ""}, max ${stats.maxMs} ms`;
  return checkResult(ctx.subject, "latency", over ? "failed" : "passed", expected, observed, elapsed(started), stats);
}

/** Runs the checks of one model at one address, in order. */
export async function checkModel(ctx: ModelCheckContext): Promise<CheckResult[]> {
  const { plan, subject } = ctx;
  const results: CheckResult[] = [];
  const after = (checks: CheckName[], reason: string) => results.push(...skippedChecks(subject, checks, reason));
  // The checks after `from`, in order (after "status": all of them).
  const later = (from: CheckName): CheckName[] => {
    const order: CheckName[] = plan.target.label !== undefined ? ["label", "metadata", "predict", "latency"] : ["metadata", "predict", "latency"];
    return order.slice(order.indexOf(from) + 1);
  };

  const status = await checkStatus(ctx);
  results.push(status);
  if (status.outcome === "failed") {
    after(later("status"), "the status check failed");
    return results;
  }
  if (plan.target.label !== undefined) results.push(await checkLabel(ctx, plan.target.label));

  const metadata = await checkMetadata(ctx);
  results.push(metadata.result);
  if (!metadata.signature) {
    after(later("metadata"), "the metadata check failed");
    return results;
  }
  if (!plan.request) {
    after(later("metadata"), `no request: the target has none and there is no fixture ${plan.target.name}.json`);
    return results;
  }
  const inputs = columnsToTensors(metadata.signature, plan.request.inputs);
  const predict = await checkPredict(ctx, inputs);
  results.push(predict.result);
  if (!predict.served) after(later("predict"), "the Predict call failed");
  else if (ctx.latencySamples === 0) after(later("predict"), "SMOKE_LATENCY_SAMPLES is 0");
  else results.push(await checkLatency(ctx, inputs));
  return results;
}
