/**
 * JS values <-> TensorProto.
 *
 * In memory a tensor is `{ dtype, shape, values }` with the values flattened row-major into the
 * dtype's typed array (see dtypes.ts). Numeric tensors travel in `tensor_content` as little-endian
 * bytes: a typed array of the right type is put on the wire as a view of its own memory, and
 * decoding is a view of the received bytes when they allow it, one copy otherwise (tensor-content.ts),
 * so large tensors cost no per-element JS work.
 * Nested JS arrays are checked element by element (shape, range, integrality) on the way in.
 */
import { DTYPES, isSupportedDType, type DType, type NumericTypedArray, type TensorValues, type TensorValuesOf } from "./dtypes";
import { ResponseError, TensorValueError } from "./errors";
import { bfloat16BitsToFloat32, float32ToBfloat16Bits, float32ToHalfBits, halfBitsToFloat32 } from "./float16";
import type { TensorProto, TensorShapeProto } from "./messages";
import { LITTLE_ENDIAN_HOST, valuesFromContent as contentValues } from "./tensor-content";

export interface Tensor<D extends DType = DType> {
  dtype: D;
  /** Dimension sizes, outermost first; [] for a scalar. */
  shape: number[];
  /** Row-major values; DT_HALF and DT_BFLOAT16 hold their (exactly representable) float32 values. */
  values: TensorValuesOf<D>;
}

/** Binary data in JSON, as TF Serving's REST API writes it. */
export interface Base64Value {
  b64: string;
}

/** A tensor element as JS code or JSON writes it. */
export type TensorLeaf = number | bigint | boolean | string | Uint8Array | Base64Value;

/** A scalar or (nested) array of tensor elements. */
export type TensorLike = TensorLeaf | readonly TensorLike[];

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const size of shape) count *= size;
  return count;
}

export function isBase64Value(value: unknown): value is Base64Value {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !ArrayBuffer.isView(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as { b64?: unknown }).b64 === "string"
  );
}

function isNumericTypedArray(value: unknown): value is NumericTypedArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/**
 * Builds a tensor of `dtype` from a scalar, a nested array (shape inferred, ragged arrays
 * rejected) or a flat typed array (shape given, default 1-D). Every element is checked against
 * the dtype; a typed array of exactly the dtype's in-memory type is used as is, without copying.
 *
 * @example tensor("DT_FLOAT", [[1, 2], [3, 4]])                      // shape [2, 2]
 * @example tensor("DT_FLOAT", new Float32Array(1024), [256, 4])
 * @example tensor("DT_INT64", ["9007199254740993", 2n])               // exact int64
 * @example tensor("DT_STRING", ["text", { b64: "AAE=" }])
 */
export function tensor<D extends DType>(dtype: D, value: TensorLike | NumericTypedArray, shape?: readonly number[]): Tensor<D> {
  if (!isSupportedDType(dtype)) throw new TensorValueError(`unsupported dtype ${String(dtype)}`);
  if (shape !== undefined) checkShape(shape);

  if (isNumericTypedArray(value) && !(dtype === "DT_STRING")) {
    const finalShape = shape ? [...shape] : [value.length];
    if (elementCount(finalShape) !== value.length) {
      throw new TensorValueError(`shape [${finalShape.join(", ")}] needs ${elementCount(finalShape)} values but the array has ${value.length}`);
    }
    const info = DTYPES[dtype];
    if (value.constructor === info.array && dtype !== "DT_BOOL" && dtype !== "DT_HALF" && dtype !== "DT_BFLOAT16") {
      return { dtype, shape: finalShape, values: value as TensorValuesOf<D> };
    }
    const values = allocateValues(dtype, value.length);
    const write = leafWriter(dtype, values);
    const path = [0];
    for (let i = 0; i < value.length; i++) {
      path[0] = i;
      write(i, value[i] as number | bigint, path);
    }
    return { dtype, shape: finalShape, values: values as TensorValuesOf<D> };
  }

  const inferred = inferShape(value as TensorLike);
  if (shape !== undefined && !sameShape(shape, inferred)) {
    throw new TensorValueError(`value has shape [${inferred.join(", ")}] but shape [${shape.join(", ")}] was given`);
  }
  const values = allocateValues(dtype, elementCount(inferred));
  flatten(value as TensorLike, inferred, leafWriter(dtype, values));
  return { dtype, shape: inferred, values: values as TensorValuesOf<D> };
}

function checkShape(shape: readonly number[]): void {
  for (const size of shape) {
    if (!Number.isSafeInteger(size) || size < 0) throw new TensorValueError(`shape [${shape.join(", ")}] must hold non-negative integers`);
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}

/** The shape of a nested array, read along the first element of each level. */
export function inferShape(value: TensorLike): number[] {
  const shape: number[] = [];
  let level: TensorLike = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = (level as readonly TensorLike[])[0]!;
  }
  return shape;
}

type LeafWriter = (index: number, leaf: unknown, path: readonly number[]) => void;

function flatten(value: TensorLike, shape: readonly number[], write: LeafWriter): void {
  let index = 0;
  const path: number[] = [];
  const visit = (node: TensorLike, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) {
        throw new TensorValueError(`is an array, but ${formatFirst(depth)} is a single value: ragged arrays cannot form a tensor`, { path: [...path] });
      }
      write(index++, node, path);
      return;
    }
    if (!Array.isArray(node)) {
      throw new TensorValueError(`is a single value, but ${formatFirst(depth)} is an array of ${shape[depth]}: ragged arrays cannot form a tensor`, {
        path: [...path],
      });
    }
    const items = node as readonly TensorLike[];
    if (items.length !== shape[depth]) {
      throw new TensorValueError(`has ${items.length} elements, but ${formatFirst(depth)} has ${shape[depth]}: ragged arrays cannot form a tensor`, {
        path: [...path],
      });
    }
    for (let i = 0; i < items.length; i++) {
      path.push(i);
      visit(items[i]!, depth + 1);
      path.pop();
    }
  };
  visit(value, 0);
}

/** "[0][0]" for depth 2: the element the shape was inferred from. */
function formatFirst(depth: number): string {
  return depth === 0 ? "the value" : "[0]".repeat(depth);
}

function allocateValues(dtype: DType, count: number): TensorValues {
  if (dtype === "DT_STRING") return new Array<Uint8Array>(count);
  return new DTYPES[dtype].array!(count);
}

const SPECIAL_FLOATS: Readonly<Record<string, number>> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, "-Infinity": Number.NEGATIVE_INFINITY };

function describe(leaf: unknown): string {
  if (typeof leaf === "string") return JSON.stringify(leaf.length > 40 ? `${leaf.slice(0, 37)}...` : leaf);
  if (typeof leaf === "bigint") return leaf.toString();
  if (leaf === null) return "null";
  if (leaf instanceof Uint8Array) return `${leaf.length} bytes`;
  if (isBase64Value(leaf)) return "a {\"b64\"} value";
  if (typeof leaf === "object") return "an object";
  return String(leaf);
}

/** Writes checked leaves of `dtype` into `values`. */
function leafWriter(dtype: DType, values: TensorValues): LeafWriter {
  const info = DTYPES[dtype];
  switch (info.kind) {
    case "float": {
      const out = values as Float32Array | Float64Array;
      const round = floatRounder(dtype);
      return (index, leaf, path) => {
        let x: number;
        if (typeof leaf === "number") x = leaf;
        else if (typeof leaf === "bigint") x = Number(leaf);
        else if (typeof leaf === "string" && leaf in SPECIAL_FLOATS) x = SPECIAL_FLOATS[leaf]!;
        else throw new TensorValueError(`${describe(leaf)} is not a number (${dtype} expects numbers, or "NaN", "Infinity", "-Infinity")`, { path: [...path] });
        const rounded = round(x);
        if (Number.isFinite(x) && !Number.isFinite(rounded)) {
          throw new TensorValueError(`${describe(leaf)} is out of range for ${dtype} (largest finite magnitude ${info.maxFinite})`, { path: [...path] });
        }
        out[index] = rounded;
      };
    }
    case "int": {
      const min = info.min!;
      const max = info.max!;
      const wide = info.byteSize === 8;
      const minNumber = Number(min);
      const maxNumber = Number(max);
      const out = values as NumericTypedArray;
      return (index, leaf, path) => {
        const fail = (why: string) => new TensorValueError(`${describe(leaf)} ${why}`, { path: [...path] });
        const range = `${dtype} holds ${min} to ${max}`;
        if (typeof leaf === "number") {
          if (!Number.isInteger(leaf)) throw fail(`is not an integer (${dtype})`);
          if (leaf < minNumber || leaf > maxNumber) throw fail(`is out of range (${range})`);
          if (wide) (out as BigInt64Array)[index] = BigInt(leaf);
          else (out as Int32Array)[index] = leaf;
          return;
        }
        let big: bigint;
        if (typeof leaf === "bigint") big = leaf;
        else if (typeof leaf === "string" && /^[+-]?\d+$/.test(leaf)) big = BigInt(leaf);
        else throw fail(`is not an integer (${dtype} expects integers, or decimal strings for exact 64-bit values)`);
        if (big < min || big > max) throw fail(`is out of range (${range})`);
        if (wide) (out as BigInt64Array)[index] = big;
        else (out as Int32Array)[index] = Number(big);
      };
    }
    case "bool": {
      const out = values as Uint8Array;
      return (index, leaf, path) => {
        if (typeof leaf === "boolean") out[index] = leaf ? 1 : 0;
        else if (leaf === 0 || leaf === 1) out[index] = leaf;
        else throw new TensorValueError(`${describe(leaf)} is not a boolean (DT_BOOL expects true or false)`, { path: [...path] });
      };
    }
    case "string": {
      const out = values as Uint8Array[];
      return (index, leaf, path) => {
        if (typeof leaf === "string") out[index] = Buffer.from(leaf, "utf8");
        else if (leaf instanceof Uint8Array) out[index] = leaf;
        else if (isBase64Value(leaf)) out[index] = decodeBase64(leaf.b64, path);
        else throw new TensorValueError(`${describe(leaf)} is not a string (DT_STRING expects strings, or {"b64": "..."} for binary data)`, { path: [...path] });
      };
    }
  }
}

function decodeBase64(text: string, path: readonly number[]): Buffer {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new TensorValueError(`"b64" value is not valid base64`, { path: [...path] });
  }
  return Buffer.from(text, "base64");
}

/** Rounds a JS number to the nearest value of a float dtype (as a JS number). */
function floatRounder(dtype: DType): (x: number) => number {
  switch (dtype) {
    case "DT_FLOAT":
      return Math.fround;
    case "DT_HALF":
      return (x) => halfBitsToFloat32(float32ToHalfBits(x));
    case "DT_BFLOAT16":
      return (x) => bfloat16BitsToFloat32(float32ToBfloat16Bits(x));
    default:
      return (x) => x;
  }
}

export interface EncodeOptions {
  /**
   * Where numeric values go: "content" (default) = raw little-endian bytes in tensor_content;
   * "values" = the dtype's repeated *_val field. DT_STRING always uses string_val.
   */
  packing?: "content" | "values";
}

/** The TensorProto for a tensor. The proto shares memory with `t.values` until it is serialized. */
export function encodeTensor(t: Tensor, options: EncodeOptions = {}): TensorProto {
  const proto: TensorProto = { dtype: t.dtype, tensor_shape: shapeToProto(t.shape) };
  if (t.dtype === "DT_STRING") {
    proto.string_val = t.values as Uint8Array[];
  } else if ((options.packing ?? "content") === "content") {
    proto.tensor_content = contentBytes(t.dtype, t.values as NumericTypedArray);
  } else {
    Object.assign(proto, { [DTYPES[t.dtype].valField]: valueList(t.dtype, t.values as NumericTypedArray) });
  }
  return proto;
}

export function shapeToProto(shape: readonly number[]): TensorShapeProto {
  return { dim: shape.map((size) => ({ size })) };
}

function contentBytes(dtype: DType, values: NumericTypedArray): Buffer {
  let wire: NumericTypedArray = values;
  if (dtype === "DT_HALF" || dtype === "DT_BFLOAT16") {
    const toBits = dtype === "DT_HALF" ? float32ToHalfBits : float32ToBfloat16Bits;
    const bits = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) bits[i] = toBits(values[i] as number);
    wire = bits;
  }
  if (LITTLE_ENDIAN_HOST || wire.BYTES_PER_ELEMENT === 1) return Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength);
  return swappedCopy(wire);
}

/** Big-endian hosts only: a byte-swapped copy (tensor_content is little-endian). */
function swappedCopy(values: NumericTypedArray): Buffer {
  const bytes = Buffer.from(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const width = values.BYTES_PER_ELEMENT;
  if (width === 2) bytes.swap16();
  else if (width === 4) bytes.swap32();
  else if (width === 8) bytes.swap64();
  return bytes;
}

function valueList(dtype: DType, values: NumericTypedArray): (number | string | boolean)[] {
  switch (dtype) {
    case "DT_HALF":
      return Array.from(values as Float32Array, float32ToHalfBits);
    case "DT_BFLOAT16":
      return Array.from(values as Float32Array, float32ToBfloat16Bits);
    case "DT_INT64":
    case "DT_UINT64":
      return Array.from(values as BigInt64Array, (v) => v.toString());
    case "DT_BOOL":
      return Array.from(values as Uint8Array, (v) => v !== 0);
    default:
      return Array.from(values as Float32Array);
  }
}

/** Dimension sizes of a concrete tensor's shape. */
export function shapeFromProto(shape: TensorShapeProto | undefined): number[] {
  if (shape?.unknown_rank) throw new ResponseError("tensor has an unknown rank");
  return (shape?.dim ?? []).map((dim) => {
    const size = Number(dim.size ?? 0);
    if (!Number.isSafeInteger(size) || size < 0) throw new ResponseError(`tensor has an invalid dimension size ${String(dim.size)}`);
    return size;
  });
}

/**
 * The tensor a TensorProto describes. Reads tensor_content, or else the dtype's *_val field with
 * TensorFlow's rule for short value lists: no values means all zeros (empty strings), and fewer
 * values than elements are padded with the last one (so one value fills the whole shape).
 *
 * Numeric values read from tensor_content are a view of its bytes, without a copy, when they are
 * aligned for the dtype and make up at least half of the underlying buffer (so a small tensor never
 * keeps a large buffer alive); otherwise they are copied once. DT_STRING values are views of the
 * proto's string_val bytes.
 */
export function decodeTensor(proto: TensorProto): Tensor {
  const dtype = proto.dtype;
  if (!isSupportedDType(dtype)) throw new ResponseError(`unsupported dtype ${String(dtype)}`);
  const shape = shapeFromProto(proto.tensor_shape);
  const count = elementCount(shape);
  const info = DTYPES[dtype];
  const content = proto.tensor_content;

  if (content && content.length > 0) {
    if (dtype === "DT_STRING") throw new ResponseError("DT_STRING tensors in tensor_content are not supported");
    if (content.length !== count * info.byteSize) {
      throw new ResponseError(`tensor_content has ${content.length} bytes, but ${dtype} of shape [${shape.join(", ")}] needs ${count * info.byteSize}`);
    }
    return { dtype, shape, values: valuesFromContent(dtype, content, count) };
  }
  return { dtype, shape, values: valuesFromField(proto, dtype, count) };
}

function valuesFromContent(dtype: DType, content: Uint8Array, count: number): TensorValues {
  const info = DTYPES[dtype];
  if (dtype === "DT_HALF" || dtype === "DT_BFLOAT16") {
    const toFloat = dtype === "DT_HALF" ? halfBitsToFloat32 : bfloat16BitsToFloat32;
    return Float32Array.from(contentValues(content, Uint16Array, count) as Uint16Array, toFloat);
  }
  return contentValues(content, info.array!, count);
}

function valuesFromField(proto: TensorProto, dtype: DType, count: number): TensorValues {
  const info = DTYPES[dtype];
  const given = (proto[info.valField] ?? []) as readonly unknown[];
  const values = allocateValues(dtype, count);
  if (count === 0) return values;
  if (dtype === "DT_STRING") {
    const out = values as Uint8Array[];
    const source = given as readonly Uint8Array[];
    for (let i = 0; i < count; i++) out[i] = source.length === 0 ? Buffer.alloc(0) : source[Math.min(i, source.length - 1)]!;
    return out;
  }
  if (given.length === 0) return values; // all zeros
  const convert = fieldConverter(dtype);
  const out = values as unknown as { [index: number]: number | bigint; fill(value: number | bigint, start: number): unknown };
  const copied = Math.min(given.length, count);
  for (let i = 0; i < copied; i++) out[i] = convert(given[i]);
  if (copied < count) out.fill(out[copied - 1]!, copied);
  return values;
}

function fieldConverter(dtype: DType): (value: unknown) => number | bigint {
  switch (dtype) {
    case "DT_HALF":
      return (v) => halfBitsToFloat32(Number(v));
    case "DT_BFLOAT16":
      return (v) => bfloat16BitsToFloat32(Number(v));
    case "DT_INT64":
    case "DT_UINT64":
      return (v) => BigInt(v as string | number);
    case "DT_BOOL":
      return (v) => (v ? 1 : 0);
    default:
      return (v) => Number(v); // also maps the loader's "NaN" / "Infinity" strings
  }
}

/** A tensor element in JSON-able form; 64-bit integers stay exact as bigint. */
export type JsonLeaf = number | bigint | boolean | string | Base64Value;
export type JsonValue = JsonLeaf | JsonValue[];

export interface ToJsonOptions {
  /** DT_STRING values: "auto" (default) = UTF-8 text when valid, else {"b64"}; "b64" = always {"b64"}. */
  bytes?: "auto" | "b64";
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The tensor as nested arrays (a bare leaf for a scalar). Floats are written with the fewest
 * digits that identify the value in its dtype (0.1, not 0.10000000149011612); NaN and infinities
 * become the strings "NaN", "Infinity", "-Infinity".
 */
export function tensorToJson(t: Tensor, options: ToJsonOptions = {}): JsonValue {
  const leaf = jsonLeaf(t.dtype, options);
  const values = t.values as ArrayLike<unknown>;
  let index = 0;
  const build = (depth: number): JsonValue => {
    if (depth === t.shape.length) return leaf(values[index++]);
    const size = t.shape[depth]!;
    const out = new Array<JsonValue>(size);
    for (let i = 0; i < size; i++) out[i] = build(depth + 1);
    return out;
  };
  return build(0);
}

function jsonLeaf(dtype: DType, options: ToJsonOptions): (value: unknown) => JsonLeaf {
  const nonFinite = (x: number) => (Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
  switch (dtype) {
    case "DT_FLOAT":
      return (v) => (Number.isFinite(v) ? shortestRepresentation(v as number, 9, Math.fround) : nonFinite(v as number));
    case "DT_HALF":
      return (v) => (Number.isFinite(v) ? shortestRepresentation(v as number, 5, (x) => halfBitsToFloat32(float32ToHalfBits(x))) : nonFinite(v as number));
    case "DT_BFLOAT16":
      return (v) =>
        Number.isFinite(v) ? shortestRepresentation(v as number, 4, (x) => bfloat16BitsToFloat32(float32ToBfloat16Bits(x))) : nonFinite(v as number);
    case "DT_DOUBLE":
      return (v) => (Number.isFinite(v) ? (v as number) : nonFinite(v as number));
    case "DT_INT64":
    case "DT_UINT64":
      return (v) => v as bigint;
    case "DT_BOOL":
      return (v) => v !== 0;
    case "DT_STRING":
      return (v) => {
        const bytes = v as Uint8Array;
        if (options.bytes !== "b64") {
          try {
            return utf8.decode(bytes);
          } catch {
            // not UTF-8: falls through to base64
          }
        }
        return { b64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64") };
      };
    default:
      return (v) => v as number;
  }
}

/** The number with the fewest significant digits that `round` maps back to `value`. */
function shortestRepresentation(value: number, maxDigits: number, round: (x: number) => number): number {
  for (let digits = 1; digits < maxDigits; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (round(candidate) === value) return candidate;
  }
  return value;
}
