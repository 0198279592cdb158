/**
 * TypeScript shapes of the protos/ messages as the client exchanges them with @grpc/proto-loader
 * (see LOADER_OPTIONS in protos.ts): snake_case field names, enums as their names, 64-bit
 * integers as decimal strings (numbers are accepted on the way out), bytes as Buffers, and
 * google.protobuf.Any values unpacked into `{ "@type": ..., ...fields }`.
 * Only the messages and fields the client uses are spelled out.
 */
import type { DType } from "./dtypes";

/** int64/uint64 as sent (number, bigint-free decimal string) and as received (decimal string). */
export type Int64 = string | number;

export interface TensorShapeProto {
  dim?: { size?: Int64; name?: string }[];
  unknown_rank?: boolean;
}

/** A DataType name: one of the supported dtypes or any other upstream name. */
export type DataTypeName = DType | (string & {});

export interface TensorProto {
  dtype?: DataTypeName;
  tensor_shape?: TensorShapeProto;
  version_number?: number;
  tensor_content?: Uint8Array;
  half_val?: number[];
  /** Floats; with the loader's `json` option, non-finite values arrive as "NaN", "Infinity", "-Infinity". */
  float_val?: (number | string)[];
  double_val?: (number | string)[];
  int_val?: number[];
  string_val?: Uint8Array[];
  int64_val?: Int64[];
  bool_val?: boolean[];
  uint32_val?: number[];
  uint64_val?: Int64[];
  float8_val?: Uint8Array;
}

export interface ModelSpec {
  name?: string;
  version?: { value?: Int64 } | null;
  version_label?: string;
  signature_name?: string;
  /** Set by the loader on received messages: which member of the oneof is present. */
  version_choice?: "version" | "version_label";
}

export interface PredictRequest {
  model_spec: ModelSpec;
  inputs: Record<string, TensorProto>;
  output_filter?: string[];
}

export interface PredictResponse {
  model_spec?: ModelSpec;
  outputs?: Record<string, TensorProto>;
}

export interface TensorInfo {
  name?: string;
  coo_sparse?: { values_tensor_name?: string; indices_tensor_name?: string; dense_shape_tensor_name?: string };
  composite_tensor?: unknown;
  encoding?: "name" | "coo_sparse" | "composite_tensor";
  dtype?: DataTypeName;
  tensor_shape?: TensorShapeProto;
}

export interface SignatureDef {
  inputs?: Record<string, TensorInfo>;
  outputs?: Record<string, TensorInfo>;
  method_name?: string;
  defaults?: Record<string, TensorProto>;
}

export interface SignatureDefMap {
  signature_def?: Record<string, SignatureDef>;
}

export interface AnyMessage {
  "@type"?: string;
  type_url?: string;
  value?: Uint8Array;
  [field: string]: unknown;
}

export interface GetModelMetadataRequest {
  model_spec: ModelSpec;
  metadata_field: string[];
}

export interface GetModelMetadataResponse {
  model_spec?: ModelSpec;
  metadata?: Record<string, AnyMessage>;
}

export interface StatusProto {
  error_code?: string | number;
  error_message?: string;
}

export interface ModelVersionStatus {
  version?: Int64;
  state?: string | number;
  status?: StatusProto;
}

export interface GetModelStatusRequest {
  model_spec: ModelSpec;
}

export interface GetModelStatusResponse {
  model_version_status?: ModelVersionStatus[];
}

/** FileSystemStoragePathSourceConfig.ServableVersionPolicy. */
export type ServableVersionPolicy =
  | { latest: { num_versions?: number } }
  | { all: Record<string, never> }
  | { specific: { versions: Int64[] } };

export interface ModelConfig {
  name: string;
  base_path: string;
  model_platform?: string;
  model_version_policy?: ServableVersionPolicy;
  version_labels?: Record<string, Int64>;
  logging_config?: {
    log_collector_config?: { type?: string; filename_prefix?: string };
    sampling_config?: { sampling_rate?: number; attributes?: number };
  };
}

export interface ModelServerConfig {
  model_config_list?: { config: ModelConfig[] };
  custom_model_config?: AnyMessage;
}

export interface ReloadConfigRequest {
  config?: ModelServerConfig;
  /** Metrics whose increase during the reload the response should report. */
  metric_names?: string[];
}

/** A server metric's increase (int64 as a decimal string). */
export interface Metric {
  name?: string;
  int64_value_increase?: string;
}

export interface ReloadConfigResponse {
  status?: StatusProto;
  metric?: Metric[];
}

export interface Feature {
  bytes_list?: { value: Uint8Array[] };
  float_list?: { value: number[] };
  int64_list?: { value: Int64[] };
  kind?: "bytes_list" | "float_list" | "int64_list";
}

export interface Example {
  features?: { feature?: Record<string, Feature> };
}

export interface Input {
  example_list?: { examples: Example[] };
  example_list_with_context?: { examples: Example[]; context?: Example };
}

export interface ClassificationRequest {
  model_spec: ModelSpec;
  input: Input;
}

export interface ClassificationResponse {
  model_spec?: ModelSpec;
  result?: { classifications?: { classes?: { label?: string; score?: number | string }[] }[] };
}

export interface RegressionRequest {
  model_spec: ModelSpec;
  input: Input;
}

export interface RegressionResponse {
  model_spec?: ModelSpec;
  result?: { regressions?: { value?: number | string }[] };
}
