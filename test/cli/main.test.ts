/**
 * main(argv, io) in-process: it returns the exit code instead of exiting, and keeps stdout for
 * the JSON result alone.
 */
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../../cli/command";
import { EXIT_SERVER, EXIT_USAGE, InputError, UsageError, exitCodeFor } from "../../cli/errors";
import { main } from "../../cli/main";
import { toJson } from "../../cli/output";
import { NotFoundError, RequestError, ResponseError, TensorValueError } from "../../client/errors";
import { allTestModels } from "../grpc/models";
import { startTfServingDouble, type TfServingDouble } from "../grpc/tf-serving-double";

function captureIo(stdin = ""): CliIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdin: Readable.from([stdin]),
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    cwd: process.cwd(),
    out: () => out,
    err: () => err,
  };
}

describe("main()", () => {
  let server: TfServingDouble;
  beforeAll(async () => {
    server = await startTfServingDouble({ models: allTestModels() });
  });
  afterAll(() => server.close());

  it("runs a command and prints its JSON result on stdout only", async () => {
    const io = captureIo('{"inputs": {"x": [1, 2]}}');
    const code = await main(["predict", "--endpoint", server.endpoint, "--model", "half_plus_two", "--version", "1", "--json-request", "-"], io);
    expect(code).toBe(0);
    expect(io.out()).toBe('{"outputs":[2.5,3]}\n');
    expect(io.err()).toBe("");
  });

  it("returns 1 for a server failure and 2 for bad input, with the message on stderr", async () => {
    const failed = captureIo("1");
    expect(await main(["predict", "--endpoint", server.endpoint, "--model", "ghost", "--json-instances", "-"], failed)).toBe(1);
    expect(failed.err()).toBe("mlp: error: GetModelMetadata failed: NOT_FOUND: Servable not found for request: Latest(ghost)\n");
    expect(failed.out()).toBe("");

    const bad = captureIo('{"x": "one"}\n');
    expect(await main(["predict", "--endpoint", server.endpoint, "--model", "half_plus_two", "--json-instances", "-"], bad)).toBe(2);
    expect(bad.err()).toBe('mlp: error: <stdin>:1: input "x": "one" is not a number (DT_FLOAT expects numbers, or "NaN", "Infinity", "-Infinity")\n');
  });

  it("prints help on stdout and usage errors on stderr", async () => {
    const help = captureIo();
    expect(await main(["status", "--help"], help)).toBe(0);
    expect(help.out()).toContain("mlp status --endpoint HOST:PORT --model NAME [--version N]");
    const usage = captureIo();
    expect(await main(["status", "--model", "m"], usage)).toBe(2);
    expect(usage.err()).toBe('mlp: Missing required argument: endpoint\nRun "mlp status --help" for usage.\n');
    expect(usage.out()).toBe("");
  });
});

describe("exit codes", () => {
  it.each([
    [new UsageError("x"), EXIT_USAGE],
    [new InputError({ file: "f", line: 1 }, "x"), EXIT_USAGE],
    [new RequestError("x"), EXIT_USAGE],
    [new TensorValueError("x"), EXIT_USAGE],
    [new NotFoundError("/s/M", 5, "x"), EXIT_SERVER],
    [new ResponseError("x"), EXIT_SERVER],
  ])("%s -> %i", (error, code) => {
    expect(exitCodeFor(error)).toBe(code);
  });
});

describe("toJson", () => {
  it("writes bigints as exact integers and otherwise matches JSON.stringify", () => {
    expect(toJson({ a: [1, 2n ** 64n, "s", true, null], b: { c: -0.5 } })).toBe('{"a":[1,18446744073709551616,"s",true,null],"b":{"c":-0.5}}');
    expect(toJson({ a: [1, { b: 2 }] }, 2)).toBe(JSON.stringify({ a: [1, { b: 2 }] }, null, 2));
  });
});
