/**
 * The bytes of a numeric tensor in TensorProto.tensor_content: its elements row-major, each
 * little-endian. Written from typed arrays, and read back into typed arrays, with as few copies as
 * the bytes allow:
 *
 * - writing is one copy, from the typed array into the message being built (plus a byte swap on
 *   big-endian hosts);
 * - reading is no copy when the bytes sit at an offset aligned for the element type: the values
 *   are a typed-array view of the received buffer. Otherwise the received buffer is realigned in
 *   place when it is ours to change (see `markRewritable`), or else copied once.
 *
 * A view keeps its whole underlying buffer alive, so values are only a view when they are large
 * (64 KiB or more) or make up at least half of that buffer: a small output never pins a large
 * response (or a slab of Node's shared allocation pool) in memory; it is copied instead, which for
 * small values costs next to nothing.
 */
import { endianness } from "node:os";
import type { NumericTypedArray } from "./dtypes";

export const LITTLE_ENDIAN_HOST = endianness() === "LE";

/** A typed array class: Float32Array, BigInt64Array, ... */
export interface TypedArrayClass {
  new (length: number): NumericTypedArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericTypedArray;
  readonly BYTES_PER_ELEMENT: number;
}

/**
 * Received bytes that belong to nobody else: for each tensor_content view, how many bytes right
 * before it may be overwritten (its own field header and fields already parsed into JS values).
 * Only the PredictResponse reader registers views here, for the buffer @grpc/grpc-js hands to the
 * deserializer, which is allocated per message and not used again after it (test/client/aliasing.test.ts
 * checks this). Keyed by the view object, so a TensorProto built by anyone else is never modified.
 */
const rewritable = new WeakMap<Uint8Array, number>();

export function markRewritable(content: Uint8Array, headroom: number): void {
  // Only bytes that may become a view are ever moved; small ones are copied anyway.
  if (worthSharing(content)) rewritable.set(content, headroom);
}

/** Values at least this large are worth a view even when they are a small part of their buffer. */
export const MIN_SHARED_BYTES = 64 * 1024;

/** Whether a view of `bytes` saves a copy worth having, without holding on to much more than itself. */
function worthSharing(bytes: Uint8Array): boolean {
  return bytes.byteLength >= MIN_SHARED_BYTES || bytes.byteLength * 2 >= bytes.buffer.byteLength;
}

function swapInPlace(bytes: Uint8Array, width: number): void {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (width === 2) buffer.swap16();
  else if (width === 4) buffer.swap32();
  else if (width === 8) buffer.swap64();
}

/**
 * Values of at most this many bytes are read and written element by element: V8 keeps typed arrays
 * this small inside its heap, and touching their `.buffer`, or allocating a separate ArrayBuffer for
 * a copy, costs more than the copy itself (and leaves work for the garbage collector).
 */
const SMALL_BYTES = 64;

type DataViewGetter = (this: DataView, byteOffset: number, littleEndian: boolean) => number | bigint;
type DataViewSetter = (this: DataView, byteOffset: number, value: never, littleEndian: boolean) => void;

/** DataView's accessors for each typed array's elements (little-endian order on any host). */
const ACCESSORS = new Map<unknown, { get: DataViewGetter; set: DataViewSetter }>([
  [Float32Array, { get: DataView.prototype.getFloat32, set: DataView.prototype.setFloat32 }],
  [Float64Array, { get: DataView.prototype.getFloat64, set: DataView.prototype.setFloat64 }],
  [Int8Array, { get: DataView.prototype.getInt8, set: DataView.prototype.setInt8 }],
  [Uint8Array, { get: DataView.prototype.getUint8, set: DataView.prototype.setUint8 }],
  [Int16Array, { get: DataView.prototype.getInt16, set: DataView.prototype.setInt16 }],
  [Uint16Array, { get: DataView.prototype.getUint16, set: DataView.prototype.setUint16 }],
  [Int32Array, { get: DataView.prototype.getInt32, set: DataView.prototype.setInt32 }],
  [Uint32Array, { get: DataView.prototype.getUint32, set: DataView.prototype.setUint32 }],
  [BigInt64Array, { get: DataView.prototype.getBigInt64, set: DataView.prototype.setBigInt64 }],
  [BigUint64Array, { get: DataView.prototype.getBigUint64, set: DataView.prototype.setBigUint64 }],
] as [unknown, { get: DataViewGetter; set: DataViewSetter }][]);

/** The accessors for a typed array class; Buffer and other Uint8Array subclasses read as Uint8Array. */
function accessorsOf(type: unknown): { get: DataViewGetter; set: DataViewSetter } {
  for (let t = type; t; t = Object.getPrototypeOf(t)) {
    const found = ACCESSORS.get(t);
    if (found) return found;
  }
  throw new TypeError("not a numeric typed array");
}

/**
 * Writes `values` into `target` at `offset` as little-endian bytes: one copy.
 * @returns the offset after the bytes written.
 */
export function writeLittleEndian(target: Uint8Array, offset: number, values: NumericTypedArray, littleEndianHost = LITTLE_ENDIAN_HOST): number {
  const width = values.BYTES_PER_ELEMENT;
  if (values.byteLength <= SMALL_BYTES) {
    const view = new DataView(target.buffer, target.byteOffset + offset, values.byteLength);
    const { set } = accessorsOf(values.constructor);
    for (let i = 0; i < values.length; i++) set.call(view, i * width, values[i] as never, true);
    return offset + values.byteLength;
  }
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  target.set(bytes, offset);
  if (!littleEndianHost && values.BYTES_PER_ELEMENT > 1) swapInPlace(target.subarray(offset, offset + bytes.byteLength), values.BYTES_PER_ELEMENT);
  return offset + bytes.byteLength;
}

/**
 * `count` elements of `type` from little-endian `content` (content.byteLength === count * width).
 * The result may share memory with `content` (see the module comment).
 */
export function valuesFromContent(content: Uint8Array, type: TypedArrayClass, count: number, littleEndianHost = LITTLE_ENDIAN_HOST): NumericTypedArray {
  const width = type.BYTES_PER_ELEMENT;
  if (content.byteLength <= SMALL_BYTES) {
    const values = new type(count);
    const view = new DataView(content.buffer, content.byteOffset, content.byteLength);
    const { get } = accessorsOf(type);
    for (let i = 0; i < count; i++) values[i] = get.call(view, i * width, true) as never;
    return values;
  }
  const needsSwap = !littleEndianHost && width > 1;
  const misalignment = content.byteOffset % width;
  if (worthSharing(content)) {
    if (misalignment === 0 && !needsSwap) return new type(content.buffer, content.byteOffset, count);
    const headroom = rewritable.get(content);
    if (headroom !== undefined && misalignment <= headroom) {
      // Ours to change: move the bytes back onto an aligned offset (memmove in memory already
      // touched, no allocation), swap them if the host needs it, and view them there.
      rewritable.delete(content);
      const start = content.byteOffset - misalignment;
      const whole = new Uint8Array(content.buffer);
      if (misalignment > 0) whole.copyWithin(start, content.byteOffset, content.byteOffset + content.byteLength);
      const moved = whole.subarray(start, start + content.byteLength);
      if (needsSwap) swapInPlace(moved, width);
      return new type(content.buffer, start, count);
    }
  }
  // One copy into memory of our own, aligned for the type; no zero-fill first.
  const own = Buffer.allocUnsafeSlow(content.byteLength);
  own.set(content);
  if (needsSwap) swapInPlace(own, width);
  return new type(own.buffer, own.byteOffset, count);
}
