/**
 * What the smoke-suite tests run against: TF Serving doubles (test/grpc/tf-serving-double.ts) serving the
 * example `linear` model, and a runner for the real `npm run smoke` as a subprocess.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import type { SmokeTargets } from "../../contracts/smoke-targets";
import type { SmokeReport } from "../../smoke-tests/lib/report";
import { tensor } from "../../client/tensor-codec";
import { run, type CommandResult } from "../harness/s3-server";
import type { ModelDouble, ServableState, TensorSpecDouble } from "../grpc/tf-serving-double";

export const REPO_ROOT = path.resolve(__dirname, "../..");

/** What examples/linear/train.py learns with its defaults (line y = 2x + 1, seed 0, 300 steps): see smoke-tests/README.md. */
export const TRAINED_LINE = { slope: 1.9994332790374756, intercept: 0.9998047351837158 };

export interface LinearModelOptions {
  versions?: Array<{ version: number; state?: ServableState; slope?: number; intercept?: number }>;
  labels?: Record<string, number>;
  /** The signature's input name. @default "x" */
  input?: string;
  /** The output's shape: [-1, 1] as the example exports, or [-1] (flattened). @default "column" */
  outputShape?: "column" | "flat";
}

/** The example `linear` model: serving_default takes x float32 [-1, 1] and returns y = slope * x + intercept. */
export function linearModel(options: LinearModelOptions = {}): ModelDouble {
  const input = options.input ?? "x";
  const flat = options.outputShape === "flat";
  const spec: TensorSpecDouble = { dtype: "DT_FLOAT", shape: [-1, 1] };
  return {
    name: "linear",
    labels: options.labels,
    versions: (options.versions ?? [{ version: 1 }]).map(({ version, state, slope = TRAINED_LINE.slope, intercept = TRAINED_LINE.intercept }) => ({
      version,
      state,
      signatures: {
        serving_default: {
          inputs: { [input]: spec },
          outputs: { y: flat ? { dtype: "DT_FLOAT", shape: [-1] } : spec },
          predict: (inputs) => {
            const x = inputs[input]!;
            const y = Float32Array.from(x.values as Float32Array, (v) => slope * v + intercept);
            return { y: tensor("DT_FLOAT", y, flat ? [y.length] : x.shape) };
          },
        },
      },
    })),
  };
}

export interface SmokeRunResult extends CommandResult {
  /** The JSON report (SMOKE_REPORT) the run wrote. */
  report: SmokeReport;
  /** Wall-clock time of the whole subprocess, in ms. (stdout and stderr are without terminal colours.) */
  wallMs: number;
}

/** A scratch folder for targets, reports and fake executables. */
export function scratchDir(): { dir: string; write(name: string, content: string): string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "smoke-test-"));
  return {
    dir,
    write(name, content) {
      const file = path.join(dir, name);
      writeFileSync(file, content);
      return file;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

let counter = 0;

/**
 * Runs `npm run smoke` as CI does, with the given SMOKE_* variables (targets written to a file unless
 * `env` names the source), and reads the JSON report it wrote. The parent's VITEST_* and SMOKE_* variables
 * are not passed on.
 */
export async function runSmokeSuite(dir: string, options: { targets?: SmokeTargets; env?: Record<string, string>; path?: string }): Promise<SmokeRunResult> {
  const id = `${process.pid}-${++counter}`;
  const reportFile = path.join(dir, `report-${id}.json`);
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST") && !key.startsWith("SMOKE_")));
  if (options.targets) {
    env["SMOKE_TARGETS"] = path.join(dir, `targets-${id}.json`);
    writeFileSync(env["SMOKE_TARGETS"], JSON.stringify(options.targets, null, 2));
  }
  Object.assign(env, { SMOKE_REPORT: reportFile, SMOKE_WAIT_SECONDS: "2", SMOKE_LATENCY_SAMPLES: "5", ...options.env });
  if (options.path) env["PATH"] = options.path;
  const started = performance.now();
  const result = await run("npm", ["run", "--silent", "smoke"], { env, cwd: REPO_ROOT, timeoutMs: 60_000 });
  const wallMs = performance.now() - started;
  let report: SmokeReport;
  try {
    report = JSON.parse(readFileSync(reportFile, "utf8")) as SmokeReport;
  } catch (error) {
    throw new Error(`the smoke run wrote no report (exit ${result.code})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`, { cause: error });
  }
  // vitest colours its output when the parent's environment asks for it; tests read plain text
  return { ...result, stdout: stripVTControlCharacters(result.stdout), stderr: stripVTControlCharacters(result.stderr), report, wallMs };
}
