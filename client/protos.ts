/**
 * Loads protos/ at run time with @grpc/proto-loader. The loader options fix how messages look in
 * JS (see messages.ts).
 */
import type { MethodDefinition } from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { existsSync } from "node:fs";
import path from "node:path";

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: true,
  // Unpacks google.protobuf.Any (GetModelMetadata's signature_def) into the message it holds.
  json: true,
};

/** The entry files; they import everything else in protos/. */
export const SERVICE_PROTO_FILES = ["tensorflow_serving/apis/prediction_service.proto", "tensorflow_serving/apis/model_service.proto"];

export const PREDICTION_SERVICE = "tensorflow.serving.PredictionService";
export const MODEL_SERVICE = "tensorflow.serving.ModelService";

/**
 * The protos/ directory of this package. Searched upwards from this file, so the same code works
 * from the TypeScript sources and from the compiled dist/ tree.
 */
export function protosDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "protos");
    if (existsSync(path.join(candidate, "tensorflow_serving", "apis", "predict.proto"))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`protos/ not found above ${__dirname}`);
  }
}

let cached: protoLoader.PackageDefinition | undefined;

/** The TF Serving package definition (loaded once per process). */
export function tfServingPackageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(SERVICE_PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [protosDir()] });
  return cached;
}

export type ServiceName = typeof PREDICTION_SERVICE | typeof MODEL_SERVICE;

/** One RPC of a service: path, serializer and deserializer. */
export function methodDefinition<Req, Res>(service: ServiceName, method: string): MethodDefinition<Req, Res> {
  const definition = tfServingPackageDefinition()[service] as unknown as Record<string, MethodDefinition<Req, Res>> | undefined;
  const rpc = definition?.[method];
  if (!rpc) throw new Error(`${service}/${method} is not in protos/`);
  return rpc;
}
