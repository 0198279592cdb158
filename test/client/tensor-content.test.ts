/**
 * tensor_content to typed arrays and back (client/tensor-content.ts): a view when the bytes are
 * aligned, an in-place realignment when the buffer is registered as ours, one copy otherwise; never
 * a view that pins a much larger buffer; byte swaps on big-endian hosts (simulated here by passing
 * `littleEndianHost = false` on this little-endian machine).
 */
import { describe, expect, it } from "vitest";
import { DTYPES, type DType } from "../../client/dtypes";
import type { PredictRequest, PredictResponse } from "../../client/messages";
import { decodePredictResponse } from "../../client/predict-wire";
import { methodDefinition, PREDICTION_SERVICE } from "../../client/protos";
import { decodeTensor, encodeTensor, tensor, tensorToJson } from "../../client/tensor-codec";
import { markRewritable, valuesFromContent, writeLittleEndian } from "../../client/tensor-content";

const predict = methodDefinition<PredictRequest, PredictResponse>(PREDICTION_SERVICE, "Predict");

/** `payload` placed at `offset` in a buffer of exactly offset + payload.length bytes, the rest 0xee. */
function placed(payload: Uint8Array, offset: number): Uint8Array {
  const whole = new Uint8Array(offset + payload.length).fill(0xee);
  whole.set(payload, offset);
  return whole.subarray(offset);
}

const floats = Float32Array.from({ length: 64 }, (_, i) => i * 1.5 - 7);
const floatBytes = new Uint8Array(floats.buffer);

describe("valuesFromContent", () => {
  it("views aligned bytes without copying", () => {
    const content = placed(floatBytes, 8);
    const values = valuesFromContent(content, Float32Array, 64);
    expect(values.buffer).toBe(content.buffer);
    expect(values.byteOffset).toBe(8);
    expect(Array.from(values as Float32Array)).toEqual(Array.from(floats));
  });

  it("copies unaligned bytes once, leaving them as they were, unless they are registered as ours", () => {
    const content = placed(floatBytes, 5);
    const before = Buffer.from(content.buffer).toString("hex");
    const values = valuesFromContent(content, Float32Array, 64);
    expect(values.buffer).not.toBe(content.buffer);
    expect(values.byteOffset % 4).toBe(0);
    expect(Array.from(values as Float32Array)).toEqual(Array.from(floats));
    expect(Buffer.from(content.buffer).toString("hex")).toBe(before);
  });

  it("moves registered bytes back onto an aligned offset in place, touching only the headroom", () => {
    for (const misalignment of [1, 2, 3]) {
      const offset = 16 + misalignment;
      const content = placed(floatBytes, offset);
      markRewritable(content, 3);
      const values = valuesFromContent(content, Float32Array, 64);
      expect(values.buffer, `misaligned by ${misalignment}`).toBe(content.buffer);
      expect(values.byteOffset).toBe(16);
      expect(Array.from(values as Float32Array)).toEqual(Array.from(floats));
      // Bytes before the headroom are untouched.
      expect(Array.from(new Uint8Array(content.buffer, 0, offset - 3))).toEqual(new Array(offset - 3).fill(0xee));
    }
  });

  it("copies registered bytes when the headroom is smaller than the misalignment", () => {
    const doubles = Float64Array.from({ length: 32 }, (_, i) => i / 3);
    const content = placed(new Uint8Array(doubles.buffer), 13); // misaligned by 5 for 8-byte elements
    markRewritable(content, 4);
    const before = Buffer.from(content.buffer).toString("hex");
    const values = valuesFromContent(content, Float64Array, 32);
    expect(values.buffer).not.toBe(content.buffer);
    expect(Array.from(values as Float32Array)).toEqual(Array.from(doubles));
    expect(Buffer.from(content.buffer).toString("hex")).toBe(before);
  });

  it("copies values that are less than half of their buffer, aligned or not, so they never pin it", () => {
    const whole = new Uint8Array(1024);
    whole.set(floatBytes.subarray(0, 16), 64);
    const content = whole.subarray(64, 80);
    markRewritable(content, 64);
    const values = valuesFromContent(content, Float32Array, 4);
    expect(values.buffer).not.toBe(whole.buffer);
    expect(Array.from(values as Float32Array)).toEqual(Array.from(floats.subarray(0, 4)));
  });

  it("reads and writes small values (64 bytes or less) element by element, little-endian, at any offset", () => {
    const cases = [
      [Float32Array, Float32Array.from([1.5, -2, 3e38])],
      [Float64Array, Float64Array.from([0.1, -1e300])],
      [Int8Array, Int8Array.from([-128, 127])],
      [Uint16Array, Uint16Array.from([0x3c00, 0xc000])],
      [Int32Array, Int32Array.from([-1, 2 ** 31 - 1])],
      [BigInt64Array, BigInt64Array.from([-1n, 2n ** 62n])],
      [BigUint64Array, BigUint64Array.from([2n ** 64n - 1n])],
    ] as const;
    for (const [type, values] of cases) {
      const littleEndian = Buffer.from(new Uint8Array(values.buffer.slice(0))); // this host is little-endian
      const target = Buffer.alloc(littleEndian.length + 3, 0xee);
      expect(writeLittleEndian(target, 3, values)).toBe(3 + littleEndian.length);
      expect(target.subarray(3).equals(littleEndian), type.name).toBe(true);
      const read = valuesFromContent(target.subarray(3), type as unknown as Parameters<typeof valuesFromContent>[1], values.length);
      expect(read).toBeInstanceOf(type);
      expect(Array.from(read as unknown as ArrayLike<unknown>)).toEqual(Array.from(values as unknown as ArrayLike<unknown>));
    }
  });

  describe("on a big-endian host", () => {
    /** A byte-swapped copy with an ArrayBuffer of its own. */
    const swapped = (bytes: Uint8Array, width: number) => {
      const copy = Buffer.from(new Uint8Array(bytes).buffer);
      if (width === 2) copy.swap16();
      if (width === 4) copy.swap32();
      if (width === 8) copy.swap64();
      return copy;
    };

    it("writes little-endian bytes from big-endian memory", () => {
      // More than 64 bytes each: smaller arrays are written element by element through a DataView,
      // little-endian on any host, so there is nothing to swap.
      const repeat = <T>(items: T[]) => Array.from({ length: 40 }, (_, i) => items[i % items.length]!);
      for (const [type, values] of [
        [Float32Array, Float32Array.from(repeat([1.5, -2, 3e38]))],
        [Float64Array, Float64Array.from(repeat([0.1, -1e300]))],
        [Uint16Array, Uint16Array.from(repeat([0x3c00, 0xc000]))],
        [BigInt64Array, BigInt64Array.from(repeat([-1n, 2n ** 62n]))],
      ] as const) {
        const littleEndian = new Uint8Array(values.buffer.slice(0));
        // What a big-endian host holds in memory for the same values.
        const bigEndianMemory = new (type as unknown as { new (b: ArrayBufferLike): typeof values })(swapped(littleEndian, values.BYTES_PER_ELEMENT).buffer);
        const target = new Uint8Array(littleEndian.length + 3);
        expect(writeLittleEndian(target, 3, bigEndianMemory, false)).toBe(3 + littleEndian.length);
        expect(Buffer.from(target.subarray(3)).toString("hex")).toBe(Buffer.from(littleEndian).toString("hex"));
        expect(Buffer.from(bigEndianMemory.buffer).toString("hex")).toBe(swapped(littleEndian, values.BYTES_PER_ELEMENT).toString("hex")); // source untouched
      }
    });

    it("reads little-endian bytes into big-endian memory: swapped in a copy, or in place when ours", () => {
      const bigEndianMemory = swapped(floatBytes, 4).toString("hex");
      const content = placed(floatBytes, 8);
      const copied = valuesFromContent(content, Float32Array, 64, false);
      expect(copied.buffer).not.toBe(content.buffer);
      expect(Buffer.from(copied.buffer, copied.byteOffset, copied.byteLength).toString("hex")).toBe(bigEndianMemory);
      expect(Buffer.from(content).toString("hex")).toBe(Buffer.from(floatBytes).toString("hex"));

      const ours = placed(floatBytes, 9);
      markRewritable(ours, 5);
      const inPlace = valuesFromContent(ours, Float32Array, 64, false);
      expect(inPlace.buffer).toBe(ours.buffer);
      expect(Buffer.from(inPlace.buffer, inPlace.byteOffset, inPlace.byteLength).toString("hex")).toBe(bigEndianMemory);
    });
  });
});

describe("decoding a received PredictResponse", () => {
  const numeric = (Object.keys(DTYPES) as DType[]).filter((d) => d !== "DT_STRING");

  /** 64 KiB or more of values of `dtype` (large enough to be viewed rather than copied). */
  function largeTensor(dtype: DType) {
    const count = 65_536;
    if (dtype === "DT_BOOL") return tensor(dtype, Uint8Array.from({ length: count }, (_, i) => i % 3 & 1), [count]);
    if (dtype === "DT_INT64") return tensor(dtype, BigInt64Array.from({ length: count }, (_, i) => BigInt(i) * -3n), [count]);
    if (dtype === "DT_UINT64") return tensor(dtype, BigUint64Array.from({ length: count }, (_, i) => BigInt(i) * 5n), [count]);
    const type = (dtype === "DT_HALF" || dtype === "DT_BFLOAT16" ? Float32Array : DTYPES[dtype].array!) as unknown as Float32ArrayConstructor;
    return tensor(dtype, type.from({ length: count }, (_, i) => (i % 200) - (dtype.startsWith("DT_UINT") ? 0 : 100)), [count]);
  }
  const bytesOf = (values: unknown) => {
    const view = values as ArrayBufferView;
    return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  };

  it("gives every output right, with no copy when the layout allows, whatever offsets the other outputs leave", () => {
    // Output names of 1 to 8 characters shift the next tensor_content through every offset modulo 8.
    let views = 0;
    let checked = 0;
    for (const dtype of numeric) {
      const expected = largeTensor(dtype);
      const outputs = Object.fromEntries(Array.from({ length: 8 }, (_, k) => ["y".repeat(k + 1), encodeTensor(expected)]));
      outputs["strings"] = encodeTensor(tensor("DT_STRING", ["a", "bc"]));
      outputs["small"] = encodeTensor(tensor("DT_FLOAT", [1.5, 2]));
      const wire = predict.responseSerialize({ outputs });
      // As @grpc/grpc-js hands it over: the message after its 5-byte frame header, in a buffer of its own.
      const framed = Buffer.concat([Buffer.alloc(5), wire]);
      const response = decodePredictResponse(framed.subarray(5));
      const decoded = Object.entries(response.outputs!).map(([name, proto]) => [name, decodeTensor(proto)] as const);
      for (const [name, t] of decoded) {
        if (name === "strings") expect(tensorToJson(t)).toEqual(["a", "bc"]);
        else if (name === "small") {
          expect(Array.from(t.values as Float32Array)).toEqual([1.5, 2]);
          expect((t.values as Float32Array).buffer).not.toBe(framed.buffer); // copied: it must not pin the response
        } else {
          expect(bytesOf(t.values).equals(bytesOf(expected.values)), `${dtype} ${name}`).toBe(true);
          checked++;
          if ((t.values as ArrayBufferView).buffer === framed.buffer) views++;
        }
      }
      expect(Array.from(framed.subarray(0, 5))).toEqual([0, 0, 0, 0, 0]); // the frame header is never touched
    }
    expect(checked).toBe(numeric.length * 8);
    // Half and bfloat16 are converted to float32, so they are never views. Every other output is:
    // aligned as it came, or moved back into the bytes of its own map entry, name, dtype and shape.
    expect(views).toBe((numeric.length - 2) * 8);
  });
});
