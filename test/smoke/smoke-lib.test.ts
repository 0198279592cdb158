/**
 * The smoke suite's library, in process: settings from the environment, targets and fixtures, pod
 * resolution (with an injected resolver), output comparison and percentiles.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tensor } from "../../client/tensor-codec";
import { signatureFromDef } from "../../client/signatures";
import { smokeFixtureSchema, loadTargets, planModel, stackOutputCommand, TargetsLoadError } from "../../smoke-tests/lib/targets";
import { DEFAULT_FIXTURES_DIR, readSmokeSettings, SmokeSettingsError } from "../../smoke-tests/lib/settings";
import { compareOutput, DEFAULT_TOLERANCE, flattenExpected } from "../../smoke-tests/lib/compare";
import { percentile } from "../../smoke-tests/lib/stats";
import { resolvePods } from "../../smoke-tests/lib/pods";
import { requestProblems } from "../../smoke-tests/lib/checks";
import { planTargets } from "../../smoke-tests/lib/run";
import { TRAINED_LINE } from "./smoke-doubles";

const dir = mkdtempSync(path.join(tmpdir(), "smoke-lib-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, content: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
};

describe("settings from the environment", () => {
  it("defaults: wait 300 s, 20 latency samples, no p95 budget, 10 s calls, the shipped fixtures", () => {
    const settings = readSmokeSettings({ SMOKE_TARGETS: "targets.json" }, "/ci");
    expect(settings.source).toEqual({ kind: "file", path: "/ci/targets.json" });
    expect(settings.waitSeconds).toBe(300);
    expect(settings.latencySamples).toBe(20);
    expect(settings.latencyMsP95).toBeUndefined();
    expect(settings.callTimeoutSeconds).toBe(10);
    expect(settings.fixturesDir).toBe(DEFAULT_FIXTURES_DIR);
    expect(settings.fixturesDir).toBe(path.resolve(__dirname, "../../smoke-tests/fixtures"));
    expect(settings.reportFile).toBeUndefined();
    expect(settings.junitFile).toBeUndefined();
    expect(settings.tlsCaFile).toBeUndefined();
    expect(settings.endpointAddresses).toEqual({});
  });

  it("reads every knob", () => {
    const settings = readSmokeSettings(
      {
        SMOKE_STACK: "staging",
        SMOKE_WAIT_SECONDS: "0.5",
        SMOKE_LATENCY_SAMPLES: "3",
        SMOKE_LATENCY_MS_P95: "250",
        SMOKE_CALL_TIMEOUT_SECONDS: "2",
        SMOKE_REPORT: "out/smoke.json",
        SMOKE_JUNIT: "out/junit.xml",
        SMOKE_TLS_CA: "/etc/ca.pem",
        SMOKE_ENDPOINT_ADDRESSES: "linear-serving=127.0.0.1:8500, other=localhost:9000",
      },
      "/ci",
    );
    expect(settings).toMatchObject({
      source: { kind: "stack", stack: "staging" },
      waitSeconds: 0.5,
      latencySamples: 3,
      latencyMsP95: 250,
      callTimeoutSeconds: 2,
      reportFile: "/ci/out/smoke.json",
      junitFile: "/ci/out/junit.xml",
      tlsCaFile: "/etc/ca.pem",
      endpointAddresses: { "linear-serving": "127.0.0.1:8500", other: "localhost:9000" },
    });
  });

  it("lists every bad variable with what it accepts", () => {
    const attempt = () =>
      readSmokeSettings({
        SMOKE_TARGETS: "a.json",
        SMOKE_STACK: "dev",
        SMOKE_WAIT_SECONDS: "-1",
        SMOKE_LATENCY_SAMPLES: "1.5",
        SMOKE_LATENCY_MS_P95: "0",
        SMOKE_ENDPOINT_ADDRESSES: "linear-serving:8500",
      });
    expect(attempt).toThrow(SmokeSettingsError);
    expect(attempt).toThrow(
      [
        "invalid smoke suite settings:",
        "  - SMOKE_WAIT_SECONDS: must be a number of seconds >= 0, e.g. 300",
        "  - SMOKE_LATENCY_SAMPLES: must be a whole number >= 0, e.g. 20",
        "  - SMOKE_LATENCY_MS_P95: must be a number of milliseconds > 0, e.g. 250",
        '  - SMOKE_ENDPOINT_ADDRESSES: entry "linear-serving:8500" must be ENDPOINT=HOST:PORT (entries separated by commas)',
        "  - set SMOKE_TARGETS (a targets file) or SMOKE_STACK (a Pulumi stack), not both",
      ].join("\n"),
    );
  });
});

describe("targets", () => {
  it("reads a stack's targets with `pulumi stack output smokeTargets --json --stack <stack>`", async () => {
    const calls: Array<[string, readonly string[]]> = [];
    const targets = await loadTargets({ kind: "stack", stack: "prod" }, async (command, args) => {
      calls.push([command, args]);
      return JSON.stringify({ endpoints: [{ name: "a", grpc: "a.ml.svc.cluster.local:8500", pods: { dns: "a-headless.ml.svc.cluster.local:8500" }, models: [{ name: "linear" }] }] });
    });
    expect(calls).toEqual([["pulumi", ["stack", "output", "smokeTargets", "--json", "--stack", "prod"]]]);
    expect(stackOutputCommand("prod")).toEqual(calls[0]);
    expect(targets.endpoints[0]!.pods).toEqual({ dns: "a-headless.ml.svc.cluster.local:8500" });
  });

  it("names the file and the path of each format problem", async () => {
    const file = write("bad-targets.json", JSON.stringify({ endpoints: [{ name: "a", grpc: "no-port", models: [] }] }));
    await expect(loadTargets({ kind: "file", path: file })).rejects.toThrow(TargetsLoadError);
    await expect(loadTargets({ kind: "file", path: file })).rejects.toThrow(
      new RegExp(`^targets file ${file}: invalid smoke targets:\\n  - endpoints\\[0\\]\\.grpc: must be HOST:PORT.*\\n  - endpoints\\[0\\]\\.models: `),
    );
    await expect(loadTargets({ kind: "file", path: write("not-json.json", "{") })).rejects.toThrow(/not-json\.json is not JSON/);
    await expect(loadTargets({ kind: "file", path: path.join(dir, "absent.json") })).rejects.toThrow(/^cannot read targets file .*absent\.json: ENOENT/);
  });

  it("uses the model's fixture only when the target has neither request nor expect", () => {
    write("linear.json", JSON.stringify({ request: { inputs: { x: [[1]] } }, expect: { outputs: { y: [[3]] } } }));
    expect(planModel({ name: "linear" }, dir)).toMatchObject({ request: { inputs: { x: [[1]] } }, expect: { outputs: { y: [[3]] } }, requestFrom: path.join(dir, "linear.json"), signature: "serving_default" });
    const own = planModel({ name: "linear", signature: "other", request: { inputs: { x: [[2]] } } }, dir);
    expect(own).toMatchObject({ request: { inputs: { x: [[2]] } }, requestFrom: "target", signature: "other" });
    expect(own.expect).toBeUndefined();
    expect(planModel({ name: "unknown" }, dir)).toMatchObject({ request: undefined, expect: undefined, requestFrom: "none" });
    expect(planModel({ name: "../linear" }, path.join(dir, "sub")).requestFrom).toBe("none");
  });

  it("rejects an expectation without a request, conflicting signatures and a malformed fixture", () => {
    expect(() => planModel({ name: "linear", expect: { outputs: { y: [1] } } }, dir, "endpoints[0].models[1]")).toThrow(
      'endpoints[0].models[1] (model linear): "expect" needs a "request" to check it against',
    );
    expect(() => planModel({ name: "linear", signature: "a", request: { signature_name: "b", inputs: {} } }, dir)).toThrow(
      'target (model linear): signature "a" differs from the request\'s signature_name "b"',
    );
    write("broken.json", JSON.stringify({ request: { inputs: {} }, expected: {} }));
    expect(() => planModel({ name: "broken" }, dir)).toThrow(/fixture .*broken\.json is not a valid fixture .*\n  - \(root\): Unrecognized key: "expected"/);
  });

  it("rejects repeated endpoint names", () => {
    const endpoint = { name: "a", grpc: "a:1", models: [{ name: "m" }] };
    expect(() => planTargets({ endpoints: [endpoint, endpoint] }, { fixturesDir: dir })).toThrow("endpoint names must be unique (results are reported by name): a appears more than once");
  });

  it("checks SMOKE_ENDPOINT_ADDRESSES against the endpoints' names", () => {
    const targets = { endpoints: [{ name: "a", grpc: "a:1", models: [{ name: "m" }] }] };
    expect(() => planTargets(targets, { fixturesDir: dir, endpointAddresses: { b: "127.0.0.1:1" } })).toThrow(
      "SMOKE_ENDPOINT_ADDRESSES names endpoint b, which the targets lack (they have: a)",
    );
  });
});

describe("the linear fixture", () => {
  const fixture = smokeFixtureSchema.parse(JSON.parse(readFileSync(path.join(DEFAULT_FIXTURES_DIR, "linear.json"), "utf8")));
  const xs = (fixture.request.inputs["x"] as number[][]).map((row) => row[0]!);
  const predict = (line: { slope: number; intercept: number }) => tensor("DT_FLOAT", xs.map((x) => [line.slope * x + line.intercept]));

  it("matches what examples/linear/train.py learns with its defaults", () => {
    expect(compareOutput("y", fixture.expect!.outputs["y"], predict(TRAINED_LINE), fixture.expect!.tolerance!)).toEqual([]);
  });

  it("is tight enough to catch a model trained on another line", () => {
    expect(compareOutput("y", fixture.expect!.outputs["y"], predict({ slope: 2.05, intercept: 1 }), fixture.expect!.tolerance!)).not.toEqual([]);
    expect(compareOutput("y", fixture.expect!.outputs["y"], predict({ slope: 2, intercept: 1.05 }), fixture.expect!.tolerance!)).not.toEqual([]);
  });
});

describe("pods", () => {
  const soon = () => Date.now() + 5_000;

  it("keeps a static list as given, without duplicates", async () => {
    expect(await resolvePods(["10.0.0.2:8500", "10.0.0.1:8500", "10.0.0.2:8500"], { deadline: soon(), pollIntervalMs: 10 })).toEqual({
      ok: true,
      pods: ["10.0.0.2:8500", "10.0.0.1:8500"],
      observed: "3 listed",
    });
  });

  it("resolves a headless Service name to every address, waiting while it resolves to none", async () => {
    const answers: Array<string[] | Error> = [Object.assign(new Error("queryA ENOTFOUND"), { code: "ENOTFOUND" }), [], ["10.0.2.7", "10.0.1.12", "fd00::5"]];
    const waits: string[] = [];
    const asked: string[] = [];
    const resolution = await resolvePods(
      { dns: "linear-serving-headless.ml.svc.cluster.local:8500" },
      {
        deadline: soon(),
        pollIntervalMs: 1,
        onWait: (observed) => waits.push(observed),
        resolver: async (host) => {
          asked.push(host);
          const answer = answers.shift()!;
          if (answer instanceof Error) throw answer;
          return answer;
        },
      },
    );
    expect(asked).toEqual(Array(3).fill("linear-serving-headless.ml.svc.cluster.local"));
    expect(waits).toEqual(["linear-serving-headless.ml.svc.cluster.local did not resolve (ENOTFOUND)", "linear-serving-headless.ml.svc.cluster.local resolved to no address"]);
    expect(resolution).toEqual({
      ok: true,
      pods: ["10.0.1.12:8500", "10.0.2.7:8500", "[fd00::5]:8500"],
      observed: "linear-serving-headless.ml.svc.cluster.local resolved to 10.0.1.12:8500, 10.0.2.7:8500, [fd00::5]:8500",
    });
  });

  it("fails with what it saw once the deadline has passed", async () => {
    const resolution = await resolvePods(
      { dns: "gone.ml.svc.cluster.local:8500" },
      { deadline: Date.now() - 1, pollIntervalMs: 1, resolver: async () => Promise.reject(Object.assign(new Error("nope"), { code: "ENOTFOUND" })) },
    );
    expect(resolution).toEqual({ ok: false, observed: "gone.ml.svc.cluster.local did not resolve (ENOTFOUND)" });
  });
});

describe("comparing outputs", () => {
  const y = tensor("DT_FLOAT", [[1], [2.5]]);

  it("passes within the tolerance and fails beyond it, listing the elements", () => {
    expect(compareOutput("y", [[1.004], [2.496]], y, 0.01)).toEqual([]);
    expect(compareOutput("y", [[1], [2]], y, 0.01)).toEqual(['output "y" differs beyond tolerance 0.01: y[1][0] = 2.5 (expected 2)']);
    expect(compareOutput("y", [[1], [2.5000001]], y, DEFAULT_TOLERANCE)).toEqual([]);
  });

  it("fails on a different shape before looking at values", () => {
    expect(compareOutput("y", [1, 2.5], y, 1)).toEqual(['output "y" has shape [2, 1], expected [2]']);
    expect(compareOutput("y", [[1, 2.5]], y, 1)).toEqual(['output "y" has shape [2, 1], expected [1, 2]']);
  });

  it("compares strings, booleans and 64-bit integers exactly, and rejects a ragged expectation", () => {
    expect(compareOutput("s", ["A", "B"], tensor("DT_STRING", ["A", "C"]), 1)).toEqual(['output "s" differs beyond tolerance 1: s[1] = "C" (expected "B")']);
    expect(compareOutput("b", [true, false], tensor("DT_BOOL", [true, false]), 0)).toEqual([]);
    expect(compareOutput("i", ["9007199254740993", 7], tensor("DT_INT64", [9007199254740993n, 7n]), 0)).toEqual([]);
    expect(compareOutput("i", ["9007199254740993"], tensor("DT_INT64", [9007199254740992n]), 0)).toEqual(['output "i" differs beyond tolerance 0: i[0] = 9007199254740992 (expected "9007199254740993")']);
    expect(flattenExpected([[1], [2, 3]])).toEqual({ problem: "[1] should be an array of 1 (ragged)" });
    expect(compareOutput("y", [[1], [2, 3]], y, 0)).toEqual(['expected output "y" is not a tensor value: [1] should be an array of 1 (ragged)']);
  });

  it("lists at most three differing elements and counts the rest", () => {
    const zeros = tensor("DT_FLOAT", [0, 0, 0, 0, 0]);
    expect(compareOutput("v", [1, 1, 1, 1, 1], zeros, 0)).toEqual(['output "v" differs beyond tolerance 0: v[0] = 0 (expected 1), v[1] = 0 (expected 1), v[2] = 0 (expected 1) and 2 more']);
  });
});

describe("requests against a signature", () => {
  const signature = signatureFromDef("serving_default", {
    inputs: {
      x: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: -1 }, { size: 1 }] } },
      ids: { dtype: "DT_INT32", tensor_shape: { dim: [{ size: -1 }] } },
    },
    outputs: {},
  });

  it("accepts values that fit each input's dtype and shape", () => {
    expect(requestProblems(signature, { x: [[1.5]], ids: [1, 2] })).toEqual([]);
  });

  it("names unknown, missing, mistyped and misshapen inputs", () => {
    expect(requestProblems(signature, { x: [1.5], ids: [1.5], z: [1] })).toEqual([
      'input "x": the request\'s value has shape [1], the signature [-1, 1]',
      expect.stringMatching(/^input "ids": the request's value does not fit DT_INT32: /),
      'the request\'s input "z" is not in the signature',
    ]);
    expect(requestProblems(signature, { x: [[1]] })).toEqual(['the signature requires input "ids", which the request lacks']);
  });
});

describe("percentiles", () => {
  it("uses the nearest rank", () => {
    const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
    expect(percentile(samples, 0.5)).toBe(10);
    expect(percentile(samples, 0.95)).toBe(19);
    expect(percentile([7], 0.95)).toBe(7);
    expect(() => percentile([], 0.5)).toThrow("no samples");
  });
});
