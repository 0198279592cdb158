/**
 * convert_tflite.py's command line without TensorFlow (the fast suite): bad usage and inputs that are not a
 * SavedModel exit 2 with a message naming the argument, before TensorFlow is imported, and leave nothing behind.
 * The conversion itself runs with real TensorFlow in the slow suite (test/slow/mobile-export.test.ts).
 *
 * It runs with this machine's python3 (Debian's AWS CLI v2, a prerequisite of npm test, runs on it), with a
 * `tensorflow` and a `numpy` on PYTHONPATH that fail loudly when imported: a check that needed them would show.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MOBILE_DEFAULT_MAX_ABS_DIFF, MOBILE_OPTIMIZATIONS } from "../../components/mobile/args";
import { MOBILE_SCRIPTS, MOBILE_SCRIPTS_DIR } from "../../components/mobile/scripts";
import { run } from "../harness/s3-server";

const SCRIPT = join(MOBILE_SCRIPTS_DIR, MOBILE_SCRIPTS.converter);
const work = mkdtempSync(join(tmpdir(), "convert-tflite-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const tripwires = join(work, "tripwires");
for (const module of ["tensorflow", "numpy"]) {
  mkdirSync(join(tripwires, module), { recursive: true });
  writeFileSync(join(tripwires, module, "__init__.py"), `raise ImportError("${module} imported: TRIPWIRE")\n`);
}

/** A directory that looks like a SavedModel to the checks that run before TensorFlow. */
const savedModel = join(work, "saved-model");
mkdirSync(join(savedModel, "variables"), { recursive: true });
writeFileSync(join(savedModel, "saved_model.pb"), "not parsed before TensorFlow");
const notSavedModel = join(work, "not-a-saved-model");
mkdirSync(notSavedModel);
writeFileSync(join(notSavedModel, "model.h5"), "keras");
const taken = join(work, "taken");
mkdirSync(taken);
writeFileSync(join(taken, "model.tflite"), "an earlier export");

function convert(args: string[]) {
  return run("python3", [SCRIPT, ...args], { env: { PATH: process.env.PATH, PYTHONPATH: tripwires, PYTHONDONTWRITEBYTECODE: "1" }, cwd: work, timeoutMs: 20_000 });
}

describe("convert_tflite.py: usage and input errors, without TensorFlow", () => {
  it.each([
    ["no arguments", [], /error: the following arguments are required: --saved-model, --output \(see --help\)/],
    ["no --output", ["--saved-model", savedModel], /error: the following arguments are required: --output/],
    ["an unknown --optimize", ["--saved-model", savedModel, "--output", "out", "--optimize", "int8"], /error: argument --optimize: invalid choice: 'int8' \(choose from 'none', 'float16', 'dynamic-range'\)/],
    ["a negative --max-abs-diff", ["--saved-model", savedModel, "--output", "out", "--max-abs-diff", "-0.1"], /error: --max-abs-diff must be a finite number >= 0 \(got -0\.1\)/],
    ["an infinite --max-abs-diff", ["--saved-model", savedModel, "--output", "out", "--max-abs-diff", "inf"], /error: --max-abs-diff must be a finite number >= 0 \(got inf\)/],
    ["a NaN --max-abs-diff", ["--saved-model", savedModel, "--output", "out", "--max-abs-diff", "nan"], /error: --max-abs-diff must be a finite number >= 0 \(got nan\)/],
    ["a --max-abs-diff that is not a number", ["--saved-model", savedModel, "--output", "out", "--max-abs-diff", "small"], /error: argument --max-abs-diff: invalid float value: 'small'/],
    ["an unknown option", ["--saved-model", savedModel, "--output", "out", "--quantize"], /error: unrecognized arguments: --quantize/],
    ["a --saved-model that does not exist", ["--saved-model", join(work, "missing"), "--output", "out"], /error: --saved-model .*missing is not a directory/],
    ["a --saved-model without saved_model.pb", ["--saved-model", notSavedModel, "--output", "out"], /error: --saved-model .*not-a-saved-model is not a SavedModel: it has no saved_model\.pb/],
    ["an --output that holds files", ["--saved-model", savedModel, "--output", taken], /error: --output .*taken already exists and is not an empty directory; choose a new one/],
    ["an --output whose parent does not exist", ["--saved-model", savedModel, "--output", join(work, "no", "such", "out")], /error: --output .*: its parent directory .*no\/such does not exist/],
    ["a --sample-inputs file that does not exist", ["--saved-model", savedModel, "--output", "out", "--sample-inputs", "samples.json"], /error: --sample-inputs samples\.json is not a file/],
  ] as Array<[string, string[], RegExp]>)("exits 2 for %s, writing nothing", async (_label, args, message) => {
    const before = readdirSync(work).sort();
    const result = await convert(args);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^convert_tflite: error: /);
    expect(result.stderr).not.toMatch(/TRIPWIRE|Traceback/);
    expect(result.stdout).toBe("");
    expect(readdirSync(work).sort()).toEqual(before);
    expect(readdirSync(taken)).toEqual(["model.tflite"]);
  });

  it("imports TensorFlow only once the arguments and paths check out (the tripwire fires then)", async () => {
    const result = await convert(["--saved-model", savedModel, "--output", join(work, "fresh")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ImportError: (numpy|tensorflow) imported: TRIPWIRE/);
    expect(readdirSync(work)).not.toContain("fresh");
  });

  it("--help documents the command line and the default thresholds the component uses", async () => {
    const result = await convert(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: convert_tflite\.py \[-h\] --saved-model DIR --output DIR \[--signature KEY\]/);
    for (const optimization of MOBILE_OPTIMIZATIONS) expect(result.stdout).toContain(optimization);
    const defaults = /--max-abs-diff defaults: (.*)/.exec(result.stdout.replace(/\s+/g, " "))?.[1];
    expect(defaults?.trim()).toBe(`none: ${MOBILE_DEFAULT_MAX_ABS_DIFF.none}, float16: ${MOBILE_DEFAULT_MAX_ABS_DIFF.float16}, dynamic-range: ${MOBILE_DEFAULT_MAX_ABS_DIFF["dynamic-range"]}`);
  });
});
