/**
 * Zero-copy outputs are views of the bytes @grpc/grpc-js received, and the client may move those
 * bytes to align them. Both are only safe if grpc-js hands each response to the deserializer in a
 * buffer of its own that it never reads or reuses afterwards. These tests hold the pinned grpc-js
 * to that, over real calls on 127.0.0.1, so an upgrade that starts reusing buffers fails here.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TfServingClient } from "../../client/client";
import type { PredictRequest, PredictResponse } from "../../client/messages";
import { methodDefinition, PREDICTION_SERVICE } from "../../client/protos";
import { encodeTensor, tensor, tensorToJson } from "../../client/tensor-codec";
import { allTestModels } from "../grpc/models";
import { startTfServingDouble, type TfServingDouble } from "../grpc/tf-serving-double";

/** The bytes of a typed array, as a Buffer over the same memory. */
const bytesOf = (view: ArrayBufferView) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);

/** half_plus_two version 1: y = 0.5x + 2, exact in float32 for these inputs. */
const halfPlusTwo = (x: Float32Array) => x.map((v) => 0.5 * v + 2);
const input = (seed: number, length: number) => Float32Array.from({ length }, (_, i) => (i % 1000) + seed);

describe("buffers @grpc/grpc-js hands to the client", () => {
  let server: TfServingDouble;

  beforeAll(async () => {
    server = await startTfServingDouble({ models: allTestModels(), responsePacking: "content" });
  });
  afterAll(async () => server.close());

  it("are a fresh buffer per response, never written again, never overlapping another", async () => {
    const predict = methodDefinition<PredictRequest, PredictResponse>(PREDICTION_SERVICE, "Predict");
    const channel = new grpc.Client(server.endpoint, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": -1 });
    const captured: { bytes: Buffer; snapshot: Buffer }[] = [];
    const capture = (bytes: Buffer) => {
      captured.push({ bytes, snapshot: Buffer.from(bytes) });
      return bytes;
    };
    const call = (x: Float32Array) =>
      new Promise<void>((resolve, reject) => {
        const request = { model_spec: { name: "half_plus_two", version: { value: 1 } }, inputs: { x: encodeTensor(tensor("DT_FLOAT", x)) } };
        channel.makeUnaryRequest(predict.path, predict.requestSerialize, capture, request, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (error) =>
          error ? reject(error) : resolve(),
        );
      });
    try {
      // Small and large responses, many in flight at once, then more afterwards.
      await Promise.all(Array.from({ length: 24 }, (_, i) => call(input(i, i % 3 === 0 ? 200_000 : 1 + i))));
      await Promise.all(Array.from({ length: 24 }, (_, i) => call(input(100 + i, i % 4 === 0 ? 100_000 : 3))));
    } finally {
      channel.close();
    }
    expect(captured).toHaveLength(48);
    for (const { bytes, snapshot } of captured) expect(bytes.equals(snapshot)).toBe(true);
    for (let a = 0; a < captured.length; a++) {
      for (let b = a + 1; b < captured.length; b++) {
        const [x, y] = [captured[a]!.bytes, captured[b]!.bytes];
        const overlap = x.buffer === y.buffer && x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
        expect(overlap).toBe(false);
      }
    }
  });
});

describe("TfServingClient outputs", () => {
  let server: TfServingDouble;
  let client: TfServingClient;

  beforeAll(async () => {
    server = await startTfServingDouble({ models: allTestModels(), responsePacking: "content" });
    client = new TfServingClient({ endpoint: server.endpoint, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it("stay intact while later calls come and go, large ones being views of their own response", async () => {
    const sizes = Array.from({ length: 20 }, (_, i) => (i % 4 === 0 ? 65_536 + i : 1 + i * 7));
    const inputs = sizes.map((size, i) => input(i, size));
    const first = await Promise.all(inputs.map((x) => client.predict({ model: "half_plus_two", version: 1, inputs: { x: tensor("DT_FLOAT", x) } })));
    await Promise.all(inputs.map((x, i) => client.predict({ model: "half_plus_two", version: 1, inputs: { x: tensor("DT_FLOAT", x.map((v) => v + i)) } })));
    let views = 0;
    first.forEach((result, i) => {
      const y = result.outputs["y"]!.values as Float32Array;
      expect(bytesOf(y).equals(bytesOf(halfPlusTwo(inputs[i]!))), `call ${i}`).toBe(true);
      if (y.buffer.byteLength > y.byteLength) views++; // a copy has a buffer of exactly its own size
    });
    expect(views).toBe(sizes.filter((size) => size >= 65_536).length);
  });

  it("of several dtypes in one response are all right after some were realigned in place", async () => {
    const rows = 10_000;
    const ids = BigInt64Array.from({ length: rows * 2 }, (_, i) => BigInt(i) * 1_000_003n - 7n);
    const scale = Float64Array.from({ length: rows }, (_, i) => (i % 7) - 3.25);
    const labels = Array.from({ length: rows }, (_, i) => `label-${i}`);
    const result = await client.predict({
      model: "mixer",
      inputs: { ids: tensor("DT_INT64", ids, [rows, 2]), scale: tensor("DT_DOUBLE", scale), label: tensor("DT_STRING", labels) },
    });
    expect(bytesOf(result.outputs["ids_plus_one"]!.values as BigInt64Array).equals(bytesOf(ids.map((v) => v + 1n)))).toBe(true);
    expect(bytesOf(result.outputs["doubled"]!.values as Float64Array).equals(bytesOf(scale.map((v) => v * 2)))).toBe(true);
    expect(Array.from(result.outputs["positive"]!.values as Uint8Array)).toEqual(Array.from(scale, (v) => (v > 0 ? 1 : 0)));
    expect(tensorToJson(result.outputs["label_upper"]!)).toEqual(labels.map((l) => l.toUpperCase()));
    expect(tensorToJson(result.outputs["label_bytes"]!)).toEqual(labels);
  });
});
