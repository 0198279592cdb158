/**
 * An in-process TF Serving test double: a real gRPC server on 127.0.0.1 that implements
 * PredictionService and ModelService from protos/ and answers like TF Serving (2.19+, serving a TF2
 * SavedModel) does, including its status codes and messages for an unknown model, version, label,
 * signature, input or output. Where the real server is lax the double is too, so tests cannot lean on
 * a check no real server makes:
 * - it does not check input shapes against the signature (a real server runs the graph with whatever
 *   shape it gets), so the client's checks are the only guard;
 * - every version has the `__saved_model_init_op` signature TF2 exports add, and signature tensors
 *   have the graph names TF2 gives them (`serving_default_x:0`, `StatefulPartitionedCall:0`);
 * - GetModelStatus lists versions newest first (TF Serving's ServableStateMonitor orders them so);
 * - it accepts messages of any size (TF Serving raises gRPC's 4 MiB limit to 2 GiB);
 * - ModelService has GetModelStatus and HandleReloadConfigRequest only.
 *
 * Models are data (see models.ts for ready-made ones): versions, labels and signatures whose
 * `predict` / `classify` / `regress` functions compute real answers. Faults can be injected per
 * method (a gRPC status or a delay), and every call is recorded, so other suites (smoke tests)
 * can build their own doubles on top.
 */
import * as grpc from "@grpc/grpc-js";
import type { ClassLabel } from "../../client/client";
import type { DType } from "../../client/dtypes";
import type {
  ClassificationRequest,
  ClassificationResponse,
  Example,
  GetModelMetadataRequest,
  GetModelMetadataResponse,
  GetModelStatusRequest,
  GetModelStatusResponse,
  Input,
  ModelSpec,
  PredictRequest,
  PredictResponse,
  RegressionRequest,
  RegressionResponse,
  ReloadConfigRequest,
  ReloadConfigResponse,
  SignatureDef,
  TensorProto,
} from "../../client/messages";
import { MODEL_SERVICE, PREDICTION_SERVICE, tfServingPackageDefinition } from "../../client/protos";
import { decodeTensor, encodeTensor, type Tensor } from "../../client/tensor-codec";

export const PREDICT_METHOD = "tensorflow/serving/predict";
/** The signature every TF2 SavedModel carries for its initializers (no inputs, no method name). */
export const INIT_OP_SIGNATURE = "__saved_model_init_op";
export const CLASSIFY_METHOD = "tensorflow/serving/classify";
export const REGRESS_METHOD = "tensorflow/serving/regress";

export interface TensorSpecDouble {
  dtype: DType;
  /** Static shape; -1 for an unknown dimension. */
  shape: number[];
}

export interface SignatureDouble {
  /** @default "tensorflow/serving/predict" */
  methodName?: string;
  inputs: Record<string, TensorSpecDouble>;
  outputs: Record<string, TensorSpecDouble>;
  /** Computes every output from the inputs (Predict). */
  predict?(inputs: Record<string, Tensor>): Record<string, Tensor>;
  /** Per example, its classes (Classify). */
  classify?(examples: Example[]): ClassLabel[][];
  /** Per example, one value (Regress). */
  regress?(examples: Example[]): number[];
}

export type ServableState = "START" | "LOADING" | "AVAILABLE" | "UNLOADING" | "END";

export interface ModelVersionDouble {
  version: number;
  /** Only AVAILABLE versions serve requests. @default "AVAILABLE" */
  state?: ServableState;
  signatures: Record<string, SignatureDouble>;
}

export interface ModelDouble {
  name: string;
  versions: ModelVersionDouble[];
  /** Version labels, e.g. { stable: 1, canary: 2 }. */
  labels?: Record<string, number>;
}

/** What a fault does to a call: fail it with a gRPC status, or delay it first. */
export type Fault = { code: grpc.status; details?: string } | { delayMs: number };

export interface RecordedCall {
  /** RPC name, e.g. "Predict", "GetModelStatus". */
  method: string;
  request: unknown;
  metadata: grpc.Metadata;
}

export interface TfServingDoubleOptions {
  models: ModelDouble[];
  /** Serve TLS with this key pair (PEM) instead of plaintext. */
  tls?: { cert: Buffer; key: Buffer };
  /** How output tensors are packed: "values" (*_val fields, as TF Serving does) or "content". @default "values" */
  responsePacking?: "values" | "content";
  /** Called before every call; a returned fault applies to that call. */
  onCall?(call: RecordedCall): Fault | undefined | Promise<Fault | undefined>;
}

export interface TfServingDouble {
  /** "127.0.0.1:<port>" */
  endpoint: string;
  port: number;
  /** Every call received, in order. */
  calls: RecordedCall[];
  /** Models currently served (HandleReloadConfigRequest changes the set). */
  models: ModelDouble[];
  /** Configs received by HandleReloadConfigRequest. */
  reloadedConfigs: ReloadConfigRequest["config"][];
  /** Applies `fault` to the next `times` calls (default 1) of `method` ("*" for any). */
  injectFault(method: string, fault: Fault, times?: number): void;
  close(): Promise<void>;
}

/** A gRPC status to end a call with. */
class CallStatus extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
  }
}

const fail = (code: grpc.status, details: string) => new CallStatus(code, details);

/** The graph name TF2 gives a signature input: `<signature>_<alias>:0` (e.g. serving_default_x:0). */
export function inputTensorName(signature: string, alias: string): string {
  return `${signature}_${alias}:0`;
}

function tfTypeName(dtype: string): string {
  return dtype.replace(/^DT_/, "").toLowerCase();
}

interface Servable {
  model: ModelDouble;
  version: ModelVersionDouble;
}

export async function startTfServingDouble(options: TfServingDoubleOptions): Promise<TfServingDouble> {
  const packing = options.responsePacking ?? "values";
  const state = {
    models: options.models,
    calls: [] as RecordedCall[],
    reloadedConfigs: [] as ReloadConfigRequest["config"][],
    faults: [] as { method: string; fault: Fault; remaining: number }[],
  };

  const available = (v: ModelVersionDouble) => (v.state ?? "AVAILABLE") === "AVAILABLE";

  /** TF Serving's servable lookup for a ModelSpec, with its error codes and messages. */
  function resolve(spec: ModelSpec | undefined): Servable {
    const name = spec?.name ?? "";
    const model = state.models.find((m) => m.name === name);
    const label = spec?.version_label;
    if (label) {
      const labelled = model?.labels?.[label];
      if (labelled === undefined) throw fail(grpc.status.INVALID_ARGUMENT, `Unrecognized servable version label: ${label}`);
      const version = model!.versions.find((v) => v.version === labelled && available(v));
      if (!version) throw fail(grpc.status.NOT_FOUND, `Servable not found for request: Specific(${name}, ${labelled})`);
      return { model: model!, version };
    }
    if (spec?.version?.value !== undefined) {
      const wanted = Number(spec.version.value);
      const version = model?.versions.find((v) => v.version === wanted && available(v));
      if (!version) throw fail(grpc.status.NOT_FOUND, `Servable not found for request: Specific(${name}, ${wanted})`);
      return { model: model!, version };
    }
    const latest = model?.versions.filter(available).sort((a, b) => b.version - a.version)[0];
    if (!latest) throw fail(grpc.status.NOT_FOUND, `Servable not found for request: Latest(${name})`);
    return { model: model!, version: latest };
  }

  function signatureOf(servable: Servable, spec: ModelSpec | undefined): [string, SignatureDouble] {
    const name = spec?.signature_name || "serving_default";
    const signature = servable.version.signatures[name];
    if (!signature) throw fail(grpc.status.FAILED_PRECONDITION, `Serving signature key "${name}" not found.`);
    return [name, signature];
  }

  function responseSpec(servable: Servable, signatureName: string): ModelSpec {
    return { name: servable.model.name, version: { value: String(servable.version.version) }, signature_name: signatureName };
  }

  function predict(request: PredictRequest): PredictResponse {
    const servable = resolve(request.model_spec);
    const [signatureName, signature] = signatureOf(servable, request.model_spec);
    const expected = Object.keys(signature.inputs).sort();
    const given = Object.keys(request.inputs ?? {}).sort();
    // TF Serving's VerifyRequestInputsSize, then TensorFlow's saved_model::GetInputValues (no signature
    // here has default inputs), with their texts; key sets are std::sets, so sorted.
    if (given.length !== expected.length) {
      const extra = given.filter((alias) => !signature.inputs[alias]);
      const missing = expected.filter((alias) => !given.includes(alias));
      throw fail(
        grpc.status.INVALID_ARGUMENT,
        `input size does not match signature: ${given.length}!=${expected.length} len({${given.join(",")}}) != len({${expected.join(",")}}). Sent extra: {${extra.join(",")}}. Missing but required: {${missing.join(",")}}.`,
      );
    }
    const inputs: Record<string, Tensor> = {};
    expected.forEach((alias, index) => {
      const proto = request.inputs?.[alias];
      if (!proto) {
        throw fail(
          grpc.status.INVALID_ARGUMENT,
          `Signature input alias: ${alias}(feed name: ${inputTensorName(signatureName, alias)}) not found in request and no default value provided. Inputs expected to be in the request {${given.join(",")}}, or default input alias set: `,
        );
      }
      let value: Tensor;
      try {
        value = decodeTensor(proto as TensorProto);
      } catch {
        throw fail(grpc.status.INVALID_ARGUMENT, `tensor parsing error: ${alias}`);
      }
      const spec = signature.inputs[alias]!;
      if (value.dtype !== spec.dtype) {
        throw fail(grpc.status.INVALID_ARGUMENT, `Expects arg[${index}] to be ${tfTypeName(spec.dtype)} but ${tfTypeName(value.dtype)} is provided`);
      }
      // No shape check: the real server feeds the tensor to the graph as it is.
      inputs[alias] = value;
    });
    const filter = request.output_filter ?? [];
    for (const alias of filter) {
      if (!signature.outputs[alias]) {
        throw fail(grpc.status.INVALID_ARGUMENT, `output tensor alias not found in signature: ${alias} Outputs expected to be in the set {${Object.keys(signature.outputs).join(",")}}.`);
      }
    }
    if (!signature.predict) throw fail(grpc.status.FAILED_PRECONDITION, `signature "${signatureName}" cannot run Predict in this double`);
    const computed = signature.predict(inputs);
    const outputs: Record<string, TensorProto> = {};
    for (const [alias, value] of Object.entries(computed)) {
      if (filter.length === 0 || filter.includes(alias)) outputs[alias] = encodeTensor(value, { packing });
    }
    return { model_spec: responseSpec(servable, signatureName), outputs };
  }

  function examplesOf(input: Input | undefined): Example[] {
    if (input?.example_list) return input.example_list.examples ?? [];
    const withContext = input?.example_list_with_context;
    if (withContext) {
      const shared = withContext.context?.features?.feature ?? {};
      return (withContext.examples ?? []).map((e) => ({ features: { feature: { ...shared, ...(e.features?.feature ?? {}) } } }));
    }
    throw fail(grpc.status.INVALID_ARGUMENT, "Input is empty.");
  }

  function inference<T>(request: { model_spec: ModelSpec; input: Input }, method: string, run: (s: SignatureDouble) => ((e: Example[]) => T) | undefined) {
    const servable = resolve(request.model_spec);
    const [signatureName, signature] = signatureOf(servable, request.model_spec);
    const kind = method === CLASSIFY_METHOD ? "classification" : "regression";
    const fn = run(signature);
    if ((signature.methodName ?? PREDICT_METHOD) !== method || !fn) {
      throw fail(grpc.status.INVALID_ARGUMENT, `Expected ${kind} signature method_name to be ${method}. Was: ${signature.methodName ?? PREDICT_METHOD}`);
    }
    return { spec: responseSpec(servable, signatureName), result: fn(examplesOf(request.input)) };
  }

  function classify(request: ClassificationRequest): ClassificationResponse {
    const { spec, result } = inference(request, CLASSIFY_METHOD, (s) => s.classify);
    return { model_spec: spec, result: { classifications: result.map((classes) => ({ classes })) } };
  }

  function regress(request: RegressionRequest): RegressionResponse {
    const { spec, result } = inference(request, REGRESS_METHOD, (s) => s.regress);
    return { model_spec: spec, result: { regressions: result.map((value) => ({ value })) } };
  }

  function signatureDef(name: string, signature: SignatureDouble, index: number): SignatureDef {
    const shape = (spec: TensorSpecDouble) => ({ dim: spec.shape.map((size) => ({ size })) });
    const inputs = Object.fromEntries(Object.entries(signature.inputs).map(([alias, spec]) => [alias, { name: inputTensorName(name, alias), dtype: spec.dtype, tensor_shape: shape(spec) }]));
    // TF2 names a signature's outputs after the function call that computes them, in sorted alias order.
    const call = index === 0 ? "StatefulPartitionedCall" : `StatefulPartitionedCall_${index}`;
    const outputs = Object.fromEntries(
      Object.keys(signature.outputs)
        .sort()
        .map((alias, i) => [alias, { name: `${call}:${i}`, dtype: signature.outputs[alias]!.dtype, tensor_shape: shape(signature.outputs[alias]!) }]),
    );
    return { inputs, outputs, method_name: signature.methodName ?? PREDICT_METHOD };
  }

  /** What TF2's SavedModel export adds to every model: the initializer "signature" (DT_INVALID, unknown rank). */
  const initOpSignatureDef: SignatureDef = { inputs: {}, outputs: { [INIT_OP_SIGNATURE]: { name: "NoOp", tensor_shape: { unknown_rank: true } } } };

  function getModelMetadata(request: GetModelMetadataRequest): GetModelMetadataResponse {
    const servable = resolve(request.model_spec);
    const fields = request.metadata_field ?? [];
    if (fields.length === 0) throw fail(grpc.status.INVALID_ARGUMENT, "GetModelMetadataRequest must specify at least one metadata_field");
    for (const field of fields) {
      if (field !== "signature_def") throw fail(grpc.status.INVALID_ARGUMENT, `Metadata field ${field} is not supported`);
    }
    const defs: Record<string, SignatureDef> = {
      [INIT_OP_SIGNATURE]: initOpSignatureDef,
      ...Object.fromEntries(Object.entries(servable.version.signatures).map(([name, s], i) => [name, signatureDef(name, s, i)])),
    };
    return {
      model_spec: { name: servable.model.name, version: { value: String(servable.version.version) } },
      metadata: { signature_def: { "@type": "type.googleapis.com/tensorflow.serving.SignatureDefMap", signature_def: defs } },
    };
  }

  function getModelStatus(request: GetModelStatusRequest): GetModelStatusResponse {
    const name = request.model_spec?.name ?? "";
    const model = state.models.find((m) => m.name === name);
    if (!model || model.versions.length === 0) throw fail(grpc.status.NOT_FOUND, `Could not find any versions of model ${name}`);
    // Newest first, as TF Serving's ServableStateMonitor::VersionMap (std::greater) orders them.
    let versions = [...model.versions].sort((a, b) => b.version - a.version);
    if (request.model_spec?.version?.value !== undefined) {
      const wanted = Number(request.model_spec.version.value);
      versions = versions.filter((v) => v.version === wanted);
      if (versions.length === 0) throw fail(grpc.status.NOT_FOUND, `Could not find version ${wanted} of model ${name}`);
    }
    return {
      model_version_status: versions.map((v) => ({ version: String(v.version), state: v.state ?? "AVAILABLE", status: { error_code: "OK", error_message: "" } })),
    };
  }

  function reloadConfig(request: ReloadConfigRequest): ReloadConfigResponse {
    state.reloadedConfigs.push(request.config);
    const configs = request.config?.model_config_list?.config ?? [];
    const unknown = configs.filter((c) => !state.models.some((m) => m.name === c.name));
    if (unknown.length) {
      return { status: { error_code: "NOT_FOUND", error_message: `no model at ${unknown.map((c) => c.base_path).join(", ")}` } };
    }
    state.models = state.models
      .filter((m) => configs.some((c) => c.name === m.name))
      .map((m) => {
        const labels = configs.find((c) => c.name === m.name)?.version_labels;
        return labels ? { ...m, labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, Number(v)])) } : m;
      });
    return { status: { error_code: "OK", error_message: "" } };
  }

  async function faultFor(call: RecordedCall): Promise<Fault | undefined> {
    const queued = state.faults.find((f) => (f.method === call.method || f.method === "*") && f.remaining > 0);
    if (queued) {
      queued.remaining -= 1;
      return queued.fault;
    }
    return options.onCall?.(call);
  }

  function unary<Req, Res>(method: string, handler: (request: Req) => Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const recorded: RecordedCall = { method, request: call.request, metadata: call.metadata };
      state.calls.push(recorded);
      void (async () => {
        try {
          const fault = await faultFor(recorded);
          if (fault && "delayMs" in fault) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
          else if (fault) throw fail(fault.code, fault.details ?? "injected fault");
          if (call.cancelled) return;
          callback(null, handler(call.request));
        } catch (error) {
          if (error instanceof CallStatus) callback({ code: error.code, details: error.details });
          else callback({ code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error) });
        }
      })();
    };
  }

  const definition = tfServingPackageDefinition();
  // TF Serving raises gRPC's message size limits to INT32_MAX (large tensors in and out).
  const server = new grpc.Server({ "grpc.max_receive_message_length": 2147483647, "grpc.max_send_message_length": 2147483647 });
  server.addService(definition[PREDICTION_SERVICE] as grpc.ServiceDefinition, {
    Predict: unary("Predict", predict),
    Classify: unary("Classify", classify),
    Regress: unary("Regress", regress),
    GetModelMetadata: unary("GetModelMetadata", getModelMetadata),
    MultiInference: unary("MultiInference", () => {
      throw fail(grpc.status.UNIMPLEMENTED, "MultiInference is not implemented by the test double");
    }),
  });
  server.addService(definition[MODEL_SERVICE] as grpc.ServiceDefinition, {
    GetModelStatus: unary("GetModelStatus", getModelStatus),
    HandleReloadConfigRequest: unary("HandleReloadConfigRequest", reloadConfig),
  });

  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (error, boundPort) => (error ? reject(error) : resolve(boundPort))),
  );

  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    calls: state.calls,
    get models() {
      return state.models;
    },
    set models(models: ModelDouble[]) {
      state.models = models;
    },
    reloadedConfigs: state.reloadedConfigs,
    injectFault(method, fault, times = 1) {
      state.faults.push({ method, fault, remaining: times });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
