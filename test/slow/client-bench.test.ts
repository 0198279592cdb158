/**
 * Slow suite: `npm run bench:clients` end to end in its quick setting (every piece once, in seconds):
 * the TF-Serving-compatible server runs its SavedModels with TensorFlow, the official Python client
 * and the Node client (with its request buffer pool and, --compare-pool, without; and the raw grpc-js
 * floor) all get right answers from it, and the report has a figure for every cell. Needs the .venv with examples/linear/requirements.txt and
 * bench/clients/requirements.txt (.ci/run installs both).
 */
import { describe, expect, it } from "vitest";
import { QUICK_RUN, runClientBenchmark } from "../../bench/clients/run";
import { figures, formatClientBench } from "../../bench/clients/report";
import { requireTensorflow } from "../harness/tensorflow";

describe("bench:clients against TensorFlow and the official Python client", async () => {
  await requireTensorflow();

  it("measures both clients and the floor, with every answer checked", async () => {
    const result = await runClientBenchmark(QUICK_RUN, undefined, { comparePool: true });
    expect(result.environment.python?.tensorflow).toMatch(/^2\./);
    expect(result.environment.python?.grpcio).toMatch(/^1\./);
    expect(result.nodeNoPool).toBeDefined();
    for (const side of [result.node, result.python, result.raw, result.nodeNoPool!]) {
      const f = figures(side, result.settings);
      for (const [name, value] of Object.entries(f)) {
        if (name.startsWith("server")) continue; // /proc clock ticks: too coarse for a handful of calls
        expect(value, name).toBeGreaterThan(0);
      }
      expect(side.small.latenciesUs).toHaveLength(QUICK_RUN.smallCalls);
      expect(side.large!.seconds).toHaveLength(QUICK_RUN.largeCalls);
    }
    const { text } = formatClientBench(result);
    expect(text).toMatch(/\| 1 MiB in \+ 1 MiB out, s per call +\| \d+\.\d{3} +\| \d+\.\d{3} +\| \d+\.\d{2}x/);
    expect(text).not.toMatch(/\| n\/a +\| n\/a/);
    const comparison = text.slice(text.indexOf("The client with and without its pool of large request buffers"));
    expect(comparison).toMatch(/^The client with and without its pool/);
    expect(comparison).toMatch(/\| 1 MiB in \+ 1 MiB out, s per call +\| \d+\.\d{3} +\| \d+\.\d{3} +\| \d+\.\d{2}x +\|/);
  }, 300_000);
});
