/**
 * Validates rendered Kubernetes objects against the Kubernetes OpenAPI schema.
 *
 * Two checks, because neither alone catches every mistake:
 * - `kubernetes-models` runs the OpenAPI schema (types, required fields, formats, enums);
 * - the OpenAPI schema allows unknown fields, which the API server drops or rejects depending on the
 *   field-validation mode. A typo such as `spec.replicass` would pass, so every field is also checked
 *   against the attribute maps generated from the same OpenAPI spec in `@kubernetes/client-node`
 *   (what `kubectl --validate=strict` does).
 *
 * Custom resources (e.g. JobSet) register a validator with `registerCustomResourceValidator`; an object
 * whose kind has no validator is an error, so nothing escapes validation by accident.
 */
import * as k8sClient from "@kubernetes/client-node";
import type { MockRun, PropertyMap, RecordedResource } from "./pulumi-mocks";

export interface SchemaProblem {
  /** `<kind>/<name>` of the object. */
  object: string;
  /** JSON path inside the object. */
  path: string;
  message: string;
}

export type CustomResourceValidator = (object: PropertyMap) => Array<{ path: string; message: string }> | Promise<Array<{ path: string; message: string }>>;

const customValidators = new Map<string, CustomResourceValidator>();

/** Registers the validator for a custom resource kind, keyed by `apiVersion` and `kind`. */
export function registerCustomResourceValidator(apiVersion: string, kind: string, validator: CustomResourceValidator): void {
  customValidators.set(`${apiVersion}/${kind}`, validator);
}

interface AttributeType {
  baseName: string;
  type: string;
}
interface GeneratedModel {
  getAttributeTypeMap(): AttributeType[];
}

const generatedModels = k8sClient as unknown as Record<string, GeneratedModel | undefined>;
const PRIMITIVES = new Set(["string", "number", "boolean", "Date", "any", "object", "IntOrString"]);

/** Reports every field that the Kubernetes OpenAPI spec does not define for `typeName`. */
export function unknownFields(value: unknown, typeName: string, path = ""): Array<{ path: string; message: string }> {
  if (value === null || value === undefined || PRIMITIVES.has(typeName)) return [];
  const arrayMatch = /^Array<(.+)>$/.exec(typeName);
  if (arrayMatch) {
    if (!Array.isArray(value)) return [{ path, message: `must be an array` }];
    return value.flatMap((item, i) => unknownFields(item, arrayMatch[1], `${path}[${i}]`));
  }
  const mapMatch = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (mapMatch) {
    if (typeof value !== "object" || Array.isArray(value)) return [{ path, message: `must be an object` }];
    return Object.entries(value as PropertyMap).flatMap(([k, v]) => unknownFields(v, mapMatch[1], `${path}.${k}`));
  }
  const model = generatedModels[typeName];
  if (!model || typeof model.getAttributeTypeMap !== "function") {
    return [{ path, message: `harness has no model for type ${typeName}` }];
  }
  if (typeof value !== "object" || Array.isArray(value)) return [{ path, message: `must be an object (${typeName})` }];
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  const problems: Array<{ path: string; message: string }> = [];
  for (const [key, child] of Object.entries(value as PropertyMap)) {
    const childType = attributes.get(key);
    const childPath = path ? `${path}.${key}` : key;
    if (!childType) {
      problems.push({ path: childPath, message: `unknown field "${key}" (not in ${typeName})` });
      continue;
    }
    problems.push(...unknownFields(child, childType, childPath));
  }
  return problems;
}

/** The generated-model name for a built-in kind: `apps/v1` Deployment -> `V1Deployment`. */
function generatedTypeName(apiVersion: string, kind: string): string {
  const version = apiVersion.split("/").pop() ?? apiVersion;
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

type ModelClass = new (data: PropertyMap) => { validate(): void };

async function loadModel(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  try {
    const module = (await import(/* @vite-ignore */ `kubernetes-models/${apiVersion}/${kind}`)) as Record<string, ModelClass>;
    return module[kind];
  } catch {
    return undefined;
  }
}

/** Validates one object; returns every problem found (empty when valid). */
export async function validateKubernetesObject(object: PropertyMap): Promise<SchemaProblem[]> {
  const { apiVersion, kind } = object;
  const label = `${kind ?? "?"}/${object.metadata?.name ?? "?"}`;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return [{ object: label, path: "", message: "apiVersion and kind are required" }];
  }
  const custom = customValidators.get(`${apiVersion}/${kind}`);
  if (custom) {
    return (await custom(object)).map((p) => ({ object: label, ...p }));
  }
  const Model = await loadModel(apiVersion, kind);
  if (!Model) {
    return [{ object: label, path: "", message: `no schema for ${apiVersion} ${kind}; register a custom resource validator` }];
  }
  const problems: SchemaProblem[] = [];
  try {
    new Model(object).validate();
  } catch (err) {
    const errors = (err as { errors?: Array<{ instancePath: string; message?: string }> }).errors;
    if (errors?.length) {
      for (const e of errors) problems.push({ object: label, path: e.instancePath, message: e.message ?? String(err) });
    } else {
      problems.push({ object: label, path: "", message: String(err) });
    }
  }
  for (const p of unknownFields(object, generatedTypeName(apiVersion, kind))) problems.push({ object: label, ...p });
  return problems;
}

/** The object a Kubernetes resource's inputs describe (what the provider sends to the API server). */
export function kubernetesObjectOf(resource: RecordedResource): PropertyMap {
  return resource.inputs;
}

/**
 * Validates every Kubernetes object a mock run registered. Throws one error listing every problem.
 * Returns the number of objects validated, so tests can assert that validation actually ran.
 */
export async function expectValidKubernetesObjects(run: MockRun<unknown>): Promise<number> {
  const objects = run.kubernetesObjects();
  const problems = (await Promise.all(objects.map((r) => validateKubernetesObject(kubernetesObjectOf(r))))).flat();
  if (problems.length > 0) {
    throw new Error(`Kubernetes schema validation failed:\n${problems.map((p) => `  ${p.object} ${p.path}: ${p.message}`).join("\n")}`);
  }
  return objects.length;
}
