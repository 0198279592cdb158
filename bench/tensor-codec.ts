/**
 * `npm run bench`: encode and decode throughput of a 64 MiB float32 tensor, next to a plain Buffer
 * copy of the same bytes in the same run. Target: at least half the Buffer-copy throughput.
 *
 * The baseline is `Buffer.from(bytes)`: a copy into new memory, which is what encoding (a new
 * message buffer) and decoding (a new Float32Array) must produce too. Fresh 64 MiB allocations
 * are dominated by page faults, so a copy into an already-touched buffer (memcpy alone) is also
 * shown, for reference.
 *
 * Measured per direction:
 * - codec:  Float32Array -> TensorProto (encode) and TensorProto -> Float32Array (decode);
 * - wire:   Float32Array -> serialized PredictRequest bytes, and serialized PredictResponse bytes
 *           -> Float32Array, through the same @grpc/proto-loader (de)serializers the client uses.
 * Exits 1 when a wire figure misses the target.
 */
import { performance } from "node:perf_hooks";
import { methodDefinition, PREDICTION_SERVICE } from "../client/protos";
import { decodeTensor, encodeTensor, tensor } from "../client/tensor-codec";
import type { PredictRequest, PredictResponse, TensorProto } from "../client/messages";

const BYTES = 64 * 1024 * 1024;
const ELEMENTS = BYTES / 4;
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 7);
const MiB = 1024 * 1024;

const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** Median seconds of `ROUNDS` timed runs after one warm-up run; garbage is collected before each run. */
function time(run: () => unknown): number {
  run();
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    collectGarbage();
    const start = performance.now();
    run();
    samples.push((performance.now() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

const throughput = (seconds: number) => BYTES / MiB / seconds;

function main(): number {
  const values = new Float32Array(ELEMENTS);
  for (let i = 0; i < ELEMENTS; i++) values[i] = i * 0.25 - 1000;
  const source = Buffer.from(values.buffer, values.byteOffset, values.byteLength);

  const predict = methodDefinition<PredictRequest, PredictResponse>(PREDICTION_SERVICE, "Predict");
  const request = (): PredictRequest => ({ model_spec: { name: "bench" }, inputs: { x: encodeTensor(tensor("DT_FLOAT", values, [ELEMENTS])) } });
  const responseBytes = predict.responseSerialize({ outputs: { y: encodeTensor(tensor("DT_FLOAT", values, [ELEMENTS])) } });
  const contentProto: TensorProto = { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: ELEMENTS }] }, tensor_content: Buffer.from(source) };

  // Correctness first: what is timed must round-trip exactly.
  const wireDecoded = decodeTensor(predict.responseDeserialize(responseBytes).outputs!["y"]!).values as Float32Array;
  const requestBytes = predict.requestSerialize(request());
  const sentBack = decodeTensor(predict.requestDeserialize(requestBytes).inputs["x"]!).values as Float32Array;
  for (const decoded of [wireDecoded, sentBack]) {
    if (Buffer.compare(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength), source) !== 0) throw new Error("round trip changed the values");
  }

  const copyTarget = Buffer.allocUnsafeSlow(BYTES);
  const memcpy = time(() => source.copy(copyTarget));
  const copy = time(() => Buffer.from(source));
  const results = [
    { name: "Buffer copy, Buffer.from(bytes) (baseline)", seconds: copy, gated: false },
    { name: "Buffer copy into a reused buffer (memcpy only)", seconds: memcpy, gated: false },
    { name: "encode, codec (Float32Array -> TensorProto)", seconds: time(() => encodeTensor(tensor("DT_FLOAT", values, [ELEMENTS]))), gated: false },
    { name: "decode, codec (TensorProto -> Float32Array)", seconds: time(() => decodeTensor(contentProto)), gated: false },
    { name: "encode, wire (Float32Array -> PredictRequest bytes)", seconds: time(() => predict.requestSerialize(request())), gated: true },
    { name: "decode, wire (PredictResponse bytes -> Float32Array)", seconds: time(() => decodeTensor(predict.responseDeserialize(responseBytes).outputs!["y"]!)), gated: true },
  ];

  const baseline = throughput(copy);
  console.log(`Tensor codec benchmark: ${BYTES / MiB} MiB float32 tensor (${ELEMENTS} elements), median of ${ROUNDS} runs, Node ${process.version}`);
  console.log("");
  console.log(`${"what".padEnd(54)} ${"MiB/s".padStart(10)} ${"x copy".padStart(8)} ${"x memcpy".padStart(9)}`);
  let missed = false;
  for (const result of results) {
    const rate = throughput(result.seconds);
    const ratio = rate / baseline;
    const verdict = result.gated ? (ratio >= 0.5 ? "  meets target (>= 0.5x)" : "  MISSES target (>= 0.5x)") : "";
    if (result.gated && ratio < 0.5) missed = true;
    const vsMemcpy = rate / throughput(memcpy);
    console.log(`${result.name.padEnd(54)} ${rate.toFixed(0).padStart(10)} ${ratio.toFixed(2).padStart(8)} ${vsMemcpy.toFixed(2).padStart(9)}${verdict}`);
  }
  return missed ? 1 : 0;
}

process.exitCode = main();
