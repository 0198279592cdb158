/**
 * Validates custom resources against a CRD's structural schema (`openAPIV3Schema` of one served version), the
 * way the API server does with strict field validation (`kubectl --validate=strict`):
 *
 * - the CRD's `default`s are applied first (as the API server does before validating);
 * - types, `required`, `enum`, `pattern`, lengths, item and property counts, `minimum`/`maximum`, int-or-string
 *   fields, list-type `set`/`map` uniqueness;
 * - every field the schema does not define is an error (unless `x-kubernetes-preserve-unknown-fields`);
 * - CEL rules (`x-kubernetes-validations`) through hand-written equivalents registered by their exact rule
 *   text. Transition rules (those that read `oldSelf`) only apply to updates and are skipped. A rule the harness
 *   has no equivalent for is reported as a problem, so a new upstream rule cannot pass unnoticed.
 * - `metadata` is checked against ObjectMeta's fields (the CRD schema leaves it to the API server).
 */
import { unknownFields } from "./kubernetes-schema";

/* eslint-disable @typescript-eslint/no-explicit-any -- schemas and objects are arbitrary JSON */
export type Schema = Record<string, any>;
export interface Problem {
  path: string;
  message: string;
}

/** A CEL rule's equivalent: true when `self` (the node the rule sits on) passes. */
export type CelEquivalent = (self: any) => boolean;

const celEquivalents = new Map<string, CelEquivalent>();
const normalize = (rule: string) => rule.replace(/\s+/g, " ").trim();

/** Registers the JavaScript equivalent of a CEL rule, keyed by its text (whitespace-insensitive). */
export function registerCelRule(rule: string, equivalent: CelEquivalent): void {
  celEquivalents.set(normalize(rule), equivalent);
}

const has = (value: any, key: string) => value !== null && typeof value === "object" && value[key] !== undefined;
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Applies the schema's defaults to a copy of `value`, recursively (absent properties that have a `default`). */
export function applyDefaults(value: any, schema: Schema): any {
  if (Array.isArray(value)) return schema.items ? value.map((item) => applyDefaults(item, schema.items)) : value;
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [key, child] of Object.entries<Schema>(schema.properties ?? {})) {
    if (out[key] === undefined && child.default !== undefined) out[key] = structuredClone(child.default);
    if (out[key] !== undefined) out[key] = applyDefaults(out[key], child);
  }
  if (isObject(schema.additionalProperties)) {
    for (const key of Object.keys(out)) if (!(schema.properties ?? {})[key]) out[key] = applyDefaults(out[key], schema.additionalProperties);
  }
  return out;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

function validateNode(value: any, schema: Schema, path: string, problems: Problem[]): void {
  const at = path || "(root)";
  if (value === null) {
    if (!schema.nullable) problems.push({ path: at, message: "must not be null" });
    return;
  }
  if (schema["x-kubernetes-int-or-string"]) {
    if (!(typeOf(value) === "integer" || typeof value === "string")) {
      problems.push({ path: at, message: `must be an integer or a string (got ${JSON.stringify(value)})` });
      return;
    }
  } else if (schema.type && !typeMatches(value, schema.type)) {
    problems.push({ path: at, message: `must be of type ${schema.type} (got ${typeOf(value)} ${JSON.stringify(value)?.slice(0, 80)})` });
    return;
  }
  for (const sub of schema.allOf ?? []) validateNode(value, sub, path, problems);
  if (schema.anyOf) {
    const passing = (schema.anyOf as Schema[]).some((sub) => {
      const own: Problem[] = [];
      validateNode(value, sub, path, own);
      return own.length === 0;
    });
    if (!passing) problems.push({ path: at, message: `matches none of the allowed forms (${JSON.stringify(schema.anyOf)})` });
  }
  if (schema.enum && !schema.enum.some((allowed: unknown) => allowed === value)) {
    problems.push({ path: at, message: `must be one of ${schema.enum.map((e: unknown) => JSON.stringify(e)).join(", ")} (got ${JSON.stringify(value)})` });
  }
  if (typeof value === "string") {
    if (schema.maxLength !== undefined && value.length > schema.maxLength) problems.push({ path: at, message: `is longer than ${schema.maxLength} characters` });
    if (schema.minLength !== undefined && value.length < schema.minLength) problems.push({ path: at, message: `is shorter than ${schema.minLength} characters` });
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) problems.push({ path: at, message: `"${value}" does not match ${schema.pattern}` });
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)) problems.push({ path: at, message: `must be >= ${schema.minimum}` });
    if (schema.maximum !== undefined && (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)) problems.push({ path: at, message: `must be <= ${schema.maximum}` });
    if (schema.format === "int32" && (value < -(2 ** 31) || value >= 2 ** 31)) problems.push({ path: at, message: "must fit in int32" });
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) problems.push({ path: at, message: `has ${value.length} items, at most ${schema.maxItems} allowed` });
    if (schema.minItems !== undefined && value.length < schema.minItems) problems.push({ path: at, message: `has ${value.length} items, at least ${schema.minItems} required` });
    const listType = schema["x-kubernetes-list-type"];
    if (listType === "set" || listType === "map") {
      const keys = listType === "set" ? value.map((v) => JSON.stringify(v)) : value.map((v) => JSON.stringify((schema["x-kubernetes-list-map-keys"] ?? []).map((k: string) => v?.[k])));
      keys.forEach((key, i) => {
        if (keys.indexOf(key) !== i) problems.push({ path: `${path}[${i}]`, message: `duplicate entry ${key} in a list of type ${listType}` });
      });
    }
    if (schema.items) value.forEach((item, i) => validateNode(item, schema.items, `${path}[${i}]`, problems));
  }
  if (isObject(value)) {
    const properties: Record<string, Schema> = schema.properties ?? {};
    for (const key of schema.required ?? []) if (value[key] === undefined) problems.push({ path: path ? `${path}.${key}` : key, message: "is required" });
    const count = Object.keys(value).length;
    if (schema.maxProperties !== undefined && count > schema.maxProperties) problems.push({ path: at, message: `has ${count} entries, at most ${schema.maxProperties} allowed` });
    if (schema.minProperties !== undefined && count < schema.minProperties) problems.push({ path: at, message: `has ${count} entries, at least ${schema.minProperties} required` });
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      if (properties[key]) validateNode(child, properties[key], childPath, problems);
      else if (isObject(schema.additionalProperties)) validateNode(child, schema.additionalProperties, childPath, problems);
      else if (!schema["x-kubernetes-preserve-unknown-fields"] && schema.additionalProperties !== true) {
        problems.push({ path: childPath, message: `unknown field "${key}" (not in the CRD's schema)` });
      }
    }
  }
  for (const validation of schema["x-kubernetes-validations"] ?? []) {
    const rule = normalize(String(validation.rule));
    if (/\boldSelf\b/.test(rule)) continue; // a transition rule: only on updates
    const equivalent = celEquivalents.get(rule);
    if (!equivalent) {
      problems.push({ path: at, message: `the harness has no equivalent of the CEL rule ${JSON.stringify(rule)}; add one with registerCelRule` });
    } else if (!equivalent(value)) {
      problems.push({ path: at, message: validation.message ?? `fails the CEL rule ${rule}` });
    }
  }
}

/** Every problem with a custom resource against its CRD version's `openAPIV3Schema` (empty when valid). */
export function validateAgainstCrd(object: Record<string, any>, schema: Schema, expected: { apiVersion: string; kind: string; namespaced: boolean }): Problem[] {
  const problems: Problem[] = [];
  if (object.apiVersion !== expected.apiVersion) problems.push({ path: "apiVersion", message: `must be ${expected.apiVersion}` });
  if (object.kind !== expected.kind) problems.push({ path: "kind", message: `must be ${expected.kind}` });
  const metadata = object.metadata ?? {};
  if (typeof metadata.name !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(metadata.name) || metadata.name.length > 253) {
    problems.push({ path: "metadata.name", message: `${JSON.stringify(metadata.name)} must be a DNS subdomain name` });
  }
  if (expected.namespaced && typeof metadata.namespace !== "string") problems.push({ path: "metadata.namespace", message: `is required: ${expected.kind} is namespaced` });
  if (!expected.namespaced && metadata.namespace !== undefined) problems.push({ path: "metadata.namespace", message: `must not be set: ${expected.kind} is cluster-scoped` });
  problems.push(...unknownFields(metadata, "V1ObjectMeta", "metadata"));
  const { metadata: _metadata, ...rest } = object;
  const schemaWithoutMetadata = { ...schema, properties: { ...schema.properties } };
  delete schemaWithoutMetadata.properties.metadata;
  validateNode(applyDefaults(rest, schemaWithoutMetadata), schemaWithoutMetadata, "", problems);
  return problems;
}

export { has as celHas };
