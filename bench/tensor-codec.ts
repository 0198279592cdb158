/**
 * `npm run bench`: how fast the client puts a 64 MiB float32 tensor on the wire and takes it off,
 * next to plain copies of the same bytes in the same run. `npm run bench:clients` prints the same
 * figures after its table.
 *
 * Two baselines:
 * - memcpy: a copy into an already-touched buffer, the speed of copying alone;
 * - Buffer.from(bytes): a copy into new memory. Fresh 64 MiB allocations are dominated by page
 *   faults (the kernel zero-filling 16384 pages; glibc maps every allocation above 32 MiB afresh),
 *   so this is several times slower than memcpy, and it is the floor of anything that builds a new
 *   message.
 *
 * Measured, on the client's own wire path (client/predict-wire.ts):
 * - encode: Float32Array -> serialized PredictRequest, twice: as TfServingClient.predict does on
 *   repeated calls (writePredictRequest into a buffer of the client's SendBufferPool, released again
 *   as at the end of the call; after the first call the pool hands back memory already mapped), and
 *   into new memory (a client's first large call, or with the pool off or full);
 * - decode: serialized PredictResponse, in a buffer of its own as @grpc/grpc-js hands it over (after
 *   the 5-byte frame header) -> Float32Array; once with tensor_content aligned for float32 (a view)
 *   and once misaligned (moved in place). Each run gets a fresh copy of the bytes, made untimed.
 * And for reference: @grpc/proto-loader's encoder (the client's before), and decoding misaligned
 * bytes the client may not move (one copy).
 * Each figure is the fastest of several runs, the cases taking turns (see timeCases).
 * Exits 1 when a gated figure is below half the memcpy throughput (the target). The encode held to
 * it is the repeated-call one, what a client making large calls gets; the new-memory figure is shown
 * next to it, ungated.
 * BENCH_MIB sets the tensor size (default 64), BENCH_ROUNDS the runs (default 7).
 */
import { performance } from "node:perf_hooks";
import type { PredictRequest, PredictResponse, TensorProto } from "../client/messages";
import { decodePredictResponse, encodePredictRequest, writePredictRequest } from "../client/predict-wire";
import { methodDefinition, PREDICTION_SERVICE } from "../client/protos";
import { SendBufferPool, type SendBufferPoolStats } from "../client/send-buffer-pool";
import { decodeTensor, encodeTensor, tensor } from "../client/tensor-codec";

const MiB = 1024 * 1024;
export const CODEC_TARGET = 0.5;

export interface CodecRow {
  name: string;
  seconds: number;
  /** Held to the target (at least CODEC_TARGET x memcpy). */
  gated: boolean;
}

export interface CodecResult {
  bytes: number;
  rounds: number;
  rows: CodecRow[];
  memcpySeconds: number;
  copySeconds: number;
  /** The pool behind the repeated-call encode, after all its runs. */
  pool: SendBufferPoolStats;
}

const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** One thing timed: `prepare` makes each run's input, untimed. */
interface Case<T = unknown> {
  name: string;
  run(input: T): unknown;
  prepare?(): T;
  gated: boolean;
}

const useCase = <T>(c: Case<T>): Case => c as Case;

/**
 * Seconds of the fastest of `rounds` runs of each case, after one warm-up run. The cases take turns
 * within each round, so load from other work on the machine falls on all of them alike, and the
 * fastest run is the one least disturbed by it. Garbage is collected before every run.
 */
function timeCases(cases: readonly Case[], rounds: number): number[] {
  for (const c of cases) c.run(c.prepare?.());
  const fastest = cases.map(() => Number.POSITIVE_INFINITY);
  for (let round = 0; round < rounds; round++) {
    cases.forEach((c, i) => {
      const input = c.prepare?.();
      collectGarbage();
      const start = performance.now();
      c.run(input);
      fastest[i] = Math.min(fastest[i]!, (performance.now() - start) / 1000);
    });
  }
  return fastest;
}

/** The bytes as @grpc/grpc-js hands them to a deserializer: after a 5-byte frame header, in a buffer of their own. */
function received(message: Buffer): Buffer {
  const framed = Buffer.allocUnsafeSlow(message.length + 5);
  message.copy(framed, 5);
  return framed.subarray(5);
}

/** A serialized PredictResponse holding `values` whose tensor_content lands aligned (or not) once received. */
function responseBytes(values: Float32Array, aligned: boolean): Buffer {
  const predict = methodDefinition<PredictRequest, PredictResponse>(PREDICTION_SERVICE, "Predict");
  for (let length = 1; length <= 4; length++) {
    const bytes = predict.responseSerialize({ model_spec: { name: "bench" }, outputs: { ["y".repeat(length)]: encodeTensor(tensor("DT_FLOAT", values, [values.length])) } });
    const content = Object.values(decodePredictResponse(received(bytes)).outputs!)[0]!.tensor_content!;
    if ((content.byteOffset % 4 === 0) === aligned) return bytes;
  }
  throw new Error("no output name gives the layout wanted");
}

const sameBytes = (a: Float32Array, b: Buffer) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), b) === 0;

export function codecBenchmark(options: { bytes?: number; rounds?: number } = {}): CodecResult {
  const bytes = options.bytes ?? 64 * MiB;
  const rounds = options.rounds ?? 7;
  const elements = bytes / 4;
  const values = new Float32Array(elements);
  for (let i = 0; i < elements; i++) values[i] = i * 0.25 - 1000;
  const source = Buffer.from(values.buffer, values.byteOffset, values.byteLength);

  const predict = methodDefinition<PredictRequest, PredictResponse>(PREDICTION_SERVICE, "Predict");
  const inputs = () => ({ x: tensor("DT_FLOAT", values, [elements]) });
  const encode = () => encodePredictRequest({ modelSpec: { name: "bench" }, inputs: inputs() });
  // The client's pool with its defaults; each run is one call's worth: take a buffer, write, give it back.
  const pool = new SendBufferPool();
  const encodePooled = () => {
    const sent = writePredictRequest({ modelSpec: { name: "bench" }, inputs: inputs() }, pool);
    sent.release();
    return sent.bytes;
  };
  const decode = (message: Buffer) => decodeTensor(Object.values(decodePredictResponse(message).outputs!)[0]!).values as Float32Array;
  const aligned = responseBytes(values, true);
  const misaligned = responseBytes(values, false);
  const misalignedProto = () => predict.responseDeserialize(received(misaligned)).outputs!;

  // Correctness first: what is timed must round-trip exactly, through the path timed.
  const sentBack = decodeTensor(predict.requestDeserialize(encode()).inputs["x"]!).values as Float32Array;
  const sentBackPooled = decodeTensor(predict.requestDeserialize(encodePooled()).inputs["x"]!).values as Float32Array;
  for (const decoded of [sentBack, sentBackPooled, decode(received(aligned)), decode(received(misaligned))]) {
    if (!sameBytes(decoded, source)) throw new Error("round trip changed the values");
  }
  const viewed = decode(received(aligned));
  if (viewed.buffer.byteLength === viewed.byteLength) throw new Error("aligned tensor_content was copied, not viewed");

  const copyTarget = Buffer.allocUnsafeSlow(bytes);
  const cases: Case[] = [
    useCase({ name: "memcpy: copy into a reused buffer (baseline)", run: () => source.copy(copyTarget), gated: false }),
    useCase({ name: "Buffer.from(bytes): copy into new memory", run: () => Buffer.from(source), gated: false }),
    useCase({ name: "encode, repeated calls (the client's pooled buffer)", run: encodePooled, gated: true }),
    useCase({ name: "encode into new memory (first call, or pool off)", run: encode, gated: false }),
    useCase({ name: "decode: PredictResponse bytes -> Float32Array, aligned", run: decode, prepare: () => received(aligned), gated: true }),
    useCase({ name: "decode: misaligned, moved in place", run: decode, prepare: () => received(misaligned), gated: true }),
    useCase({ name: "decode: misaligned, not the client's to move (copied)", run: (outputs: Record<string, TensorProto>) => decodeTensor(Object.values(outputs)[0]!), prepare: misalignedProto, gated: false }),
    useCase({
      name: "encode with @grpc/proto-loader (the client's before)",
      run: () => predict.requestSerialize({ model_spec: { name: "bench" }, inputs: { x: encodeTensor(inputs().x) } }),
      gated: false,
    }),
  ];
  const seconds = timeCases(cases, rounds);
  // After the warm-up every pooled run must have reused the one buffer, or the figure is not the steady state.
  const poolStats = pool.stats();
  if (poolStats.allocated > 1) throw new Error(`the pooled encode allocated ${poolStats.allocated} buffers, not one`);
  const rows: CodecRow[] = cases.map((c, i) => ({ name: c.name, seconds: seconds[i]!, gated: c.gated }));
  const [memcpySeconds, copySeconds] = [seconds[0]!, seconds[1]!];
  return { bytes, rounds, rows, memcpySeconds, copySeconds, pool: poolStats };
}

/** The result as a table; `missed` when a gated row is below the target. */
export function formatCodecResult(result: CodecResult): { text: string; missed: boolean } {
  const throughput = (seconds: number) => result.bytes / MiB / seconds;
  const lines = [
    `Tensor codec: ${result.bytes / MiB} MiB float32 tensor (${result.bytes / 4} elements), fastest of ${result.rounds} runs, Node ${process.version}${process.env["GLIBC_TUNABLES"] ? `, GLIBC_TUNABLES=${process.env["GLIBC_TUNABLES"]}` : ""}`,
    "",
    `${"what".padEnd(56)} ${"MiB/s".padStart(10)} ${"x memcpy".padStart(9)} ${"x new-memory copy".padStart(18)}`,
  ];
  let missed = false;
  for (const row of result.rows) {
    const rate = throughput(row.seconds);
    const vsMemcpy = rate / throughput(result.memcpySeconds);
    const vsCopy = rate / throughput(result.copySeconds);
    const verdict = row.gated ? (vsMemcpy >= CODEC_TARGET ? `  meets target (>= ${CODEC_TARGET}x memcpy)` : `  MISSES target (>= ${CODEC_TARGET}x memcpy)`) : "";
    if (row.gated && vsMemcpy < CODEC_TARGET) missed = true;
    lines.push(`${row.name.padEnd(56)} ${rate.toFixed(0).padStart(10)} ${vsMemcpy.toFixed(2).padStart(9)} ${vsCopy.toFixed(2).padStart(18)}${verdict}`);
  }
  const { pool } = result;
  lines.push(
    `(encode, repeated calls: ${pool.reused} of ${pool.reused + pool.allocated + pool.overflowed} writes went into a buffer an earlier one had used, ` +
      `${(pool.ownedBytes / MiB).toFixed(0)} MiB owned by the pool)`,
  );
  return { text: lines.join("\n"), missed };
}

if (require.main === module) {
  const { text, missed } = formatCodecResult(codecBenchmark({ bytes: Number(process.env["BENCH_MIB"] ?? 64) * MiB, rounds: Number(process.env["BENCH_ROUNDS"] ?? 7) }));
  console.log(text);
  process.exitCode = missed ? 1 : 0;
}
