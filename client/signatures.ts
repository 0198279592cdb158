/**
 * SignatureDefs as the client presents them: per input and output, the dtype and the static shape
 * (-1 for unknown dimensions, null for unknown rank).
 */
import { RequestError } from "./errors";
import type { DataTypeName, SignatureDef, TensorInfo } from "./messages";

export const DEFAULT_SIGNATURE = "serving_default";

export interface TensorSpec {
  dtype: DataTypeName;
  /** Static shape; -1 marks an unknown dimension; null when even the rank is unknown. */
  shape: number[] | null;
  /** How the tensor is represented in the graph. */
  encoding: "dense" | "coo_sparse" | "composite";
}

export interface Signature {
  name: string;
  /** E.g. "tensorflow/serving/predict". */
  methodName: string;
  inputs: Record<string, TensorSpec>;
  outputs: Record<string, TensorSpec>;
  /** Inputs that have default values (and so may be left out of a request). */
  inputsWithDefaults: string[];
}

export function tensorSpec(info: TensorInfo): TensorSpec {
  const shape = info.tensor_shape?.unknown_rank || !info.tensor_shape ? null : (info.tensor_shape.dim ?? []).map((dim) => Number(dim.size ?? 0));
  const encoding = info.encoding === "coo_sparse" ? "coo_sparse" : info.encoding === "composite_tensor" ? "composite" : "dense";
  return { dtype: info.dtype ?? "DT_INVALID", shape, encoding };
}

export function signatureFromDef(name: string, def: SignatureDef): Signature {
  const specs = (infos: Record<string, TensorInfo> | undefined) =>
    Object.fromEntries(Object.entries(infos ?? {}).map(([alias, info]) => [alias, tensorSpec(info)]));
  return {
    name,
    methodName: def.method_name ?? "",
    inputs: specs(def.inputs),
    outputs: specs(def.outputs),
    inputsWithDefaults: Object.keys(def.defaults ?? {}),
  };
}

/** The named signature (default "serving_default"), or a RequestError listing the ones there are. */
export function selectSignature(signatures: Readonly<Record<string, Signature>>, name: string = DEFAULT_SIGNATURE): Signature {
  const signature = signatures[name];
  if (signature) return signature;
  const known = Object.keys(signatures)
    .filter((key) => key !== "__saved_model_init_op")
    .sort();
  throw new RequestError(`signature "${name}" not found; the model has: ${known.join(", ") || "(none)"}`);
}

/** "[-1, 3]", "[]" (scalar) or "unknown rank". */
export function formatShape(shape: readonly number[] | null): string {
  return shape === null ? "unknown rank" : `[${shape.join(", ")}]`;
}

/** Whether a concrete shape fits a signature's static shape. */
export function shapeFits(shape: readonly number[], expected: readonly number[] | null): boolean {
  if (expected === null) return true;
  return shape.length === expected.length && expected.every((size, i) => size < 0 || size === shape[i]);
}
