/**
 * The Node side of `npm run bench:clients`: the project's TfServingClient, and for the floor analysis
 * a raw @grpc/grpc-js call that sends pre-built request bytes and does not decode the answer, each
 * measured the same way as the Python client (python_client.py).
 */
import * as grpc from "@grpc/grpc-js";
import { performance } from "node:perf_hooks";
import { DEFAULT_CHANNEL_OPTIONS, modelSpecFor, TfServingClient, type TfServingClientOptions } from "../../client/client";
import type { PredictRequest, PredictResponse } from "../../client/messages";
import { decodePredictResponse, encodePredictRequest } from "../../client/predict-wire";
import { methodDefinition, PREDICTION_SERVICE } from "../../client/protos";
import { decodeTensor, encodeTensor, tensor } from "../../client/tensor-codec";
import type { InFlightResult, LargeResult, SmallSequentialResult } from "./python";

/** The small call's input and answer: linear computes y = 2x + 1. */
export const SMALL_INPUT = [1, 2] as const;
export const SMALL_EXPECTED = [3, 5] as const;
const TIMEOUT_MS = 30_000;

/** One call; resolves to something `check` can verify. */
export interface BenchCall<T> {
  call(): Promise<T>;
  check(result: T): void;
}

function fail(what: string): never {
  throw new Error(`wrong answer: ${what}`);
}

const cpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

export async function smallSequential<T>(bench: BenchCall<T>, calls: number): Promise<SmallSequentialResult> {
  const latenciesUs = new Array<number>(calls);
  let last: T | undefined;
  const cpu = cpuSeconds();
  const wall = performance.now();
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    last = await bench.call();
    latenciesUs[i] = (performance.now() - start) * 1000;
  }
  const wallSeconds = (performance.now() - wall) / 1000;
  const cpuUsed = cpuSeconds() - cpu;
  if (calls > 0) bench.check(last!);
  return { latenciesUs, wallSeconds, cpuSeconds: cpuUsed };
}

/** Keeps `inFlight` calls outstanding until `calls` have completed; the last answer is checked. */
export async function smallInFlight<T>(bench: BenchCall<T>, calls: number, inFlight: number): Promise<InFlightResult> {
  let started = 0;
  let last: T | undefined;
  const worker = async () => {
    while (started < calls) {
      started++;
      last = await bench.call();
    }
  };
  const cpu = cpuSeconds();
  const wall = performance.now();
  await Promise.all(Array.from({ length: Math.min(inFlight, calls) }, worker));
  const result = { wallSeconds: (performance.now() - wall) / 1000, cpuSeconds: cpuSeconds() - cpu };
  if (calls > 0) bench.check(last!);
  return result;
}

export async function large<T>(bench: BenchCall<T>, calls: number): Promise<LargeResult> {
  const seconds: number[] = [];
  let last: T | undefined;
  const cpu = cpuSeconds();
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    last = await bench.call();
    seconds.push((performance.now() - start) / 1000);
  }
  const cpuUsed = cpuSeconds() - cpu;
  if (calls > 0) bench.check(last!);
  return { seconds, cpuSeconds: cpuUsed };
}

export interface ProjectClientBench {
  client: TfServingClient;
  small: BenchCall<Float32Array>;
  /** One call of the identity model with `bytes` of float32 in (and the same out). */
  large(bytes: number): BenchCall<Float32Array>;
  close(): void;
}

/** `options`: client options the bench compares (e.g. `sendBufferPool: false`). */
export function projectClient(endpoint: string, options: Omit<TfServingClientOptions, "endpoint"> = {}): ProjectClientBench {
  const client = new TfServingClient({ endpoint, timeoutMs: TIMEOUT_MS, ...options });
  const output = async (model: string, x: ReturnType<typeof tensor<"DT_FLOAT">>) => {
    const result = await client.predict({ model, inputs: { x } });
    return result.outputs["y"]!.values as Float32Array;
  };
  return {
    client,
    small: {
      call: () => output("linear", tensor("DT_FLOAT", Float32Array.from(SMALL_INPUT), [2, 1])),
      check: (y) => {
        if (y.length !== 2 || y[0] !== SMALL_EXPECTED[0] || y[1] !== SMALL_EXPECTED[1]) fail(`linear gave [${Array.from(y).join(", ")}]`);
      },
    },
    large(bytes) {
      const x = new Float32Array(bytes / 4).map((_, i) => i);
      const expected = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
      return {
        call: () => output("identity", tensor("DT_FLOAT", x, [x.length])),
        check: (y) => {
          if (Buffer.compare(Buffer.from(y.buffer, y.byteOffset, y.byteLength), expected) !== 0) fail("identity changed the values");
        },
      };
    },
    close: () => client.close(),
  };
}

export interface RawGrpcBench {
  small: BenchCall<Buffer>;
  /** The large call the same way: request bytes built once, the answer's bytes not decoded. */
  large(bytes: number): BenchCall<Buffer>;
  close(): void;
}

/**
 * The floor: a unary call through @grpc/grpc-js with the client's channel options, a request
 * serialized once up front, and identity (de)serializers, so it measures the gRPC library and Node's
 * HTTP/2 alone. With the same target and options it shares the project client's connection
 * (grpc-js pools subchannels).
 */
export function rawGrpc(endpoint: string): RawGrpcBench {
  const channel = new grpc.Client(endpoint, grpc.credentials.createInsecure(), { ...DEFAULT_CHANNEL_OPTIONS });
  const predict = methodDefinition<PredictRequest, PredictResponse>(PREDICTION_SERVICE, "Predict");
  const request = predict.requestSerialize({
    model_spec: { name: "linear" },
    inputs: { x: encodeTensor(tensor("DT_FLOAT", Float32Array.from(SMALL_INPUT), [2, 1])) },
  });
  const identity = (bytes: Buffer) => bytes;
  const send = (message: Buffer) =>
    new Promise<Buffer>((resolve, reject) => {
      channel.makeUnaryRequest<Buffer, Buffer>(predict.path, identity, identity, message, new grpc.Metadata(), { deadline: Date.now() + TIMEOUT_MS }, (error, response) =>
        error ? reject(error) : resolve(response!),
      );
    });
  return {
    large(bytes) {
      const x = new Float32Array(bytes / 4).map((_, i) => i);
      const message = encodePredictRequest({ modelSpec: { name: "identity" }, inputs: { x: tensor("DT_FLOAT", x, [x.length]) } });
      return {
        call: () => send(message),
        check: (response) => {
          const y = decodeTensor(decodePredictResponse(response).outputs!["y"]!).values as Float32Array;
          if (Buffer.compare(Buffer.from(y.buffer, y.byteOffset, y.byteLength), Buffer.from(x.buffer)) !== 0) fail("raw large call's answer");
        },
      };
    },
    small: {
      call: () => send(request),
      check: (response) => {
        // Decoded here, outside the timed calls: the raw call's cost is the transport's alone.
        const y = predict.responseDeserialize(response).outputs?.["y"];
        if (!y?.tensor_content || Buffer.from(y.tensor_content).toString("hex") !== Buffer.from(Float32Array.from(SMALL_EXPECTED).buffer).toString("hex")) {
          fail("raw call's answer");
        }
      },
    },
    close: () => channel.close(),
  };
}

export interface CodecCost {
  /** The client's encode of the small request and decode of its response, µs per call. */
  clientUs: number;
  /** The same through @grpc/proto-loader (the client before its own wire format), µs per call. */
  protoLoaderUs: number;
}

/**
 * The client's own work per small call, without the network: encoding the request and decoding the
 * answer, in a loop (fastest of 5 batches), next to @grpc/proto-loader doing the same.
 */
export function smallCallCodecCost(iterations = 50_000): CodecCost {
  const predict = methodDefinition<PredictRequest, PredictResponse>(PREDICTION_SERVICE, "Predict");
  const input = () => tensor("DT_FLOAT", Float32Array.from(SMALL_INPUT), [2, 1]);
  const answer = predict.responseSerialize({
    model_spec: { name: "linear", version: { value: 1 }, signature_name: "serving_default" },
    outputs: { y: encodeTensor(tensor("DT_FLOAT", Float32Array.from(SMALL_EXPECTED), [2, 1])) },
  });
  const client = () => {
    encodePredictRequest({ modelSpec: modelSpecFor({ model: "linear" }), inputs: { x: input() } });
    for (const proto of Object.values(decodePredictResponse(Buffer.from(answer)).outputs!)) decodeTensor(proto);
  };
  const protoLoader = () => {
    predict.requestSerialize({ model_spec: modelSpecFor({ model: "linear" }), inputs: { x: encodeTensor(input()) }, output_filter: [] });
    for (const proto of Object.values(predict.responseDeserialize(Buffer.from(answer)).outputs!)) decodeTensor(proto);
  };
  const microseconds = (run: () => void) => {
    for (let i = 0; i < iterations / 5; i++) run();
    let fastest = Number.POSITIVE_INFINITY;
    for (let batch = 0; batch < 5; batch++) {
      const start = performance.now();
      for (let i = 0; i < iterations; i++) run();
      fastest = Math.min(fastest, ((performance.now() - start) * 1000) / iterations);
    }
    return fastest;
  };
  return { clientUs: microseconds(client), protoLoaderUs: microseconds(protoLoader) };
}
