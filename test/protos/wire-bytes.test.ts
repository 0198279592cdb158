/**
 * Byte-level checks of protos/: known messages must encode to the bytes that upstream's field
 * numbers and wire types dictate. Every expected byte string below was worked out by hand
 * (tag = field_number << 3 | wire_type; varints little-endian base 128; lengths in bytes), then
 * compared against two encoders: protoc (Google's, reading our .proto files) and the runtime path
 * the client uses (@grpc/proto-loader).
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { methodDefinition, MODEL_SERVICE, PREDICTION_SERVICE, protosDir, type ServiceName } from "../../client/protos";
import { encodeTensor, tensor } from "../../client/tensor-codec";

/** Joins hex pieces (spaces allowed) into bytes. */
const hex = (...pieces: string[]) => Buffer.from(pieces.join("").replace(/\s+/g, ""), "hex");
const ascii = (text: string) => Buffer.from(text, "ascii").toString("hex");

/** protoc --encode: Google's encoder, driven by our .proto files. */
function protocEncode(messageType: string, protoFile: string, text: string): Buffer {
  const dir = protosDir();
  return execFileSync("protoc", [`--encode=${messageType}`, "-I", dir, path.join(dir, protoFile)], { input: text });
}

function runtime(service: ServiceName, method: string) {
  const rpc = methodDefinition<unknown, unknown>(service, method);
  return {
    encodeRequest: (message: unknown) => rpc.requestSerialize(message),
    decodeRequest: (bytes: Buffer) => rpc.requestDeserialize(bytes),
    encodeResponse: (message: unknown) => rpc.responseSerialize(message),
    decodeResponse: (bytes: Buffer) => rpc.responseDeserialize(bytes),
  };
}

describe("PredictionService messages", () => {
  const predict = runtime(PREDICTION_SERVICE, "Predict");

  // ModelSpec: name(1)="m", version(2)=Int64Value{value(1)=3}, signature_name(3)="s"
  const modelSpec = "0a01" + ascii("m") + "1202 0803" + "1a01" + ascii("s"); // 10 bytes
  // TensorProto: dtype(1)=DT_FLOAT(1), tensor_shape(2)={dim(2)={size(1)=2}}, float_val(5) packed [1.0f, 2.0f]
  const floatTensor = "0801" + "1204 1202 0802" + "2a08 0000803f 00000040"; // 18 bytes
  // PredictRequest: model_spec(1), inputs(2) map entry {key(1)="x", value(2)=TensorProto}, output_filter(3)="y"
  const predictRequest = hex("0a0a", modelSpec, "1217", "0a01", ascii("x"), "1212", floatTensor, "1a01", ascii("y"));

  it("PredictRequest with version, signature and a float_val tensor", () => {
    const message = {
      model_spec: { name: "m", version: { value: 3 }, signature_name: "s" },
      inputs: { x: encodeTensor(tensor("DT_FLOAT", [1, 2]), { packing: "values" }) },
      output_filter: ["y"],
    };
    expect(predict.encodeRequest(message).toString("hex")).toBe(predictRequest.toString("hex"));
    const text = `model_spec { name: "m" version { value: 3 } signature_name: "s" }
      inputs { key: "x" value { dtype: DT_FLOAT tensor_shape { dim { size: 2 } } float_val: 1 float_val: 2 } }
      output_filter: "y"`;
    expect(protocEncode("tensorflow.serving.PredictRequest", "tensorflow_serving/apis/predict.proto", text).toString("hex")).toBe(predictRequest.toString("hex"));
    expect(predict.decodeRequest(predictRequest)).toMatchObject({
      model_spec: { name: "m", version: { value: "3" }, signature_name: "s", version_choice: "version" },
      inputs: { x: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "2" }] }, float_val: [1, 2] } },
      output_filter: ["y"],
    });
  });

  it("version_label is field 4 of ModelSpec, in the version_choice oneof", () => {
    // PredictRequest{model_spec(1)=ModelSpec{name(1)="m", version_label(4)="canary"}} ; inputs empty
    const spec = hex("0a01", ascii("m"), "2206", ascii("canary"));
    const encoded = predict.encodeRequest({ model_spec: { name: "m", version_label: "canary" }, inputs: {} });
    expect(encoded.toString("hex")).toBe(hex("0a0b", spec.toString("hex")).toString("hex"));
    expect(protocEncode("tensorflow.serving.ModelSpec", "tensorflow_serving/apis/model.proto", 'name: "m" version_label: "canary"').toString("hex")).toBe(spec.toString("hex"));
    expect(predict.decodeRequest(encoded)).toMatchObject({ model_spec: { version_label: "canary", version_choice: "version_label" } });
  });

  it("TensorProto variants: tensor_content, half_val, int64_val, uint64_val, string_val, unknown_rank", () => {
    const cases: [string, unknown, string][] = [
      // tensor_content(4) = little-endian float32 bytes
      ["dtype: DT_FLOAT tensor_shape { dim { size: 2 } } tensor_content: '\\000\\000\\200?\\000\\000\\000@'", encodeTensor(tensor("DT_FLOAT", [1, 2])), "0801 1204 1202 0802 2208 0000803f 00000040"],
      // dtype DT_HALF = 19 (0x13); half_val(13) packed: tag 0x6a, 1.0 = 0x3c00 = varint 80 78
      ["dtype: DT_HALF tensor_shape { dim { size: 1 } } half_val: 15360", encodeTensor(tensor("DT_HALF", [1]), { packing: "values" }), "0813 1204 1202 0801 6a02 8078"],
      // dtype DT_INT64 = 9; int64_val(10) packed: tag 0x52; -1 = ten-byte varint; 2^53+1 = 81 80 80 80 80 80 80 10
      [
        "dtype: DT_INT64 tensor_shape { dim { size: 2 } } int64_val: -1 int64_val: 9007199254740993",
        encodeTensor(tensor("DT_INT64", [-1, 9007199254740993n]), { packing: "values" }),
        "0809 1204 1202 0802 5212 ffffffffffffffffff01 8180808080808010",
      ],
      // dtype DT_UINT64 = 23 (0x17); uint64_val(17) packed: tag 138 = varint 8a 01
      [
        "dtype: DT_UINT64 tensor_shape { dim { size: 1 } } uint64_val: 18446744073709551615",
        encodeTensor(tensor("DT_UINT64", [18446744073709551615n]), { packing: "values" }),
        "0817 1204 1202 0801 8a010a ffffffffffffffffff01",
      ],
      // dtype DT_STRING = 7; string_val(8): tag 0x42 per value
      ['dtype: DT_STRING tensor_shape { dim { size: 2 } } string_val: "a" string_val: "bc"', encodeTensor(tensor("DT_STRING", ["a", "bc"])), "0807 1204 1202 0802 4201 61 4202 6263"],
      // scalar: tensor_shape present but empty; bool_val(11) packed: tag 0x5a
      ["dtype: DT_BOOL tensor_shape { } bool_val: true", encodeTensor(tensor("DT_BOOL", true), { packing: "values" }), "080a 1200 5a01 01"],
    ];
    for (const [text, message, expected] of cases) {
      const bytes = hex(expected);
      expect(protocEncode("tensorflow.TensorProto", "tensorflow/core/framework/tensor.proto", text).toString("hex")).toBe(bytes.toString("hex"));
      // Through the runtime encoder: PredictRequest.inputs{"t": <tensor>} = 12 <len> 0a01 74 12 <len> <tensor>
      const wrapped = hex("12", (bytes.length + 5).toString(16).padStart(2, "0"), "0a01", ascii("t"), "12", bytes.length.toString(16).padStart(2, "0"), expected);
      expect(predict.encodeRequest({ model_spec: undefined, inputs: { t: message } }).toString("hex")).toBe(wrapped.toString("hex"));
    }
    // TensorShapeProto.unknown_rank is field 3 (bool)
    expect(protocEncode("tensorflow.TensorShapeProto", "tensorflow/core/framework/tensor_shape.proto", "unknown_rank: true").toString("hex")).toBe("1801");
  });

  it("PredictResponse: outputs(1) and model_spec(2)", () => {
    // outputs entry {key "y", value TensorProto{dtype 1, shape [1], float_val [2.5]}} ; model_spec{name "m", version{1}}
    const tensorBytes = "0801 1204 1202 0801 2a04 00002040"; // 14 bytes
    const bytes = hex("0a13", "0a01", ascii("y"), "120e", tensorBytes, "1207", "0a01", ascii("m"), "1202 0801");
    const response = predict.decodeResponse(bytes);
    expect(response).toMatchObject({ model_spec: { name: "m", version: { value: "1" } }, outputs: { y: { dtype: "DT_FLOAT", float_val: [2.5] } } });
    const text = 'outputs { key: "y" value { dtype: DT_FLOAT tensor_shape { dim { size: 1 } } float_val: 2.5 } } model_spec { name: "m" version { value: 1 } }';
    expect(protocEncode("tensorflow.serving.PredictResponse", "tensorflow_serving/apis/predict.proto", text).toString("hex")).toBe(bytes.toString("hex"));
  });

  it("GetModelMetadataResponse: the signature_def Any holds a SignatureDefMap", () => {
    // TensorInfo{name(1)="x:0", dtype(2)=DT_FLOAT, tensor_shape(3)={dim{size=-1}}}: 5 + 2 + 15 = 22 bytes
    const tensorInfo = "0a03" + ascii("x:0") + "1001" + "1a0d 120b 08 ffffffffffffffffff01";
    // SignatureDef{inputs(1) {"x": TensorInfo}, method_name(3)}: 29 + 28 = 57 bytes
    const signatureDef = "0a1b 0a01" + ascii("x") + "1216" + tensorInfo + "1a1a" + ascii("tensorflow/serving/predict");
    // SignatureDefMap{signature_def(1) {"serving_default": SignatureDef}}: 78 bytes
    const signatureDefMap = "0a4c 0a0f" + ascii("serving_default") + "1239" + signatureDef;
    // Any{type_url(1), value(2)}: 56 + 80 = 136 bytes
    const any = "0a36" + ascii("type.googleapis.com/tensorflow.serving.SignatureDefMap") + "124e" + signatureDefMap;
    // GetModelMetadataResponse{model_spec(1)={name "m", version{1}}, metadata(2) {"signature_def": Any}}
    const bytes = hex("0a07 0a01", ascii("m"), "1202 0801", "129a01 0a0d", ascii("signature_def"), "128801", any);

    const text = `model_spec { name: "m" version { value: 1 } }
      metadata { key: "signature_def" value {
        [type.googleapis.com/tensorflow.serving.SignatureDefMap] {
          signature_def { key: "serving_default" value {
            inputs { key: "x" value { name: "x:0" dtype: DT_FLOAT tensor_shape { dim { size: -1 } } } }
            method_name: "tensorflow/serving/predict" } } } } }`;
    expect(protocEncode("tensorflow.serving.GetModelMetadataResponse", "tensorflow_serving/apis/get_model_metadata.proto", text).toString("hex")).toBe(
      bytes.toString("hex"),
    );
    const metadata = runtime(PREDICTION_SERVICE, "GetModelMetadata");
    const decoded = metadata.decodeResponse(bytes) as { metadata: Record<string, Record<string, unknown>> };
    expect(decoded.metadata["signature_def"]).toEqual({
      "@type": "type.googleapis.com/tensorflow.serving.SignatureDefMap",
      signature_def: {
        serving_default: {
          inputs: { x: { name: "x:0", encoding: "name", dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "-1" }] } } },
          outputs: {},
          defaults: {},
          method_name: "tensorflow/serving/predict",
        },
      },
    });
    expect(metadata.encodeResponse(decoded).toString("hex")).toBe(bytes.toString("hex"));
  });

  it("ClassificationRequest carries tf.Examples: Input(1).example_list(1).examples(1).features(1).feature map", () => {
    // FloatList{value(1) packed [1.5f]} = 0a04 0000c03f ; Feature{float_list(2)} ; Features{feature(1) {"x": Feature}}
    const example = "0a0f 0a0d 0a01" + ascii("x") + "1208 1206 0a04 0000c03f";
    const bytes = hex("0a03 0a01", ascii("m"), "1215 0a13 0a11", example);
    const classify = runtime(PREDICTION_SERVICE, "Classify");
    const message = { model_spec: { name: "m" }, input: { example_list: { examples: [{ features: { feature: { x: { float_list: { value: [1.5] } } } } }] } } };
    expect(classify.encodeRequest(message).toString("hex")).toBe(bytes.toString("hex"));
    const text = 'model_spec { name: "m" } input { example_list { examples { features { feature { key: "x" value { float_list { value: 1.5 } } } } } } }';
    expect(protocEncode("tensorflow.serving.ClassificationRequest", "tensorflow_serving/apis/classification.proto", text).toString("hex")).toBe(bytes.toString("hex"));
  });
});

describe("ModelService messages", () => {
  it("GetModelStatusResponse: ModelVersionStatus{version(1), state(2)=AVAILABLE(30), status(3)}", () => {
    // status StatusProto{error_code(1)=NOT_FOUND(5), error_message(2)="x"}
    const bytes = hex("0a0b 0801 101e 1a05 0805 1201", ascii("x"));
    const status = runtime(MODEL_SERVICE, "GetModelStatus");
    expect(status.decodeResponse(bytes)).toEqual({ model_version_status: [{ version: "1", state: "AVAILABLE", status: { error_code: "NOT_FOUND", error_message: "x" } }] });
    const text = 'model_version_status { version: 1 state: AVAILABLE status { error_code: NOT_FOUND error_message: "x" } }';
    expect(protocEncode("tensorflow.serving.GetModelStatusResponse", "tensorflow_serving/apis/get_model_status.proto", text).toString("hex")).toBe(bytes.toString("hex"));
  });

  // ModelConfig{name(1), base_path(2), model_platform(4), model_version_policy(7)={specific(102)={versions(1) packed}}, version_labels(8)}
  const modelConfig =
    "0a01" + ascii("m") + "1209" + ascii("/models/m") + "220a" + ascii("tensorflow") + "3a07 b206 04 0a02 0102" + "420a 0a06" + ascii("stable") + "1001";
  const modelServerConfig = hex("0a31 0a2f", modelConfig); // ModelServerConfig{model_config_list(1)={config(1)=ModelConfig}}
  const configText = `model_config_list { config {
    name: "m" base_path: "/models/m" model_platform: "tensorflow"
    model_version_policy { specific { versions: 1 versions: 2 } }
    version_labels { key: "stable" value: 1 } } }`;

  it("ModelServerConfig (TF Serving's --model_config_file) encodes as upstream's field numbers dictate", () => {
    expect(protocEncode("tensorflow.serving.ModelServerConfig", "tensorflow_serving/config/model_server_config.proto", configText).toString("hex")).toBe(
      modelServerConfig.toString("hex"),
    );
  });

  it("ReloadConfigRequest{config(1)} carries it over gRPC", () => {
    const reload = runtime(MODEL_SERVICE, "HandleReloadConfigRequest");
    const message = {
      config: {
        model_config_list: {
          config: [{ name: "m", base_path: "/models/m", model_platform: "tensorflow", model_version_policy: { specific: { versions: [1, 2] } }, version_labels: { stable: 1 } }],
        },
      },
    };
    expect(reload.encodeRequest(message).toString("hex")).toBe(hex("0a33", modelServerConfig.toString("hex")).toString("hex"));
    // ReloadConfigResponse{status(1)={error_code(1)=INVALID_ARGUMENT(3)}}
    expect(reload.decodeResponse(hex("0a02 0803"))).toEqual({ status: { error_code: "INVALID_ARGUMENT" }, metric: [] });
  });

  it("ReloadConfigRequest.metric_names(2) and ReloadConfigResponse.metric(2) = Metric{name(1), int64_value_increase(2) in oneof value_increase}", () => {
    const reload = runtime(MODEL_SERVICE, "HandleReloadConfigRequest");
    const file = "tensorflow_serving/apis/model_management.proto";
    const request = hex("1201", ascii("m"));
    expect(reload.encodeRequest({ metric_names: ["m"] }).toString("hex")).toBe(request.toString("hex"));
    expect(protocEncode("tensorflow.serving.ReloadConfigRequest", file, 'metric_names: "m"').toString("hex")).toBe(request.toString("hex"));
    const response = hex("1205 0a01", ascii("m"), "1003");
    expect(protocEncode("tensorflow.serving.ReloadConfigResponse", file, 'metric { name: "m" int64_value_increase: 3 }').toString("hex")).toBe(response.toString("hex"));
    expect(reload.decodeResponse(response)).toEqual({ metric: [{ name: "m", int64_value_increase: "3", value_increase: "int64_value_increase" }] });
  });

  it("LoggingConfig.custom_logging_config(3) is an Any; SamplingConfig.per_task_sampling_configs(3) with an explicit-presence task_index(2)", () => {
    const file = "tensorflow_serving/config/logging_config.proto";
    expect(protocEncode("tensorflow.serving.LoggingConfig", file, 'custom_logging_config { type_url: "t" }').toString("hex")).toBe(hex("1a03 0a01", ascii("t")).toString("hex"));
    // sampling_rate(1) double 0.5; per_task_sampling_configs(3) = {dc(1)="a", task_index(2)=0 (present: proto3 optional), sampling_rate(3) double 1.0}
    const text = 'sampling_rate: 0.5 per_task_sampling_configs { dc: "a" task_index: 0 sampling_rate: 1 }';
    const expected = hex("09 000000000000e03f", "1a0e 0a01", ascii("a"), "1000", "19 000000000000f03f");
    expect(protocEncode("tensorflow.serving.SamplingConfig", file, text).toString("hex")).toBe(expected.toString("hex"));
  });

  it("ModelService has exactly TF Serving's two RPCs (no ListModelNames: a real server answers UNIMPLEMENTED)", () => {
    expect(() => methodDefinition(MODEL_SERVICE, "ListModelNames")).toThrow(/ListModelNames is not in protos/);
    expect(methodDefinition(MODEL_SERVICE, "GetModelStatus").path).toBe("/tensorflow.serving.ModelService/GetModelStatus");
  });

  it("ServableVersionPolicy: latest(100), all(101), specific(102)", () => {
    const file = "tensorflow_serving/config/file_system_storage_path_source.proto";
    const type = "tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy";
    expect(protocEncode(type, file, "latest { num_versions: 2 }").toString("hex")).toBe("a2060208" + "02");
    expect(protocEncode(type, file, "all { }").toString("hex")).toBe("aa0600");
    expect(protocEncode(type, file, "specific { versions: 3 }").toString("hex")).toBe("b206030a0103");
  });

  it("MonitoringConfig{prometheus_config(1)={enable(1), path(2)}}", () => {
    const text = 'prometheus_config { enable: true path: "/metrics" }';
    const expected = hex("0a0c 0801 1208", ascii("/metrics"));
    expect(protocEncode("tensorflow.serving.MonitoringConfig", "tensorflow_serving/config/monitoring_config.proto", text).toString("hex")).toBe(expected.toString("hex"));
  });

  it("BatchingParameters: wrapper-typed fields 1-5, allowed_batch_sizes(6) packed, pad_variable_length_inputs(7)", () => {
    const text = `max_batch_size { value: 32 } batch_timeout_micros { value: 1000 } num_batch_threads { value: 4 }
      thread_pool_name { value: "b" } allowed_batch_sizes: 8 allowed_batch_sizes: 32 pad_variable_length_inputs: true`;
    const expected = hex("0a02 0820", "1203 08e807", "2202 0804", "2a03 0a01 62", "3202 0820", "3801");
    expect(protocEncode("tensorflow.serving.BatchingParameters", "tensorflow_serving/servables/tensorflow/session_bundle_config.proto", text).toString("hex")).toBe(
      expected.toString("hex"),
    );
  });

  it("BatchingParameters: enable_large_batch_splitting(8) BoolValue, max_execution_batch_size(9) Int64Value", () => {
    const text = "enable_large_batch_splitting { value: true } max_execution_batch_size { value: 16 }";
    expect(protocEncode("tensorflow.serving.BatchingParameters", "tensorflow_serving/servables/tensorflow/session_bundle_config.proto", text).toString("hex")).toBe(
      hex("4202 0801", "4a02 0810").toString("hex"),
    );
  });
});

describe("DataType", () => {
  it("has upstream's newer values: float8 variants 26-28, int2/uint2 31-32, float4_e2m1fn 33 (and their _REF + 100)", () => {
    const file = "tensorflow/core/framework/tensor.proto";
    for (const [name, number] of [["DT_FLOAT8_E4M3FNUZ", 26], ["DT_FLOAT8_E4M3B11FNUZ", 27], ["DT_FLOAT8_E5M2FNUZ", 28], ["DT_INT2", 31], ["DT_UINT2", 32], ["DT_FLOAT4_E2M1FN", 33], ["DT_FLOAT4_E2M1FN_REF", 133]] as const) {
      const bytes = protocEncode("tensorflow.TensorProto", file, `dtype: ${name}`);
      expect(bytes.toString("hex"), name).toBe(Buffer.from([0x08, ...(number < 128 ? [number] : [(number & 0x7f) | 0x80, number >> 7])]).toString("hex"));
    }
    // the client's decoder names them too (PredictResponse{outputs(1)={key "y", value TensorProto{dtype(1)=33}}})
    const response = runtime(PREDICTION_SERVICE, "Predict").decodeResponse(hex("0a07 0a01", ascii("y"), "1202 0821")) as { outputs: Record<string, { dtype: string }> };
    expect(response.outputs["y"]!.dtype).toBe("DT_FLOAT4_E2M1FN");
  });
});
