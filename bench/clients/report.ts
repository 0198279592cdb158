/**
 * Turns the measurements of `npm run bench:clients` into its tables. Pure functions: the numbers in,
 * text out.
 */
import { seededRandom } from "../seeded-random";
import type { InFlightResult, LargeResult, SmallSequentialResult } from "./python";

/** How much a run measures (run.ts adds how it warms up). */
export interface MeasurementSettings {
  /**
   * Independent sessions, each with a fresh server and Python client. A session's 16 MiB ratio moved
   * by ±15% between sessions on an idle machine (more than within one), so one session cannot tell.
   */
  sessions: number;
  /** Rounds per session; in each, every contender takes its turn at every kind of call. */
  rounds: number;
  /** Small sequential calls per contender and round. */
  smallCalls: number;
  /** Small calls per contender and round with `inFlight` outstanding. */
  inFlightCalls: number;
  inFlight: number;
  /** Measured large calls per contender and round. */
  largeCalls: number;
  /**
   * Unmeasured large calls at the start of each contender's large turn. The stand-in server's first
   * large call after other work costs it more (65-90 ms of CPU against 51 back to back; likely fresh memory), and
   * without these calls whichever contender followed that work paid for it.
   */
  largeTurnWarmupCalls: number;
  /** Bytes of float32 each way in a large call. */
  largeBytes: number;
}

/** What one contender measured, pooled over the rounds. */
export interface ContenderResult {
  small: SmallSequentialResult;
  inFlight: InFlightResult;
  /** Server CPU seconds during this contender's small sequential and 16 MiB phases, when known. */
  serverCpu?: { small?: number; large?: number };
  large?: LargeResult;
}

export interface ClientBenchResult {
  environment: {
    node: string;
    grpcJs: string;
    python?: { grpcio: string; tensorflow: string };
    cores: number;
    loadAverageStart: number;
    loadAverageEnd: number;
  };
  /** What was measured; in a result, `sessions` is how many sessions its figures pool (1 for one session). */
  settings: MeasurementSettings;
  node: ContenderResult;
  python: ContenderResult;
  /** The floor: grpc-js with pre-built request bytes and no decoding. */
  raw: ContenderResult;
  /** The project's client without its pool of large request buffers (--compare-pool). */
  nodeNoPool?: ContenderResult;
  /** The client's own encode + decode per small call, without the network. */
  codecCost: { clientUs: number; protoLoaderUs: number };
  /** Each session's headline ratios, when the result pools several (mergeSessions). */
  perSession?: HeadlineRatios[];
}

/** Node client vs Python client, as speed (above 1: Node faster). */
export interface HeadlineRatios {
  /** Python's median seconds per large call over Node's. */
  large: number;
  /** Node's small sequential calls/s over Python's. */
  small: number;
}

/** Goals from the issue, as ratios of the Node client to the Python client (higher: Node better). */
export const GOALS = { large: 1.2, small: 0.8 } as const;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * How far the ratio of two medians, median(numerator) / median(denominator), could move by chance:
 * the percentile bootstrap (each side resampled with replacement, `resamples` times). Returns the
 * central `confidence` interval, or undefined when a side has no values.
 */
export function bootstrapMedianRatio(
  numerator: readonly number[],
  denominator: readonly number[],
  options: { resamples?: number; confidence?: number; seed?: number } = {},
): { low: number; high: number } | undefined {
  if (numerator.length === 0 || denominator.length === 0) return undefined;
  const { resamples = 2000, confidence = 0.9, seed = 1 } = options;
  const random = seededRandom(seed);
  const resample = (values: readonly number[]) => median(Array.from(values, () => values[Math.floor(random() * values.length)]!));
  const ratios = Array.from({ length: resamples }, () => resample(numerator) / resample(denominator)).sort((a, b) => a - b);
  const tail = (1 - confidence) / 2;
  const at = (q: number) => ratios[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!;
  return { low: at(tail), high: at(1 - tail) };
}

/** Sums the rounds of one kind of measurement. */
export function poolSmall(rounds: readonly SmallSequentialResult[]): SmallSequentialResult {
  return {
    latenciesUs: rounds.flatMap((r) => r.latenciesUs),
    wallSeconds: rounds.reduce((sum, r) => sum + r.wallSeconds, 0),
    cpuSeconds: rounds.reduce((sum, r) => sum + r.cpuSeconds, 0),
  };
}

export function poolInFlight(rounds: readonly InFlightResult[]): InFlightResult {
  return { wallSeconds: rounds.reduce((sum, r) => sum + r.wallSeconds, 0), cpuSeconds: rounds.reduce((sum, r) => sum + r.cpuSeconds, 0) };
}

export function poolLarge(rounds: readonly LargeResult[]): LargeResult {
  return { seconds: rounds.flatMap((r) => r.seconds), cpuSeconds: rounds.reduce((sum, r) => sum + r.cpuSeconds, 0) };
}

/** The table's figures for one contender. */
export function figures(result: ContenderResult, settings: ClientBenchResult["settings"]) {
  const smallCalls = result.small.latenciesUs.length;
  const inFlightCalls = settings.inFlightCalls * settings.rounds * settings.sessions;
  const largeCalls = result.large?.seconds.length ?? 0;
  return {
    p50Ms: median(result.small.latenciesUs) / 1000,
    sequentialPerSecond: smallCalls / result.small.wallSeconds,
    inFlightPerSecond: inFlightCalls / result.inFlight.wallSeconds,
    cpuUsPerSmallCall: (result.small.cpuSeconds / smallCalls) * 1e6,
    largeSecondsPerCall: result.large ? median(result.large.seconds) : Number.NaN,
    cpuMsPerLargeCall: result.large && largeCalls ? (result.large.cpuSeconds / largeCalls) * 1000 : Number.NaN,
    serverCpuUsPerSmallCall: result.serverCpu?.small !== undefined ? (result.serverCpu.small / smallCalls) * 1e6 : Number.NaN,
    serverCpuMsPerLargeCall: result.serverCpu?.large !== undefined && largeCalls ? (result.serverCpu.large / largeCalls) * 1000 : Number.NaN,
  };
}

export function headlineRatios(result: ClientBenchResult): HeadlineRatios {
  const node = figures(result.node, result.settings);
  const python = figures(result.python, result.settings);
  return { large: python.largeSecondsPerCall / node.largeSecondsPerCall, small: node.sequentialPerSecond / python.sequentialPerSecond };
}

/**
 * Several sessions' results as one: every contender's rounds pooled, as within a session, and each
 * session's headline ratios kept in `perSession`. The sessions must share their settings.
 */
export function mergeSessions(sessions: readonly ClientBenchResult[]): ClientBenchResult {
  const first = sessions[0];
  if (!first) throw new Error("mergeSessions: no sessions");
  if (sessions.length === 1) return first;
  const total = (values: (number | undefined)[]) => (values.every((v) => v !== undefined) ? values.reduce<number>((a, b) => a + b!, 0) : undefined);
  const merge = (pick: (result: ClientBenchResult) => ContenderResult | undefined): ContenderResult | undefined => {
    const sides = sessions.map(pick);
    if (!sides.every((side): side is ContenderResult => side !== undefined)) return undefined;
    const large = sides.every((side) => side.large) ? poolLarge(sides.map((side) => side.large!)) : undefined;
    return {
      small: poolSmall(sides.map((side) => side.small)),
      inFlight: poolInFlight(sides.map((side) => side.inFlight)),
      serverCpu: { small: total(sides.map((side) => side.serverCpu?.small)), large: total(sides.map((side) => side.serverCpu?.large)) },
      ...(large ? { large } : {}),
    };
  };
  const last = sessions[sessions.length - 1]!;
  const nodeNoPool = merge((result) => result.nodeNoPool);
  return {
    environment: { ...first.environment, loadAverageEnd: last.environment.loadAverageEnd },
    settings: { ...first.settings, sessions: sessions.reduce((sum, result) => sum + result.settings.sessions, 0) },
    node: merge((result) => result.node)!,
    python: merge((result) => result.python)!,
    raw: merge((result) => result.raw)!,
    ...(nodeNoPool ? { nodeNoPool } : {}),
    codecCost: {
      clientUs: median(sessions.map((result) => result.codecCost.clientUs)),
      protoLoaderUs: median(sessions.map((result) => result.codecCost.protoLoaderUs)),
    },
    perSession: sessions.flatMap((result) => result.perSession ?? [headlineRatios(result)]),
  };
}

const fixed = (value: number, digits: number, unit = "") => (Number.isFinite(value) ? `${value.toFixed(digits)}${unit}` : "n/a");
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}x` : "n/a");

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

export function formatClientBench(result: ClientBenchResult): { text: string; goals: { large: boolean; small: boolean } } {
  const { settings, environment } = result;
  const node = figures(result.node, settings);
  const python = figures(result.python, settings);
  const raw = figures(result.raw, settings);
  const mib = settings.largeBytes / 1024 / 1024;
  const { large: largeRatio, small: smallRatio } = headlineRatios(result);
  const largeInterval = bootstrapMedianRatio(result.python.large?.seconds ?? [], result.node.large?.seconds ?? []);
  const verdict = (value: number, goal: number) => (Number.isFinite(value) ? (value >= goal ? `>= ${goal}x: met` : `>= ${goal}x: MISSED`) : "");

  const main = table(
    ["metric", "Node client (this project)", "Python client (grpcio + tf.make_tensor_proto)", "Node vs Python (speed)", "goal"],
    [
      ["small Predict ([2,1] float32), p50 latency", fixed(node.p50Ms, 2, " ms"), fixed(python.p50Ms, 2, " ms"), ratio(python.p50Ms / node.p50Ms), ""],
      ["small, sequential calls/s", fixed(node.sequentialPerSecond, 0), fixed(python.sequentialPerSecond, 0), ratio(smallRatio), `${verdict(smallRatio, GOALS.small)} (or the grpc-js floor)`],
      [`${settings.inFlight} in flight, calls/s`, fixed(node.inFlightPerSecond, 0), fixed(python.inFlightPerSecond, 0), ratio(node.inFlightPerSecond / python.inFlightPerSecond), ""],
      ["client CPU per small call", fixed(node.cpuUsPerSmallCall, 0, " µs"), fixed(python.cpuUsPerSmallCall, 0, " µs"), ratio(python.cpuUsPerSmallCall / node.cpuUsPerSmallCall), ""],
      [`${mib} MiB in + ${mib} MiB out, s per call`, fixed(node.largeSecondsPerCall, 3), fixed(python.largeSecondsPerCall, 3), ratio(largeRatio), verdict(largeRatio, GOALS.large)],
      [`client CPU per ${mib} MiB call`, fixed(node.cpuMsPerLargeCall, 1, " ms"), fixed(python.cpuMsPerLargeCall, 1, " ms"), ratio(python.cpuMsPerLargeCall / node.cpuMsPerLargeCall), ""],
      ["server CPU per small call", fixed(node.serverCpuUsPerSmallCall, 0, " µs"), fixed(python.serverCpuUsPerSmallCall, 0, " µs"), "", ""],
      [`server CPU per ${mib} MiB call`, fixed(node.serverCpuMsPerLargeCall, 1, " ms"), fixed(python.serverCpuMsPerLargeCall, 1, " ms"), "", ""],
    ],
  );

  const floor = table(
    ["same run", "grpc-js raw call (pre-built bytes, no decoding)", "Node client", "client / raw"],
    [
      ["small p50 latency", fixed(raw.p50Ms, 2, " ms"), fixed(node.p50Ms, 2, " ms"), ratio(node.p50Ms / raw.p50Ms)],
      ["small, sequential calls/s", fixed(raw.sequentialPerSecond, 0), fixed(node.sequentialPerSecond, 0), ratio(node.sequentialPerSecond / raw.sequentialPerSecond)],
      [`small, ${settings.inFlight} in flight, calls/s`, fixed(raw.inFlightPerSecond, 0), fixed(node.inFlightPerSecond, 0), ratio(node.inFlightPerSecond / raw.inFlightPerSecond)],
      ["client CPU per small call", fixed(raw.cpuUsPerSmallCall, 0, " µs"), fixed(node.cpuUsPerSmallCall, 0, " µs"), ratio(node.cpuUsPerSmallCall / raw.cpuUsPerSmallCall)],
      [`${mib} MiB in + ${mib} MiB out, s per call`, fixed(raw.largeSecondsPerCall, 3), fixed(node.largeSecondsPerCall, 3), ratio(node.largeSecondsPerCall / raw.largeSecondsPerCall)],
      [`client CPU per ${mib} MiB call`, fixed(raw.cpuMsPerLargeCall, 1, " ms"), fixed(node.cpuMsPerLargeCall, 1, " ms"), ratio(node.cpuMsPerLargeCall / raw.cpuMsPerLargeCall)],
    ],
  );
  const cost = result.codecCost;
  const noPool = result.nodeNoPool ? figures(result.nodeNoPool, settings) : undefined;
  const poolTable = noPool
    ? [
        "",
        "The client with and without its pool of large request buffers (sendBufferPool: false), same run:",
        "",
        table(
          ["same run", "pool on (default)", "pool off", "on vs off (speed)"],
          [
            [`${mib} MiB in + ${mib} MiB out, s per call`, fixed(node.largeSecondsPerCall, 3), fixed(noPool.largeSecondsPerCall, 3), ratio(noPool.largeSecondsPerCall / node.largeSecondsPerCall)],
            [`client CPU per ${mib} MiB call`, fixed(node.cpuMsPerLargeCall, 1, " ms"), fixed(noPool.cpuMsPerLargeCall, 1, " ms"), ratio(noPool.cpuMsPerLargeCall / node.cpuMsPerLargeCall)],
            ["small, sequential calls/s", fixed(node.sequentialPerSecond, 0), fixed(noPool.sequentialPerSecond, 0), ratio(node.sequentialPerSecond / noPool.sequentialPerSecond)],
            ["client CPU per small call", fixed(node.cpuUsPerSmallCall, 0, " µs"), fixed(noPool.cpuUsPerSmallCall, 0, " µs"), ratio(noPool.cpuUsPerSmallCall / node.cpuUsPerSmallCall)],
          ],
        ),
      ]
    : [];

  const sessionsText = settings.sessions > 1 ? `${settings.sessions} sessions (each a fresh server and Python client) of ` : "";
  const perSession = result.perSession?.length
    ? [
        "",
        `Each session alone, Node vs Python: ${mib} MiB ${result.perSession.map((r) => ratio(r.large)).join(", ")}; small sequential calls/s ${result.perSession.map((r) => ratio(r.small)).join(", ")}.`,
      ]
    : [];
  const pythonVersions = environment.python ? `, Python client: grpcio ${environment.python.grpcio}, TensorFlow ${environment.python.tensorflow}` : "";
  const text = [
    `Node client vs official Python client, one run: ${sessionsText}${settings.rounds} rounds, clients interleaved (order rotates between rounds).`,
    `Per round and client: ${settings.smallCalls} small sequential calls, ${settings.inFlightCalls} calls ${settings.inFlight} in flight, ${settings.largeCalls} calls of ${mib} MiB each way.`,
    `${environment.cores} cores, load average ${environment.loadAverageStart.toFixed(1)} at start, ${environment.loadAverageEnd.toFixed(1)} at end; Node ${environment.node}, @grpc/grpc-js ${environment.grpcJs}${pythonVersions}.`,
    "",
    main,
    ...(largeInterval
      ? [
          "",
          `${mib} MiB, Node vs Python: ${ratio(largeRatio)}, 90% bootstrap interval ${ratio(largeInterval.low)} to ${ratio(largeInterval.high)}` +
            ` (medians of ${result.node.large!.seconds.length} and ${result.python.large!.seconds.length} calls; each turn began with ${settings.largeTurnWarmupCalls} unmeasured).`,
        ]
      : []),
    ...perSession,
    "",
    "The floor: the same calls through @grpc/grpc-js alone (request bytes built once, answers not decoded), same run:",
    "",
    floor,
    "",
    `The client's own work per small call (encode the request, decode the answer; in a loop, no network): ${fixed(cost.clientUs, 1, " µs")};` +
      ` through @grpc/proto-loader (the client before its own wire format): ${fixed(cost.protoLoaderUs, 1, " µs")}.`,
    ...poolTable,
  ].join("\n");
  return { text, goals: { large: largeRatio >= GOALS.large, small: smallRatio >= GOALS.small } };
}
