/**
 * PredictRequest and PredictResponse (tensorflow_serving/apis/predict.proto) in the protobuf wire
 * format, written and read directly: Predict is the client's hot path. Every other message goes
 * through @grpc/proto-loader (protos.ts).
 *
 * Writing goes straight from tensors to bytes: every size is computed first, then one buffer of
 * exactly the message's size is filled, so a numeric tensor's bytes are copied once, from its typed
 * array into the message. The bytes are those @grpc/proto-loader writes for the same request (fields
 * in field-number order, proto3 packed repeated fields; test/client/predict-wire.test.ts compares).
 *
 * Reading builds the TensorProto objects decodeTensor reads, with tensor_content and string_val as
 * views of the received bytes (no copy), and accepts what any protobuf writer may send: fields in
 * any order, packed or unpacked repeated scalars, unknown fields (skipped).
 */
import { DTYPES, isSupportedDType, type DType, type NumericTypedArray } from "./dtypes";
import { ResponseError, TensorValueError } from "./errors";
import { float32ToBfloat16Bits, float32ToHalfBits } from "./float16";
import type { ModelSpec, PredictResponse, TensorProto } from "./messages";
import { tfServingPackageDefinition } from "./protos";
import type { SendBuffer, SendBufferPool } from "./send-buffer-pool";
import { markRewritable, writeLittleEndian } from "./tensor-content";
import { elementCount, type EncodeOptions, type Tensor } from "./tensor-codec";

// Wire types.
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

const tag = (field: number, wireType: number) => (field << 3) | wireType;

interface DataTypeNumbers {
  byName: ReadonlyMap<string, number>;
  byNumber: ReadonlyMap<number, string>;
}

let dataTypes: DataTypeNumbers | undefined;

/** tensorflow.DataType's numbers, from protos/ (types.proto). */
function dataTypeNumbers(): DataTypeNumbers {
  if (!dataTypes) {
    const definition = tfServingPackageDefinition()["tensorflow.DataType"] as unknown as { type: { value: { name: string; number: number }[] } };
    const values = definition.type.value;
    dataTypes = { byName: new Map(values.map((v) => [v.name, v.number])), byNumber: new Map(values.map((v) => [v.number, v.name])) };
  }
  return dataTypes;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Bytes of a varint holding a non-negative safe integer. */
function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function bigVarintSize(value: bigint): number {
  let size = 1;
  while (value >= 128n) {
    value >>= 7n;
    size++;
  }
  return size;
}

/** An int32 on the wire: negative values are sign-extended to 64 bits (ten bytes). */
const int32Size = (value: number) => (value < 0 ? 10 : varintSize(value));

/** Size of a length-delimited field (tag, length, bytes) whose tag fits one byte. */
const lenFieldSize = (length: number) => 1 + varintSize(length) + length;

class Writer {
  pos = 0;
  constructor(readonly bytes: Buffer) {}

  varint(value: number): void {
    const bytes = this.bytes;
    while (value >= 128) {
      bytes[this.pos++] = (value % 128) | 128;
      value = Math.floor(value / 128);
    }
    bytes[this.pos++] = value;
  }

  bigVarint(value: bigint): void {
    while (value >= 128n) {
      this.bytes[this.pos++] = Number(value & 127n) | 128;
      value >>= 7n;
    }
    this.bytes[this.pos++] = Number(value);
  }

  int32(value: number): void {
    if (value < 0) this.bigVarint(BigInt.asUintN(64, BigInt(value)));
    else this.varint(value);
  }

  string(text: string, length: number): void {
    this.varint(length);
    if (length > 0) this.pos += this.bytes.write(text, this.pos, length, "utf8");
  }

  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.pos);
    this.pos += bytes.byteLength;
  }
}

/** A string field: its text, UTF-8 length and size on the wire. */
interface StringField {
  text: string;
  length: number;
}

const stringField = (text: string): StringField => ({ text, length: Buffer.byteLength(text, "utf8") });

/** A sub-message measured before anything is written: its size, and how to write it. */
interface Plan {
  size: number;
  write(writer: Writer): void;
}

/** The values of a numeric tensor as written: half and bfloat16 as their 16-bit patterns. */
function wireValues(dtype: DType, values: NumericTypedArray): NumericTypedArray {
  if (dtype !== "DT_HALF" && dtype !== "DT_BFLOAT16") return values;
  const toBits = dtype === "DT_HALF" ? float32ToHalfBits : float32ToBfloat16Bits;
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = toBits(values[i] as number);
  return bits;
}

/** Field number of a dtype's packed *_val field. */
const VAL_FIELD_NUMBERS = { float_val: 5, double_val: 6, int_val: 7, string_val: 8, int64_val: 10, bool_val: 11, half_val: 13, uint32_val: 16, uint64_val: 17 } as const;

function checkedValues(t: Tensor): { count: number } {
  const count = elementCount(t.shape);
  for (const size of t.shape) {
    if (!Number.isSafeInteger(size) || size < 0) throw new TensorValueError(`shape [${t.shape.join(", ")}] must hold non-negative integers`);
  }
  const info = DTYPES[t.dtype];
  const values = t.values as ArrayLike<unknown>;
  const expected = info.array;
  if (expected ? !(values instanceof expected) : !Array.isArray(values)) {
    throw new TensorValueError(`${t.dtype} values must be ${expected ? `a ${expected.name}` : "an array of Uint8Array"} (build tensors with tensor())`);
  }
  if (values.length !== count) throw new TensorValueError(`shape [${t.shape.join(", ")}] needs ${count} values but the tensor has ${values.length}`);
  if (!expected) {
    for (let i = 0; i < count; i++) {
      if (!((values as unknown[])[i] instanceof Uint8Array)) throw new TensorValueError(`DT_STRING values must be Uint8Arrays (build tensors with tensor())`, { path: [i] });
    }
  }
  return { count };
}

function planTensor(t: Tensor, packing: NonNullable<EncodeOptions["packing"]>): Plan {
  if (!isSupportedDType(t.dtype)) throw new TensorValueError(`unsupported dtype ${String(t.dtype)}`);
  const { count } = checkedValues(t);
  const dtypeNumber = dataTypeNumbers().byName.get(t.dtype)!;
  const dims = t.shape;
  let shapeSize = 0;
  for (const size of dims) shapeSize += lenFieldSize(1 + varintSize(size));
  const head = 1 + varintSize(dtypeNumber) + lenFieldSize(shapeSize);

  const writeHead = (writer: Writer) => {
    writer.bytes[writer.pos++] = tag(1, VARINT);
    writer.varint(dtypeNumber);
    writer.bytes[writer.pos++] = tag(2, LEN);
    writer.varint(shapeSize);
    for (const size of dims) {
      writer.bytes[writer.pos++] = tag(2, LEN);
      writer.varint(1 + varintSize(size));
      writer.bytes[writer.pos++] = tag(1, VARINT);
      writer.varint(size);
    }
  };

  if (t.dtype === "DT_STRING") {
    const strings = t.values as Uint8Array[];
    let length = 0;
    for (const s of strings) length += lenFieldSize(s.byteLength);
    return {
      size: head + length,
      write(writer) {
        writeHead(writer);
        for (const s of strings) {
          writer.bytes[writer.pos++] = tag(8, LEN);
          writer.varint(s.byteLength);
          writer.raw(s);
        }
      },
    };
  }

  const values = wireValues(t.dtype, t.values as NumericTypedArray);
  if (packing === "content") {
    // tensor_content is written even when empty, as @grpc/proto-loader does for a field that is set.
    const length = values.byteLength;
    return {
      size: head + lenFieldSize(length),
      write(writer) {
        writeHead(writer);
        writer.bytes[writer.pos++] = tag(4, LEN);
        writer.varint(length);
        writer.pos = writeLittleEndian(writer.bytes, writer.pos, values);
      },
    };
  }

  // "values": the dtype's packed repeated field; absent when there are no values.
  const field = VAL_FIELD_NUMBERS[DTYPES[t.dtype].valField];
  const fieldTagSize = field < 16 ? 1 : 2;
  let length: number;
  let writeValues: (writer: Writer) => void;
  switch (t.dtype) {
    case "DT_FLOAT":
    case "DT_DOUBLE":
      // Packed fixed-width floats are their little-endian bytes, as in tensor_content.
      length = values.byteLength;
      writeValues = (writer) => (writer.pos = writeLittleEndian(writer.bytes, writer.pos, values));
      break;
    case "DT_INT64":
    case "DT_UINT64": {
      const unsigned = Array.from(values as BigInt64Array | BigUint64Array, (v) => BigInt.asUintN(64, v));
      length = unsigned.reduce((sum, v) => sum + bigVarintSize(v), 0);
      writeValues = (writer) => unsigned.forEach((v) => writer.bigVarint(v));
      break;
    }
    case "DT_BOOL": {
      const bools = values as Uint8Array;
      length = bools.length;
      writeValues = (writer) => {
        for (let i = 0; i < bools.length; i++) writer.bytes[writer.pos++] = bools[i] ? 1 : 0;
      };
      break;
    }
    default: {
      // int_val, half_val (int32) and uint32_val: varints, negative int32 sign-extended.
      const numbers = values as Int32Array | Uint32Array;
      length = 0;
      for (let i = 0; i < numbers.length; i++) length += int32Size(numbers[i]!);
      writeValues = (writer) => {
        for (let i = 0; i < numbers.length; i++) writer.int32(numbers[i]!);
      };
    }
  }
  const present = count > 0;
  return {
    size: head + (present ? fieldTagSize + varintSize(length) + length : 0),
    write(writer) {
      writeHead(writer);
      if (!present) return;
      if (fieldTagSize === 1) writer.bytes[writer.pos++] = tag(field, LEN);
      else writer.varint(tag(field, LEN));
      writer.varint(length);
      writeValues(writer);
    },
  };
}

function planModelSpec(spec: ModelSpec): Plan {
  const name = spec.name !== undefined ? stringField(spec.name) : undefined;
  const signature = spec.signature_name !== undefined ? stringField(spec.signature_name) : undefined;
  const label = spec.version_label !== undefined ? stringField(spec.version_label) : undefined;
  let version: bigint | undefined;
  if (spec.version?.value !== undefined) {
    version = BigInt.asUintN(64, BigInt(spec.version.value));
  }
  const versionSize = version === undefined ? 0 : 1 + bigVarintSize(version);
  let size = 0;
  if (name) size += lenFieldSize(name.length);
  if (spec.version) size += lenFieldSize(versionSize);
  if (signature) size += lenFieldSize(signature.length);
  if (label) size += lenFieldSize(label.length);
  return {
    size,
    write(writer) {
      // Field-number order, as @grpc/proto-loader writes: name(1), version(2), signature_name(3), version_label(4).
      if (name) {
        writer.bytes[writer.pos++] = tag(1, LEN);
        writer.string(name.text, name.length);
      }
      if (spec.version) {
        writer.bytes[writer.pos++] = tag(2, LEN);
        writer.varint(versionSize);
        if (version !== undefined) {
          writer.bytes[writer.pos++] = tag(1, VARINT);
          writer.bigVarint(version);
        }
      }
      if (signature) {
        writer.bytes[writer.pos++] = tag(3, LEN);
        writer.string(signature.text, signature.length);
      }
      if (label) {
        writer.bytes[writer.pos++] = tag(4, LEN);
        writer.string(label.text, label.length);
      }
    },
  };
}

export interface PredictRequestParts {
  modelSpec: ModelSpec;
  inputs: Readonly<Record<string, Tensor>>;
  outputFilter?: readonly string[];
  /** @default "content" */
  packing?: EncodeOptions["packing"];
}

/**
 * The serialized PredictRequest. Numeric inputs are copied once, into the returned buffer; a bad
 * input is a TensorValueError naming it.
 */
export function encodePredictRequest(parts: PredictRequestParts): Buffer {
  return writePredictRequest(parts).bytes;
}

/**
 * The serialized PredictRequest, written into a buffer from `pool` when it is large enough to be
 * pooled (a new buffer otherwise): what TfServingClient.predict sends. Release the result once nothing
 * can read its bytes any more. Everything is checked before a buffer is taken.
 */
export function writePredictRequest(parts: PredictRequestParts, pool?: SendBufferPool): SendBuffer {
  const packing = parts.packing ?? "content";
  const spec = planModelSpec(parts.modelSpec);
  const inputs: { key: StringField; tensor: Plan; entrySize: number }[] = [];
  let size = lenFieldSize(spec.size);
  for (const [name, t] of Object.entries(parts.inputs)) {
    let tensor: Plan;
    try {
      tensor = planTensor(t, packing);
    } catch (error) {
      throw error instanceof TensorValueError ? error.within({ input: name }) : error;
    }
    const key = stringField(name);
    const entrySize = lenFieldSize(key.length) + lenFieldSize(tensor.size);
    inputs.push({ key, tensor, entrySize });
    size += lenFieldSize(entrySize);
  }
  const filter = (parts.outputFilter ?? []).map(stringField);
  for (const f of filter) size += lenFieldSize(f.length);

  const sent = pool ? pool.acquire(size) : { bytes: Buffer.allocUnsafe(size), release: () => undefined };
  try {
    const writer = new Writer(sent.bytes);
    writer.bytes[writer.pos++] = tag(1, LEN);
    writer.varint(spec.size);
    spec.write(writer);
    for (const { key, tensor, entrySize } of inputs) {
      writer.bytes[writer.pos++] = tag(2, LEN);
      writer.varint(entrySize);
      writer.bytes[writer.pos++] = tag(1, LEN);
      writer.string(key.text, key.length);
      writer.bytes[writer.pos++] = tag(2, LEN);
      writer.varint(tensor.size);
      tensor.write(writer);
    }
    for (const f of filter) {
      writer.bytes[writer.pos++] = tag(3, LEN);
      writer.string(f.text, f.length);
    }
    if (writer.pos !== size) throw new Error(`PredictRequest: wrote ${writer.pos} bytes, planned ${size}`);
  } catch (error) {
    sent.release();
    throw error;
  }
  return sent;
}

// ---------------------------------------------------------------------------------------------
// Reading

class Reader {
  pos: number;
  end: number;
  /**
   * Offset (in `bytes`) below which the bytes are not referenced by any view handed out so far:
   * tensor_content may later be moved back into the bytes between it and this floor.
   */
  private viewFloor: number;

  constructor(readonly bytes: Buffer) {
    this.pos = 0;
    this.end = bytes.length;
    this.viewFloor = 0;
  }

  truncated(): never {
    throw new ResponseError("PredictResponse is truncated or malformed");
  }

  /** A varint as a number: exact up to 2^53 (lengths, tags, enums), approximate beyond. */
  varint(): number {
    const bytes = this.bytes;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.truncated();
      const byte = bytes[this.pos++]!;
      value += (byte & 127) * scale;
      if (byte < 128) return value;
      scale *= 128;
    }
    return this.truncated();
  }

  /** A varint as an unsigned 64-bit bigint (exact int64 and uint64 values). */
  bigVarint(): bigint {
    let value = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.truncated();
      const byte = this.bytes[this.pos++]!;
      value |= BigInt(byte & 127) << shift;
      if (byte < 128) return BigInt.asUintN(64, value);
      shift += 7n;
    }
    return this.truncated();
  }

  /** An int64 (or sign-extended int32) varint as a number; exact for safe integers, negatives included. */
  int64(): number {
    const start = this.pos;
    const value = this.varint();
    if (this.pos - start < 10) return value; // below 2^63: not negative
    this.pos = start;
    return Number(BigInt.asIntN(64, this.bigVarint()));
  }

  /** A length prefix, and the end offset of what it delimits. */
  lengthEnd(): number {
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.end) this.truncated();
    return end;
  }

  string(): string {
    const end = this.lengthEnd();
    const text = this.bytes.toString("utf8", this.pos, end);
    this.pos = end;
    return text;
  }

  /** A bytes field as a view of the received buffer. */
  view(): Buffer {
    const end = this.lengthEnd();
    const view = this.bytes.subarray(this.pos, end);
    this.pos = end;
    this.viewFloor = end;
    return view;
  }

  /** tensor_content: a view, registered as movable into the unreferenced bytes before it. */
  content(): Buffer {
    const floor = this.viewFloor;
    const view = this.view();
    markRewritable(view, view.byteOffset - (this.bytes.byteOffset + floor));
    return view;
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) this.truncated();
    const value = this.bytes.readFloatLE(this.pos);
    this.pos += 4;
    return value;
  }

  fixed64(): number {
    if (this.pos + 8 > this.end) this.truncated();
    const value = this.bytes.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.pos += 8;
        break;
      case LEN:
        this.pos = this.lengthEnd();
        return;
      case FIXED32:
        this.pos += 4;
        break;
      default:
        throw new ResponseError(`PredictResponse has an unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) this.truncated();
  }

  /** Runs `read` on a length-delimited sub-message. */
  message<T>(read: (reader: Reader, end: number) => T): T {
    const end = this.lengthEnd();
    const outerEnd = this.end;
    this.end = end;
    const value = read(this, end);
    this.end = outerEnd;
    if (this.pos !== end) this.truncated();
    return value;
  }
}

/** Reads one element, or a packed run of them, of a repeated scalar field into `into`. */
function repeated<T>(reader: Reader, wireType: number, elementWireType: number, read: () => T, into: T[]): void {
  if (wireType === LEN && elementWireType !== LEN) {
    const end = reader.lengthEnd();
    while (reader.pos < end) into.push(read());
    if (reader.pos !== end) reader.truncated();
  } else if (wireType === elementWireType) {
    into.push(read());
  } else {
    reader.skip(wireType);
  }
}

function readShape(reader: Reader, end: number): NonNullable<TensorProto["tensor_shape"]> {
  const shape: NonNullable<TensorProto["tensor_shape"]> = { dim: [] };
  while (reader.pos < end) {
    const key = reader.varint();
    const wireType = key & 7;
    if (key === tag(2, LEN)) {
      shape.dim!.push(
        reader.message((r, dimEnd) => {
          const dim: { size?: number; name?: string } = { size: 0 };
          while (r.pos < dimEnd) {
            const dimKey = r.varint();
            if (dimKey === tag(1, VARINT)) dim.size = r.int64();
            else if (dimKey === tag(2, LEN)) dim.name = r.string();
            else r.skip(dimKey & 7);
          }
          return dim;
        }),
      );
    } else if (key === tag(3, VARINT)) shape.unknown_rank = reader.varint() !== 0;
    else reader.skip(wireType);
  }
  return shape;
}

/** Appends to a repeated field of `proto`, creating it on first use. */
function field<K extends "float_val" | "double_val" | "int_val" | "string_val" | "int64_val" | "bool_val" | "half_val" | "uint32_val" | "uint64_val">(
  proto: TensorProto,
  name: K,
): NonNullable<TensorProto[K]> {
  return (proto[name] ??= [] as NonNullable<TensorProto[K]>) as NonNullable<TensorProto[K]>;
}

function readTensor(reader: Reader, end: number): TensorProto {
  const proto: TensorProto = {};
  while (reader.pos < end) {
    const key = reader.varint();
    const wireType = key & 7;
    switch (key >>> 3) {
      case 1:
        if (wireType !== VARINT) break;
        {
          const number = reader.varint();
          proto.dtype = dataTypeNumbers().byNumber.get(number) ?? String(number);
        }
        continue;
      case 2:
        if (wireType !== LEN) break;
        proto.tensor_shape = reader.message(readShape);
        continue;
      case 4:
        if (wireType !== LEN) break;
        proto.tensor_content = reader.content();
        continue;
      case 5:
        repeated(reader, wireType, FIXED32, () => reader.fixed32(), field(proto, "float_val"));
        continue;
      case 6:
        repeated(reader, wireType, FIXED64, () => reader.fixed64(), field(proto, "double_val"));
        continue;
      case 7:
        repeated(reader, wireType, VARINT, () => reader.int64() | 0, field(proto, "int_val"));
        continue;
      case 8:
        if (wireType !== LEN) break;
        field(proto, "string_val").push(reader.view());
        continue;
      case 10:
        repeated(reader, wireType, VARINT, () => BigInt.asIntN(64, reader.bigVarint()).toString(), field(proto, "int64_val"));
        continue;
      case 11:
        repeated(reader, wireType, VARINT, () => reader.varint() !== 0, field(proto, "bool_val"));
        continue;
      case 13:
        repeated(reader, wireType, VARINT, () => reader.int64() | 0, field(proto, "half_val"));
        continue;
      case 16:
        repeated(reader, wireType, VARINT, () => reader.int64() >>> 0, field(proto, "uint32_val"));
        continue;
      case 17:
        repeated(reader, wireType, VARINT, () => reader.bigVarint().toString(), field(proto, "uint64_val"));
        continue;
    }
    reader.skip(wireType);
  }
  return proto;
}

function readModelSpec(reader: Reader, end: number): ModelSpec {
  const spec: ModelSpec = {};
  while (reader.pos < end) {
    const key = reader.varint();
    if (key === tag(1, LEN)) spec.name = reader.string();
    else if (key === tag(2, LEN)) {
      spec.version = reader.message((r, versionEnd) => {
        // proto3 leaves out a zero value; @grpc/proto-loader then gives no value either.
        const version: { value?: string } = {};
        while (r.pos < versionEnd) {
          const versionKey = r.varint();
          if (versionKey === tag(1, VARINT)) version.value = BigInt.asIntN(64, r.bigVarint()).toString();
          else r.skip(versionKey & 7);
        }
        return version;
      });
    } else if (key === tag(3, LEN)) spec.signature_name = reader.string();
    else if (key === tag(4, LEN)) spec.version_label = reader.string();
    else reader.skip(key & 7);
  }
  return spec;
}

/**
 * Reads a serialized PredictResponse. Its tensor_content and string_val are views of `bytes`, and
 * tensor_content may later be moved within `bytes` by decodeTensor (to align it for a typed
 * array): pass only a buffer nothing else will read, such as the one @grpc/grpc-js hands to a
 * deserializer.
 */
export function decodePredictResponse(bytes: Buffer): PredictResponse {
  const reader = new Reader(bytes);
  const outputs: Record<string, TensorProto> = {};
  const response: PredictResponse = { outputs };
  while (reader.pos < reader.end) {
    const key = reader.varint();
    if (key === tag(1, LEN)) {
      const [name, proto] = reader.message((r, entryEnd) => {
        let entryName = "";
        let entryProto: TensorProto = {};
        while (r.pos < entryEnd) {
          const entryKey = r.varint();
          if (entryKey === tag(1, LEN)) entryName = r.string();
          else if (entryKey === tag(2, LEN)) entryProto = r.message(readTensor);
          else r.skip(entryKey & 7);
        }
        return [entryName, entryProto] as const;
      });
      Object.defineProperty(outputs, name, { value: proto, enumerable: true, configurable: true, writable: true });
    } else if (key === tag(2, LEN)) {
      response.model_spec = reader.message(readModelSpec);
    } else reader.skip(key & 7);
  }
  return response;
}
