import { describe, expect, it } from "vitest";
import { ResponseError, TensorValueError } from "../../client/errors";
import { bfloat16BitsToFloat32, float32ToBfloat16Bits, float32ToHalfBits, halfBitsToFloat32 } from "../../client/float16";
import type { TensorProto } from "../../client/messages";
import { decodeTensor, encodeTensor, inferShape, tensor, tensorToJson, type TensorLike } from "../../client/tensor-codec";
import type { DType } from "../../client/dtypes";

/** A tensor's values as a plain array. */
const flat = (t: { values: unknown }) => Array.from(t.values as ArrayLike<unknown>);

function valueError(fn: () => unknown): TensorValueError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TensorValueError) return error;
    throw error;
  }
  throw new Error("expected a TensorValueError");
}

describe("tensor(): shapes", () => {
  it("infers the shape of nested arrays and flattens row-major", () => {
    const t = tensor("DT_INT32", [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(flat(t)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.values).toBeInstanceOf(Int32Array);
  });

  it("treats a bare value as a scalar and [] as an empty vector", () => {
    expect(tensor("DT_FLOAT", 1.5).shape).toEqual([]);
    expect(tensor("DT_FLOAT", []).shape).toEqual([0]);
    expect(tensor("DT_FLOAT", [[], []]).shape).toEqual([2, 0]);
    expect(inferShape([[[1]], [[2]]])).toEqual([2, 1, 1]);
  });

  it("rejects ragged arrays, naming where", () => {
    const short = valueError(() => tensor("DT_FLOAT", [[1, 2, 3], [4, 5]]));
    expect(short.path).toEqual([1]);
    expect(short.message).toBe("value[1]: has 2 elements, but [0] has 3: ragged arrays cannot form a tensor");

    const deeper = valueError(() => tensor("DT_FLOAT", [[1, 2], [3, [4]]]));
    expect(deeper.path).toEqual([1, 1]);
    expect(deeper.message).toMatch(/value\[1\]\[1\]: is an array, but \[0\]\[0\] is a single value/);

    const shallower = valueError(() => tensor("DT_FLOAT", [[1], 2]));
    expect(shallower.message).toMatch(/value\[1\]: is a single value, but \[0\] is an array of 1/);
    expect(() => tensor("DT_FLOAT", [[], [1]])).toThrow(/value\[1\]: has 1 elements, but \[0\] has 0/);
  });

  it("takes a typed array of the dtype's own type as is, with a given shape", () => {
    const values = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = tensor("DT_FLOAT", values, [3, 2]);
    expect(t.values).toBe(values);
    expect(t.shape).toEqual([3, 2]);
    expect(() => tensor("DT_FLOAT", values, [4, 2])).toThrow("shape [4, 2] needs 8 values but the array has 6");
    expect(() => tensor("DT_FLOAT", [[1, 2]], [2, 1])).toThrow("value has shape [1, 2] but shape [2, 1] was given");
  });

  it("converts other typed arrays element by element, with range checks", () => {
    expect(Array.from(tensor("DT_UINT8", new Int32Array([0, 255])).values)).toEqual([0, 255]);
    expect(() => tensor("DT_UINT8", new Int32Array([0, 256]))).toThrow("value[1]: 256 is out of range (DT_UINT8 holds 0 to 255)");
  });
});

describe("tensor(): dtypes and ranges", () => {
  const ranges: [DType, bigint, bigint][] = [
    ["DT_INT8", -128n, 127n],
    ["DT_INT16", -32768n, 32767n],
    ["DT_INT32", -2147483648n, 2147483647n],
    ["DT_INT64", -9223372036854775808n, 9223372036854775807n],
    ["DT_UINT8", 0n, 255n],
    ["DT_UINT16", 0n, 65535n],
    ["DT_UINT32", 0n, 4294967295n],
    ["DT_UINT64", 0n, 18446744073709551615n],
  ];

  it.each(ranges)("%s accepts its bounds and rejects one past them", (dtype, min, max) => {
    const t = tensor(dtype, [min.toString(), max.toString()]);
    expect(Array.from(t.values as ArrayLike<number | bigint>, (v) => BigInt(v))).toEqual([min, max]);
    expect(() => tensor(dtype, [max + 1n])).toThrow(`value[0]: ${max + 1n} is out of range (${dtype} holds ${min} to ${max})`);
    expect(() => tensor(dtype, [(max + 1n).toString()])).toThrow(`value[0]: "${max + 1n}" is out of range`);
    expect(() => tensor(dtype, [min - 1n])).toThrow(`${min - 1n} is out of range`);
  });

  it("rejects non-integers for integer dtypes", () => {
    expect(() => tensor("DT_INT32", [1, 2.5])).toThrow("value[1]: 2.5 is not an integer (DT_INT32)");
    expect(() => tensor("DT_INT64", ["12a"])).toThrow(/"12a" is not an integer \(DT_INT64 expects integers, or decimal strings/);
    expect(() => tensor("DT_INT32", [true])).toThrow(/true is not an integer/);
  });

  it("keeps int64 values beyond 2^53 exact, from bigints or decimal strings", () => {
    const t = tensor("DT_INT64", [9007199254740993n, "-9007199254740995"]);
    expect(Array.from(t.values as BigInt64Array)).toEqual([9007199254740993n, -9007199254740995n]);
    expect(tensorToJson(t)).toEqual([9007199254740993n, -9007199254740995n]);
  });

  it("checks float ranges after rounding to the dtype", () => {
    expect(() => tensor("DT_FLOAT", [3.5e38])).toThrow("value[0]: 3.5e+38 is out of range for DT_FLOAT (largest finite magnitude 3.4028234663852886e+38)");
    expect(() => tensor("DT_HALF", [65520])).toThrow(/65520 is out of range for DT_HALF/);
    expect(tensor("DT_HALF", [65504]).values[0]).toBe(65504);
    expect(() => tensor("DT_BFLOAT16", [3.4e38])).toThrow(/out of range for DT_BFLOAT16/);
    expect(tensor("DT_DOUBLE", [1e300]).values[0]).toBe(1e300);
  });

  it("accepts NaN and infinities as JSON strings for float dtypes", () => {
    const t = tensor("DT_FLOAT", ["NaN", "Infinity", "-Infinity", 1]);
    expect(flat(t)).toEqual([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1]);
    expect(tensorToJson(t)).toEqual(["NaN", "Infinity", "-Infinity", 1]);
    expect(() => tensor("DT_FLOAT", ["1.5"])).toThrow(/"1.5" is not a number/);
  });

  it("bool takes true/false; string takes text, bytes and {b64}", () => {
    expect(flat(tensor("DT_BOOL", [true, false]))).toEqual([1, 0]);
    expect(() => tensor("DT_BOOL", ["yes"])).toThrow(/"yes" is not a boolean/);
    const s = tensor("DT_STRING", ["héllo", { b64: "AP8=" }, new Uint8Array([1])]);
    expect(s.values.map((b) => Buffer.from(b).toString("hex"))).toEqual(["68c3a96c6c6f", "00ff", "01"]);
    expect(() => tensor("DT_STRING", [{ b64: "not base64!" }])).toThrow(/value\[0\]: "b64" value is not valid base64/);
    expect(() => tensor("DT_STRING", [1])).toThrow(/1 is not a string/);
  });
});

describe("half and bfloat16", () => {
  it("round to the nearest bit pattern, ties to even", () => {
    expect(float32ToHalfBits(1)).toBe(0x3c00);
    expect(float32ToHalfBits(-2)).toBe(0xc000);
    expect(float32ToHalfBits(65504)).toBe(0x7bff);
    expect(float32ToHalfBits(0.1)).toBe(0x2e66);
    expect(float32ToHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToHalfBits(2 ** -25)).toBe(0x0000); // tie rounds to even (zero)
    expect(float32ToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie between 0x3c00 and 0x3c01 -> even
    expect(float32ToHalfBits(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(halfBitsToFloat32(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(3.140625)).toBe(0x4049);
    expect(bfloat16BitsToFloat32(0xc0a0)).toBe(-5);
  });
});

describe("encodeTensor", () => {
  it("puts numeric values in tensor_content as a view of the typed array (no copy)", () => {
    const values = new Float32Array([1, 2]);
    const proto = encodeTensor(tensor("DT_FLOAT", values));
    expect(proto.dtype).toBe("DT_FLOAT");
    expect(proto.tensor_shape).toEqual({ dim: [{ size: 2 }] });
    expect(Buffer.from(proto.tensor_content!).toString("hex")).toBe("0000803f00000040");
    values[0] = 3;
    expect(Buffer.from(proto.tensor_content!).toString("hex")).toBe("0000404000000040");
    expect(proto.float_val).toBeUndefined();
  });

  it("packs *_val fields on request, int64 as exact decimal strings", () => {
    expect(encodeTensor(tensor("DT_INT64", [2n ** 63n - 1n]), { packing: "values" }).int64_val).toEqual(["9223372036854775807"]);
    expect(encodeTensor(tensor("DT_HALF", [1, -2]), { packing: "values" }).half_val).toEqual([0x3c00, 0xc000]);
    expect(encodeTensor(tensor("DT_BOOL", [true, false]), { packing: "values" }).bool_val).toEqual([true, false]);
    expect(encodeTensor(tensor("DT_UINT16", [65535]), { packing: "values" }).int_val).toEqual([65535]);
    expect(encodeTensor(tensor("DT_UINT32", [4294967295]), { packing: "values" }).uint32_val).toEqual([4294967295]);
  });

  it("writes half and bfloat16 as 16-bit patterns in tensor_content, little-endian", () => {
    expect(Buffer.from(encodeTensor(tensor("DT_HALF", [1])).tensor_content!).toString("hex")).toBe("003c");
    expect(Buffer.from(encodeTensor(tensor("DT_BFLOAT16", [1])).tensor_content!).toString("hex")).toBe("803f");
  });

  it("uses string_val for strings", () => {
    const proto = encodeTensor(tensor("DT_STRING", [["a", "b"]]));
    expect(proto.tensor_shape).toEqual({ dim: [{ size: 1 }, { size: 2 }] });
    expect(proto.string_val!.map((b) => Buffer.from(b).toString())).toEqual(["a", "b"]);
  });
});

describe("decodeTensor", () => {
  const shape = (...sizes: number[]) => ({ dim: sizes.map((size) => ({ size: String(size) })) });

  it("reads unaligned tensor_content into a fresh, aligned typed array, leaving the proto as it was", () => {
    const unaligned = Buffer.from("ff000000000000803f00000040", "hex").subarray(1); // starts at byte offset 1
    const t = decodeTensor({ dtype: "DT_FLOAT", tensor_shape: shape(3), tensor_content: unaligned });
    expect(t.values).toBeInstanceOf(Float32Array);
    expect(flat(t)).toEqual([0, 1, 2]);
    expect(unaligned.toString("hex")).toBe("000000000000803f00000040");
  });

  it("reads large aligned tensor_content as a view, without copying; small values are copied", () => {
    const values = Float64Array.from({ length: 8192 }, (_, i) => i / 3); // 64 KiB
    const inside = Buffer.alloc(values.byteLength + 16);
    inside.set(new Uint8Array(values.buffer), 8);
    const content = inside.subarray(8, 8 + values.byteLength);
    const viewed = decodeTensor({ dtype: "DT_DOUBLE", tensor_shape: shape(8192), tensor_content: content }).values as Float64Array;
    expect(viewed.buffer).toBe(inside.buffer);
    expect(viewed.byteOffset).toBe(content.byteOffset);
    expect(Array.from(viewed)).toEqual(Array.from(values));

    const small = decodeTensor({ dtype: "DT_DOUBLE", tensor_shape: shape(2), tensor_content: content.subarray(0, 16) }).values as Float64Array;
    expect(small.buffer).not.toBe(inside.buffer);
    expect(Array.from(small)).toEqual([0, 1 / 3]);
  });

  it("rejects tensor_content of the wrong size", () => {
    expect(() => decodeTensor({ dtype: "DT_INT32", tensor_shape: shape(2), tensor_content: Buffer.alloc(4) })).toThrow(
      new ResponseError("tensor_content has 4 bytes, but DT_INT32 of shape [2] needs 8"),
    );
  });

  it("applies TensorFlow's rule: one value fills the shape, fewer values repeat the last, none means zeros", () => {
    expect(flat(decodeTensor({ dtype: "DT_FLOAT", tensor_shape: shape(2, 2), float_val: [7] }))).toEqual([7, 7, 7, 7]);
    expect(flat(decodeTensor({ dtype: "DT_INT32", tensor_shape: shape(4), int_val: [1, 2] }))).toEqual([1, 2, 2, 2]);
    expect(flat(decodeTensor({ dtype: "DT_INT64", tensor_shape: shape(3), int64_val: [] }))).toEqual([0n, 0n, 0n]);
    expect(flat(decodeTensor({ dtype: "DT_INT32", tensor_shape: shape(2), int_val: [1, 2, 3] }))).toEqual([1, 2]);
    const strings = decodeTensor({ dtype: "DT_STRING", tensor_shape: shape(3), string_val: [Buffer.from("x")] });
    expect(tensorToJson(strings)).toEqual(["x", "x", "x"]);
    expect(tensorToJson(decodeTensor({ dtype: "DT_BOOL", tensor_shape: shape(2), bool_val: [true] }))).toEqual([true, true]);
  });

  it("reads every *_val field with its dtype", () => {
    const cases: [TensorProto, unknown][] = [
      [{ dtype: "DT_DOUBLE", tensor_shape: shape(1), double_val: [0.1] }, [0.1]],
      [{ dtype: "DT_FLOAT", tensor_shape: shape(2), float_val: ["NaN", 0.5] }, ["NaN", 0.5]],
      [{ dtype: "DT_HALF", tensor_shape: shape(1), half_val: [0x3c00] }, [1]],
      [{ dtype: "DT_BFLOAT16", tensor_shape: shape(1), half_val: [0x4049] }, [3.14]],
      [{ dtype: "DT_INT8", tensor_shape: shape(1), int_val: [-5] }, [-5]],
      [{ dtype: "DT_UINT16", tensor_shape: shape(1), int_val: [65535] }, [65535]],
      [{ dtype: "DT_UINT32", tensor_shape: shape(1), uint32_val: [4294967295] }, [4294967295]],
      [{ dtype: "DT_UINT64", tensor_shape: shape(1), uint64_val: ["18446744073709551615"] }, [18446744073709551615n]],
      [{ dtype: "DT_INT64", tensor_shape: shape(), int64_val: ["-9007199254740993"] }, -9007199254740993n],
    ];
    for (const [proto, json] of cases) expect(tensorToJson(decodeTensor(proto))).toEqual(json);
  });

  it("rejects unsupported dtypes and unknown shapes", () => {
    expect(() => decodeTensor({ dtype: "DT_COMPLEX64", tensor_shape: shape(1) })).toThrow("unsupported dtype DT_COMPLEX64");
    expect(() => decodeTensor({ dtype: "DT_FLOAT", tensor_shape: { unknown_rank: true } })).toThrow("tensor has an unknown rank");
    expect(() => decodeTensor({ dtype: "DT_FLOAT", tensor_shape: shape(-1) })).toThrow("invalid dimension size -1");
  });

  it("round-trips every dtype through both packings", () => {
    const samples: [DType, TensorLike][] = [
      ["DT_FLOAT", [[1.5, -2], [0.25, 3e38]]],
      ["DT_DOUBLE", [0.1, -1e300]],
      ["DT_HALF", [0.5, -65504]],
      ["DT_BFLOAT16", [1, -256]],
      ["DT_INT8", [-128, 127]],
      ["DT_INT16", [-32768, 32767]],
      ["DT_INT32", [-2147483648, 2147483647]],
      ["DT_INT64", ["-9223372036854775808", "9223372036854775807"]],
      ["DT_UINT8", [0, 255]],
      ["DT_UINT16", [0, 65535]],
      ["DT_UINT32", [0, 4294967295]],
      ["DT_UINT64", ["0", "18446744073709551615"]],
      ["DT_BOOL", [[true], [false]]],
      ["DT_STRING", ["a", { b64: "/wA=" }]],
    ];
    for (const packing of ["content", "values"] as const) {
      for (const [dtype, value] of samples) {
        const original = tensor(dtype, value);
        const decoded = decodeTensor(encodeTensor(original, { packing }));
        expect(decoded.dtype).toBe(dtype);
        expect(decoded.shape).toEqual(original.shape);
        expect(tensorToJson(decoded)).toEqual(tensorToJson(original));
      }
    }
  });
});

describe("tensorToJson", () => {
  it("writes floats with the fewest digits that identify them in their dtype", () => {
    expect(tensorToJson(tensor("DT_FLOAT", [0.1, 1 / 3, 2.5]))).toEqual([0.1, 0.33333334, 2.5]);
    expect(tensorToJson(tensor("DT_HALF", [0.1]))).toEqual([0.1]);
    expect(tensorToJson(tensor("DT_DOUBLE", [0.1]))).toEqual([0.1]);
  });

  it("writes bytes as text when they are UTF-8, else as {b64}", () => {
    const t = tensor("DT_STRING", ["ok", { b64: "/w==" }]);
    expect(tensorToJson(t)).toEqual(["ok", { b64: "/w==" }]);
    expect(tensorToJson(t, { bytes: "b64" })).toEqual([{ b64: "b2s=" }, { b64: "/w==" }]);
  });
});
