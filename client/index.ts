/**
 * The TF Serving gRPC client library: runtime side, no Pulumi.
 *
 * @example
 * const client = new TfServingClient({ endpoint: "localhost:8500" });
 * const { outputs } = await client.predict({ model: "half_plus_two", inputs: { x: tensor("DT_FLOAT", [[1], [2]]) } });
 * outputs.y.values; // Float32Array [2.5, 3]
 */
export * from "./client";
export * from "./dtypes";
export * from "./errors";
export * from "./json-requests";
export * from "./predict-json";
export * from "./signatures";
export * from "./tensor-codec";
export type * from "./messages";
export { LOADER_OPTIONS, MODEL_SERVICE, PREDICTION_SERVICE, SERVICE_PROTO_FILES, protosDir, tfServingPackageDefinition } from "./protos";
