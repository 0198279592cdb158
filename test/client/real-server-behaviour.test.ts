/**
 * What the client must handle because a real TF Serving does: messages far beyond gRPC's default 4 MiB
 * limit, and no server-side shape check (the graph runs with whatever shape it is fed), which leaves the
 * client's own checks as the only guard before a request goes out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TfServingClient } from "../../client/client";
import { RequestError } from "../../client/errors";
import { predictColumns, predictInstances } from "../../client/predict-json";
import { tensor } from "../../client/tensor-codec";
import { halfPlusTwoModel } from "../grpc/models";
import { startTfServingDouble, type TfServingDouble } from "../grpc/tf-serving-double";

let server: TfServingDouble;
let client: TfServingClient;

beforeAll(async () => {
  server = await startTfServingDouble({ models: [halfPlusTwoModel()] });
  client = new TfServingClient({ endpoint: server.endpoint, timeoutMs: 20_000 });
});

afterAll(async () => {
  client.close();
  await server.close();
});

const predictCalls = () => server.calls.filter((call) => call.method === "Predict").length;

describe("messages over gRPC's default 4 MiB limit", () => {
  it("a 6 MiB request and its 6 MiB response go through, values intact", async () => {
    const count = 1_572_864; // 1.5 Mi float32 = 6 MiB each way
    const x = new Float32Array(count);
    for (let i = 0; i < count; i++) x[i] = i % 1000;
    const { outputs } = await client.predict({ model: "half_plus_two", version: 1, inputs: { x: tensor("DT_FLOAT", x) } });
    const y = outputs["y"]!.values as Float32Array;
    expect(outputs["y"]!.shape).toEqual([count]);
    expect(y.byteLength).toBeGreaterThan(4 * 1024 * 1024);
    expect([y[0], y[1], y[999], y[count - 1]]).toEqual([2, 2.5, 501.5, 0.5 * ((count - 1) % 1000) + 2]);
  });
});

describe("shapes: the server does not check them, the client does", () => {
  it("a real server runs a [2, 1] tensor for a [-1] input: a raw predict goes through", async () => {
    const { outputs } = await client.predict({ model: "half_plus_two", version: 1, inputs: { x: tensor("DT_FLOAT", [[1], [2]]) } });
    expect(outputs["y"]!.shape).toEqual([2, 1]);
  });

  it("predictColumns and predictInstances refuse that shape before sending anything", async () => {
    const before = predictCalls();
    const refused = 'input "x" has shape [2, 1], but signature "serving_default" expects [-1] (-1: any size)';
    const columns = await predictColumns(client, { model: "half_plus_two", version: 1 }, { inputs: [[1], [2]] }).catch((error: unknown) => error);
    expect(columns).toBeInstanceOf(RequestError);
    expect((columns as Error).message).toBe(refused);
    const instances = await predictInstances(client, { model: "half_plus_two", version: 1 }, [[1], [2]]).catch((error: unknown) => error);
    expect(instances).toBeInstanceOf(RequestError);
    expect((instances as Error).message).toBe(refused);
    expect(predictCalls()).toBe(before);
  });
});
