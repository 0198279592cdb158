/**
 * The pieces of `npm run bench:clients` that need no Python, cheaply: the Node side's measurements
 * against the in-process TF Serving double (with the benchmark's two models), its answer checks, the
 * report's ratios and verdicts, and the codec figures on a small tensor. The whole benchmark, with
 * its TensorFlow server and the official Python client, runs in the slow suite
 * (test/slow/client-bench.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BenchCall, large, projectClient, rawGrpc, smallCallCodecCost, smallInFlight, smallSequential } from "../../bench/clients/node-clients";
import { processCpuSeconds } from "../../bench/clients/python";
import { bootstrapMedianRatio, formatClientBench, mergeSessions, type ClientBenchResult } from "../../bench/clients/report";
import { roundOrder } from "../../bench/clients/run";
import { codecBenchmark, formatCodecResult } from "../../bench/tensor-codec";
import { tensor } from "../../client/tensor-codec";
import type { ModelDouble } from "../grpc/tf-serving-double";
import { startTfServingDouble, type TfServingDouble } from "../grpc/tf-serving-double";

/** The benchmark server's models (bench/clients/server.py), as doubles: linear y = slope x + 1, identity. */
function benchModels(slope = 2): ModelDouble[] {
  const model = (name: string, shape: number[], f: (values: Float32Array) => Float32Array): ModelDouble => ({
    name,
    versions: [
      {
        version: 1,
        signatures: {
          serving_default: {
            inputs: { x: { dtype: "DT_FLOAT", shape } },
            outputs: { y: { dtype: "DT_FLOAT", shape } },
            predict: ({ x }) => ({ y: tensor("DT_FLOAT", f(x!.values as Float32Array), x!.shape) }),
          },
        },
      },
    ],
  });
  return [model("linear", [-1, 1], (x) => x.map((v) => slope * v + 1)), model("identity", [-1], (x) => x)];
}

describe("the Node side of bench:clients", () => {
  let server: TfServingDouble;
  beforeAll(async () => {
    server = await startTfServingDouble({ models: benchModels(), responsePacking: "content" });
  });
  afterAll(async () => server.close());

  it("measures small calls one at a time and in flight, and large calls, for the client and raw grpc-js", async () => {
    const node = projectClient(server.endpoint);
    const raw = rawGrpc(server.endpoint);
    try {
      const measureSmall = async <T>(bench: BenchCall<T>) => {
        const sequential = await smallSequential(bench, 5);
        expect(sequential.latenciesUs).toHaveLength(5);
        expect(Math.min(...sequential.latenciesUs)).toBeGreaterThan(0);
        expect(sequential.wallSeconds).toBeGreaterThan(0);
        const inFlight = await smallInFlight(bench, 12, 4);
        expect(inFlight.wallSeconds).toBeGreaterThan(0);
      };
      await measureSmall(node.small);
      await measureSmall(raw.small);
      for (const bench of [node.large(256 * 1024), raw.large(256 * 1024)] as BenchCall<unknown>[]) {
        const big = await large(bench, 2);
        expect(big.seconds).toHaveLength(2);
        expect(big.cpuSeconds).toBeGreaterThan(0);
      }
    } finally {
      node.close();
      raw.close();
    }
  });

  it("fails on a wrong answer instead of timing it", async () => {
    const wrong = await startTfServingDouble({ models: benchModels(3), responsePacking: "content" });
    const node = projectClient(wrong.endpoint);
    const raw = rawGrpc(wrong.endpoint);
    try {
      await expect(smallSequential(node.small, 2)).rejects.toThrow("wrong answer: linear gave [4, 7]");
      await expect(smallInFlight(raw.small, 4, 2)).rejects.toThrow("wrong answer: raw call's answer");
    } finally {
      node.close();
      raw.close();
      await wrong.close();
    }
  });

  it("times the client's own encode and decode of a small call, next to @grpc/proto-loader's", () => {
    const cost = smallCallCodecCost(200);
    expect(cost.clientUs).toBeGreaterThan(0);
    expect(cost.protoLoaderUs).toBeGreaterThan(0);
  });

  it("reads a process's CPU time from /proc", () => {
    const before = processCpuSeconds(process.pid)!;
    let spin = 0;
    for (const end = Date.now() + 50; Date.now() < end; ) spin++;
    expect(spin).toBeGreaterThan(0);
    expect(processCpuSeconds(process.pid)!).toBeGreaterThan(before);
  });
});

describe("the bench:clients report", () => {
  const small = (latencyUs: number, calls: number, cpuUsPerCall: number) => ({
    latenciesUs: new Array<number>(calls).fill(latencyUs),
    wallSeconds: (latencyUs * calls) / 1e6,
    cpuSeconds: (cpuUsPerCall * calls) / 1e6,
  });
  const result: ClientBenchResult = {
    environment: { node: "v22", grpcJs: "1.14.7", python: { grpcio: "1.85.4", tensorflow: "2.21.0" }, cores: 2, loadAverageStart: 3, loadAverageEnd: 4 },
    settings: { sessions: 1, rounds: 2, smallCalls: 50, inFlightCalls: 100, inFlight: 16, largeCalls: 5, largeTurnWarmupCalls: 1, largeBytes: 16 * 1024 * 1024 },
    node: { small: small(1000, 100, 400), inFlight: { wallSeconds: 0.2, cpuSeconds: 0.1 }, large: { seconds: [0.1, 0.1, 0.3], cpuSeconds: 0.09 }, serverCpu: { small: 0.05, large: 0.15 } },
    python: { small: small(2000, 100, 300), inFlight: { wallSeconds: 0.1, cpuSeconds: 0.1 }, large: { seconds: [0.12, 0.2, 0.12], cpuSeconds: 0.06 }, serverCpu: {} },
    raw: { small: small(800, 100, 300), inFlight: { wallSeconds: 0.16, cpuSeconds: 0.08 }, large: { seconds: [0.08, 0.09, 0.08], cpuSeconds: 0.06 } },
    codecCost: { clientUs: 2.5, protoLoaderUs: 7.25 },
  };
  const row = (text: string, metric: string) => text.split("\n").find((line) => line.startsWith(`| ${metric}`))?.split("|").map((cell) => cell.trim());

  it("puts both clients side by side with the Node client's speed relative to Python's, and the goals", () => {
    const { text, goals } = formatClientBench(result);
    expect(row(text, "small Predict ([2,1] float32), p50 latency")).toEqual(["", "small Predict ([2,1] float32), p50 latency", "1.00 ms", "2.00 ms", "2.00x", "", ""]);
    expect(row(text, "small, sequential calls/s")?.slice(2, 6)).toEqual(["1000", "500", "2.00x", ">= 0.8x: met (or the grpc-js floor)"]);
    expect(row(text, "16 in flight, calls/s")?.slice(2, 5)).toEqual(["1000", "2000", "0.50x"]);
    expect(row(text, "client CPU per small call")?.slice(2, 5)).toEqual(["400 µs", "300 µs", "0.75x"]);
    expect(row(text, "16 MiB in + 16 MiB out, s per call")?.slice(2, 6)).toEqual(["0.100", "0.120", "1.20x", ">= 1.2x: met"]);
    expect(row(text, "server CPU per small call")?.slice(2, 4)).toEqual(["500 µs", "n/a"]);
    expect(row(text, "small p50 latency")?.slice(2, 5)).toEqual(["0.80 ms", "1.00 ms", "1.25x"]);
    expect(row(text, "client CPU per 16 MiB call")?.slice(2, 5)).toEqual(["30.0 ms", "20.0 ms", "0.67x"]);
    const floor = text.slice(text.indexOf("The floor"));
    expect(row(floor, "16 MiB in + 16 MiB out, s per call")?.slice(2, 5)).toEqual(["0.080", "0.100", "1.25x"]);
    expect(row(floor, "client CPU per 16 MiB call")?.slice(2, 5)).toEqual(["20.0 ms", "30.0 ms", "1.50x"]);
    expect(text).toContain("The client's own work per small call (encode the request, decode the answer; in a loop, no network): 2.5 µs;");
    expect(text).toContain("2 cores, load average 3.0 at start, 4.0 at end");
    expect(goals).toEqual({ large: true, small: true });
  });

  it("compares the client with and without its request buffer pool when both ran (--compare-pool), and only then", () => {
    expect(formatClientBench(result).text).not.toContain("pool on (default)");
    const nodeNoPool = { small: small(1250, 100, 500), inFlight: { wallSeconds: 0.2, cpuSeconds: 0.1 }, large: { seconds: [0.15, 0.12, 0.2], cpuSeconds: 0.135 } };
    const text = formatClientBench({ ...result, nodeNoPool }).text;
    const comparison = text.slice(text.indexOf("The client with and without its pool"));
    expect(row(comparison, "16 MiB in + 16 MiB out, s per call")?.slice(2, 5)).toEqual(["0.100", "0.150", "1.50x"]);
    expect(row(comparison, "client CPU per 16 MiB call")?.slice(2, 5)).toEqual(["30.0 ms", "45.0 ms", "1.50x"]);
    expect(row(comparison, "small, sequential calls/s")?.slice(2, 5)).toEqual(["1000", "800", "1.25x"]);
    expect(row(comparison, "client CPU per small call")?.slice(2, 5)).toEqual(["400 µs", "500 µs", "1.25x"]);
  });

  it("gives the 16 MiB ratio with a 90% bootstrap interval, so a reader sees whether the goal is met beyond the noise", () => {
    const { text } = formatClientBench(result);
    // Python's medians 0.12 over Node's 0.1; resampling three calls a side moves the ratio between 0.4x and 2x.
    expect(text).toContain("16 MiB, Node vs Python: 1.20x, 90% bootstrap interval 0.40x to 2.00x (medians of 3 and 3 calls; each turn began with 1 unmeasured).");
  });

  it("says when a goal is missed", () => {
    const slower = { ...result, node: { ...result.node, large: { seconds: [0.2], cpuSeconds: 0.05 }, small: small(4000, 100, 400) } };
    const { text, goals } = formatClientBench(slower);
    expect(row(text, "16 MiB in + 16 MiB out, s per call")?.[5]).toBe(">= 1.2x: MISSED");
    expect(goals).toEqual({ large: false, small: false });
  });
});

describe("several sessions in one report (mergeSessions)", () => {
  const small = (latencyUs: number, calls: number) => ({ latenciesUs: new Array<number>(calls).fill(latencyUs), wallSeconds: (latencyUs * calls) / 1e6, cpuSeconds: calls / 1e4 });
  const session = (nodeLarge: number[], pythonLarge: number[], serverCpu = true): ClientBenchResult => ({
    environment: { node: "v22", grpcJs: "1.14.7", cores: 2, loadAverageStart: 1, loadAverageEnd: 2 },
    settings: { sessions: 1, rounds: 2, smallCalls: 50, inFlightCalls: 100, inFlight: 16, largeCalls: 2, largeTurnWarmupCalls: 1, largeBytes: 16 * 1024 * 1024 },
    node: { small: small(1000, 100), inFlight: { wallSeconds: 0.2, cpuSeconds: 0.1 }, large: { seconds: nodeLarge, cpuSeconds: 0.1 }, serverCpu: serverCpu ? { small: 0.1, large: 0.2 } : {} },
    python: { small: small(1250, 100), inFlight: { wallSeconds: 0.4, cpuSeconds: 0.1 }, large: { seconds: pythonLarge, cpuSeconds: 0.1 }, serverCpu: {} },
    raw: { small: small(900, 100), inFlight: { wallSeconds: 0.2, cpuSeconds: 0.1 }, large: { seconds: nodeLarge, cpuSeconds: 0.1 } },
    codecCost: { clientUs: 2, protoLoaderUs: 4 },
  });
  const row = (text: string, metric: string) => text.split("\n").find((line) => line.startsWith(`| ${metric}`))?.split("|").map((cell) => cell.trim());

  it("pools every session's calls and still shows each session's own ratios", () => {
    const merged = mergeSessions([session([0.1, 0.1], [0.09, 0.09]), session([0.1, 0.1], [0.13, 0.13]), session([0.1, 0.1], [0.12, 0.12])]);
    expect(merged.node.large!.seconds).toHaveLength(6);
    expect(merged.perSession!.map((r) => r.large.toFixed(2))).toEqual(["0.90", "1.30", "1.20"]);
    const { text } = formatClientBench(merged);
    expect(text).toContain("one run: 3 sessions (each a fresh server and Python client) of 2 rounds");
    expect(text).toContain("Each session alone, Node vs Python: 16 MiB 0.90x, 1.30x, 1.20x; small sequential calls/s 1.25x, 1.25x, 1.25x.");
    // 600 in-flight calls in 0.6 s, not one session's 200.
    expect(row(text, "16 in flight, calls/s")?.slice(2, 4)).toEqual(["1000", "500"]);
    expect(row(text, "16 MiB in + 16 MiB out, s per call")?.slice(2, 5)).toEqual(["0.100", "0.120", "1.20x"]);
    expect(row(text, "server CPU per 16 MiB call")?.slice(2, 4)).toEqual(["100.0 ms", "n/a"]);
  });

  it("leaves a figure out rather than averaging over the sessions that measured it", () => {
    const merged = mergeSessions([session([0.1], [0.1]), session([0.1], [0.1], false)]);
    expect(merged.node.serverCpu?.large).toBeUndefined();
    expect(mergeSessions([session([0.1], [0.1])]).perSession).toBeUndefined();
  });
});

describe("roundOrder", () => {
  it("over 2n rounds puts each contender in every place, and after every other contender, equally often", () => {
    const contenders = ["node", "raw", "python"];
    const places = new Map<string, number[]>(contenders.map((c) => [c, [0, 0, 0]]));
    const after = new Map<string, number>();
    for (let round = 0; round < 6; round++) {
      const order = roundOrder(contenders, round);
      expect([...order].sort()).toEqual([...contenders].sort());
      order.forEach((name, place) => {
        places.get(name)![place]!++;
        if (place > 0) after.set(`${order[place - 1]}>${name}`, (after.get(`${order[place - 1]}>${name}`) ?? 0) + 1);
      });
    }
    for (const counts of places.values()) expect(counts).toEqual([2, 2, 2]);
    expect([...after.values()]).toEqual(new Array(6).fill(2));
  });
});

describe("bootstrapMedianRatio", () => {
  it("brackets the ratio of medians tightly when the calls agree, widely when they scatter", () => {
    const steady = (value: number) => Array.from({ length: 60 }, (_, i) => value * (1 + ((i % 5) - 2) / 100));
    const tight = bootstrapMedianRatio(steady(0.12), steady(0.1))!;
    expect(tight.low).toBeGreaterThan(1.17);
    expect(tight.high).toBeLessThan(1.23);
    expect(tight.low).toBeLessThanOrEqual(1.2);
    expect(tight.high).toBeGreaterThanOrEqual(1.2);
    const noisy = (value: number) => Array.from({ length: 60 }, (_, i) => value * (0.6 + ((i * 37) % 60) / 75));
    const wide = bootstrapMedianRatio(noisy(0.12), noisy(0.1))!;
    expect(wide.high - wide.low).toBeGreaterThan(5 * (tight.high - tight.low));
  });

  it("is the same for the same measurements (seeded), and undefined without them", () => {
    const a = [0.1, 0.13, 0.09, 0.2, 0.11];
    const b = [0.08, 0.1, 0.12, 0.09];
    expect(bootstrapMedianRatio(a, b)).toEqual(bootstrapMedianRatio(a, b));
    expect(bootstrapMedianRatio([], b)).toBeUndefined();
  });
});

describe("the codec figures", () => {
  it("time the client's wire path after checking it round-trips, against memcpy", () => {
    const result = codecBenchmark({ bytes: 1024 * 1024, rounds: 1 });
    expect(result.rows.map((r) => r.name)).toEqual([
      "memcpy: copy into a reused buffer (baseline)",
      "Buffer.from(bytes): copy into new memory",
      "encode, repeated calls (the client's pooled buffer)",
      "encode into new memory (first call, or pool off)",
      "decode: PredictResponse bytes -> Float32Array, aligned",
      "decode: misaligned, moved in place",
      "decode: misaligned, not the client's to move (copied)",
      "encode with @grpc/proto-loader (the client's before)",
    ]);
    expect(result.rows.every((r) => r.seconds > 0)).toBe(true);
    // The repeated-call encode went through the client's pool: one buffer, reused by every run after the first.
    expect(result.pool).toMatchObject({ allocated: 1, reused: 2, overflowed: 0, lent: 0 });
    const { text } = formatCodecResult(result);
    expect(text).toContain("(encode, repeated calls: 2 of 3 writes went into a buffer an earlier one had used, 1 MiB owned by the pool)");
    expect(text.split("\n").filter((line) => /(meets|MISSES) target \(>= 0\.5x memcpy\)/.test(line))).toHaveLength(3);
  });
});
