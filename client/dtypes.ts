/**
 * The TensorFlow dtypes the codec supports, and what the codec needs to know about each: which
 * typed array holds its values in memory, which TensorProto `*_val` field carries it, its size
 * in `tensor_content`, and its value range.
 */

/** DataType enum names (tensorflow/core/framework/types.proto) that the codec encodes and decodes. */
export const SUPPORTED_DTYPES = [
  "DT_FLOAT",
  "DT_DOUBLE",
  "DT_HALF",
  "DT_BFLOAT16",
  "DT_INT8",
  "DT_INT16",
  "DT_INT32",
  "DT_INT64",
  "DT_UINT8",
  "DT_UINT16",
  "DT_UINT32",
  "DT_UINT64",
  "DT_BOOL",
  "DT_STRING",
] as const;

export type DType = (typeof SUPPORTED_DTYPES)[number];

/** In-memory values of a tensor of dtype D (row-major, flattened). */
export type TensorValuesOf<D extends DType> = D extends "DT_FLOAT" | "DT_HALF" | "DT_BFLOAT16"
  ? Float32Array
  : D extends "DT_DOUBLE"
    ? Float64Array
    : D extends "DT_INT8"
      ? Int8Array
      : D extends "DT_INT16"
        ? Int16Array
        : D extends "DT_INT32"
          ? Int32Array
          : D extends "DT_INT64"
            ? BigInt64Array
            : D extends "DT_UINT8" | "DT_BOOL"
              ? Uint8Array
              : D extends "DT_UINT16"
                ? Uint16Array
                : D extends "DT_UINT32"
                  ? Uint32Array
                  : D extends "DT_UINT64"
                    ? BigUint64Array
                    : Uint8Array[];

export type NumericTypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

export type TensorValues = NumericTypedArray | Uint8Array[];

/** TensorProto repeated fields that carry values (tensor.proto). */
export type ValField =
  | "float_val"
  | "double_val"
  | "half_val"
  | "int_val"
  | "int64_val"
  | "uint32_val"
  | "uint64_val"
  | "bool_val"
  | "string_val";

type TypedArrayConstructor = {
  new (length: number): NumericTypedArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericTypedArray;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
};

export interface DTypeInfo {
  kind: "float" | "int" | "bool" | "string";
  /** Bytes per element in tensor_content (0: not fixed-size). */
  byteSize: number;
  valField: ValField;
  /** Typed array holding the values in memory (for DT_STRING: none). */
  array?: TypedArrayConstructor;
  /** Typed array with the raw tensor_content layout, when it differs from `array` (half, bfloat16). */
  wireArray?: TypedArrayConstructor;
  /** Inclusive integer range. */
  min?: bigint;
  max?: bigint;
  /** Largest finite magnitude of a float type. */
  maxFinite?: number;
}

const int = (bits: number, signed: boolean) =>
  signed ? { min: -(1n << BigInt(bits - 1)), max: (1n << BigInt(bits - 1)) - 1n } : { min: 0n, max: (1n << BigInt(bits)) - 1n };

export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  DT_FLOAT: { kind: "float", byteSize: 4, valField: "float_val", array: Float32Array, maxFinite: 3.4028234663852886e38 },
  DT_DOUBLE: { kind: "float", byteSize: 8, valField: "double_val", array: Float64Array, maxFinite: Number.MAX_VALUE },
  DT_HALF: { kind: "float", byteSize: 2, valField: "half_val", array: Float32Array, wireArray: Uint16Array, maxFinite: 65504 },
  DT_BFLOAT16: { kind: "float", byteSize: 2, valField: "half_val", array: Float32Array, wireArray: Uint16Array, maxFinite: 3.3895313892515355e38 },
  DT_INT8: { kind: "int", byteSize: 1, valField: "int_val", array: Int8Array, ...int(8, true) },
  DT_INT16: { kind: "int", byteSize: 2, valField: "int_val", array: Int16Array, ...int(16, true) },
  DT_INT32: { kind: "int", byteSize: 4, valField: "int_val", array: Int32Array, ...int(32, true) },
  DT_INT64: { kind: "int", byteSize: 8, valField: "int64_val", array: BigInt64Array, ...int(64, true) },
  DT_UINT8: { kind: "int", byteSize: 1, valField: "int_val", array: Uint8Array, ...int(8, false) },
  DT_UINT16: { kind: "int", byteSize: 2, valField: "int_val", array: Uint16Array, ...int(16, false) },
  DT_UINT32: { kind: "int", byteSize: 4, valField: "uint32_val", array: Uint32Array, ...int(32, false) },
  DT_UINT64: { kind: "int", byteSize: 8, valField: "uint64_val", array: BigUint64Array, ...int(64, false) },
  DT_BOOL: { kind: "bool", byteSize: 1, valField: "bool_val", array: Uint8Array },
  DT_STRING: { kind: "string", byteSize: 0, valField: "string_val" },
};

export function isSupportedDType(name: unknown): name is DType {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(DTYPES, name);
}

/** "float32"-style aliases users may write instead of enum names. */
const ALIASES: Readonly<Record<string, DType>> = {
  float: "DT_FLOAT",
  float32: "DT_FLOAT",
  double: "DT_DOUBLE",
  float64: "DT_DOUBLE",
  half: "DT_HALF",
  float16: "DT_HALF",
  bfloat16: "DT_BFLOAT16",
  int8: "DT_INT8",
  int16: "DT_INT16",
  int32: "DT_INT32",
  int64: "DT_INT64",
  uint8: "DT_UINT8",
  uint16: "DT_UINT16",
  uint32: "DT_UINT32",
  uint64: "DT_UINT64",
  bool: "DT_BOOL",
  string: "DT_STRING",
  bytes: "DT_STRING",
};

/** Accepts "DT_FLOAT" or an alias such as "float32"; undefined when unknown. */
export function parseDType(name: string): DType | undefined {
  if (isSupportedDType(name)) return name;
  return ALIASES[name.toLowerCase()];
}
