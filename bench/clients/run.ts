/**
 * `npm run bench:clients`: the project's Node client next to the official Python client, against one
 * TF-Serving-compatible server running real SavedModels with TensorFlow (server.py), in one run.
 *
 * Each round measures every contender back to back (the order rotates between rounds, see
 * roundOrder): small Predict calls one at a time and 16 in flight, and 16 MiB in + 16 MiB out calls,
 * each contender's large turn starting with an unmeasured call. The floor, @grpc/grpc-js with
 * pre-built request bytes and no decoding, is measured in the same rounds. A run is several
 * sessions, each with a fresh server and Python client; the figures pool every session's rounds, and
 * the report gives each session's ratios too. Then the 64 MiB codec figures of `npm run bench`.
 *
 * With --compare-pool, the project's client runs twice in every round, with its pool of large request
 * buffers and without (`sendBufferPool: false`), and a table compares the two.
 *
 * Usage: npm run bench:clients [-- --quick] [-- --sessions N] [-- --rounds N] [-- --json FILE] [-- --no-codec] [-- --compare-pool]
 * Needs the virtualenv described in docs/client-performance.md. A benchmark, not a test: it prints
 * the goals it meets or misses and exits 0 either way (1 when it cannot run).
 */
import { version as grpcJsVersion } from "@grpc/grpc-js/package.json";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import path from "node:path";
import { codecBenchmark, formatCodecResult } from "../tensor-codec";
import { type BenchCall, large, projectClient, rawGrpc, smallCallCodecCost, smallInFlight, smallSequential } from "./node-clients";
import { type InFlightResult, type LargeResult, type SmallSequentialResult, startBenchServer, startPythonClient } from "./python";
import { type ClientBenchResult, formatClientBench, type MeasurementSettings, mergeSessions, poolInFlight, poolLarge, poolSmall } from "./report";

export interface ClientBenchSettings extends MeasurementSettings {
  /** Small calls (and a tenth as many large ones, at least one) each client makes before the rounds. */
  warmupCalls: number;
  /** Loop iterations when timing the client's own encode + decode of a small call. */
  codecIterations: number;
}

/**
 * Many short rounds rather than a few long ones: on a machine shared with other work the load
 * drifts over seconds, and short turns spread that drift over every contender alike.
 */
export const FULL_RUN: ClientBenchSettings = {
  sessions: 3,
  rounds: 18,
  smallCalls: 100,
  inFlightCalls: 200,
  inFlight: 16,
  largeCalls: 4,
  largeTurnWarmupCalls: 1,
  largeBytes: 16 * 1024 * 1024,
  warmupCalls: 300,
  codecIterations: 50_000,
};

/** Every piece once, in seconds: what the slow suite runs to show the benchmark still works. */
export const QUICK_RUN: ClientBenchSettings = {
  sessions: 1,
  rounds: 1,
  smallCalls: 20,
  inFlightCalls: 32,
  inFlight: 16,
  largeCalls: 2,
  largeTurnWarmupCalls: 1,
  largeBytes: 1024 * 1024,
  warmupCalls: 5,
  codecIterations: 100,
};

const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** glibc 2.35 or later, where GLIBC_TUNABLES=glibc.malloc.hugetlb=1 backs large allocations with huge pages. */
function hugePagesAvailable(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const [major, minor] = (report?.header?.glibcVersionRuntime ?? "0.0").split(".").map(Number);
  return process.platform === "linux" && (major! > 2 || (major === 2 && minor! >= 35));
}

/**
 * The codec figures once more in a child process started with GLIBC_TUNABLES=glibc.malloc.hugetlb=1:
 * what the page faults of fresh 64 MiB allocations cost (docs/client-performance.md, tuning).
 */
function codecWithHugePages(): string {
  const script = path.join(__dirname, "..", "tensor-codec.js");
  const child = spawnSync(process.execPath, ["--expose-gc", script], {
    env: { ...process.env, GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" },
    encoding: "utf8",
  });
  return child.stdout.trim() || `(failed: ${child.stderr.trim()})`;
}

/**
 * The contenders' order in a round: rotated by one every two rounds and reversed every other round,
 * so over 2n rounds each of n contenders takes every place, after every other contender, equally
 * often. (Only alternating one order left a contender always in the middle, always right after
 * someone's large calls, which let it meet a warmer server.)
 */
export function roundOrder<T>(contenders: readonly T[], round: number): T[] {
  const shift = Math.floor(round / 2) % contenders.length;
  const rotated = [...contenders.slice(shift), ...contenders.slice(0, shift)];
  return round % 2 === 0 ? rotated : rotated.reverse();
}

export async function runClientBenchmark(
  settings: ClientBenchSettings,
  log: (line: string) => void = () => undefined,
  options: { comparePool?: boolean } = {},
): Promise<ClientBenchResult> {
  const loadAverageStart = loadavg()[0]!;
  log("starting the server (exports and loads the SavedModels with TensorFlow)...");
  const server = await startBenchServer();
  let python: Awaited<ReturnType<typeof startPythonClient>> | undefined;
  const node = projectClient(server.endpoint);
  const nodeNoPool = options.comparePool ? projectClient(server.endpoint, { sendBufferPool: false }) : undefined;
  const raw = rawGrpc(server.endpoint);
  try {
    log("starting the Python client...");
    python = await startPythonClient(server.endpoint);
    const py = python;
    const largeNode = node.large(settings.largeBytes);
    const largeRaw = raw.large(settings.largeBytes);
    const largeNoPool = nodeNoPool?.large(settings.largeBytes);
    const warmLarge = Math.max(1, Math.floor(settings.warmupCalls / 10));
    log("warming up...");
    await smallSequential(node.small, settings.warmupCalls);
    await smallSequential(raw.small, settings.warmupCalls);
    await large(largeNode, warmLarge);
    await large(largeRaw, warmLarge);
    if (nodeNoPool && largeNoPool) {
      await smallSequential(nodeNoPool.small, settings.warmupCalls);
      await large(largeNoPool, warmLarge);
    }
    await py.smallSequential(settings.warmupCalls);
    await py.large(warmLarge, settings.largeBytes);

    const serverCpu = async <T>(run: () => Promise<T>): Promise<[T, number | undefined]> => {
      const before = server.cpuSeconds();
      const result = await run();
      const after = server.cpuSeconds();
      return [result, before !== undefined && after !== undefined ? after - before : undefined];
    };
    type Rounds = { small: SmallSequentialResult[]; inFlight: InFlightResult[]; large: LargeResult[]; serverSmall: number[]; serverLarge: number[] };
    const empty = (): Rounds => ({ small: [], inFlight: [], large: [], serverSmall: [], serverLarge: [] });
    const measured = { node: empty(), python: empty(), raw: empty(), nodeNoPool: empty() };
    type Contender = {
      small(): Promise<SmallSequentialResult>;
      inFlight(): Promise<InFlightResult>;
      /** The turn's unmeasured large calls (settings.largeTurnWarmupCalls). */
      largeWarmup(): Promise<unknown>;
      large(): Promise<LargeResult>;
    };
    const turnWarmup = settings.largeTurnWarmupCalls;
    /** A contender in this process: a full collection before each turn, so no earlier garbage is timed. */
    const inProcess = <S, L>(small: BenchCall<S>, largeCall: BenchCall<L>): Contender => ({
      small: () => (collectGarbage(), smallSequential(small, settings.smallCalls)),
      inFlight: () => (collectGarbage(), smallInFlight(small, settings.inFlightCalls, settings.inFlight)),
      largeWarmup: () => (collectGarbage(), large(largeCall, turnWarmup)),
      large: () => large(largeCall, settings.largeCalls),
    });
    const contenders: Partial<Record<keyof typeof measured, Contender>> = {
      node: inProcess(node.small, largeNode),
      python: {
        small: () => py.smallSequential(settings.smallCalls),
        inFlight: () => py.smallInFlight(settings.inFlightCalls, settings.inFlight),
        largeWarmup: () => (turnWarmup > 0 ? py.large(turnWarmup, settings.largeBytes) : Promise.resolve()),
        large: () => py.large(settings.largeCalls, settings.largeBytes),
      },
      raw: inProcess(raw.small, largeRaw),
      ...(nodeNoPool && largeNoPool ? { nodeNoPool: inProcess(nodeNoPool.small, largeNoPool) } : {}),
    };

    for (let round = 0; round < settings.rounds; round++) {
      const order = roundOrder((nodeNoPool ? ["node", "nodeNoPool", "raw", "python"] : ["node", "raw", "python"]) as (keyof typeof measured)[], round);
      log(`round ${round + 1} of ${settings.rounds} (${order.join(", ")})...`);
      for (const phase of ["small", "inFlight", "large"] as const) {
        for (const name of order) {
          const contender = contenders[name]!;
          const into = measured[name];
          if (phase === "small") {
            const [result, cpu] = await serverCpu(() => contender.small());
            into.small.push(result);
            if (cpu !== undefined) into.serverSmall.push(cpu);
          } else if (phase === "inFlight") {
            into.inFlight.push(await contender.inFlight());
          } else {
            await contender.largeWarmup();
            const [result, cpu] = await serverCpu(() => contender.large());
            into.large.push(result);
            if (cpu !== undefined) into.serverLarge.push(cpu);
          }
        }
      }
    }

    const sum = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) : undefined);
    const pooled = (rounds: Rounds) => ({
      small: poolSmall(rounds.small),
      inFlight: poolInFlight(rounds.inFlight),
      large: poolLarge(rounds.large),
      serverCpu: { small: sum(rounds.serverSmall), large: sum(rounds.serverLarge) },
    });
    return {
      environment: {
        node: process.version,
        grpcJs: grpcJsVersion,
        python: py.versions,
        cores: availableParallelism(),
        loadAverageStart,
        loadAverageEnd: loadavg()[0]!,
      },
      settings: { ...settings, sessions: 1 },
      node: pooled(measured.node),
      python: pooled(measured.python),
      raw: pooled(measured.raw),
      ...(nodeNoPool ? { nodeNoPool: pooled(measured.nodeNoPool) } : {}),
      codecCost: smallCallCodecCost(settings.codecIterations),
    };
  } finally {
    node.close();
    nodeNoPool?.close();
    raw.close();
    await python?.close();
    await server.close();
  }
}

function parseArgs(argv: readonly string[]): { settings: ClientBenchSettings; quick: boolean; json?: string; codec: boolean; comparePool: boolean } {
  let settings = { ...FULL_RUN };
  let quick = false;
  let comparePool = false;
  let json: string | undefined;
  let codec = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--quick") {
      settings = {
        ...QUICK_RUN,
        rounds: settings.rounds === FULL_RUN.rounds ? QUICK_RUN.rounds : settings.rounds,
        sessions: settings.sessions === FULL_RUN.sessions ? QUICK_RUN.sessions : settings.sessions,
      };
      quick = true;
    }
    else if (arg === "--no-codec") codec = false;
    else if (arg === "--compare-pool") comparePool = true;
    else if (arg === "--rounds" && /^[1-9]\d*$/.test(argv[i + 1] ?? "")) settings.rounds = Number(argv[++i]);
    else if (arg === "--sessions" && /^[1-9]\d*$/.test(argv[i + 1] ?? "")) settings.sessions = Number(argv[++i]);
    else if (arg === "--json" && argv[i + 1]) json = argv[++i];
    else throw new Error(`unknown argument ${arg} (usage: bench:clients [--quick] [--sessions N] [--rounds N] [--json FILE] [--no-codec] [--compare-pool])`);
  }
  return { settings, quick, json, codec, comparePool };
}

async function main(): Promise<number> {
  const { settings, quick, json, codec, comparePool } = parseArgs(process.argv.slice(2));
  const sessions: ClientBenchResult[] = [];
  for (let session = 1; session <= settings.sessions; session++) {
    const log = (line: string) => console.error(settings.sessions > 1 ? `session ${session} of ${settings.sessions}: ${line}` : line);
    sessions.push(await runClientBenchmark(settings, log, { comparePool }));
  }
  const result = mergeSessions(sessions);
  const report = formatClientBench(result);
  console.log(report.text);
  let codecText: string | undefined;
  if (codec) {
    console.error("tensor codec...");
    const codecResult = codecBenchmark(quick ? { bytes: settings.largeBytes, rounds: 1 } : {});
    codecText = formatCodecResult(codecResult).text;
    console.log(`\n${codecText}`);
    if (!quick && hugePagesAvailable()) {
      console.error("tensor codec with transparent huge pages for malloc...");
      console.log(`\n${codecWithHugePages()}`);
    }
    if (json) writeFileSync(json, JSON.stringify({ ...result, codec: codecResult }, null, 2));
  } else if (json) {
    writeFileSync(json, JSON.stringify(result, null, 2));
  }
  console.log(`\nGoals: 16 MiB ${report.goals.large ? "met" : "MISSED"}; small calls ${report.goals.small ? "met" : "below 0.8x (see the floor table)"}.`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(`bench:clients: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
