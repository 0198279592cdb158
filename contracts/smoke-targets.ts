/**
 * The smoke-targets format: the one contract between the IaC side (TfServing's `smokeTarget`, the stacks'
 * `smokeTargets` output) and the runtime side (the smoke suite, CI promotion). Both import this module;
 * it depends on zod only, never on Pulumi.
 *
 * Only `endpoints[].name`, `endpoints[].grpc` and `endpoints[].models[].name` are required. Unknown keys
 * are errors, so a typo in a targets file fails loudly instead of silently skipping a check.
 */
import { z } from "zod";

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "must be HOST:PORT, e.g. linear-serving.ml.svc.cluster.local:8500");

/** A columnar Predict request: input name to a (nested array) value; dtypes come from the signature. */
export const smokeRequestSchema = z.strictObject({
  signature_name: z.string().min(1).optional(),
  inputs: z.record(z.string(), z.unknown()),
});

export const smokeExpectationSchema = z.strictObject({
  /** Output name to expected (nested array) value. */
  outputs: z.record(z.string(), z.unknown()),
  /** Largest allowed absolute difference for numeric outputs. */
  tolerance: z.number().nonnegative().optional(),
});

export const smokeModelTargetSchema = z.strictObject({
  name: z.string().min(1),
  /** The version expected to be AVAILABLE; any available version when absent. */
  version: z.number().int().positive().optional(),
  /** A version label (e.g. "stable") that must resolve to `version`. */
  label: z.string().min(1).optional(),
  /** @default "serving_default" */
  signature: z.string().min(1).optional(),
  request: smokeRequestSchema.optional(),
  expect: smokeExpectationSchema.optional(),
  /** p95 latency budget for Predict, in milliseconds. */
  latencyMsP95: z.number().positive().optional(),
});

export const smokePodsSchema = z.union([z.array(hostPort), z.strictObject({ dns: hostPort })]);

export const smokeEndpointSchema = z.strictObject({
  name: z.string().min(1),
  /** gRPC address of the Service, HOST:PORT. */
  grpc: hostPort,
  /** @default false */
  tls: z.boolean().optional(),
  /** Pod addresses, or a headless Service name that resolves to every pod, so each replica is checked. */
  pods: smokePodsSchema.optional(),
  models: z.array(smokeModelTargetSchema).min(1),
});

export const smokeTargetsSchema = z.strictObject({
  endpoints: z.array(smokeEndpointSchema),
});

export type SmokeRequest = z.infer<typeof smokeRequestSchema>;
export type SmokeExpectation = z.infer<typeof smokeExpectationSchema>;
export type SmokeModelTarget = z.infer<typeof smokeModelTargetSchema>;
export type SmokePods = z.infer<typeof smokePodsSchema>;
export type SmokeEndpoint = z.infer<typeof smokeEndpointSchema>;
export type SmokeTargets = z.infer<typeof smokeTargetsSchema>;

/** Thrown when a targets document does not match the format; lists every problem with its path. */
export class SmokeTargetsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid smoke targets:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "SmokeTargetsError";
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), "");
}

/** Parses and checks a targets document (already JSON-decoded). */
export function parseSmokeTargets(value: unknown): SmokeTargets {
  const result = smokeTargetsSchema.safeParse(value);
  if (!result.success) {
    throw new SmokeTargetsError(result.error.issues.map((i) => `${formatPath(i.path) || "(root)"}: ${i.message}`));
  }
  return result.data;
}
