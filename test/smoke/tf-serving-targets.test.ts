/**
 * The contract end to end: what TfServing's `smokeTarget` output says about a deployment is what the smoke
 * suite checks. A server serving what the TfServing declares passes; one whose labels drifted fails.
 */
import { afterAll, describe, expect, it } from "vitest";
import { TfServing } from "../../components/serving/tf-serving";
import { ModelStore } from "../../components/storage/model-store";
import { parseSmokeTargets, type SmokeTargets } from "../../contracts/smoke-targets";
import { runSmoke } from "../../smoke-tests/lib/run";
import { DEFAULT_FIXTURES_DIR } from "../../smoke-tests/lib/settings";
import { startTfServingDouble, type TfServingDouble } from "../grpc/tf-serving-double";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import { runInMocks, unwrap } from "../harness/pulumi-mocks";
import { linearModel } from "./smoke-doubles";

const servers: TfServingDouble[] = [];
afterAll(async () => Promise.all(servers.map((s) => s.close())));

/** The stack output a TfServing serving linear versions 3, 4 and 5, labelled stable=3 and canary=4, produces. */
async function declaredTargets(): Promise<SmokeTargets> {
  const run = await runInMocks(() => {
    const store = new ModelStore("models", { bucketName: "acme-models" });
    return new TfServing("linear-serving", {
      clusterName: "ml-prod",
      namespace: "ml",
      models: [{ name: "linear", store, versionPolicy: { specific: [3, 4, 5] }, versionLabels: { stable: 3, canary: 4 } }],
    });
  });
  await expectValidKubernetesObjects(run);
  // as `pulumi stack output smokeTargets --json` prints it
  return parseSmokeTargets(JSON.parse(JSON.stringify({ endpoints: [await unwrap(run.result.smokeTarget)] })));
}

async function smoke(labels: Record<string, number>) {
  const server = await startTfServingDouble({ models: [linearModel({ versions: [{ version: 3 }, { version: 4 }, { version: 5 }], labels })] });
  servers.push(server);
  const targets = await declaredTargets();
  return runSmoke(targets, {
    waitSeconds: 1,
    latencySamples: 2,
    callTimeoutSeconds: 5,
    fixturesDir: DEFAULT_FIXTURES_DIR,
    // the in-cluster name does not resolve here: reach the double as through a port-forward
    endpointAddresses: { "linear-serving": server.endpoint },
  });
}

describe("TfServing's smokeTarget checked by the smoke suite", () => {
  it("passes every check, per labelled and specific version, on a server that serves what was declared", async () => {
    const targets = await declaredTargets();
    expect(targets.endpoints[0]).toMatchObject({ grpc: "linear-serving.ml.svc.cluster.local:8500", pods: { dns: "linear-serving-headless.ml.svc.cluster.local:8500" } });
    const run = await smoke({ stable: 3, canary: 4 });
    const checks = run.results.filter((r) => r.model !== null).map((r) => `${r.version}${r.label ? `/${r.label}` : ""} ${r.check} ${r.outcome}`);
    expect(checks).toEqual([
      ...["status", "label", "metadata", "predict", "latency"].map((c) => `3/stable ${c} passed`),
      ...["status", "label", "metadata", "predict", "latency"].map((c) => `4/canary ${c} passed`),
      ...["status", "metadata", "predict", "latency"].map((c) => `5 ${c} passed`),
    ]);
    expect(run.endpoints[0]!.ok).toBe(true);
  });

  it("fails the label check when the server's labels differ from the declared ones", async () => {
    const run = await smoke({ stable: 4, canary: 4 });
    const failed = run.results.filter((r) => r.outcome === "failed");
    expect(failed.map((r) => r.message)).toEqual([
      expect.stringMatching(/^endpoint linear-serving, service [\d.:]+, model linear \(version 3, label stable\): label failed: expected label stable served by version 3; observed Predict by label stable served version 4$/),
    ]);
  });
});
