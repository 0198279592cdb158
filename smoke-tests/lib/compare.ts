/**
 * Comparing a Predict output with the expected JSON value: same shape, numbers within the tolerance,
 * other values (strings, booleans) equal.
 */
import { formatShape } from "../../client/signatures";
import { tensorToJson, type JsonValue, type Tensor } from "../../client/tensor-codec";

/** Used when an expectation sets no tolerance: float32 outputs of small magnitude compare exactly enough. */
export const DEFAULT_TOLERANCE = 1e-6;

/** How many differing elements a failure lists. */
const MAX_LISTED = 3;

type Leaf = number | bigint | boolean | string | { b64: string };

/** The shape and row-major leaves of a nested array, or why it is not a tensor value. */
export function flattenExpected(value: unknown): { shape: number[]; leaves: unknown[] } | { problem: string } {
  const shape: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const leaves: unknown[] = [];
  const visit = (node: unknown, depth: number, path: string): string | undefined => {
    if (depth === shape.length) {
      if (Array.isArray(node)) return `${path || "value"} is an array where a single value is expected (ragged)`;
      leaves.push(node);
      return undefined;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) return `${path || "value"} should be an array of ${shape[depth]} (ragged)`;
    for (let i = 0; i < node.length; i++) {
      const problem = visit(node[i], depth + 1, `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  };
  const problem = visit(value, 0, "");
  return problem ? { problem } : { shape, leaves };
}

function indexPath(flat: number, shape: readonly number[]): string {
  const indices: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    indices.unshift(flat % shape[d]!);
    flat = Math.floor(flat / shape[d]!);
  }
  return indices.map((i) => `[${i}]`).join("");
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) return Number(value);
  if (value === "NaN" || value === "Infinity" || value === "-Infinity") return Number(value);
  return undefined;
}

function leafText(value: unknown): string {
  return typeof value === "bigint" ? value.toString() : JSON.stringify(value);
}

/** An expected 64-bit integer: a safe integer number, or a decimal string for values beyond 2^53. */
function expectedInteger(expected: unknown): bigint | undefined {
  if (typeof expected === "bigint") return expected;
  if (typeof expected === "number" && Number.isSafeInteger(expected)) return BigInt(expected);
  if (typeof expected === "string" && /^-?\d+$/.test(expected)) return BigInt(expected);
  return undefined;
}

function leavesMatch(expected: unknown, observed: Leaf, tolerance: number): boolean {
  if (typeof observed === "bigint") {
    // int64/uint64 outputs compare exactly (within a whole-number tolerance), without going through doubles.
    const want = expectedInteger(expected);
    if (want !== undefined) {
      const difference = observed - want;
      return (difference < 0n ? -difference : difference) <= BigInt(Math.floor(tolerance));
    }
  }
  if (typeof expected === "number" || typeof expected === "bigint") {
    const got = asNumber(observed);
    const want = Number(expected);
    if (got === undefined) return false;
    if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) && Number.isNaN(got);
    return got === want || Math.abs(got - want) <= tolerance;
  }
  return leafText(expected) === leafText(observed);
}

/** JSON text of a value, shortened for messages. */
export function preview(value: unknown, max = 160): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? "undefined";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Problems with one output (empty when it matches). */
export function compareOutput(name: string, expected: unknown, observed: Tensor, tolerance: number): string[] {
  const want = flattenExpected(expected);
  if ("problem" in want) return [`expected output "${name}" is not a tensor value: ${want.problem}`];
  if (want.shape.length !== observed.shape.length || want.shape.some((size, i) => size !== observed.shape[i])) {
    return [`output "${name}" has shape ${formatShape(observed.shape)}, expected ${formatShape(want.shape)}`];
  }
  const json = tensorToJson(observed);
  const got = flattenExpected(json);
  if ("problem" in got) return [`output "${name}": ${got.problem}`];
  const differing: string[] = [];
  let count = 0;
  want.leaves.forEach((leaf, index) => {
    const value = got.leaves[index] as Leaf;
    if (leavesMatch(leaf, value, tolerance)) return;
    count += 1;
    if (differing.length < MAX_LISTED) differing.push(`${name}${indexPath(index, want.shape)} = ${leafText(value)} (expected ${leafText(leaf)})`);
  });
  if (count === 0) return [];
  const more = count > differing.length ? ` and ${count - differing.length} more` : "";
  return [`output "${name}" differs beyond tolerance ${tolerance}: ${differing.join(", ")}${more}`];
}

/** The observed outputs as JSON, for the report. */
export function outputsJson(outputs: Readonly<Record<string, Tensor>>): Record<string, JsonValue> {
  return Object.fromEntries(Object.entries(outputs).map(([name, value]) => [name, tensorToJson(value)]));
}
