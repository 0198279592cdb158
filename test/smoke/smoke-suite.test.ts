/**
 * The real smoke suite (`npm run smoke`, a subprocess) against TF Serving doubles on 127.0.0.1: it passes on
 * healthy servers, and fails with a message naming the endpoint, pod, model and check, with the expected and
 * the observed values, for each fault a deployment can have.
 */
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
import { lookup } from "node:dns/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SmokeEndpoint, SmokeTargets } from "../../contracts/smoke-targets";
import type { CheckResult } from "../../smoke-tests/lib/results";
import { halfPlusTwoModel, mixerModel } from "../grpc/models";
import { startTfServingDouble, type TfServingDouble, type TfServingDoubleOptions } from "../grpc/tf-serving-double";
import { selfSignedCertificate } from "../grpc/tls";
import { linearModel, runSmokeSuite, scratchDir, type SmokeRunResult } from "./smoke-doubles";

const scratch = scratchDir();
const servers: TfServingDouble[] = [];

async function serve(options: TfServingDoubleOptions): Promise<TfServingDouble> {
  const server = await startTfServingDouble(options);
  servers.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  scratch.cleanup();
});

/** The results of one check. */
function resultsOf(run: SmokeRunResult, check: CheckResult["check"], where: Partial<Pick<CheckResult, "endpoint" | "pod" | "model">> = {}): CheckResult[] {
  return run.report.results.filter(
    (r) => r.check === check && (where.endpoint === undefined || r.endpoint === where.endpoint) && (where.pod === undefined || r.pod === where.pod) && (where.model === undefined || r.model === where.model),
  );
}

const failures = (run: SmokeRunResult) => run.report.results.filter((r) => r.outcome === "failed");

/** A run that failed on exactly the given checks, each shown by vitest with its message. */
function expectFailedOn(run: SmokeRunResult, expected: Array<{ check: CheckResult["check"]; message: RegExp }>): void {
  // exit 1: a check failed (2 would mean the run could not start)
  expect(run.code, run.stderr).toBe(1);
  expect(run.report.ok).toBe(false);
  const failed = failures(run);
  expect(failed.map((f) => f.check)).toEqual(expected.map((e) => e.check));
  failed.forEach((failure, i) => {
    expect(failure.message).toMatch(expected[i]!.message);
    // vitest reports the failed test with the same message
    expect(`${run.stdout}\n${run.stderr}`).toContain(`SmokeCheckFailure: ${failure.message}`);
  });
}

const linearTarget = (name: string, grpc: string, model: Partial<SmokeEndpoint["models"][number]> = {}, extra: Partial<SmokeEndpoint> = {}): SmokeEndpoint => ({
  name,
  grpc,
  models: [{ name: "linear", version: 1, ...model }],
  ...extra,
});

describe("healthy servers", () => {
  let run: SmokeRunResult;
  let service: TfServingDouble;
  let podA: TfServingDouble;
  let podB: TfServingDouble;
  let half: TfServingDouble;
  const junit = path.join(scratch.dir, "healthy-junit.xml");

  beforeAll(async () => {
    const linear = () => linearModel({ versions: [{ version: 1 }, { version: 2, state: "END" }], labels: { stable: 1 } });
    [service, podA, podB, half] = await Promise.all([
      serve({ models: [linear()] }),
      serve({ models: [linear()] }),
      serve({ models: [linear()] }),
      serve({ models: [halfPlusTwoModel(), mixerModel()] }),
    ]);
    const targets: SmokeTargets = {
      endpoints: [
        // linear has no request: smoke-tests/fixtures/linear.json supplies it
        linearTarget("linear-serving", service.endpoint, { label: "stable", latencyMsP95: 10_000 }, { pods: [podA.endpoint, podB.endpoint] }),
        {
          name: "half-serving",
          grpc: half.endpoint,
          models: [
            { name: "half_plus_two", label: "canary", request: { inputs: { x: [1, 2, 5] } }, expect: { outputs: { y: [3.5, 4, 5.5] } } },
            // mixer: no request and no fixture, so status and metadata only
            { name: "mixer" },
          ],
        },
      ],
    };
    run = await runSmokeSuite(scratch.dir, { targets, env: { SMOKE_JUNIT: junit } });
  });

  it("exits 0 with every check passed, and says so", () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.report.ok).toBe(true);
    expect(run.report.error).toBeNull();
    expect(failures(run)).toEqual([]);
    expect(run.stderr).toMatch(/smoke: \d+ passed, 0 failed, 2 skipped; 2 endpoint\(s\)/);
  });

  it("checks the Service and each pod: status, label, metadata, predict and latency per model", () => {
    const linear = run.report.results.filter((r) => r.endpoint === "linear-serving");
    expect(linear.filter((r) => r.model === null).map((r) => [r.check, r.outcome])).toEqual([["pods", "passed"]]);
    for (const pod of [null, podA.endpoint, podB.endpoint]) {
      const checks = linear.filter((r) => r.model === "linear" && r.pod === pod);
      expect(checks.map((r) => [r.check, r.outcome])).toEqual([
        ["status", "passed"],
        ["label", "passed"],
        ["metadata", "passed"],
        ["predict", "passed"],
        ["latency", "passed"],
      ]);
      expect(checks.every((r) => r.address === (pod ?? service.endpoint) && r.version === 1 && r.label === "stable")).toBe(true);
    }
    expect(run.report.endpoints.find((e) => e.name === "linear-serving")).toMatchObject({ address: service.endpoint, pods: [podA.endpoint, podB.endpoint], ok: true });
  });

  it("uses the model's fixture when the target has no request, and the target's own request otherwise", () => {
    const [fixtured] = resultsOf(run, "predict", { pod: null, model: "linear" });
    expect(fixtured!.expected).toBe("y = [[-1],[1],[3],[5]] (tolerance 0.01)");
    const [own] = resultsOf(run, "predict", { model: "half_plus_two" });
    expect(own!.outcome).toBe("passed");
    expect(own!.observed).toBe("y = [3.5,4,5.5]");
    const predicts = podA.calls.filter((c) => c.method === "Predict");
    // one Predict by label, one checked Predict, then SMOKE_LATENCY_SAMPLES=5 timed ones
    expect(predicts).toHaveLength(7);
    expect((predicts[0]!.request as { model_spec: { version_label: string } }).model_spec.version_label).toBe("stable");
  });

  it("checks status and metadata only for a model with neither request nor fixture", () => {
    const mixer = run.report.results.filter((r) => r.model === "mixer");
    expect(mixer.map((r) => [r.check, r.outcome])).toEqual([
      ["status", "passed"],
      ["metadata", "passed"],
      ["predict", "skipped"],
      ["latency", "skipped"],
    ]);
    expect(mixer[2]!.observed).toBe("not run: no request: the target has none and there is no fixture mixer.json");
  });

  it("reports p50 and p95 latency against the target's budget", () => {
    const latency = resultsOf(run, "latency", { pod: null, model: "linear" })[0]!;
    expect(latency.latency).toMatchObject({ samples: 5, budgetMs: 10_000 });
    expect(latency.latency!.p50Ms).toBeGreaterThan(0);
    expect(latency.latency!.p95Ms).toBeGreaterThanOrEqual(latency.latency!.p50Ms);
    expect(latency.observed).toMatch(/^p50 [\d.]+ ms, p95 [\d.]+ ms, max [\d.]+ ms$/);
    expect(run.stderr).toMatch(/latency linear-serving service linear: p50 [\d.]+ ms, p95 [\d.]+ ms/);
  });

  it("writes a JUnit report with one test case per check", () => {
    const xml = readFileSync(junit, "utf8");
    const cases = [...xml.matchAll(/<testcase [^>]*name="([^"]*)"/g)].map((m) => m[1]!);
    expect(cases).toHaveLength(run.report.results.length + 1);
    expect(cases).toContain(`endpoint linear-serving &gt; pod ${podB.endpoint} &gt; model linear version 1 label stable &gt; predict`);
    expect(xml).toContain('failures="0"');
    expect(xml.match(/<skipped/g)).toHaveLength(2);
  });
});

describe.concurrent("faults", () => {
  it("an endpoint that is down: status fails with UNAVAILABLE after the wait", async () => {
    const gone = await startTfServingDouble({ models: [linearModel()] });
    await gone.close();
    const run = await runSmokeSuite(scratch.dir, { targets: { endpoints: [linearTarget("down-serving", gone.endpoint)] }, env: { SMOKE_WAIT_SECONDS: "0.5" } });
    expectFailedOn(run, [
      { check: "status", message: new RegExp(`^endpoint down-serving, service ${gone.endpoint}, model linear \\(version 1\\): status failed: expected version 1 AVAILABLE; observed UNAVAILABLE: .+ after waiting [\\d.]+ s`) },
    ]);
    expect(resultsOf(run, "predict")[0]).toMatchObject({ outcome: "skipped", observed: "not run: the status check failed" });
  });

  it("a model that is missing: status fails with TF Serving's NOT_FOUND", async () => {
    const server = await serve({ models: [halfPlusTwoModel()] });
    const run = await runSmokeSuite(scratch.dir, { targets: { endpoints: [linearTarget("missing-serving", server.endpoint)] }, env: { SMOKE_WAIT_SECONDS: "0.5" } });
    expectFailedOn(run, [
      { check: "status", message: /model linear \(version 1\): status failed: expected version 1 AVAILABLE; observed NOT_FOUND: Could not find any versions of model linear after waiting [\d.]+ s$/ },
    ]);
  });

  it("a model that stays LOADING past the wait: status fails with the states seen, after showing progress", async () => {
    const server = await serve({ models: [linearModel({ versions: [{ version: 1, state: "LOADING" }] })] });
    // 3 s: long enough that a loaded machine still polls (and prints progress) before the deadline
    const run = await runSmokeSuite(scratch.dir, { targets: { endpoints: [linearTarget("loading-serving", server.endpoint)] }, env: { SMOKE_WAIT_SECONDS: "3" } });
    expectFailedOn(run, [{ check: "status", message: /status failed: expected version 1 AVAILABLE; observed version 1 LOADING after waiting (2\.\d|3|3\.\d) s$/ }]);
    expect(run.stderr).toMatch(/\[smoke \+[\d.]+s\] endpoint loading-serving, service [\d.:]+, model linear \(version 1\): waiting for version 1 AVAILABLE: version 1 LOADING \(\d+ s left\)/);
    expect(server.calls.filter((c) => c.method === "GetModelStatus").length).toBeGreaterThan(2);
  });

  it("a model that becomes AVAILABLE while the suite waits passes, listing what it saw", async () => {
    const model = linearModel({ versions: [{ version: 1, state: "START" }] });
    let statusCalls = 0;
    const server = await serve({
      models: [model],
      onCall: (call) => {
        if (call.method !== "GetModelStatus") return undefined;
        statusCalls += 1;
        model.versions[0]!.state = statusCalls >= 4 ? "AVAILABLE" : statusCalls >= 2 ? "LOADING" : "START";
        return undefined;
      },
    });
    const run = await runSmokeSuite(scratch.dir, { targets: { endpoints: [linearTarget("slow-start", server.endpoint)] }, env: { SMOKE_WAIT_SECONDS: "5" } });
    expect(run.code, run.stderr).toBe(0);
    expect(resultsOf(run, "status")[0]).toMatchObject({ outcome: "passed", observed: "version 1 AVAILABLE" });
    expect(run.stderr).toContain("waiting for version 1 AVAILABLE: version 1 START");
    expect(run.stderr).toContain("waiting for version 1 AVAILABLE: version 1 LOADING");
  });

  it("a version label that points elsewhere: label fails with the version it serves", async () => {
    const server = await serve({ models: [linearModel({ versions: [{ version: 1 }, { version: 2 }], labels: { stable: 2 } })] });
    const run = await runSmokeSuite(scratch.dir, { targets: { endpoints: [linearTarget("label-serving", server.endpoint, { label: "stable" })] } });
    expectFailedOn(run, [
      {
        check: "label",
        message: new RegExp(`^endpoint label-serving, service ${server.endpoint}, model linear \\(version 1, label stable\\): label failed: expected label stable served by version 1; observed Predict by label stable served version 2$`),
      },
    ]);
  });

  it("a signature that lacks an input: metadata fails naming it, predict and latency do not run", async () => {
    const server = await serve({ models: [linearModel({ input: "features" })] });
    const run = await runSmokeSuite(scratch.dir, { targets: { endpoints: [linearTarget("signature-serving", server.endpoint)] } });
    expectFailedOn(run, [
      {
        check: "metadata",
        message:
          /model linear \(version 1\): metadata failed: expected signature "serving_default" with input x accepting the request's values; observed signature "serving_default" has inputs features \(DT_FLOAT \[-1, 1\]\): the request's input "x" is not in the signature; the signature requires input "features", which the request lacks$/,
      },
    ]);
    expect(resultsOf(run, "predict")[0]!.outcome).toBe("skipped");
    expect(resultsOf(run, "latency")[0]!.outcome).toBe("skipped");
  });

  it("a wrong output value: predict fails with the expected and observed values", async () => {
    const server = await serve({ models: [linearModel({ versions: [{ version: 1, slope: 3, intercept: 1 }] })] });
    const junit = path.join(scratch.dir, "wrong-value-junit.xml");
    const run = await runSmokeSuite(scratch.dir, { targets: { endpoints: [linearTarget("value-serving", server.endpoint)] }, env: { SMOKE_JUNIT: junit } });
    expectFailedOn(run, [
      {
        check: "predict",
        message:
          /model linear \(version 1\): predict failed: expected y = \[\[-1\],\[1\],\[3\],\[5\]\] \(tolerance 0\.01\); observed y = \[\[-2\],\[1\],\[4\],\[7\]\]: output "y" differs beyond tolerance 0\.01: y\[0\]\[0\] = -2 \(expected -1\), y\[2\]\[0\] = 4 \(expected 3\), y\[3\]\[0\] = 7 \(expected 5\)$/,
      },
    ]);
    const xml = readFileSync(junit, "utf8");
    expect(xml).toMatch(/<failure message="endpoint value-serving, service [\d.:]+, model linear \(version 1\): predict failed: expected y = /);
  });

  it("an output with the wrong shape: predict fails with both shapes", async () => {
    const server = await serve({ models: [linearModel({ outputShape: "flat" })] });
    const run = await runSmokeSuite(scratch.dir, { targets: { endpoints: [linearTarget("shape-serving", server.endpoint)] } });
    expectFailedOn(run, [{ check: "predict", message: /predict failed: expected y = \[\[-1\],\[1\],\[3\],\[5\]\] \(tolerance 0\.01\); observed y = \[-0\.99962854,0\.99980474,2\.999238,4\.9986715\]: output "y" has shape \[4\], expected \[4, 1\]$/ }]);
  });

  it("p95 over budget: latency fails with p50 and p95 (SMOKE_LATENCY_MS_P95 when the target sets no budget)", async () => {
    const server = await serve({ models: [linearModel()], onCall: (call) => (call.method === "Predict" ? { delayMs: 40 } : undefined) });
    const run = await runSmokeSuite(scratch.dir, {
      targets: { endpoints: [linearTarget("slow-serving", server.endpoint), linearTarget("lenient-serving", server.endpoint, { latencyMsP95: 60_000 })] },
      env: { SMOKE_LATENCY_MS_P95: "20" },
    });
    expectFailedOn(run, [
      { check: "latency", message: /^endpoint slow-serving, service [\d.:]+, model linear \(version 1\): latency failed: expected p95 <= 20 ms over 5 sequential Predicts; observed p50 [\d.]+ ms, p95 [\d.]+ ms \(over the 20 ms budget\), max [\d.]+ ms$/ },
    ]);
    const [slow] = resultsOf(run, "latency", { endpoint: "slow-serving" });
    expect(slow!.latency!.p95Ms).toBeGreaterThanOrEqual(40);
    expect(resultsOf(run, "latency", { endpoint: "lenient-serving" })[0]).toMatchObject({ outcome: "passed", latency: { budgetMs: 60_000 } });
  });

  it("one bad pod out of two: only that pod's checks fail, naming the pod", async () => {
    const [good, bad] = await Promise.all([serve({ models: [linearModel()] }), serve({ models: [linearModel({ versions: [{ version: 1, slope: 2.5, intercept: 1 }] })] })]);
    const run = await runSmokeSuite(scratch.dir, { targets: { endpoints: [linearTarget("pods-serving", good.endpoint, {}, { pods: [good.endpoint, bad.endpoint] })] } });
    expectFailedOn(run, [{ check: "predict", message: new RegExp(`^endpoint pods-serving, pod ${bad.endpoint}, model linear \\(version 1\\): predict failed: .*y\\[0\\]\\[0\\] = -1\\.5 \\(expected -1\\)`) }]);
    expect(failures(run)[0]!.pod).toBe(bad.endpoint);
    expect(resultsOf(run, "predict", { pod: good.endpoint })[0]!.outcome).toBe("passed");
    expect(resultsOf(run, "predict", { pod: null })[0]!.outcome).toBe("passed");
  });
});

describe("pods from a headless Service name", () => {
  it("resolves the name to every address and checks each as a pod", async () => {
    const server = await serve({ models: [linearModel()] });
    const addresses = (await lookup("localhost", { all: true })).map((a) => (a.family === 6 ? `[${a.address}]` : a.address));
    const run = await runSmokeSuite(scratch.dir, {
      targets: { endpoints: [linearTarget("dns-serving", server.endpoint, {}, { pods: { dns: `localhost:${server.port}` } })] },
    });
    expect(run.code, run.stderr).toBe(0);
    const pods = addresses.map((address) => `${address}:${server.port}`).sort();
    expect(run.report.endpoints[0]!.pods).toEqual(pods);
    expect(resultsOf(run, "pods")[0]).toMatchObject({ outcome: "passed", observed: `localhost resolved to ${pods.join(", ")}` });
    expect(resultsOf(run, "predict", { pod: `127.0.0.1:${server.port}` })[0]!.outcome).toBe("passed");
  });
});

describe("reaching endpoints", () => {
  it("SMOKE_ENDPOINT_ADDRESSES dials a port-forward instead of the in-cluster name, and leaves the pods out", async () => {
    const server = await serve({ models: [linearModel()] });
    const endpoint = linearTarget("linear-serving", "linear-serving.ml.svc.cluster.local:8500", {}, { pods: { dns: "linear-serving-headless.ml.svc.cluster.local:8500" } });
    const run = await runSmokeSuite(scratch.dir, { targets: { endpoints: [endpoint] }, env: { SMOKE_ENDPOINT_ADDRESSES: `linear-serving=${server.endpoint}` } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.report.endpoints[0]).toMatchObject({ address: server.endpoint, pods: [] });
    expect(resultsOf(run, "pods")[0]).toMatchObject({ outcome: "skipped", observed: `not checked: the endpoint is reached at ${server.endpoint} (SMOKE_ENDPOINT_ADDRESSES)` });
    expect(resultsOf(run, "predict")[0]).toMatchObject({ outcome: "passed", address: server.endpoint });
  });

  it("tls: checks the Service and its pods over TLS, trusting the CA in SMOKE_TLS_CA", async () => {
    const certificate = selfSignedCertificate();
    try {
      const server = await serve({ models: [linearModel()], tls: { cert: certificate.cert, key: certificate.key } });
      const endpoint = linearTarget("tls-serving", `localhost:${server.port}`, {}, { tls: true, pods: [`127.0.0.1:${server.port}`] });
      const run = await runSmokeSuite(scratch.dir, { targets: { endpoints: [endpoint] }, env: { SMOKE_TLS_CA: certificate.certPath } });
      expect(run.code, run.stderr).toBe(0);
      expect(resultsOf(run, "predict").map((r) => [r.pod, r.outcome])).toEqual([
        [null, "passed"],
        [`127.0.0.1:${server.port}`, "passed"],
      ]);
    } finally {
      certificate.cleanup();
    }
  });
});

describe("targets from a Pulumi stack (SMOKE_STACK)", () => {
  /** A fake `pulumi` first on PATH: records its arguments, prints `output` or fails like the CLI. */
  function fakePulumi(name: string, script: string): string {
    const bin = path.join(scratch.dir, name);
    mkdirSync(bin);
    chmodSync(scratch.write(path.join(name, "pulumi"), script), 0o755);
    return `${bin}:${process.env["PATH"]}`;
  }

  it("runs `pulumi stack output smokeTargets --json --stack <stack>` and checks what it prints", async () => {
    const server = await serve({ models: [linearModel()] });
    const output = scratch.write("stack-output.json", JSON.stringify({ endpoints: [linearTarget("stack-serving", server.endpoint)] }));
    const argsFile = path.join(scratch.dir, "pulumi-args.txt");
    const PATH = fakePulumi("bin-ok", `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\ncat '${output}'\n`);
    const run = await runSmokeSuite(scratch.dir, { env: { SMOKE_STACK: "staging" }, path: PATH });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(argsFile, "utf8").trim().split("\n")).toEqual(["stack", "output", "smokeTargets", "--json", "--stack", "staging"]);
    expect(run.report.source).toBe("stack staging (pulumi stack output smokeTargets)");
    expect(run.report.endpoints.map((e) => e.name)).toEqual(["stack-serving"]);
    expect(resultsOf(run, "predict")[0]!.outcome).toBe("passed");
  });

  it("fails the run with pulumi's error when the stack has no such output", async () => {
    const PATH = fakePulumi("bin-fail", "#!/bin/sh\necho \"error: current stack does not have output property 'smokeTargets'\" >&2\nexit 255\n");
    const run = await runSmokeSuite(scratch.dir, { env: { SMOKE_STACK: "dev" }, path: PATH });
    expect(run.code).toBe(2);
    expect(run.report.ok).toBe(false);
    expect(run.report.error).toBe(
      "`pulumi stack output smokeTargets --json --stack dev` failed: exited with 255: error: current stack does not have output property 'smokeTargets'",
    );
    expect(`${run.stdout}${run.stderr}`).toContain("current stack does not have output property 'smokeTargets'");
  });
});

describe("a run that cannot start: exit 2, not a failed check", () => {
  it("no targets named and a bad setting: every problem at once, and still the report", async () => {
    const run = await runSmokeSuite(scratch.dir, { env: { SMOKE_WAIT_SECONDS: "soon" } });
    expect(run.code).toBe(2);
    const error =
      "invalid smoke suite settings:\n  - SMOKE_WAIT_SECONDS: must be a number of seconds >= 0, e.g. 300\n  - set SMOKE_TARGETS=<targets.json> or SMOKE_STACK=<stack> to say what to smoke-test";
    expect(run.report.error).toBe(error);
    expect(run.stderr).toContain(`smoke: error: could not start: ${error}\n`);
    // no vitest run, so no failed "test" stands for it
    expect(run.stdout).not.toMatch(/FAIL|Test Files/);
  });

  it("a targets file that is not JSON: the line and column at fault", async () => {
    const targets = scratch.write("broken-targets.json", '{\n  "endpoints": [\n    { "name": "linear", }\n  ]\n}\n');
    const run = await runSmokeSuite(scratch.dir, { env: { SMOKE_TARGETS: targets } });
    expect(run.code).toBe(2);
    expect(run.report.error).toBe(`targets file ${targets} is not JSON: line 3, column 25: unexpected "}", expected a key in double quotes`);
    expect(run.stderr).toContain(`smoke: error: could not start: targets file ${targets} is not JSON: line 3, column 25`);
  });
});

describe("concurrency", () => {
  it("10 slow endpoints take about as long as one, not ten times as long", async () => {
    const DELAY_MS = 150;
    // Every call waits DELAY_MS: status, metadata, predict and 5 latency samples make >= 8 * 150 ms per endpoint.
    const slow = () => serve({ models: [linearModel()], onCall: () => ({ delayMs: DELAY_MS }) });
    const one = await slow();
    const ten = await Promise.all(Array.from({ length: 10 }, slow));
    const single = await runSmokeSuite(scratch.dir, { targets: { endpoints: [linearTarget("slow-0", one.endpoint)] } });
    const many = await runSmokeSuite(scratch.dir, { targets: { endpoints: ten.map((s, i) => linearTarget(`slow-${i + 1}`, s.endpoint)) } });
    expect(single.code, single.stderr).toBe(0);
    expect(many.code, many.stderr).toBe(0);

    const perEndpoint = many.report.endpoints.map((e) => e.durationMs);
    const serialMs = perEndpoint.reduce((a, b) => a + b, 0);
    console.log(
      `concurrency: 1 endpoint ${single.report.durationMs} ms (process ${Math.round(single.wallMs)} ms); ` +
        `10 endpoints ${many.report.durationMs} ms (process ${Math.round(many.wallMs)} ms); their endpoint times add up to ${serialMs} ms`,
    );
    expect(Math.min(...perEndpoint)).toBeGreaterThanOrEqual(8 * DELAY_MS);
    expect(single.report.durationMs).toBeGreaterThanOrEqual(8 * DELAY_MS);
    // Sequential checking would take the sum (>= 10 * 1200 ms); concurrent takes about the slowest one.
    expect(many.report.durationMs).toBeLessThan(2.5 * single.report.durationMs);
    expect(many.report.durationMs).toBeLessThan(serialMs / 4);
    expect(many.wallMs).toBeLessThan(single.wallMs + 3 * single.report.durationMs);
  });
});
