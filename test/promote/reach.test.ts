/**
 * Reaching a stack's Services through `kubectl port-forward`: the real smoke library checks TF Serving
 * doubles through a stand-in kubectl (fixtures/fake-kubectl.js) that forwards like the real one, so
 * the arguments, the "Forwarding from" handshake, the failures and the clean-up are all exercised.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SmokeTargets } from "../../contracts/smoke-targets";
import { forwardedPort, portForwardArgs, portForwardReach, serviceAddress } from "../../promote/reach";
import { librarySmoker } from "../../promote/smoke";
import { DEFAULT_FIXTURES_DIR } from "../../smoke-tests/lib/settings";
import { startTfServingDouble, type TfServingDouble } from "../grpc/tf-serving-double";
import { linearModel } from "../smoke/smoke-doubles";

const dir = mkdtempSync(path.join(tmpdir(), "fake-kubectl-"));
const logFile = path.join(dir, "calls.jsonl");
const kubectl = [process.execPath, path.join(__dirname, "fixtures", "fake-kubectl.js")];
let servers: TfServingDouble[] = [];

beforeAll(async () => {
  servers = await Promise.all([0, 1].map(() => startTfServingDouble({ models: [linearModel({ versions: [{ version: 5 }], labels: { stable: 5 } })] })));
  // the stand-in reads these (as kubectl reads its kubeconfig)
  process.env["FAKE_KUBECTL_LOG"] = logFile;
  process.env["FAKE_KUBECTL_UPSTREAMS"] = JSON.stringify({ "ml-prod/ml/linear-serving": servers[0]!.endpoint, "ml-prod/serving/vision-serving": servers[1]!.endpoint });
});
beforeEach(() => writeFileSync(logFile, ""));
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

const calls = () => readFileSync(logFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { args: string[]; pid: number });
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const target = (name: string, grpc: string): SmokeTargets["endpoints"][number] => ({
  name,
  grpc,
  pods: { dns: `${name}-headless.ml.svc.cluster.local:8500` },
  models: [{ name: "linear", version: 5, label: "stable" }],
});

const smoker = librarySmoker(
  { waitSeconds: 2, latencySamples: 2, callTimeoutSeconds: 5, fixturesDir: DEFAULT_FIXTURES_DIR, pollIntervalMs: 50 },
  portForwardReach({ context: (stack) => (stack === "prod" ? "ml-prod" : stack), command: kubectl, readyTimeoutMs: 10_000 }),
);

describe("port-forward reach", () => {
  it("forwards each endpoint's Service in the stack's context, smokes through it, and closes the forwards", async () => {
    const progress: string[] = [];
    const report = await smoker.smoke(
      "prod",
      { endpoints: [target("linear", "linear-serving.ml.svc.cluster.local:8500"), target("vision", "vision-serving.serving.svc:8500")] },
      (line) => progress.push(line),
    );

    expect(report.error).toBeNull();
    expect(report.ok).toBe(true);
    expect(report.source).toBe("stack prod (smokeTargets output, via kubectl port-forward)");
    const recorded = calls();
    expect(recorded.map((c) => c.args).sort()).toEqual([
      ["--context", "ml-prod", "--namespace", "ml", "port-forward", "service/linear-serving", ":8500", "--address", "127.0.0.1"],
      ["--context", "ml-prod", "--namespace", "serving", "port-forward", "service/vision-serving", ":8500", "--address", "127.0.0.1"],
    ]);
    // the Services were checked through the forwards; pods cannot be reached through one
    expect(report.endpoints.map((e) => e.address)).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/), expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
    expect(report.results.filter((r) => r.check === "pods").map((r) => r.outcome)).toEqual(["skipped", "skipped"]);
    expect(report.results.filter((r) => r.check === "label").map((r) => `${r.endpoint} ${r.outcome}`)).toEqual(["linear passed", "vision passed"]);
    expect(progress).toContain(`endpoint linear: port-forwarded to ${report.endpoints[0]!.address} (prod, context ml-prod)`);
    expect(recorded.every((c) => !alive(c.pid))).toBe(true);
  });

  it("reports kubectl's own error when a Service cannot be forwarded, and closes the forwards that started", async () => {
    const report = await smoker.smoke(
      "prod",
      { endpoints: [target("linear", "linear-serving.ml.svc.cluster.local:8500"), target("ranker", "ranker-serving.ml.svc.cluster.local:8500")] },
      () => undefined,
    );
    expect(report.ok).toBe(false);
    expect(report.error).toBe(
      "endpoint ranker: `kubectl --context ml-prod --namespace ml port-forward service/ranker-serving :8500 --address 127.0.0.1` exited with 1 before forwarding: " +
        'error: services "ranker-serving" not found',
    );
    expect(calls().every((c) => !alive(c.pid))).toBe(true);
  });

  it("refuses targets that are not Service addresses", async () => {
    const report = await smoker.smoke("prod", { endpoints: [target("linear", "10.0.0.7:8500")] }, () => undefined);
    expect(report.error).toBe("endpoint linear: cannot port-forward to 10.0.0.7:8500: not a Kubernetes Service address (<service>.<namespace>.svc...:PORT)");
    expect(calls()).toEqual([]);
  });

  it("reports a missing kubectl", async () => {
    const missing = librarySmoker(
      { waitSeconds: 1, latencySamples: 0, callTimeoutSeconds: 1, fixturesDir: DEFAULT_FIXTURES_DIR },
      portForwardReach({ context: (stack) => stack, command: [path.join(dir, "no-kubectl")] }),
    );
    const report = await missing.smoke("dev", { endpoints: [target("linear", "linear-serving.ml.svc.cluster.local:8500")] }, () => undefined);
    expect(report.error).toMatch(/^endpoint linear: `kubectl --context dev .*` failed: .*no-kubectl was not found on PATH$/);
  });
});

describe("port-forward parts", () => {
  it("reads Service addresses, kubectl's arguments and its Forwarding line", () => {
    expect(serviceAddress("linear-serving.ml.svc.cluster.local:8500")).toEqual({ service: "linear-serving", namespace: "ml", port: 8500 });
    expect(serviceAddress("linear-serving.ml.svc:9000")).toEqual({ service: "linear-serving", namespace: "ml", port: 9000 });
    expect(serviceAddress("linear-serving.ml:8500")).toBeUndefined();
    expect(serviceAddress("127.0.0.1:8500")).toBeUndefined();
    expect(portForwardArgs("staging", { service: "s", namespace: "ml", port: 8500 })).toEqual(["--context", "staging", "--namespace", "ml", "port-forward", "service/s", ":8500", "--address", "127.0.0.1"]);
    expect(forwardedPort("Forwarding from 127.0.0.1:41234 -> 8500")).toBe(41234);
    expect(forwardedPort("Forwarding from [::1]:41234 -> 8500")).toBeUndefined();
    expect(forwardedPort("Handling connection for 41234")).toBeUndefined();
  });
});
