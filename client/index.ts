/**
 * `ml-platform/client`: the TF Serving gRPC client library. Runtime side: it never loads @pulumi/*, so
 * services, scripts and CI jobs can use it without the IaC side. Everything public is named here one by
 * one; the modules' other exports are internal.
 *
 * @example
 * const client = new TfServingClient({ endpoint: "localhost:8500" });
 * const { outputs } = await client.predict({ model: "half_plus_two", inputs: { x: tensor("DT_FLOAT", [[1], [2]]) } });
 * outputs.y.values; // Float32Array [2.5, 3]
 */

// The client and its calls
export {
  DEFAULT_CHANNEL_OPTIONS,
  DEFAULT_TIMEOUT_MS,
  FLOW_CONTROL_WINDOW_BYTES,
  example,
  TfServingClient,
  type CallOptions,
  type ClassLabel,
  type ExamplesInput,
  type FeatureInit,
  type ModelMetadata,
  type ModelRef,
  type ModelSpecInfo,
  type ModelVersionState,
  type PredictInput,
  type PredictResult,
  type SignatureRef,
  type TfServingClientOptions,
} from "./client";
export { DEFAULT_SEND_BUFFER_POOL, type SendBufferPoolOptions, type SendBufferPoolStats } from "./send-buffer-pool";

// Predict with plain JSON, typed by the model's signature (what `mlp predict` runs)
export { describeModel, describeStatus, fetchSignature, parseColumnarRequest, predictColumns, predictInstances, type ColumnarRequest } from "./predict-json";
export type { JsonDocument } from "./json-requests";

// Tensors
export { decodeTensor, encodeTensor, tensor, tensorToJson, type Base64Value, type EncodeOptions, type JsonValue, type Tensor, type TensorLike, type ToJsonOptions } from "./tensor-codec";
export { SUPPORTED_DTYPES, type DType, type TensorValuesOf } from "./dtypes";

// Signatures
export { DEFAULT_SIGNATURE, formatShape, selectSignature, type Signature, type TensorSpec } from "./signatures";

// Errors: classes to branch on, never text to parse
export {
  AbortedError,
  AlreadyExistsError,
  CancelledError,
  DataLossError,
  DeadlineExceededError,
  FailedPreconditionError,
  GRPC_STATUS_NAMES,
  GrpcStatusError,
  InconsistentInstancesError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  PermissionDeniedError,
  RequestError,
  ResourceExhaustedError,
  ResponseError,
  ServerStatusError,
  TensorValueError,
  TfServingError,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
  UnknownError,
} from "./errors";

// TF Serving's messages as the client sends and receives them, and the protos for other gRPC uses
export type {
  DataTypeName,
  Example,
  Feature,
  ModelConfig,
  ModelServerConfig,
  ServableVersionPolicy,
  SignatureDef,
  TensorInfo,
  TensorProto,
  TensorShapeProto,
} from "./messages";
export { MODEL_SERVICE, PREDICTION_SERVICE, protosDir, tfServingPackageDefinition } from "./protos";
