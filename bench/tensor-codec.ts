/**
 * `npm run bench`: encode and decode throughput of a 64 MiB float32 tensor, next to plain copies of
 * the same bytes in the same run. `npm run bench:clients` prints the same figures after its table.
 *
 * Two baselines:
 * - memcpy: a copy into an already-touched buffer, the speed of copying alone;
 * - Buffer.from(bytes): a copy into new memory. Fresh 64 MiB allocations are dominated by page
 *   faults (the kernel zero-filling 16384 pages), so this is several times slower than memcpy.
 *
 * Measured per direction:
 * - codec:  Float32Array -> TensorProto (encode) and TensorProto -> Float32Array (decode);
 * - wire:   Float32Array -> serialized PredictRequest bytes, and serialized PredictResponse bytes
 *           -> Float32Array, through the same @grpc/proto-loader (de)serializers the client uses.
 * Exits 1 when a wire figure is below half the memcpy throughput (the target).
 */
import { performance } from "node:perf_hooks";
import { methodDefinition, PREDICTION_SERVICE } from "../client/protos";
import { decodeTensor, encodeTensor, tensor } from "../client/tensor-codec";
import type { PredictRequest, PredictResponse, TensorProto } from "../client/messages";

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
}

const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** Median seconds of `rounds` timed runs after one warm-up run; garbage is collected before each run. */
function timer(rounds: number): (run: () => unknown) => number {
  return (run) => {
    run();
    const samples: number[] = [];
    for (let i = 0; i < rounds; i++) {
      collectGarbage();
      const start = performance.now();
      run();
      samples.push((performance.now() - start) / 1000);
    }
    samples.sort((a, b) => a - b);
    return samples[Math.floor(samples.length / 2)]!;
  };
}

export function codecBenchmark(options: { bytes?: number; rounds?: number } = {}): CodecResult {
  const bytes = options.bytes ?? 64 * MiB;
  const rounds = options.rounds ?? 7;
  const elements = bytes / 4;
  const time = timer(rounds);
  const values = new Float32Array(elements);
  for (let i = 0; i < elements; i++) values[i] = i * 0.25 - 1000;
  const source = Buffer.from(values.buffer, values.byteOffset, values.byteLength);

  const predict = methodDefinition<PredictRequest, PredictResponse>(PREDICTION_SERVICE, "Predict");
  const request = (): PredictRequest => ({ model_spec: { name: "bench" }, inputs: { x: encodeTensor(tensor("DT_FLOAT", values, [elements])) } });
  const responseBytes = predict.responseSerialize({ outputs: { y: encodeTensor(tensor("DT_FLOAT", values, [elements])) } });
  const contentProto: TensorProto = { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: elements }] }, tensor_content: Buffer.from(source) };

  // Correctness first: what is timed must round-trip exactly.
  const wireDecoded = decodeTensor(predict.responseDeserialize(responseBytes).outputs!["y"]!).values as Float32Array;
  const requestBytes = predict.requestSerialize(request());
  const sentBack = decodeTensor(predict.requestDeserialize(requestBytes).inputs["x"]!).values as Float32Array;
  for (const decoded of [wireDecoded, sentBack]) {
    if (Buffer.compare(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength), source) !== 0) throw new Error("round trip changed the values");
  }

  const copyTarget = Buffer.allocUnsafeSlow(bytes);
  const memcpySeconds = time(() => source.copy(copyTarget));
  const copySeconds = time(() => Buffer.from(source));
  const rows: CodecRow[] = [
    { name: "memcpy: copy into a reused buffer (baseline)", seconds: memcpySeconds, gated: false },
    { name: "Buffer.from(bytes): copy into new memory", seconds: copySeconds, gated: false },
    { name: "encode, codec (Float32Array -> TensorProto)", seconds: time(() => encodeTensor(tensor("DT_FLOAT", values, [elements]))), gated: false },
    { name: "decode, codec (TensorProto -> Float32Array)", seconds: time(() => decodeTensor(contentProto)), gated: false },
    { name: "encode, wire (Float32Array -> PredictRequest bytes)", seconds: time(() => predict.requestSerialize(request())), gated: true },
    { name: "decode, wire (PredictResponse bytes -> Float32Array)", seconds: time(() => decodeTensor(predict.responseDeserialize(responseBytes).outputs!["y"]!)), gated: true },
  ];
  return { bytes, rounds, rows, memcpySeconds, copySeconds };
}

/** The result as a table; `missed` when a gated row is below the target. */
export function formatCodecResult(result: CodecResult): { text: string; missed: boolean } {
  const throughput = (seconds: number) => result.bytes / MiB / seconds;
  const lines = [
    `Tensor codec: ${result.bytes / MiB} MiB float32 tensor (${result.bytes / 4} elements), median of ${result.rounds} runs, Node ${process.version}`,
    "",
    `${"what".padEnd(54)} ${"MiB/s".padStart(10)} ${"x memcpy".padStart(9)} ${"x new-memory copy".padStart(18)}`,
  ];
  let missed = false;
  for (const row of result.rows) {
    const rate = throughput(row.seconds);
    const vsMemcpy = rate / throughput(result.memcpySeconds);
    const vsCopy = rate / throughput(result.copySeconds);
    const verdict = row.gated ? (vsMemcpy >= CODEC_TARGET ? `  meets target (>= ${CODEC_TARGET}x memcpy)` : `  MISSES target (>= ${CODEC_TARGET}x memcpy)`) : "";
    if (row.gated && vsMemcpy < CODEC_TARGET) missed = true;
    lines.push(`${row.name.padEnd(54)} ${rate.toFixed(0).padStart(10)} ${vsMemcpy.toFixed(2).padStart(9)} ${vsCopy.toFixed(2).padStart(18)}${verdict}`);
  }
  return { text: lines.join("\n"), missed };
}

if (require.main === module) {
  const { text, missed } = formatCodecResult(codecBenchmark({ rounds: Number(process.env["BENCH_ROUNDS"] ?? 7) }));
  console.log(text);
  process.exitCode = missed ? 1 : 0;
}
