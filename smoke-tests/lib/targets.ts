/**
 * Loading the targets (a JSON file, or `pulumi stack output smokeTargets` run as a subprocess: the
 * runtime side never imports Pulumi), and completing each model target with its request fixture.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import {
  SmokeTargetsError,
  parseSmokeTargets,
  smokeExpectationSchema,
  smokeRequestSchema,
  type SmokeExpectation,
  type SmokeModelTarget,
  type SmokeRequest,
  type SmokeTargets,
} from "../../contracts/smoke-targets";
import { JsonSyntaxError, parseJson as locateJson } from "../../cli/json-input";
import type { TargetsSource } from "./settings";

/** The targets could not be read or are not in the format; the message says where and why. */
export class TargetsLoadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TargetsLoadError";
  }
}

/** Runs a command and returns its stdout; rejects with the exit code and stderr when it fails. */
export type CommandRunner = (command: string, args: readonly string[]) => Promise<string>;

export const runCommand: CommandRunner = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(command, [...args], { maxBuffer: 64 * 1024 * 1024, encoding: "utf8" }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      const reason = missing ? `${command} was not found on PATH` : `exited with ${String(error.code ?? error.signal)}: ${stderr.trim() || error.message}`;
      reject(new TargetsLoadError(`\`${[command, ...args].join(" ")}\` failed: ${reason}`, { cause: error }));
    });
  });

/** The command that reads a stack's targets: `pulumi stack output smokeTargets --json --stack <stack>`. */
export function stackOutputCommand(stack: string): [string, string[]] {
  return ["pulumi", ["stack", "output", "smokeTargets", "--json", "--stack", stack]];
}

export function describeSource(source: TargetsSource): string {
  return source.kind === "file" ? `targets file ${source.path}` : `stack ${source.stack} (pulumi stack output smokeTargets)`;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // JSON.parse does not always say where; the CLI's parser does (line and column)
    let located: string | undefined;
    try {
      locateJson(text);
    } catch (syntax) {
      if (syntax instanceof JsonSyntaxError) located = `line ${syntax.line}, column ${syntax.column}: ${syntax.reason}`;
    }
    throw new TargetsLoadError(`${where} is not JSON: ${located ?? (error as Error).message}`, { cause: error });
  }
}

function checkFormat(value: unknown, where: string): SmokeTargets {
  try {
    return parseSmokeTargets(value);
  } catch (error) {
    if (error instanceof SmokeTargetsError) throw new TargetsLoadError(`${where}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Reads and checks the targets from a file or a stack. */
export async function loadTargets(source: TargetsSource, run: CommandRunner = runCommand): Promise<SmokeTargets> {
  const where = describeSource(source);
  if (source.kind === "file") {
    let text: string;
    try {
      text = readFileSync(source.path, "utf8");
    } catch (error) {
      throw new TargetsLoadError(`cannot read ${where}: ${(error as Error).message}`, { cause: error });
    }
    return checkFormat(parseJson(text, where), where);
  }
  const [command, args] = stackOutputCommand(source.stack);
  return checkFormat(parseJson(await run(command, args), where), where);
}

/** A request fixture, `fixtures/<model>.json`: what to send when a target names no request. */
export const smokeFixtureSchema = z.strictObject({
  request: smokeRequestSchema,
  expect: smokeExpectationSchema.optional(),
});

/** A model target with what the checks need: its signature, and the request and expectation to use. */
export interface ModelPlan {
  target: SmokeModelTarget;
  /** The signature checked and called. */
  signature: string;
  request: SmokeRequest | undefined;
  expect: SmokeExpectation | undefined;
  /** Where the request came from: "target", the fixture's path, or "none". */
  requestFrom: string;
}

function readFixture(file: string): z.infer<typeof smokeFixtureSchema> {
  const value = parseJson(readFileSync(file, "utf8"), `fixture ${file}`);
  const parsed = smokeFixtureSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
    throw new TargetsLoadError(`fixture ${file} is not a valid fixture ({"request": {...}, "expect"?: {...}}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  return parsed.data;
}

/**
 * Completes a model target: its own `request`/`expect` when it has either, else `<fixturesDir>/<model>.json`
 * when that exists, else none (status and metadata are then checked only).
 */
export function planModel(target: SmokeModelTarget, fixturesDir: string, where = "target"): ModelPlan {
  let request = target.request;
  let expect = target.expect;
  let requestFrom = "target";
  if (expect && !request) throw new TargetsLoadError(`${where} (model ${target.name}): "expect" needs a "request" to check it against`);
  if (!request) {
    const file = path.join(fixturesDir, `${target.name}.json`);
    const safeName = path.basename(target.name) === target.name;
    if (safeName && existsSync(file)) {
      ({ request, expect } = readFixture(file));
      requestFrom = file;
    } else {
      requestFrom = "none";
    }
  }
  if (target.signature && request?.signature_name && target.signature !== request.signature_name) {
    throw new TargetsLoadError(`${where} (model ${target.name}): signature "${target.signature}" differs from the request's signature_name "${request.signature_name}"`);
  }
  return { target, signature: target.signature ?? request?.signature_name ?? "serving_default", request, expect, requestFrom };
}
