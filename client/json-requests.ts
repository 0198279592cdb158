/**
 * TF Serving REST-style JSON requests over gRPC: turns row-format instances or a columnar
 * `inputs` object into tensors typed by the model's signature, and outputs back into
 * `predictions` (rows) or `outputs` (columns), as TF Serving's REST API does.
 *
 * Values are plain JSON values (numbers, strings, booleans, nested arrays, {"b64": ...}); 64-bit
 * integers may also be bigints or decimal strings, so they stay exact.
 */
import { DTYPES, isSupportedDType, type DType, type NumericTypedArray, type TensorValues } from "./dtypes";
import { InconsistentInstancesError, RequestError, ResponseError, TensorValueError } from "./errors";
import { formatShape, shapeFits, type Signature, type TensorSpec } from "./signatures";
import { isBase64Value, sameShape, tensor, tensorToJson, type JsonValue, type Tensor, type TensorLike } from "./tensor-codec";

/** A JSON document of tensor values (objects of output name to value included). */
export type JsonDocument = JsonValue | JsonDocument[] | { [key: string]: JsonDocument };

/** A JSON object of input name to value (not a {"b64": ...} leaf). */
export function isNamedInputs(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value) && !isBase64Value(value);
}

function inputDType(signature: Signature, name: string, spec: TensorSpec): DType {
  if (!isSupportedDType(spec.dtype)) {
    throw new RequestError(`input "${name}" of signature "${signature.name}" has dtype ${spec.dtype}, which the client cannot encode`, { input: name });
  }
  if (spec.encoding !== "dense") {
    throw new RequestError(`input "${name}" of signature "${signature.name}" is a ${spec.encoding} tensor; only dense inputs can be sent`, { input: name });
  }
  return spec.dtype;
}

function unknownInput(signature: Signature, name: string, instance?: number): RequestError {
  return new RequestError(`unknown input "${name}"; signature "${signature.name}" has inputs: ${Object.keys(signature.inputs).join(", ")}`, {
    input: name,
    instance,
  });
}

function checkAgainstSignature(signature: Signature, name: string, shape: readonly number[]): void {
  const expected = signature.inputs[name]!.shape;
  if (!shapeFits(shape, expected)) {
    throw new RequestError(`input "${name}" has shape ${formatShape(shape)}, but signature "${signature.name}" expects ${formatShape(expected)} (-1: any size)`, {
      input: name,
    });
  }
}

function checkMissing(signature: Signature, given: ReadonlySet<string>, instance?: number): void {
  for (const name of Object.keys(signature.inputs)) {
    if (!given.has(name) && !signature.inputsWithDefaults.includes(name)) {
      throw new RequestError(`missing input "${name}" (signature "${signature.name}" has inputs: ${Object.keys(signature.inputs).join(", ")})`, {
        input: name,
        instance,
      });
    }
  }
}

/**
 * Row format: one entry per instance, each an object of input name to value, or a bare value
 * when the signature has exactly one input. Instances are stacked along a new first dimension;
 * every instance must give each input the same shape.
 */
export function instancesToTensors(signature: Signature, instances: readonly unknown[]): Record<string, Tensor> {
  if (instances.length === 0) throw new RequestError("no instances");
  const inputNames = Object.keys(signature.inputs);
  const perInput = new Map<string, { tensors: Tensor[]; firstInstance: number }>();
  let inputSet: Set<string> | undefined;

  instances.forEach((instance, index) => {
    let named: Record<string, unknown>;
    if (isNamedInputs(instance)) {
      named = instance;
    } else {
      if (inputNames.length !== 1) {
        throw new RequestError(
          `a bare value needs a signature with exactly one input, but "${signature.name}" has ${inputNames.length} (${inputNames.join(", ")}); write an object of input name to value`,
          { instance: index },
        );
      }
      named = { [inputNames[0]!]: instance };
    }
    const names = new Set(Object.keys(named));
    for (const name of names) if (!signature.inputs[name]) throw unknownInput(signature, name, index);
    checkMissing(signature, names, index);
    if (inputSet && (inputSet.size !== names.size || [...names].some((name) => !inputSet!.has(name)))) {
      const first = [...inputSet].join(", ");
      throw new InconsistentInstancesError({ instance: index, firstInstance: 0 }, (name) => `gives inputs ${[...names].join(", ")}, but ${name(0)} gives ${first}`);
    }
    inputSet ??= names;

    for (const name of names) {
      const dtype = inputDType(signature, name, signature.inputs[name]!);
      let value: Tensor;
      try {
        value = tensor(dtype, named[name] as TensorLike);
      } catch (error) {
        throw error instanceof TensorValueError ? error.within({ input: name, instance: index }) : error;
      }
      const entry = perInput.get(name) ?? { tensors: [], firstInstance: index };
      const first = entry.tensors[0];
      if (first && !sameShape(first.shape, value.shape)) {
        const [shape, firstShape] = [formatShape(value.shape), formatShape(first.shape)];
        throw new InconsistentInstancesError(
          { input: name, instance: index, firstInstance: entry.firstInstance },
          (which) => `input "${name}" has shape ${shape}, but ${which(entry.firstInstance)} has ${firstShape}: all instances must give an input the same shape`,
        );
      }
      entry.tensors.push(value);
      perInput.set(name, entry);
    }
  });

  const result: Record<string, Tensor> = {};
  for (const [name, { tensors }] of perInput) {
    const stacked = stack(tensors);
    checkAgainstSignature(signature, name, stacked.shape);
    result[name] = stacked;
  }
  return result;
}

/** Stacks same-shaped tensors along a new first dimension. */
function stack(tensors: readonly Tensor[]): Tensor {
  const first = tensors[0]!;
  const per = first.values.length;
  const dtype = first.dtype;
  let values: TensorValues;
  if (dtype === "DT_STRING") {
    values = tensors.flatMap((t) => t.values as Uint8Array[]);
  } else {
    const out = new DTYPES[dtype].array!(per * tensors.length) as NumericTypedArray;
    tensors.forEach((t, i) => (out as Float64Array).set(t.values as Float64Array, i * per));
    values = out;
  }
  return { dtype, shape: [tensors.length, ...first.shape], values } as Tensor;
}

/**
 * Columnar format: `inputs` is an object of input name to value, or a bare value when the
 * signature has exactly one input.
 */
export function columnsToTensors(signature: Signature, inputs: unknown): Record<string, Tensor> {
  const inputNames = Object.keys(signature.inputs);
  let named: Record<string, unknown>;
  if (isNamedInputs(inputs)) {
    named = inputs;
  } else {
    if (inputNames.length !== 1) {
      throw new RequestError(
        `"inputs" is a bare value, but signature "${signature.name}" has ${inputNames.length} inputs (${inputNames.join(", ")}); write an object of input name to value`,
      );
    }
    named = { [inputNames[0]!]: inputs };
  }
  const names = new Set(Object.keys(named));
  for (const name of names) if (!signature.inputs[name]) throw unknownInput(signature, name);
  checkMissing(signature, names);
  const result: Record<string, Tensor> = {};
  for (const name of names) {
    const dtype = inputDType(signature, name, signature.inputs[name]!);
    try {
      result[name] = tensor(dtype, named[name] as TensorLike);
    } catch (error) {
      throw error instanceof TensorValueError ? error.within({ input: name }) : error;
    }
    checkAgainstSignature(signature, name, result[name]!.shape);
  }
  return result;
}

/** Outputs whose alias ends in "_bytes" are always written as {"b64": ...}, as in TF Serving's REST API. */
function outputJson(name: string, value: Tensor): JsonValue {
  return tensorToJson(value, { bytes: name.endsWith("_bytes") ? "b64" : "auto" });
}

/**
 * `predictions` of a row-format answer: per instance, the output's row, or an object of output
 * name to row when there are several outputs. Every output must have `batch` rows.
 */
export function outputsToRows(outputs: Readonly<Record<string, Tensor>>, batch: number): JsonDocument[] {
  const names = Object.keys(outputs).sort();
  const columns = names.map((name) => {
    const value = outputs[name]!;
    if (value.shape.length === 0 || value.shape[0] !== batch) {
      throw new ResponseError(
        `output "${name}" has shape ${formatShape(value.shape)}, which does not split into ${batch} instance rows; use a columnar request (--json-request)`,
      );
    }
    return outputJson(name, value) as JsonValue[];
  });
  if (names.length === 1) return columns[0]!;
  return Array.from({ length: batch }, (_, row) => Object.fromEntries(names.map((name, i) => [name, columns[i]![row]!])));
}

/** `outputs` of a columnar answer: the output's value, or an object of output name to value. */
export function outputsToColumns(outputs: Readonly<Record<string, Tensor>>): JsonDocument {
  const names = Object.keys(outputs).sort();
  if (names.length === 1) return outputJson(names[0]!, outputs[names[0]!]!);
  return Object.fromEntries(names.map((name) => [name, outputJson(name, outputs[name]!)]));
}
