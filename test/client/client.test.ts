import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TfServingClient, example } from "../../client/client";
import {
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  GrpcStatusError,
  InvalidArgumentError,
  NotFoundError,
  RequestError,
  ServerStatusError,
  TensorValueError,
  UnavailableError,
} from "../../client/errors";
import { tensor, tensorToJson } from "../../client/tensor-codec";
import { allTestModels } from "../grpc/models";
import { startTfServingDouble, type TfServingDouble } from "../grpc/tf-serving-double";
import { selfSignedCertificate, type TestCertificate } from "../grpc/tls";

/** A tensor's values as a plain array. */
const flat = (t: { values: unknown }) => Array.from(t.values as ArrayLike<unknown>);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

describe("TfServingClient against a TF Serving double", () => {
  let server: TfServingDouble;
  let client: TfServingClient;

  beforeAll(async () => {
    server = await startTfServingDouble({ models: allTestModels() });
    client = new TfServingClient({ endpoint: server.endpoint, timeoutMs: 5_000 });
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  describe("predict", () => {
    it("computes half_plus_two on the latest version, and reports the spec used", async () => {
      const result = await client.predict({ model: "half_plus_two", inputs: { x: tensor("DT_FLOAT", [1, 2, 5]) } });
      expect(result.modelSpec).toEqual({ name: "half_plus_two", version: 2, signature: "serving_default" });
      expect(result.outputs["y"]!.shape).toEqual([3]);
      expect(flat(result.outputs["y"]!)).toEqual([3.5, 4, 5.5]); // version 2: 0.5x + 3
    });

    it("selects a version by number or by label", async () => {
      const byVersion = await client.predict({ model: "half_plus_two", version: 1, inputs: { x: tensor("DT_FLOAT", [1, 2, 5]) } });
      expect(flat(byVersion.outputs["y"]!)).toEqual([2.5, 3, 4.5]);
      const byLabel = await client.predict({ model: "half_plus_two", label: "stable", inputs: { x: tensor("DT_FLOAT", [4]) } });
      expect(byLabel.modelSpec.version).toBe(1);
      expect(flat(byLabel.outputs["y"]!)).toEqual([4]);
      const request = server.calls.at(-1)!.request as { model_spec: { version_label: string } };
      expect(request.model_spec.version_label).toBe("stable");
    });

    it("sends large inputs in tensor_content, or in *_val fields when asked", async () => {
      const x = new Float32Array(10_000).map((_, i) => i);
      const result = await client.predict({ model: "half_plus_two", version: 1, inputs: { x: tensor("DT_FLOAT", x) } });
      const y = result.outputs["y"]!.values as Float32Array;
      expect(y.length).toBe(10_000);
      expect(y[9_999]).toBe(0.5 * 9_999 + 2);
      const sent = server.calls.at(-1)!.request as { inputs: { x: { tensor_content: Buffer; float_val: number[] } } };
      expect(sent.inputs.x.tensor_content.length).toBe(40_000);
      expect(sent.inputs.x.float_val).toEqual([]);

      await client.predict({ model: "half_plus_two", inputs: { x: tensor("DT_FLOAT", [1]) }, packing: "values" });
      const packed = server.calls.at(-1)!.request as { inputs: { x: { tensor_content?: Buffer; float_val: number[] } } };
      expect(packed.inputs.x.float_val).toEqual([1]);
    });

    it("keeps int64 exact and handles several inputs and outputs of mixed dtypes", async () => {
      const result = await client.predict({
        model: "mixer",
        inputs: {
          ids: tensor("DT_INT64", [[9007199254740993n, -1n]]),
          scale: tensor("DT_DOUBLE", [-0.25]),
          label: tensor("DT_STRING", ["héllo"]),
        },
      });
      expect(result.modelSpec.version).toBe(7);
      expect(tensorToJson(result.outputs["ids_plus_one"]!)).toEqual([[9007199254740994n, 0n]]);
      expect(tensorToJson(result.outputs["doubled"]!)).toEqual([-0.5]);
      expect(tensorToJson(result.outputs["positive"]!)).toEqual([false]);
      expect(tensorToJson(result.outputs["label_upper"]!)).toEqual(["HÉLLO"]);
    });

    it("applies an output filter", async () => {
      const result = await client.predict({
        model: "mixer",
        inputs: { ids: tensor("DT_INT64", [[1, 2]]), scale: tensor("DT_DOUBLE", [1]), label: tensor("DT_STRING", ["a"]) },
        outputFilter: ["doubled"],
      });
      expect(Object.keys(result.outputs)).toEqual(["doubled"]);
    });
  });

  describe("TF Serving's errors, typed", () => {
    const x = () => ({ x: tensor("DT_FLOAT", [1]) });

    it("unknown model: NotFoundError with code 5 and the server's message", async () => {
      const error = await rejection(client.predict({ model: "nope", inputs: x() }));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ code: status.NOT_FOUND, codeName: "NOT_FOUND", details: "Servable not found for request: Latest(nope)" });
      expect((error as Error).message).toBe("Predict failed: NOT_FOUND: Servable not found for request: Latest(nope)");
    });

    it("unknown version: NotFoundError; unknown label: InvalidArgumentError", async () => {
      expect(await rejection(client.predict({ model: "half_plus_two", version: 9, inputs: x() }))).toMatchObject({
        constructor: NotFoundError,
        details: "Servable not found for request: Specific(half_plus_two, 9)",
      });
      expect(await rejection(client.predict({ model: "half_plus_two", label: "beta", inputs: x() }))).toMatchObject({
        constructor: InvalidArgumentError,
        details: "Unrecognized servable version label: beta",
      });
    });

    it("unknown signature: FailedPreconditionError; unknown input: InvalidArgumentError", async () => {
      expect(await rejection(client.predict({ model: "half_plus_two", signature: "other", inputs: x() }))).toMatchObject({
        constructor: FailedPreconditionError,
        code: status.FAILED_PRECONDITION,
        details: 'Serving signature key "other" not found.',
      });
      // TF Serving's own texts: an input under another name, then an extra input
      const error = await rejection(client.predict({ model: "half_plus_two", inputs: { z: tensor("DT_FLOAT", [1]) } }));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as GrpcStatusError).details).toBe(
        "Signature input alias: x(feed name: serving_default_x:0) not found in request and no default value provided. Inputs expected to be in the request {z}, or default input alias set: ",
      );
      const extra = await rejection(client.predict({ model: "half_plus_two", inputs: { x: tensor("DT_FLOAT", [1]), z: tensor("DT_FLOAT", [1]) } }));
      expect(extra).toMatchObject({
        constructor: InvalidArgumentError,
        details: "input size does not match signature: 2!=1 len({x,z}) != len({x}). Sent extra: {z}. Missing but required: {}.",
      });
    });

    it("a wrong dtype is rejected by the server", async () => {
      const error = await rejection(client.predict({ model: "half_plus_two", inputs: { x: tensor("DT_INT32", [1]) } }));
      expect(error).toMatchObject({ constructor: InvalidArgumentError, details: "Expects arg[0] to be float but int32 is provided" });
    });

    it("version and label together, an out-of-range version, or values that do not fill the shape fail before anything is sent", async () => {
      const calls = server.calls.length;
      await expect(client.predict({ model: "half_plus_two", version: 1, label: "stable", inputs: x() })).rejects.toThrow(
        new RequestError("give a version or a label, not both"),
      );
      await expect(client.predict({ model: "half_plus_two", version: "1.5", inputs: x() })).rejects.toThrow(/version must be a non-negative integer/);
      await expect(client.predict({ model: "half_plus_two", version: "9223372036854775808", inputs: x() })).rejects.toThrow(
        new RequestError("version must be at most 9223372036854775807, the largest int64 (got 9223372036854775808)"),
      );
      await expect(client.predict({ model: "half_plus_two", inputs: { x: { dtype: "DT_FLOAT", shape: [2], values: new Float32Array(1) } } })).rejects.toThrow(
        new TensorValueError("shape [2] needs 2 values but the tensor has 1", { input: "x" }),
      );
      expect(server.calls.length).toBe(calls);
    });
  });

  describe("deadlines, cancellation and faults", () => {
    it("a call that outlives its deadline fails with DeadlineExceededError", async () => {
      server.injectFault("GetModelStatus", { delayMs: 1_000 });
      const started = Date.now();
      const error = await rejection(client.getModelStatus({ model: "half_plus_two" }, { timeoutMs: 100 }));
      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect((error as GrpcStatusError).codeName).toBe("DEADLINE_EXCEEDED");
      expect(Date.now() - started).toBeLessThan(900);
    });

    it("an injected UNAVAILABLE is an UnavailableError carrying the details", async () => {
      server.injectFault("Predict", { code: status.UNAVAILABLE, details: "draining" });
      expect(await rejection(client.predict({ model: "half_plus_two", inputs: { x: tensor("DT_FLOAT", [1]) } }))).toMatchObject({
        constructor: UnavailableError,
        code: status.UNAVAILABLE,
        details: "draining",
      });
    });

    it("an aborted signal cancels the call", async () => {
      server.injectFault("GetModelStatus", { delayMs: 500 });
      const controller = new AbortController();
      const call = client.getModelStatus({ model: "half_plus_two" }, { signal: controller.signal });
      setImmediate(() => controller.abort());
      expect(await rejection(call)).toBeInstanceOf(CancelledError);
    });

    it("nothing listening: UnavailableError", async () => {
      const unused = await startTfServingDouble({ models: [] });
      await unused.close();
      const orphan = new TfServingClient({ endpoint: unused.endpoint, timeoutMs: 2_000 });
      try {
        expect(await rejection(orphan.getModelStatus({ model: "m" }))).toBeInstanceOf(UnavailableError);
      } finally {
        orphan.close();
      }
    });
  });

  describe("metadata, status, config", () => {
    it("getModelMetadata unpacks the signature_def Any into a SignatureDefMap", async () => {
      const metadata = await client.getModelMetadata({ model: "half_plus_two", version: 1 });
      expect(metadata.modelSpec).toEqual({ name: "half_plus_two", version: 1 });
      // a TF2 SavedModel also carries its initializer "signature"
      expect(Object.keys(metadata.signatures).sort()).toEqual(["__saved_model_init_op", "classify_x_to_y", "regress_x_to_y", "serving_default"]);
      expect(metadata.signatures["__saved_model_init_op"]).toMatchObject({ methodName: "", inputs: {}, outputs: { __saved_model_init_op: { dtype: "DT_INVALID", shape: null } } });
      expect(metadata.signatures["serving_default"]).toEqual({
        name: "serving_default",
        methodName: "tensorflow/serving/predict",
        inputs: { x: { dtype: "DT_FLOAT", shape: [-1], encoding: "dense" } },
        outputs: { y: { dtype: "DT_FLOAT", shape: [-1], encoding: "dense" } },
        inputsWithDefaults: [],
      });
      expect(metadata.signatureDefs["serving_default"]!.inputs!["x"]!.name).toBe("serving_default_x:0");
      expect(metadata.signatureDefs["serving_default"]!.outputs!["y"]!.name).toBe("StatefulPartitionedCall:0");
      const request = server.calls.at(-1)!.request as { metadata_field: string[] };
      expect(request.metadata_field).toEqual(["signature_def"]);
    });

    it("getModelStatus lists every version (newest first, as TF Serving does), or one", async () => {
      expect(await client.getModelStatus({ model: "half_plus_two" })).toEqual([
        { version: 2, state: "AVAILABLE", status: { code: "OK", message: "" } },
        { version: 1, state: "AVAILABLE", status: { code: "OK", message: "" } },
      ]);
      expect(await client.getModelStatus({ model: "half_plus_two", version: 2 })).toHaveLength(1);
      expect(await rejection(client.getModelStatus({ model: "nope" }))).toMatchObject({ constructor: NotFoundError, details: "Could not find any versions of model nope" });
    });

    it("classify and regress send tf.Examples and return real answers", async () => {
      const examples = [example({ x: 1 }), example({ x: 4 })];
      const regression = await client.regress({ model: "half_plus_two", version: 1, signature: "regress_x_to_y", examples });
      expect(regression.values).toEqual([2.5, 4]);
      const classification = await client.classify({ model: "half_plus_two", version: 1, signature: "classify_x_to_y", examples: [example({ x: 2 })] });
      expect(classification.classifications).toEqual([[{ label: "", score: 3 }]]);
      const wrongMethod = await rejection(client.regress({ model: "half_plus_two", examples }));
      expect(wrongMethod).toBeInstanceOf(InvalidArgumentError);
    });

    it("reloadConfig sends a ModelServerConfig; a non-OK status is a ServerStatusError", async () => {
      const own = await startTfServingDouble({ models: allTestModels() });
      const ownClient = new TfServingClient({ endpoint: own.endpoint });
      try {
        await ownClient.reloadConfig({
          model_config_list: { config: [{ name: "half_plus_two", base_path: "s3://b/models/half_plus_two", model_platform: "tensorflow", version_labels: { stable: 2 } }] },
        });
        expect(own.reloadedConfigs[0]!.model_config_list!.config[0]!.version_labels).toEqual({ stable: "2" });
        const relabelled = await ownClient.predict({ model: "half_plus_two", label: "stable", inputs: { x: tensor("DT_FLOAT", [0]) } });
        expect(relabelled.modelSpec.version).toBe(2);
        await expect(ownClient.reloadConfig({ model_config_list: { config: [{ name: "ghost", base_path: "/models/ghost" }] } })).rejects.toThrow(ServerStatusError);
      } finally {
        ownClient.close();
        await own.close();
      }
    });
  });

  it("client-side value errors are TensorValueErrors naming the input", () => {
    expect(() => tensor("DT_UINT8", [1, 300])).toThrow(TensorValueError);
  });
});

describe("TfServingClient over TLS", () => {
  let certificate: TestCertificate;
  let server: TfServingDouble;

  beforeAll(async () => {
    certificate = selfSignedCertificate();
    server = await startTfServingDouble({ models: allTestModels(), tls: { cert: certificate.cert, key: certificate.key } });
  });
  afterAll(async () => {
    await server.close();
    certificate.cleanup();
  });

  it("talks TLS when given the CA", async () => {
    const client = new TfServingClient({ endpoint: server.endpoint, tls: { ca: certificate.cert } });
    try {
      const result = await client.predict({ model: "half_plus_two", version: 1, inputs: { x: tensor("DT_FLOAT", [2]) } });
      expect(flat(result.outputs["y"]!)).toEqual([3]);
    } finally {
      client.close();
    }
  });

  it("fails with UNAVAILABLE when the certificate is not trusted, or when the client speaks plaintext", async () => {
    for (const tls of [true, false]) {
      const client = new TfServingClient({ endpoint: server.endpoint, tls, timeoutMs: 3_000 });
      try {
        expect(await rejection(client.getModelStatus({ model: "half_plus_two" }))).toBeInstanceOf(UnavailableError);
      } finally {
        client.close();
      }
    }
  });
});
