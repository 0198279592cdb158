/**
 * Predict with JSON values, typed by the model's own signature (fetched with GetModelMetadata),
 * so callers never spell out dtypes. What the `mlp predict` command runs.
 */
import type { CallOptions, ModelRef, ModelSpecInfo, SignatureRef, TfServingClient } from "./client";
import { RequestError } from "./errors";
import { columnsToTensors, instancesToTensors, isNamedInputs, outputsToColumns, outputsToRows, type JsonDocument } from "./json-requests";
import { DEFAULT_SIGNATURE, selectSignature, type Signature, type TensorSpec } from "./signatures";
import type { Tensor } from "./tensor-codec";

/** The signature a request will run, from the model's metadata. */
export async function fetchSignature(client: TfServingClient, ref: SignatureRef, options?: CallOptions): Promise<Signature> {
  const metadata = await client.getModelMetadata(ref, options);
  return selectSignature(metadata.signatures, ref.signature ?? DEFAULT_SIGNATURE);
}

async function runPredict(client: TfServingClient, ref: SignatureRef, signature: Signature, inputs: Record<string, Tensor>, options?: CallOptions) {
  return client.predict({ ...ref, signature: signature.name, inputs }, options);
}

/**
 * Row format, like TF Serving's REST `{"instances": [...]}`: each instance is an object of input
 * name to value, or a bare value for a single-input signature.
 * @returns `{ predictions }`: one entry per instance (an object of outputs when there are several).
 */
export async function predictInstances(
  client: TfServingClient,
  ref: SignatureRef,
  instances: readonly unknown[],
  options?: CallOptions,
): Promise<{ predictions: JsonDocument[]; modelSpec: ModelSpecInfo }> {
  const signature = await fetchSignature(client, ref, options);
  const inputs = instancesToTensors(signature, instances);
  const result = await runPredict(client, ref, signature, inputs, options);
  return { predictions: outputsToRows(result.outputs, instances.length), modelSpec: result.modelSpec };
}

/** A columnar request as in TF Serving's REST API. */
export interface ColumnarRequest {
  signature_name?: string;
  /** Object of input name to value, or a bare value for a single-input signature. */
  inputs: unknown;
}

/** Checks the shape of a columnar request document. */
export function parseColumnarRequest(document: unknown): ColumnarRequest {
  if (!isNamedInputs(document)) throw new RequestError('a columnar request is an object: {"signature_name"?: ..., "inputs": ...}');
  const unknown = Object.keys(document).filter((key) => key !== "inputs" && key !== "signature_name");
  if (unknown.length) throw new RequestError(`unknown key${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")} (allowed: "signature_name", "inputs")`);
  if (!("inputs" in document)) throw new RequestError('a columnar request needs "inputs"');
  const name = document["signature_name"];
  if (name !== undefined && (typeof name !== "string" || !name)) throw new RequestError('"signature_name" must be a non-empty string');
  return name === undefined ? { inputs: document["inputs"] } : { signature_name: name, inputs: document["inputs"] };
}

/**
 * Columnar format, like TF Serving's REST `{"inputs": ...}`.
 * @returns `{ outputs }`: the output's value, or an object of output name to value.
 */
export async function predictColumns(
  client: TfServingClient,
  ref: SignatureRef,
  request: ColumnarRequest,
  options?: CallOptions,
): Promise<{ outputs: JsonDocument; modelSpec: ModelSpecInfo }> {
  if (request.signature_name !== undefined && ref.signature !== undefined && request.signature_name !== ref.signature) {
    throw new RequestError(`the request names signature "${request.signature_name}" but "${ref.signature}" was asked for`);
  }
  const withSignature = { ...ref, signature: ref.signature ?? request.signature_name };
  const signature = await fetchSignature(client, withSignature, options);
  const inputs = columnsToTensors(signature, request.inputs);
  const result = await runPredict(client, withSignature, signature, inputs, options);
  return { outputs: outputsToColumns(result.outputs), modelSpec: result.modelSpec };
}

function specJson(spec: TensorSpec) {
  return { dtype: spec.dtype, shape: spec.shape, ...(spec.encoding === "dense" ? {} : { encoding: spec.encoding }) };
}

/** The model's signatures as JSON: per signature, method name and each input and output's dtype and shape. */
export async function describeModel(client: TfServingClient, ref: ModelRef, options?: CallOptions) {
  const metadata = await client.getModelMetadata(ref, options);
  const signatures = Object.fromEntries(
    Object.entries(metadata.signatures)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, signature]) => [
        name,
        {
          method_name: signature.methodName,
          inputs: Object.fromEntries(Object.entries(signature.inputs).map(([alias, spec]) => [alias, specJson(spec)])),
          outputs: Object.fromEntries(Object.entries(signature.outputs).map(([alias, spec]) => [alias, specJson(spec)])),
        },
      ]),
  );
  return { model_spec: { name: metadata.modelSpec.name, ...(metadata.modelSpec.version !== undefined ? { version: metadata.modelSpec.version } : {}) }, signatures };
}

/** Each version's state as JSON, in the shape of TF Serving's REST `GET /v1/models/NAME`. */
export async function describeStatus(client: TfServingClient, ref: ModelRef, options?: CallOptions) {
  const versions = await client.getModelStatus(ref, options);
  return {
    model_version_status: versions.map((v) => ({
      version: String(v.version),
      state: v.state,
      status: { error_code: v.status.code, error_message: v.status.message },
    })),
  };
}
