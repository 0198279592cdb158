/**
 * Input validation shared by every component: problems are collected, then thrown together before any
 * resource is declared, so one run shows every mistake and nothing is half-created.
 */

/** One thing wrong with a component's arguments. */
export interface ValidationIssue {
  /** Path of the offending argument, e.g. `scaling.min` or `models[1].versionPolicy`. */
  path: string;
  /** What is wrong and what is allowed. */
  message: string;
}

/** Thrown by a component constructor when its arguments are invalid. No resource has been declared. */
export class ComponentValidationError extends Error {
  constructor(
    /** Component type and name, e.g. `GpuNodePool "gpu"`. */
    readonly component: string,
    readonly issues: readonly ValidationIssue[],
  ) {
    super(`${component} has invalid arguments:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join("\n")}`);
    this.name = "ComponentValidationError";
  }
}

/** Collects issues; `throwIfAny` raises them all at once. */
export class IssueCollector {
  private readonly issues: ValidationIssue[] = [];

  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** Adds every issue found by a check, prefixing its paths. */
  addAll(prefix: string, issues: readonly ValidationIssue[]): void {
    for (const issue of issues) this.add(issue.path ? `${prefix}.${issue.path}` : prefix, issue.message);
  }

  get count(): number {
    return this.issues.length;
  }

  /** The issues collected so far. */
  list(): readonly ValidationIssue[] {
    return this.issues;
  }

  throwIfAny(component: string): void {
    if (this.issues.length > 0) throw new ComponentValidationError(component, this.issues);
  }
}

/** Formats a list of allowed values for an error message. */
export function oneOf(values: readonly (string | number)[]): string {
  return values.map((v) => (typeof v === "string" ? `"${v}"` : String(v))).join(", ");
}

export function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

export function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Problems with a Kubernetes object name that must be a DNS-1123 label (namespaces, Services). */
export function dnsLabelProblem(value: string, maxLength = 63): string | undefined {
  if (value.length === 0 || value.length > maxLength || !DNS_LABEL.test(value)) {
    return `"${value}" must be 1-${maxLength} lowercase letters, digits or "-", starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Problems with a Kubernetes label key (optional DNS-subdomain prefix, then a name of up to 63 characters). */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key "${key}" has an invalid prefix: it must be a DNS subdomain such as "example.com"`;
  }
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    return `label key "${key}" is invalid: the name part must be 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Problems with a Kubernetes label value (empty, or up to 63 characters). */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63 || (value.length > 0 && !LABEL_NAME.test(value))) {
    return `label value "${value}" is invalid: use at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Model names appear in S3 keys, TF Serving config and Kubernetes names, so they are DNS-label-like. */
const MODEL_NAME = /^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$/;

export function modelNameProblem(model: string): string | undefined {
  if (model.length === 0 || model.length > 63 || !MODEL_NAME.test(model)) {
    return `model name "${model}" is invalid: use 1-63 lowercase letters, digits, "-" or "_", starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Model versions are positive integers, as TF Serving expects of version directories. */
export function modelVersionProblem(version: unknown): string | undefined {
  if (!isPositiveInteger(version)) {
    return `model version ${JSON.stringify(version)} is invalid: it must be a positive integer (TF Serving version directories are numbers)`;
  }
  return undefined;
}

/**
 * A Kubernetes resource quantity without a sign (resources are never negative): digits with an optional
 * fraction, then a binary-SI (Ki..Ei), decimal-SI (n, u, m, k, M..E) or decimal-exponent (e3) suffix.
 */
const QUANTITY = /^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$/;

/** What a quantity measures; it picks the examples and catches "m" (milli) used for bytes. */
export type QuantityKind = "cpu" | "memory" | "storage";

/** Problems with a positive Kubernetes quantity such as "500m", "2" or "4Gi" (undefined when valid). */
export function quantityProblem(value: unknown, kind: QuantityKind): string | undefined {
  if (typeof value !== "string" || !QUANTITY.test(value) || Number.parseFloat(value) <= 0) {
    const example = kind === "cpu" ? '"500m" or "2"' : '"512Mi" or "4Gi"';
    return `${JSON.stringify(value)} is not a positive Kubernetes quantity; use e.g. ${example}`;
  }
  if (kind !== "cpu" && value.endsWith("m")) return `"${value}" means milli-bytes; use "Mi" or "Gi" (e.g. "${value.slice(0, -1)}Mi")`;
  return undefined;
}
