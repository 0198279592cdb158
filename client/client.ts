/**
 * A typed client for TF Serving's gRPC API (PredictionService and ModelService) over @grpc/grpc-js.
 * Every call has a deadline; failures are typed errors (errors.ts).
 */
import * as grpc from "@grpc/grpc-js";
import type { MethodDefinition } from "@grpc/grpc-js";
import { RequestError, ResponseError, ServerStatusError, grpcStatusError, type ConnectionContext } from "./errors";
import type {
  ClassificationRequest,
  ClassificationResponse,
  Example,
  Feature,
  GetModelMetadataRequest,
  GetModelMetadataResponse,
  GetModelStatusRequest,
  GetModelStatusResponse,
  Input,
  ModelServerConfig,
  ModelSpec,
  PredictRequest,
  PredictResponse,
  RegressionRequest,
  RegressionResponse,
  ReloadConfigRequest,
  ReloadConfigResponse,
  SignatureDef,
} from "./messages";
import { decodePredictResponse, writePredictRequest } from "./predict-wire";
import { MODEL_SERVICE, PREDICTION_SERVICE, methodDefinition } from "./protos";
import { SendBufferPool, type SendBuffer, type SendBufferPoolOptions, type SendBufferPoolStats } from "./send-buffer-pool";
import { signatureFromDef, type Signature } from "./signatures";
import { decodeTensor, type EncodeOptions, type Tensor } from "./tensor-codec";

export const DEFAULT_TIMEOUT_MS = 30_000;

/** HTTP/2 flow-control window the client grants the server, per call and per connection. */
export const FLOW_CONTROL_WINDOW_BYTES = 64 * 1024 * 1024;

/**
 * The channel options every client starts from (`channelOptions` adds to and overrides them); see
 * docs/client-performance.md for what each buys.
 * - Message sizes unlimited in both directions (large tensors), unlike gRPC's 4 MiB receive limit.
 * - A 64 MiB flow-control window instead of HTTP/2's 64 KiB default, so a large response streams
 *   without the server stopping every 64 KiB to wait for a WINDOW_UPDATE from the client.
 * - Keepalive pings every 60 s while calls are in flight (none on an idle connection), answered
 *   within 20 s, so a connection to a server that vanished without closing it (a node lost from
 *   under a pod) fails its calls with UNAVAILABLE and is replaced, instead of every call on it
 *   running into its deadline until TCP gives up. 60 s stays within what TF Serving (gRPC C++)
 *   accepts by default: a ping without calls, or pings closer than 5 minutes apart, count as
 *   strikes, and the third strike closes the connection; a response resets the count, so only a
 *   single call lasting over 4 minutes could collect three.
 */
export const DEFAULT_CHANNEL_OPTIONS: Readonly<grpc.ChannelOptions> = {
  "grpc.max_receive_message_length": -1,
  "grpc.max_send_message_length": -1,
  "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW_BYTES,
  "grpc.keepalive_time_ms": 60_000,
  "grpc.keepalive_timeout_ms": 20_000,
  "grpc.keepalive_permit_without_calls": 0,
};

export interface TfServingClientOptions {
  /** gRPC address of the model server, HOST:PORT (e.g. "linear-serving.ml.svc.cluster.local:8500"). */
  endpoint: string;
  /**
   * Transport security. `false` (default): plaintext. `true`: TLS with the system's root
   * certificates. `{ ca }`: TLS trusting this PEM CA bundle; `serverName` overrides the name the
   * certificate is checked against.
   */
  tls?: boolean | { ca?: string | Buffer; serverName?: string };
  /** Deadline of each call in milliseconds, unless the call sets its own. @default 30000 */
  timeoutMs?: number;
  /** Extra channel options for @grpc/grpc-js, added to DEFAULT_CHANNEL_OPTIONS (and overriding them). */
  channelOptions?: grpc.ChannelOptions;
  /**
   * Reuse of the buffers large Predict requests are written into, so that writing one goes into
   * memory already mapped instead of fresh pages (docs/client-performance.md). A buffer is reused only
   * once its call has ended; the pool owns at most `maxBytes` (lent and idle) and drops idle buffers
   * after `idleMs`. `false` turns it off: a new buffer per request. It is also off when
   * `channelOptions` set a compression algorithm or interceptors, which may read a request later.
   * @default { maxBytes: 268435456, minBytes: 1048576, idleMs: 30000 }
   */
  sendBufferPool?: SendBufferPoolOptions | false;
}

export interface CallOptions {
  /** Deadline of this call in milliseconds; 0 or Infinity for none. */
  timeoutMs?: number;
  /** Cancels the call (it then fails with CancelledError). */
  signal?: AbortSignal;
}

/** Which model, and optionally which version (number) or version label. */
export interface ModelRef {
  model: string;
  version?: number | bigint | string;
  label?: string;
}

export interface SignatureRef extends ModelRef {
  /** @default "serving_default" (the server's default) */
  signature?: string;
}

/** The model spec a server reports having used. */
export interface ModelSpecInfo {
  name: string;
  version?: number;
  label?: string;
  signature?: string;
}

export interface PredictInput extends SignatureRef {
  inputs: Readonly<Record<string, Tensor>>;
  /** Outputs to compute; all of the signature's when empty. */
  outputFilter?: string[];
  /** How numeric inputs are packed (see EncodeOptions). @default "content" */
  packing?: EncodeOptions["packing"];
}

export interface PredictResult {
  modelSpec: ModelSpecInfo;
  outputs: Record<string, Tensor>;
}

export interface ModelMetadata {
  modelSpec: ModelSpecInfo;
  /** The SignatureDefMap unpacked from the response's "signature_def" Any, as sent. */
  signatureDefs: Record<string, SignatureDef>;
  /** The same signatures, simplified (dtype and static shape per input and output). */
  signatures: Record<string, Signature>;
}

export interface ModelVersionState {
  version: number;
  /** START, LOADING, AVAILABLE, UNLOADING, END or UNKNOWN. */
  state: string;
  status: { code: string; message: string };
}

/** Features of one tf.Example: numbers become float_list, bigints int64_list, strings and bytes bytes_list. */
export type FeatureInit =
  | number
  | bigint
  | string
  | Uint8Array
  | readonly number[]
  | readonly bigint[]
  | readonly (string | Uint8Array)[]
  | { floats: readonly number[] }
  | { int64s: readonly (number | bigint | string)[] }
  | { bytes: readonly (string | Uint8Array)[] };

export interface ExamplesInput extends SignatureRef {
  /** The examples: built with `example()` or given as tensorflow.Example messages. */
  examples: readonly Example[];
  /** Features shared by all examples (ExampleListWithContext). */
  context?: Example;
}

export interface ClassLabel {
  label: string;
  score: number;
}

/** A tensorflow.Example from plain feature values. */
export function example(features: Readonly<Record<string, FeatureInit>>): Example {
  const feature: Record<string, Feature> = {};
  for (const [name, init] of Object.entries(features)) feature[name] = featureFrom(name, init);
  return { features: { feature } };
}

function featureFrom(name: string, init: FeatureInit): Feature {
  const bytes = (values: readonly (string | Uint8Array)[]) => ({ bytes_list: { value: values.map((v) => (typeof v === "string" ? Buffer.from(v) : v)) } });
  const int64s = (values: readonly (number | bigint | string)[]) => ({ int64_list: { value: values.map((v) => String(v)) } });
  if (typeof init === "number") return { float_list: { value: [init] } };
  if (typeof init === "bigint") return int64s([init]);
  if (typeof init === "string" || init instanceof Uint8Array) return bytes([init]);
  if (Array.isArray(init)) {
    if (init.length === 0 || typeof init[0] === "number") return { float_list: { value: [...(init as number[])] } };
    if (typeof init[0] === "bigint") return int64s(init as bigint[]);
    return bytes(init as (string | Uint8Array)[]);
  }
  if ("floats" in init) return { float_list: { value: [...init.floats] } };
  if ("int64s" in init) return int64s(init.int64s);
  if ("bytes" in init) return bytes(init.bytes);
  throw new RequestError(`feature "${name}": unsupported value`);
}

/** ModelSpec.version is an int64. */
const INT64_MAX = (1n << 63n) - 1n;

/** The ModelSpec for a reference; version and label exclude each other. */
export function modelSpecFor(ref: SignatureRef): ModelSpec {
  if (!ref.model) throw new RequestError("a model name is required");
  const spec: ModelSpec = { name: ref.model };
  if (ref.version !== undefined && ref.label !== undefined) throw new RequestError("give a version or a label, not both");
  if (ref.version !== undefined) {
    const text = String(ref.version);
    if (!/^\d+$/.test(text)) throw new RequestError(`version must be a non-negative integer (got ${text})`);
    if (BigInt(text) > INT64_MAX) throw new RequestError(`version must be at most ${INT64_MAX}, the largest int64 (got ${text})`);
    spec.version = { value: text };
  }
  if (ref.label !== undefined) {
    if (!ref.label) throw new RequestError("label must not be empty");
    spec.version_label = ref.label;
  }
  if (ref.signature !== undefined) spec.signature_name = ref.signature;
  return spec;
}

function modelSpecInfo(spec: ModelSpec | undefined): ModelSpecInfo {
  const info: ModelSpecInfo = { name: spec?.name ?? "" };
  if (spec?.version?.value !== undefined) info.version = safeNumber(spec.version.value, "model_spec.version");
  if (spec?.version_label) info.label = spec.version_label;
  if (spec?.signature_name) info.signature = spec.signature_name;
  return info;
}

function safeNumber(value: string | number, field: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new ResponseError(`${field} ${value} is not a safe integer`);
  return number;
}

function channelCredentials(tls: TfServingClientOptions["tls"]): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  if (tls === true) return grpc.credentials.createSsl();
  const ca = tls.ca === undefined ? null : Buffer.isBuffer(tls.ca) ? tls.ca : Buffer.from(tls.ca);
  return grpc.credentials.createSsl(ca);
}

/**
 * Channel options under which @grpc/grpc-js may read a serialized request after its call ended, or
 * that replace the channel the release rule below was checked against: compression runs zlib on the
 * request in the thread pool, interceptors see the request buffer itself, and a channel override is
 * another implementation.
 */
function requestMayOutliveCall(options: grpc.ChannelOptions): boolean {
  const compression = options["grpc.default_compression_algorithm"] as unknown;
  if (compression !== undefined && compression !== 0) return true;
  return ["interceptors", "interceptor_providers", "channelOverride", "channelFactoryOverride"].some((key) => options[key] !== undefined);
}

/**
 * Gives a sent request's pooled buffer back once @grpc/grpc-js can no longer read it. grpc-js 1.14.7
 * reads the client's serialized request once, to copy it behind the gRPC frame header into a buffer of
 * its own (compression-filter.js, IdentityHandler.writeMessage); that copy is what the retrying call
 * keeps and replays to later attempts (retrying-call.js), never the client's buffer. The copy runs in
 * promise jobs chained from the call's start (resolving-call.js, sendMessageOnChild), which can run
 * after the call's status was reported: a call cancelled before they ran is still started and sent
 * (resolving-call.js: the filter stack's sendMetadata callback does not check `ended`).
 * - After a response, right away: the answer came from an attempt that exists only once the copy was
 *   started, in promise jobs that ran before the answer could arrive (network input is a later task).
 * - Otherwise after the current task (setImmediate): every promise job pending at the status, the
 *   copy included, has run by then.
 * test/client/send-buffer-pool.test.ts holds the pinned grpc-js to both.
 */
function releaseAfterCall(sent: SendBuffer, answered: boolean): void {
  if (answered) sent.release();
  else setImmediate(() => sent.release());
}

export class TfServingClient {
  readonly endpoint: string;
  private readonly channel: grpc.Client;
  private readonly timeoutMs: number;
  private readonly connection: ConnectionContext;
  private readonly sendBuffers: SendBufferPool;

  constructor(options: TfServingClientOptions) {
    if (!options.endpoint) throw new RequestError("an endpoint (HOST:PORT) is required");
    this.endpoint = options.endpoint;
    this.connection = { endpoint: options.endpoint, tls: Boolean(options.tls) };
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const channelOptions: grpc.ChannelOptions = { ...DEFAULT_CHANNEL_OPTIONS, ...options.channelOptions };
    if (typeof options.tls === "object" && options.tls.serverName) {
      channelOptions["grpc.ssl_target_name_override"] = options.tls.serverName;
      channelOptions["grpc.default_authority"] = options.tls.serverName;
    }
    this.sendBuffers = new SendBufferPool(requestMayOutliveCall(channelOptions) ? false : (options.sendBufferPool ?? {}));
    this.channel = new grpc.Client(options.endpoint, channelCredentials(options.tls), channelOptions);
  }

  /**
   * Runs the signature on the inputs (PredictionService/Predict). Numeric inputs are copied once,
   * into the request; numeric outputs are views of the response's bytes when aligned, one copy
   * otherwise (see docs/client-performance.md).
   */
  async predict(request: PredictInput, options?: CallOptions): Promise<PredictResult> {
    const sent = writePredictRequest({ modelSpec: modelSpecFor(request), inputs: request.inputs, outputFilter: request.outputFilter, packing: request.packing }, this.sendBuffers);
    const response = await this.call<Buffer, PredictResponse>(predictMethod(), sent.bytes, options, sent);
    const outputs: Record<string, Tensor> = {};
    for (const [name, proto] of Object.entries(response.outputs ?? {})) {
      try {
        outputs[name] = decodeTensor(proto);
      } catch (error) {
        if (error instanceof ResponseError) throw new ResponseError(`output "${name}": ${error.message}`, { cause: error });
        throw error;
      }
    }
    return { modelSpec: modelSpecInfo(response.model_spec), outputs };
  }

  /** Classifies examples (PredictionService/Classify): per example, its classes and scores. */
  async classify(request: ExamplesInput, options?: CallOptions): Promise<{ modelSpec: ModelSpecInfo; classifications: ClassLabel[][] }> {
    const message: ClassificationRequest = { model_spec: modelSpecFor(request), input: examplesInput(request) };
    const response = await this.call<ClassificationRequest, ClassificationResponse>(methodDefinition(PREDICTION_SERVICE, "Classify"), message, options);
    const classifications = (response.result?.classifications ?? []).map((item) =>
      (item.classes ?? []).map((c) => ({ label: c.label ?? "", score: Number(c.score ?? 0) })),
    );
    return { modelSpec: modelSpecInfo(response.model_spec), classifications };
  }

  /** Regression on examples (PredictionService/Regress): one value per example. */
  async regress(request: ExamplesInput, options?: CallOptions): Promise<{ modelSpec: ModelSpecInfo; values: number[] }> {
    const message: RegressionRequest = { model_spec: modelSpecFor(request), input: examplesInput(request) };
    const response = await this.call<RegressionRequest, RegressionResponse>(methodDefinition(PREDICTION_SERVICE, "Regress"), message, options);
    return { modelSpec: modelSpecInfo(response.model_spec), values: (response.result?.regressions ?? []).map((r) => Number(r.value ?? 0)) };
  }

  /** The model's signatures (PredictionService/GetModelMetadata with "signature_def"). */
  async getModelMetadata(ref: ModelRef, options?: CallOptions): Promise<ModelMetadata> {
    const message: GetModelMetadataRequest = { model_spec: modelSpecFor({ model: ref.model, version: ref.version, label: ref.label }), metadata_field: ["signature_def"] };
    const response = await this.call<GetModelMetadataRequest, GetModelMetadataResponse>(methodDefinition(PREDICTION_SERVICE, "GetModelMetadata"), message, options);
    const packed = response.metadata?.["signature_def"];
    if (!packed) throw new ResponseError("GetModelMetadata response has no signature_def metadata");
    const type = packed["@type"];
    if (typeof type !== "string" || !type.endsWith("/tensorflow.serving.SignatureDefMap")) {
      throw new ResponseError(`signature_def metadata holds ${String(type ?? packed.type_url)}, not tensorflow.serving.SignatureDefMap`);
    }
    const signatureDefs = (packed["signature_def"] ?? {}) as Record<string, SignatureDef>;
    const signatures = Object.fromEntries(Object.entries(signatureDefs).map(([name, def]) => [name, signatureFromDef(name, def)]));
    return { modelSpec: modelSpecInfo(response.model_spec), signatureDefs, signatures };
  }

  /** Every version's state, or the one version asked for (ModelService/GetModelStatus). */
  async getModelStatus(ref: ModelRef, options?: CallOptions): Promise<ModelVersionState[]> {
    const message: GetModelStatusRequest = { model_spec: modelSpecFor({ model: ref.model, version: ref.version, label: ref.label }) };
    const response = await this.call<GetModelStatusRequest, GetModelStatusResponse>(methodDefinition(MODEL_SERVICE, "GetModelStatus"), message, options);
    return (response.model_version_status ?? []).map((entry) => ({
      version: safeNumber(entry.version ?? 0, "model_version_status.version"),
      state: String(entry.state ?? "UNKNOWN"),
      status: { code: String(entry.status?.error_code ?? "OK"), message: entry.status?.error_message ?? "" },
    }));
  }

  /**
   * Replaces the served models with `config` (ModelService/HandleReloadConfigRequest). Throws
   * ServerStatusError when the server reports a non-OK status.
   */
  async reloadConfig(config: ModelServerConfig, options?: CallOptions): Promise<void> {
    const response = await this.call<ReloadConfigRequest, ReloadConfigResponse>(methodDefinition(MODEL_SERVICE, "HandleReloadConfigRequest"), { config }, options);
    const code = String(response.status?.error_code ?? "OK");
    if (code !== "OK" && code !== "0") throw new ServerStatusError("HandleReloadConfigRequest", code, response.status?.error_message ?? "");
  }

  /** What the pool of large request buffers holds and how often it was reused (see `sendBufferPool`). */
  sendBufferPoolStats(): SendBufferPoolStats {
    return this.sendBuffers.stats();
  }

  /** Closes the channel and drops idle request buffers; calls in flight fail with CancelledError or UnavailableError. */
  close(): void {
    this.channel.close();
    this.sendBuffers.close();
  }

  /** `sent`: the request's buffer, released once grpc-js can no longer read it (releaseAfterCall). */
  private call<Req, Res>(rpc: MethodDefinition<Req, Res>, request: Req, options: CallOptions = {}, sent?: SendBuffer): Promise<Res> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const deadline = timeoutMs > 0 && Number.isFinite(timeoutMs) ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
    return new Promise<Res>((resolve, reject) => {
      if (options.signal?.aborted) {
        sent?.release();
        reject(grpcStatusError(rpc.path, { code: grpc.status.CANCELLED, details: "cancelled before the call started" }));
        return;
      }
      let call: grpc.ClientUnaryCall;
      try {
        call = this.channel.makeUnaryRequest<Req, Res>(
          rpc.path,
          rpc.requestSerialize,
          rpc.responseDeserialize,
          request,
          new grpc.Metadata(),
          { deadline },
          (error, response) => {
            if (sent) releaseAfterCall(sent, !error && response !== undefined);
            options.signal?.removeEventListener("abort", cancel);
            if (error) reject(grpcStatusError(rpc.path, error, this.connection));
            else if (response === undefined) reject(new ResponseError(`${rpc.path.slice(rpc.path.lastIndexOf("/") + 1)}: empty response`));
            else resolve(response);
          },
        );
      } catch (error) {
        if (sent) releaseAfterCall(sent, false);
        throw error;
      }
      const cancel = () => call.cancel();
      options.signal?.addEventListener("abort", cancel, { once: true });
    });
  }
}

/** Predict with the client's own wire format (predict-wire.ts): the request is serialized before the call. */
let predictRpc: MethodDefinition<Buffer, PredictResponse> | undefined;
function predictMethod(): MethodDefinition<Buffer, PredictResponse> {
  predictRpc ??= {
    ...methodDefinition<PredictRequest, PredictResponse>(PREDICTION_SERVICE, "Predict"),
    requestSerialize: (bytes: Buffer) => bytes,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseDeserialize: decodePredictResponse,
  };
  return predictRpc;
}

function examplesInput(request: ExamplesInput): Input {
  if (request.context) return { example_list_with_context: { examples: [...request.examples], context: request.context } };
  return { example_list: { examples: [...request.examples] } };
}
