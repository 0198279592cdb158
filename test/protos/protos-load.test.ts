import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MODEL_SERVICE, PREDICTION_SERVICE, protosDir, tfServingPackageDefinition } from "../../client/protos";

function protoFiles(dir: string, prefix = ""): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const relative = path.join(prefix, entry);
    if (statSync(path.join(dir, entry)).isDirectory()) return protoFiles(path.join(dir, entry), relative);
    return entry.endsWith(".proto") ? [relative] : [];
  });
}

describe("protos/", () => {
  const dir = protosDir();
  const files = protoFiles(dir);

  it("holds the TF Serving API, TensorFlow and config files at upstream's paths", () => {
    expect(files.sort()).toEqual([
      "google/protobuf/any.proto",
      "google/protobuf/wrappers.proto",
      "tensorflow/core/example/example.proto",
      "tensorflow/core/example/feature.proto",
      "tensorflow/core/framework/resource_handle.proto",
      "tensorflow/core/framework/tensor.proto",
      "tensorflow/core/framework/tensor_shape.proto",
      "tensorflow/core/framework/types.proto",
      "tensorflow/core/protobuf/error_codes.proto",
      "tensorflow/core/protobuf/meta_graph.proto",
      "tensorflow/core/protobuf/struct.proto",
      "tensorflow_serving/apis/classification.proto",
      "tensorflow_serving/apis/get_model_metadata.proto",
      "tensorflow_serving/apis/get_model_status.proto",
      "tensorflow_serving/apis/inference.proto",
      "tensorflow_serving/apis/input.proto",
      "tensorflow_serving/apis/model.proto",
      "tensorflow_serving/apis/model_management.proto",
      "tensorflow_serving/apis/model_service.proto",
      "tensorflow_serving/apis/predict.proto",
      "tensorflow_serving/apis/prediction_service.proto",
      "tensorflow_serving/apis/regression.proto",
      "tensorflow_serving/apis/status.proto",
      "tensorflow_serving/config/file_system_storage_path_source.proto",
      "tensorflow_serving/config/log_collector_config.proto",
      "tensorflow_serving/config/logging_config.proto",
      "tensorflow_serving/config/model_server_config.proto",
      "tensorflow_serving/config/monitoring_config.proto",
      "tensorflow_serving/servables/tensorflow/session_bundle_config.proto",
      "tsl/protobuf/error_codes.proto",
    ]);
  });

  it("every file compiles with protoc alone (the protobuf well-known types it imports are in protos/ too)", () => {
    expect(() => execFileSync("protoc", ["-I", dir, "-o", "/dev/null", ...files.map((f) => path.join(dir, f))], { stdio: "pipe" })).not.toThrow();
  });

  it("@grpc/proto-loader loads both services with upstream's method paths", () => {
    const definition = tfServingPackageDefinition();
    const methods = (service: string) =>
      Object.values(definition[service] as unknown as Record<string, { path: string }>)
        .map((m) => m.path)
        .sort();
    expect(methods(PREDICTION_SERVICE)).toEqual([
      "/tensorflow.serving.PredictionService/Classify",
      "/tensorflow.serving.PredictionService/GetModelMetadata",
      "/tensorflow.serving.PredictionService/MultiInference",
      "/tensorflow.serving.PredictionService/Predict",
      "/tensorflow.serving.PredictionService/Regress",
    ]);
    expect(methods(MODEL_SERVICE)).toEqual([
      "/tensorflow.serving.ModelService/GetModelStatus",
      "/tensorflow.serving.ModelService/HandleReloadConfigRequest",
    ]);
    for (const type of ["tensorflow.serving.ModelServerConfig", "tensorflow.serving.SignatureDefMap", "tensorflow.TensorProto", "tensorflow.error.Code"]) {
      expect(definition[type], type).toBeDefined();
    }
  });
});
