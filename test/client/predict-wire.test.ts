/**
 * The client's own PredictRequest writer and PredictResponse reader (client/predict-wire.ts), held to
 * @grpc/proto-loader: the same bytes out for every kind of tensor, the same tensors in, and what
 * other protobuf writers may send (unpacked repeated fields, any field order, unknown fields).
 */
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../bench/seeded-random";
import { modelSpecFor, type SignatureRef } from "../../client/client";
import { SUPPORTED_DTYPES, type DType } from "../../client/dtypes";
import { ResponseError, TensorValueError } from "../../client/errors";
import type { PredictRequest, PredictResponse, TensorProto } from "../../client/messages";
import { decodePredictResponse, encodePredictRequest } from "../../client/predict-wire";
import { methodDefinition, PREDICTION_SERVICE } from "../../client/protos";
import { decodeTensor, encodeTensor, tensor, tensorToJson, type EncodeOptions, type Tensor, type TensorLike } from "../../client/tensor-codec";

const predict = methodDefinition<PredictRequest, PredictResponse>(PREDICTION_SERVICE, "Predict");
const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");

/** What @grpc/proto-loader writes for the same request: the client's previous encoder. */
function protoLoaderBytes(ref: SignatureRef, inputs: Record<string, Tensor>, outputFilter: string[] | undefined, packing: EncodeOptions["packing"]): Buffer {
  const protos = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, encodeTensor(t, { packing })]));
  return predict.requestSerialize({ model_spec: modelSpecFor(ref), inputs: protos, output_filter: outputFilter ?? [] });
}

/** `count` random values valid for `dtype`, edge values included. */
function randomValues(dtype: DType, count: number, next: () => number): TensorLike[] {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  const values: TensorLike[] = [];
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case "DT_FLOAT":
      case "DT_DOUBLE":
      case "DT_HALF":
      case "DT_BFLOAT16":
        values.push(next() < 0.2 ? pick(["NaN", "Infinity", "-Infinity", -0, 0, 1e-8, 65504]) : (next() - 0.5) * 1000);
        break;
      case "DT_BOOL":
        values.push(next() < 0.5);
        break;
      case "DT_STRING":
        values.push(pick(["", "a", "héllo wörld", "x".repeat(200), { b64: "AP8=" }]));
        break;
      default: {
        const bits = { DT_INT8: 8, DT_INT16: 16, DT_INT32: 32, DT_INT64: 64, DT_UINT8: 8, DT_UINT16: 16, DT_UINT32: 32, DT_UINT64: 64 }[dtype];
        const signed = !dtype.startsWith("DT_UINT");
        const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
        const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
        const r = next();
        const value = r < 0.1 ? min : r < 0.2 ? max : r < 0.3 ? 0n : min + BigInt(Math.floor(next() * 2 ** 30)) * ((max - min) / 2n ** 30n);
        values.push(value.toString());
      }
    }
  }
  return values;
}

/** Nests a flat list into `shape`. */
function nest(flat: TensorLike[], shape: number[]): TensorLike {
  if (shape.length === 0) return flat[0]!;
  const [size, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: size! }, (_, i) => nest(flat.slice(i * stride, (i + 1) * stride), rest));
}

function randomTensor(dtype: DType, next: () => number): Tensor {
  const rank = Math.floor(next() * 4);
  const shape = Array.from({ length: rank }, () => Math.floor(next() * (next() < 0.1 ? 1 : 6)));
  const count = shape.reduce((a, b) => a * b, 1);
  if (count === 0) return dtype === "DT_STRING" ? { dtype, shape, values: [] } : (tensor(dtype, new Float32Array(0), shape) as Tensor);
  return tensor(dtype, nest(randomValues(dtype, count, next), shape));
}

describe("encodePredictRequest", () => {
  it("writes the bytes @grpc/proto-loader writes, for 600 random tensors of every dtype, both packings", () => {
    const next = seededRandom(17);
    let compared = 0;
    for (const dtype of SUPPORTED_DTYPES) {
      for (let i = 0; i < 600 / SUPPORTED_DTYPES.length; i++) {
        const t = dtype === "DT_STRING" && next() < 0.2 ? tensor("DT_STRING", []) : randomTensor(dtype, next);
        for (const packing of ["content", "values"] as const) {
          const ref = { model: "m" };
          expect(hex(encodePredictRequest({ modelSpec: modelSpecFor(ref), inputs: { x: t }, packing })), `${dtype} [${t.shape.join(",")}] ${packing}`).toBe(
            hex(protoLoaderBytes(ref, { x: t }, undefined, packing)),
          );
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it("writes the same bytes for model specs, several inputs, output filters and large tensors", () => {
    const big = new Float32Array(30_000).map((_, i) => i / 7);
    const inputs = {
      images: tensor("DT_FLOAT", big, [30, 1000]),
      "ids/ünï": tensor("DT_INT64", [["9223372036854775807", "-9223372036854775808"]]),
      "": tensor("DT_STRING", ["", "text"]),
      flags: tensor("DT_BOOL", [[true], [false]]),
      scalar: tensor("DT_HALF", 0.5),
    };
    const refs: SignatureRef[] = [
      { model: "m" },
      { model: "model-with-a-long-name", version: 7, signature: "serving_default" },
      { model: "m", version: "9223372036854775807" },
      { model: "m", version: 0n },
      { model: "ø", label: "canary", signature: "" },
    ];
    for (const ref of refs) {
      for (const outputFilter of [undefined, ["y"], ["", "ÿ", "z".repeat(300)]]) {
        for (const packing of ["content", "values"] as const) {
          expect(hex(encodePredictRequest({ modelSpec: modelSpecFor(ref), inputs, outputFilter, packing }))).toBe(hex(protoLoaderBytes(ref, inputs, outputFilter, packing)));
        }
      }
    }
  });

  it("copies numeric values once, into a buffer of exactly the message's size", () => {
    const values = new Float32Array([1, 2, 3]);
    const bytes = encodePredictRequest({ modelSpec: { name: "m" }, inputs: { x: tensor("DT_FLOAT", values) } });
    expect(bytes.buffer).not.toBe(values.buffer);
    values[0] = 9; // the request owns its bytes once written
    const sent = decodeTensor(predict.requestDeserialize(bytes).inputs["x"]!);
    expect(Array.from(sent.values as Float32Array)).toEqual([1, 2, 3]);
  });

  it("rejects tensors whose values do not match their dtype or shape, naming the input", () => {
    const wrong: [Tensor, RegExp][] = [
      [{ dtype: "DT_FLOAT", shape: [3], values: new Float32Array(2) }, /input "x": shape \[3\] needs 3 values but the tensor has 2/],
      [{ dtype: "DT_FLOAT", shape: [2], values: [1, 2] as unknown as Float32Array }, /input "x": DT_FLOAT values must be a Float32Array/],
      [{ dtype: "DT_INT64", shape: [1], values: new Int32Array(1) as unknown as BigInt64Array }, /DT_INT64 values must be a BigInt64Array/],
      [{ dtype: "DT_STRING", shape: [1], values: ["a"] as unknown as Uint8Array[] }, /input "x"\[0\]: DT_STRING values must be Uint8Arrays/],
      [{ dtype: "DT_FLOAT", shape: [-1], values: new Float32Array(0) }, /input "x": shape \[-1\] must hold non-negative integers/],
      [{ dtype: "DT_COMPLEX64" as DType, shape: [1], values: new Float32Array(2) }, /input "x": unsupported dtype DT_COMPLEX64/],
    ];
    for (const [t, message] of wrong) {
      expect(() => encodePredictRequest({ modelSpec: { name: "m" }, inputs: { x: t } })).toThrow(TensorValueError);
      expect(() => encodePredictRequest({ modelSpec: { name: "m" }, inputs: { x: t } })).toThrow(message);
    }
  });
});

describe("decodePredictResponse", () => {
  /** Decodes with both readers and compares the tensors and the model spec. */
  function expectSameAsProtoLoader(bytes: Buffer): void {
    const ours = decodePredictResponse(Buffer.from(bytes));
    const theirs = predict.responseDeserialize(Buffer.from(bytes));
    expect(Object.keys(ours.outputs ?? {})).toEqual(Object.keys(theirs.outputs ?? {}));
    for (const [name, proto] of Object.entries(theirs.outputs ?? {})) {
      const expected = decodeTensor(proto);
      const actual = decodeTensor(ours.outputs![name]!);
      expect(actual.dtype, name).toBe(expected.dtype);
      expect(actual.shape, name).toEqual(expected.shape);
      expect(tensorToJson(actual, { bytes: "b64" }), name).toEqual(tensorToJson(expected, { bytes: "b64" }));
    }
    const spec = (s: PredictResponse["model_spec"]) => ({ name: s?.name, version: s?.version?.value, signature: s?.signature_name, label: s?.version_label });
    expect(spec(ours.model_spec)).toEqual(spec(theirs.model_spec));
  }

  it("reads what @grpc/proto-loader writes, as @grpc/proto-loader reads it, for random tensors of every dtype", () => {
    const next = seededRandom(29);
    for (let i = 0; i < 100; i++) {
      const outputs: Record<string, TensorProto> = {};
      const count = 1 + Math.floor(next() * 4);
      for (let k = 0; k < count; k++) {
        const dtype = SUPPORTED_DTYPES[Math.floor(next() * SUPPORTED_DTYPES.length)]!;
        outputs[`out${k}${"_".repeat(Math.floor(next() * 8))}`] = encodeTensor(randomTensor(dtype, next), { packing: next() < 0.5 ? "content" : "values" });
      }
      const model_spec = next() < 0.5 ? { name: "m", version: { value: String(Math.floor(next() * 1000)) }, signature_name: "s" } : { name: "n", version_label: "canary" };
      expectSameAsProtoLoader(predict.responseSerialize({ outputs, model_spec }));
    }
  });

  it("keeps int64 exact and reads negative dimension sizes as such", () => {
    const bytes = predict.responseSerialize({
      model_spec: { name: "m", version: { value: "9223372036854775807" } },
      outputs: { ids: encodeTensor(tensor("DT_INT64", ["-9223372036854775808", "9007199254740993"]), { packing: "values" }) },
    });
    const response = decodePredictResponse(bytes);
    expect(response.model_spec!.version!.value).toBe("9223372036854775807");
    expect(tensorToJson(decodeTensor(response.outputs!["ids"]!))).toEqual([-9223372036854775808n, 9007199254740993n]);
    const negative = predict.responseSerialize({ outputs: { y: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: -1 }] } } } });
    expect(() => decodeTensor(decodePredictResponse(negative).outputs!["y"]!)).toThrow("tensor has an invalid dimension size -1");
  });

  it("accepts unpacked repeated scalars, any field order and unknown fields at every level", () => {
    const unknown = "f806 01" + "fa06 02 abcd" + "fd06 00000000" + "f906 0000000000000000"; // fields 111: varint, LEN, fixed32, fixed64
    // TensorProto, content first: tensor_content [1.5f], unknown fields, tensor_shape [1], dtype DT_FLOAT
    const content = "2204 0000c03f" + unknown + "1204 1202 0801" + "0801";
    // TensorProto with float_val unpacked (tag 0x2d fixed32 each) and int_val unpacked next to a packed run
    const floats = "0801 1204 1202 0803 2d 0000803f 2d 00000040 2d 00004040" + unknown;
    const ints = "0803 1204 1202 0803 38 01 3a02 0203"; // DT_INT32, int_val: 1 unpacked, then packed [2, 3]
    const entry = (key: string, value: string) => {
      const body = `0a${key.length.toString(16).padStart(2, "0")}${Buffer.from(key).toString("hex")}12${(value.replace(/\s/g, "").length / 2).toString(16).padStart(2, "0")}${value}`;
      return `0a${(body.replace(/\s/g, "").length / 2).toString(16).padStart(2, "0")}${body}`;
    };
    const spec = "1207 0a01" + Buffer.from("m").toString("hex") + "1202 0803"; // model_spec first: name "m", version 3
    const bytes = Buffer.from((spec + unknown + entry("a", content) + entry("b", floats) + entry("c", ints)).replace(/\s/g, ""), "hex");
    const response = decodePredictResponse(bytes);
    expect(response.model_spec).toEqual({ name: "m", version: { value: "3" } });
    expect(Array.from(decodeTensor(response.outputs!["a"]!).values as Float32Array)).toEqual([1.5]);
    expect(Array.from(decodeTensor(response.outputs!["b"]!).values as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(decodeTensor(response.outputs!["c"]!).values as Int32Array)).toEqual([1, 2, 3]);
  });

  it("rejects truncated and malformed bytes with a ResponseError, wherever they are cut", () => {
    const bytes = predict.responseSerialize({
      model_spec: { name: "model", version: { value: "12" }, signature_name: "serving_default" },
      outputs: { y: encodeTensor(tensor("DT_FLOAT", [[1, 2], [3, 4]])), s: encodeTensor(tensor("DT_STRING", ["a", "bc"])), v: encodeTensor(tensor("DT_INT32", [-1, 5]), { packing: "values" }) },
    });
    let rejected = 0;
    for (let length = 0; length < bytes.length; length++) {
      try {
        decodePredictResponse(Buffer.from(bytes.subarray(0, length)));
      } catch (error) {
        expect(error, `cut at ${length}`).toBeInstanceOf(ResponseError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(bytes.length / 2);
    expect(() => decodePredictResponse(Buffer.from("0b", "hex"))).toThrow(new ResponseError("PredictResponse has an unsupported wire type 3"));
    expect(() => decodePredictResponse(Buffer.from("0aff", "hex"))).toThrow("PredictResponse is truncated or malformed");
    expect(() => decodePredictResponse(Buffer.from("0a ffffffffffffffffffff01".replace(/\s/g, ""), "hex"))).toThrow(ResponseError);
  });

  it("reads an output named __proto__ as an output", () => {
    const bytes = predict.responseSerialize({ outputs: { ["__proto__"]: encodeTensor(tensor("DT_FLOAT", [1])) } });
    const outputs = decodePredictResponse(bytes).outputs!;
    expect(Object.keys(outputs)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(outputs)).toBe(Object.prototype);
  });
});
