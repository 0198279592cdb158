/**
 * The `mlp` executable as users run it: a subprocess against TF Serving doubles on 127.0.0.1.
 * Every command, every input form, and every error path with its exit code
 * (0 success, 1 server or network failure, 2 bad usage or bad input).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { run } from "../harness/s3-server";
import { allTestModels } from "../grpc/models";
import { startTfServingDouble, type TfServingDouble } from "../grpc/tf-serving-double";
import { selfSignedCertificate, type TestCertificate } from "../grpc/tls";
import { MLP_BIN, REPO_ROOT, buildDist, mlp } from "./run-mlp";

let server: TfServingDouble;
let dir: string;

/** Writes a fixture file and returns its path. */
function file(name: string, content: string): string {
  const target = path.join(dir, name);
  writeFileSync(target, content);
  return target;
}

const at = (model: string, ...rest: string[]) => ["--endpoint", server.endpoint, "--model", model, ...rest];
const predictArgs = (model: string, ...rest: string[]) => ["predict", ...at(model, ...rest)];

/** Parses stdout as the single JSON document it must be. */
function json(result: { stdout: string }): unknown {
  expect(result.stdout.endsWith("\n")).toBe(true);
  expect(result.stdout.trim().split("\n")).toHaveLength(1);
  return JSON.parse(result.stdout);
}

beforeAll(async () => {
  buildDist();
  server = await startTfServingDouble({ models: allTestModels() });
  dir = mkdtempSync(path.join(tmpdir(), "mlp-cli-"));
}, 120_000);

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.concurrent("mlp --help", () => {
  it("lists the commands and the exit codes", async () => {
    const result = await mlp(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("mlp predict");
    expect(result.stdout).toContain("mlp metadata");
    expect(result.stdout).toContain("mlp status");
    expect(result.stdout).toContain("Exit codes: 0 success; 1 the server or the network failed; 2 bad usage or bad input.");
    expect(result.stderr).toBe("");
  });

  it.each([
    ["predict", "mlp predict --endpoint HOST:PORT --model NAME [--version N | --label L] [--signature S]"],
    ["metadata", "mlp metadata --endpoint HOST:PORT --model NAME [--version N | --label L]"],
    ["status", "mlp status --endpoint HOST:PORT --model NAME [--version N]"],
  ])("mlp %s --help shows the command's usage and options", async (command, usage) => {
    const result = await mlp([command, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(usage);
    expect(result.stdout).toContain("--endpoint");
    expect(result.stdout).toContain("--timeout-ms");
  });
});

describe.concurrent("mlp predict", () => {
  it("--json-instances: newline-delimited bare values for a single-input signature", async () => {
    const result = await mlp(predictArgs("half_plus_two", "--json-instances", file("bare.jsonl", "1.0\n2.0\n\n5.0\n")));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(json(result)).toEqual({ predictions: [3.5, 4, 5.5] });
  });

  it("--json-instances: objects of input name to value, one per line, at a version or label", async () => {
    const input = file("objects.jsonl", '{"x": 1.0}\n{"x": 2.0}\n{"x": 5.0}\n');
    expect(json(await mlp(predictArgs("half_plus_two", "--version", "1", "--json-instances", input)))).toEqual({ predictions: [2.5, 3, 4.5] });
    expect(json(await mlp(predictArgs("half_plus_two", "--label", "canary", "--json-instances", input)))).toEqual({ predictions: [3.5, 4, 5.5] });
  });

  it("--json-instances: one JSON array, pretty-printed over several lines", async () => {
    const input = file("array.json", '[\n  {"x": 1.0},\n  {"x": 3.0}\n]\n');
    expect(json(await mlp(predictArgs("half_plus_two", "--version", "1", "--json-instances", input)))).toEqual({ predictions: [2.5, 3.5] });
  });

  it("--json-instances -: reads stdin", async () => {
    const result = await mlp(predictArgs("half_plus_two", "--version", "1", "--json-instances", "-"), { input: "[1, 2]" });
    expect(json(result)).toEqual({ predictions: [2.5, 3] });
  });

  it("several outputs give one object per instance; int64 stays exact; *_bytes outputs are base64", async () => {
    const input = file("mixer.jsonl", '{"ids": [9007199254740993, -1], "scale": 1.5, "label": "hi"}\n{"ids": [1, 2], "scale": -1, "label": "yo"}\n');
    const result = await mlp(predictArgs("mixer", "--json-instances", input));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"ids_plus_one":[9007199254740994,0]');
    expect(json(result)).toEqual({
      predictions: [
        { doubled: 3, ids_plus_one: [9007199254740994, 0], label_bytes: { b64: "aGk=" }, label_upper: "HI", positive: true },
        { doubled: -2, ids_plus_one: [2, 3], label_bytes: { b64: "eW8=" }, label_upper: "YO", positive: false },
      ],
    });
  });

  it("--json-request: columnar inputs by name, or a bare value; prints {outputs}", async () => {
    const named = file("named.json", '{"inputs": {"x": [1.0, 2.0]}}');
    expect(json(await mlp(predictArgs("half_plus_two", "--version", "1", "--json-request", named)))).toEqual({ outputs: [2.5, 3] });
    const bare = await mlp(predictArgs("half_plus_two", "--version", "1", "--json-request", "-"), { input: '{"inputs": [4.0]}' });
    expect(json(bare)).toEqual({ outputs: [4] });
    const several = file("mixer-request.json", '{"signature_name": "serving_default", "inputs": {"ids": [[1, 2]], "scale": [2], "label": ["a"]}}');
    expect(json(await mlp(predictArgs("mixer", "--json-request", several)))).toEqual({
      outputs: { doubled: [4], ids_plus_one: [[2, 3]], label_bytes: [{ b64: "YQ==" }], label_upper: ["A"], positive: [true] },
    });
  });

  it("--signature selects the signature whose dtypes are used", async () => {
    const result = await mlp(predictArgs("half_plus_two", "--signature", "serving_default", "--json-instances", "-"), { input: "1\n" });
    expect(json(result)).toEqual({ predictions: [3.5] });
    const predict = server.calls.filter((c) => c.method === "Predict").map((c) => c.request as { model_spec: { signature_name: string } });
    expect(predict.some((r) => r.model_spec.signature_name === "serving_default")).toBe(true);
  });
});

describe.concurrent("mlp metadata and mlp status", () => {
  it("metadata prints each signature's inputs and outputs with dtype and shape", async () => {
    const result = await mlp(["metadata", ...at("half_plus_two", "--version", "1")]);
    expect(result.code).toBe(0);
    const document = json(result) as { model_spec: unknown; signatures: Record<string, unknown> };
    expect(document.model_spec).toEqual({ name: "half_plus_two", version: 1 });
    expect(document.signatures["serving_default"]).toEqual({
      method_name: "tensorflow/serving/predict",
      inputs: { x: { dtype: "DT_FLOAT", shape: [-1] } },
      outputs: { y: { dtype: "DT_FLOAT", shape: [-1] } },
    });
    expect(Object.keys(document.signatures)).toEqual(["__saved_model_init_op", "classify_x_to_y", "regress_x_to_y", "serving_default"]);
    // what a TF2 SavedModel's initializer looks like: no inputs, no method, one output of unknown type and rank
    expect(document.signatures["__saved_model_init_op"]).toEqual({ method_name: "", inputs: {}, outputs: { __saved_model_init_op: { dtype: "DT_INVALID", shape: null } } });
  });

  it("status prints every version's state in the server's order (newest first), or one version's", async () => {
    expect(json(await mlp(["status", ...at("half_plus_two")]))).toEqual({
      model_version_status: [
        { version: "2", state: "AVAILABLE", status: { error_code: "OK", error_message: "" } },
        { version: "1", state: "AVAILABLE", status: { error_code: "OK", error_message: "" } },
      ],
    });
    expect(json(await mlp(["status", ...at("half_plus_two", "--version", "2")]))).toEqual({
      model_version_status: [{ version: "2", state: "AVAILABLE", status: { error_code: "OK", error_message: "" } }],
    });
  });
});

describe.concurrent("mlp --version", () => {
  it("prints the package's version alone; inside a command --version stays the model version", async () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    const result = await mlp(["--version"]);
    expect(result).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
    expect((await mlp(["-V"])).stdout).toBe(`${pkg.version}\n`);
    expect((await mlp(["--help"])).stdout).toContain(`mlp --version prints the version of ml-platform (${pkg.version})`);
    const modelVersion = await mlp(["status", "--endpoint", "localhost:1", "--model", "m", "--version", "abc"]);
    expect(modelVersion.stderr).toMatch(/--version must be a non-negative integer/);
  });
});

describe.concurrent("bad usage: exit 2, nothing on stdout", () => {
  it.each([
    [["predict", "--model", "m", "--json-instances", "-"], /Missing required argument: endpoint/],
    [["predict", "--endpoint", "localhost:1", "--model", "m"], /give exactly one of --json-instances FILE and --json-request FILE/],
    [["predict", "--endpoint", "localhost:1", "--model", "m", "--json-instances", "a", "--json-request", "b"], /give exactly one of/],
    [["status", "--endpoint", "localhost:1", "--model", "m", "--version", "abc"], /--version must be a non-negative integer \(got "abc"\)/],
    [["metadata", "--endpoint", "localhost:1", "--model", "m", "--version", "1", "--label", "x"], /--version and --label exclude each other/],
    [["status", "--endpoint", "localhost", "--model", "m"], /--endpoint must be HOST:PORT/],
    [["status", "--endpoint", "localhost:1", "--model", "m", "--timeout-ms", "0"], /--timeout-ms must be a positive number/],
    [["status", "--endpoint", "localhost:1", "--model", "m", "--bogus"], /Unknown argument: bogus/],
    [["launch"], /^mlp: unknown command "launch"; the commands are predict, metadata, status\n/],
    [["stats", "--endpoint", "localhost:1", "--model", "m"], /^mlp: unknown command "stats"; the commands are predict, metadata, status\nRun "mlp --help" for usage\.\n$/],
    [[], /a command is required/],
  ])("mlp %j", async (args, message) => {
    const result = await mlp(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
  });
});

describe.concurrent("bad input: exit 2, naming the file, line and input", () => {
  const expectInputError = async (model: string, form: "--json-instances" | "--json-request", name: string, content: string, message: string | RegExp) => {
    const target = file(name, content);
    const result = await mlp(predictArgs(model, form, target));
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(typeof message === "string" ? `mlp: error: ${target}${message}` : message);
    expect(result.code).toBe(2);
  };

  it("a file that cannot be read", async () => {
    const result = await mlp(predictArgs("half_plus_two", "--json-instances", path.join(dir, "missing.jsonl")));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`mlp: error: ${path.join(dir, "missing.jsonl")}: cannot read: ENOENT`);
  });

  it("invalid JSON on a line of newline-delimited input", () =>
    expectInputError("half_plus_two", "--json-instances", "bad-line.jsonl", '{"x": 1}\n{"x": 2,}\n', ':2: invalid JSON: unexpected "}", expected a key in double quotes (column 9)'));

  it("invalid JSON inside a pretty-printed array", () =>
    expectInputError("half_plus_two", "--json-instances", "bad-array.json", '[\n  {"x": 1},\n  {"x": nope}\n]\n', ':3: invalid JSON: unexpected "n" (column 9)'));

  it("an unknown input name", () =>
    expectInputError("half_plus_two", "--json-instances", "unknown.jsonl", '{"x": 1}\n{"z": 2}\n', ':2: unknown input "z"; signature "serving_default" has inputs: x'));

  it("shapes that differ across instances", () =>
    expectInputError(
      "mixer",
      "--json-instances",
      "shapes.jsonl",
      '{"ids": [1, 2], "scale": 1, "label": "a"}\n{"ids": [1, 2, 3], "scale": 1, "label": "b"}\n',
      ':2: input "ids" has shape [3], but line 1 has [2]: all instances must give an input the same shape',
    ));

  it("a value that does not fit the input's dtype", () =>
    expectInputError("pixels", "--json-instances", "range.json", "[[1, 2, 3, 4],\n [1, 2, 300, 4]]\n", ':2: input "image"[2]: 300 is out of range (DT_UINT8 holds 0 to 255)'));

  it("an int64 value beyond int64", () =>
    expectInputError(
      "mixer",
      "--json-instances",
      "int64.jsonl",
      '{"ids": [9223372036854775808, 1], "scale": 1, "label": "a"}\n',
      ':1: input "ids"[0]: 9223372036854775808 is out of range (DT_INT64 holds -9223372036854775808 to 9223372036854775807)',
    ));

  it("a ragged value", () =>
    expectInputError("mixer", "--json-request", "ragged.json", '{"inputs": {\n "ids": [[1, 2],\n [3]],\n "scale": [1, 2], "label": ["a", "b"]}}', ':3: input "ids"[1]: has 1 elements, but [0] has 2'));

  it("a shape the signature does not accept", () =>
    expectInputError("pixels", "--json-request", "rank.json", '{"inputs": [1, 2, 3, 4]}', ':1: input "image" has shape [4], but signature "serving_default" expects [-1, 4]'));

  it("a bare value for a signature with several inputs", () =>
    expectInputError("mixer", "--json-instances", "bare.jsonl", "1\n", ":1: a bare value needs a signature with exactly one input"));

  it("a missing input", () =>
    expectInputError("mixer", "--json-request", "missing-input.json", '{"inputs": {"ids": [[1, 2]], "scale": [1]}}', ':1: missing input "label"'));

  it("a columnar request with an unknown key", () =>
    expectInputError("half_plus_two", "--json-request", "keys.json", '{"instances": [1]}', ':1: unknown key "instances" (allowed: "signature_name", "inputs")'));

  it("no instances at all", () => expectInputError("half_plus_two", "--json-instances", "empty.jsonl", "\n\n", ": no instances"));

  it("an unknown signature", async () => {
    const result = await mlp(predictArgs("half_plus_two", "--signature", "nope", "--json-instances", "-"), { input: "1" });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('mlp: error: signature "nope" not found; the model has: classify_x_to_y, regress_x_to_y, serving_default\n');
  });
});

describe.concurrent("server and network failures: exit 1 with the gRPC status name and the server's text", () => {
  it.each([
    [["status", "--model", "nope"], "GetModelStatus failed: NOT_FOUND: Could not find any versions of model nope"],
    [["metadata", "--model", "nope"], "GetModelMetadata failed: NOT_FOUND: Servable not found for request: Latest(nope)"],
    [["metadata", "--model", "half_plus_two", "--version", "9"], "GetModelMetadata failed: NOT_FOUND: Servable not found for request: Specific(half_plus_two, 9)"],
    [["metadata", "--model", "half_plus_two", "--label", "beta"], "GetModelMetadata failed: INVALID_ARGUMENT: Unrecognized servable version label: beta"],
  ])("mlp %j", async ([command, ...rest], message) => {
    const result = await mlp([command!, "--endpoint", server.endpoint, ...rest]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`mlp: error: ${message}\n`);
  });

  it("nothing listening at the endpoint: UNAVAILABLE", async () => {
    const closed = await startTfServingDouble({ models: [] });
    await closed.close();
    const result = await mlp(["status", "--endpoint", closed.endpoint, "--model", "m"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^mlp: error: GetModelStatus failed: UNAVAILABLE: No connection established\. Last error: Error: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/);
    // grpc-js's empty "Resolution note:" is not shown
    expect(result.stderr).not.toContain("Resolution note");
  });

  it("a server slower than --timeout-ms: DEADLINE_EXCEEDED", async () => {
    const slow = await startTfServingDouble({ models: allTestModels() });
    slow.injectFault("*", { delayMs: 2_000 }, 5);
    try {
      const result = await mlp(["status", "--endpoint", slow.endpoint, "--model", "half_plus_two", "--timeout-ms", "200"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^mlp: error: GetModelStatus failed: DEADLINE_EXCEEDED: /);
    } finally {
      await slow.close();
    }
  });

  it("a failing Predict after a good GetModelMetadata", async () => {
    const flaky = await startTfServingDouble({ models: allTestModels() });
    flaky.injectFault("Predict", { code: status.RESOURCE_EXHAUSTED, details: "queue full" });
    try {
      const result = await mlp(["predict", "--endpoint", flaky.endpoint, "--model", "half_plus_two", "--json-instances", "-"], { input: "1" });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe("mlp: error: Predict failed: RESOURCE_EXHAUSTED: queue full\n");
    } finally {
      await flaky.close();
    }
  });
});

describe("TLS", () => {
  let certificate: TestCertificate;
  let secure: TfServingDouble;

  beforeAll(async () => {
    certificate = selfSignedCertificate();
    secure = await startTfServingDouble({ models: allTestModels(), tls: { cert: certificate.cert, key: certificate.key } });
  });
  afterAll(async () => {
    await secure.close();
    certificate.cleanup();
  });

  it("--ca FILE trusts the server's CA (and implies --tls)", async () => {
    const result = await mlp(["status", "--endpoint", secure.endpoint, "--model", "half_plus_two", "--version", "1", "--ca", certificate.certPath]);
    expect(result.stderr).toBe("");
    expect(json(result)).toEqual({ model_version_status: [{ version: "1", state: "AVAILABLE", status: { error_code: "OK", error_message: "" } }] });
  });

  it("--tls against a plaintext server: exit 1, and says the server does not speak TLS", async () => {
    const result = await mlp(["status", "--endpoint", server.endpoint, "--model", "half_plus_two", "--tls", "--timeout-ms", "3000"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    const [line, ...rest] = result.stderr.split("\n");
    expect(rest).toEqual([""]);
    expect(line).toMatch(/^mlp: error: GetModelStatus failed: UNAVAILABLE: .*wrong version number.*\. Hint: 127\.0\.0\.1:\d+ answered the TLS handshake with plaintext: the server does not serve TLS there; connect without TLS \(mlp: drop --tls and --ca; TfServingClient: tls: false\)$/);
  });

  it("--tls without the CA fails the handshake: exit 1; a missing --ca file: exit 2", async () => {
    const untrusted = await mlp(["status", "--endpoint", secure.endpoint, "--model", "half_plus_two", "--tls", "--timeout-ms", "3000"]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/UNAVAILABLE/);
    const missing = await mlp(["status", "--endpoint", secure.endpoint, "--model", "half_plus_two", "--ca", path.join(dir, "nope.pem")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.pem: cannot read: ENOENT");
  });
});

it("the CLI and client library load no @pulumi/* module", async () => {
  const script = `require(${JSON.stringify(MLP_BIN.replace(/bin\.js$/, "main.js"))}); require(${JSON.stringify(path.join(REPO_ROOT, "dist/client/index.js"))});
    console.log(JSON.stringify(Object.keys(require.cache)));`;
  const result = await run(process.execPath, ["-e", script], { cwd: REPO_ROOT });
  expect(result.code).toBe(0);
  const loaded = JSON.parse(result.stdout) as string[];
  expect(loaded.some((module) => module.includes(`${path.sep}@grpc${path.sep}grpc-js${path.sep}`))).toBe(true);
  expect(loaded.filter((module) => module.includes(`${path.sep}@pulumi${path.sep}`))).toEqual([]);
});
