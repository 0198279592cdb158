/**
 * From MobileExport arguments to a checked spec (pure): every argument validated, all problems reported at once
 * before any resource, defaults filled in; and the one grant the export's pod uses.
 */
import {
  dnsLabelProblem,
  isNonNegativeInteger,
  isPositiveInteger,
  IssueCollector,
  modelNameProblem,
  modelVersionProblem,
  oneOf,
  quantityProblem,
} from "../common/validation";
import { AWS_CLI_IMAGE } from "../serving/images";
import type { ModelAccessGrantArgs, ServiceAccountRef } from "../storage/model-store-backend";
import { LINEAR_EXAMPLE_IMAGE } from "../training/linear-example";
import { MOBILE_DEFAULT_MAX_ABS_DIFF, MOBILE_OPTIMIZATIONS, type MobileExportArgs, type MobileOptimization, type MobileSampleInputs } from "./args";

/**
 * TensorFlow CPU image of the converter: the example trainer's, whose TensorFlow is the slow suite's
 * (examples/linear/requirements.txt), so the conversion the tests verify is the one that runs.
 */
export const MOBILE_CONVERTER_IMAGE = LINEAR_EXAMPLE_IMAGE;
export const MOBILE_DEFAULT_NAMESPACE = "default";
export const MOBILE_DEFAULT_SIGNATURE = "serving_default";
export const MOBILE_DEFAULT_OPTIMIZATION: MobileOptimization = "none";
export const MOBILE_DEFAULT_RESOURCES = { cpu: "1", memory: "2Gi" } as const;
export const MOBILE_DEFAULT_VERSION_WAIT_MINUTES = 1440;
export const MOBILE_DEFAULT_WAIT_TIMEOUT_MINUTES = 10;
export const MOBILE_DEFAULT_BACKOFF_LIMIT = 2;
/** Sample inputs travel in a ConfigMap (at most 1 MiB with the scripts). */
export const MOBILE_MAX_SAMPLE_INPUTS_BYTES = 512 * 1024;

// <repository>:<tag other than latest>, <repository>@sha256:<digest>, or both.
const PINNED_IMAGE = /^[a-z0-9][a-z0-9._\-/:]*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[a-f0-9]{64})$/;
// Signature keys are free text in a SavedModel; here they travel as one command-line argument.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Kubernetes names derived from the component name and the version. */
export interface MobileExportNames {
  /** The Job (also its Pulumi name): `<name>-v<version>`, so each version is a new Job. */
  job: string;
  /** The service account, shared by the versions. */
  serviceAccount: string;
  /** ConfigMap with the scripts (and the sample inputs). */
  scripts: string;
  /** The store grant's name (prefixes the store's objects for it). */
  grant: string;
}

export function mobileExportNames(name: string, version: number): MobileExportNames {
  const job = `${name}-v${version}`;
  return { job, serviceAccount: name, scripts: `${job}-scripts`, grant: `${name}-store` };
}

/** The checked arguments with defaults filled in. */
export interface MobileExportSpec {
  names: MobileExportNames;
  namespace: string;
  model: string;
  version: number;
  signature: string;
  optimize: MobileOptimization;
  maxAbsDiff: number;
  sampleInputs?: MobileSampleInputs;
  converterImage: string;
  storeImage: string;
  resources: { cpu: string; memory: string };
  versionWaitMinutes: number;
  wait: { until: "complete"; timeoutMinutes: number } | { until: "created" };
  backoffLimit: number;
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  imagePullSecrets: string[];
}

function imageProblem(image: unknown): string | undefined {
  if (typeof image !== "string" || !PINNED_IMAGE.test(image) || image.endsWith(":latest")) {
    return `${JSON.stringify(image)} must be a pinned image: <repository>:<tag> (not "latest") or <repository>@sha256:<digest>`;
  }
  return undefined;
}

function sampleInputsProblem(samples: unknown): string | undefined {
  const isObject = (value: unknown) => typeof value === "object" && value !== null && !Array.isArray(value);
  const list = Array.isArray(samples) ? samples : [samples];
  if (list.length === 0 || !list.every(isObject)) return "must be an object of input name to a nested list (one batch), or a non-empty list of them";
  for (const [i, sample] of list.entries()) {
    if (Object.keys(sample as object).length === 0) return `${Array.isArray(samples) ? `[${i}] ` : ""}names no input`;
  }
  let text: string;
  try {
    text = JSON.stringify(samples);
  } catch (err) {
    return `must be plain JSON: ${(err as Error).message}`;
  }
  if (Buffer.byteLength(text) > MOBILE_MAX_SAMPLE_INPUTS_BYTES) {
    return `is ${Buffer.byteLength(text)} bytes of JSON; at most ${MOBILE_MAX_SAMPLE_INPUTS_BYTES} fit beside the scripts in a ConfigMap`;
  }
  return undefined;
}

/**
 * Validates MobileExport arguments (pure). Throws one ComponentValidationError listing every problem, naming each
 * argument and what is allowed.
 */
export function planMobileExport(name: string, args: MobileExportArgs): MobileExportSpec {
  const issues = new IssueCollector();

  // The grant, `<name>-store`, must fit the stores' grant names (40 characters).
  const nameProblem = dnsLabelProblem(name, 34);
  if (nameProblem) issues.add("name", `the component name names the Job, its service account and its store grant: ${nameProblem}`);
  const modelProblem = typeof args.model === "string" ? modelNameProblem(args.model) : "is required (a model name)";
  if (modelProblem) issues.add("model", modelProblem);
  const versionProblem = modelVersionProblem(args.version);
  if (versionProblem) issues.add("version", versionProblem);
  if (!args.store) issues.add("store", "is required: the model store holding models/<model>/<version>/");
  if (args.clusterName === undefined || args.clusterName === null || args.clusterName === "") {
    issues.add("clusterName", "is required: the EKS cluster, for the store's Pod Identity association");
  }

  const namespace = args.namespace ?? MOBILE_DEFAULT_NAMESPACE;
  const namespaceProblem = dnsLabelProblem(namespace);
  if (namespaceProblem) issues.add("namespace", namespaceProblem);

  const signature = args.signature ?? MOBILE_DEFAULT_SIGNATURE;
  if (typeof signature !== "string" || signature === "" || CONTROL_CHARACTERS.test(signature)) {
    issues.add("signature", `must be a signature key of the SavedModel, e.g. "serving_default" (got ${JSON.stringify(signature)})`);
  }
  const optimize = args.optimize ?? MOBILE_DEFAULT_OPTIMIZATION;
  if (!(MOBILE_OPTIMIZATIONS as readonly string[]).includes(optimize)) {
    issues.add("optimize", `must be ${oneOf(MOBILE_OPTIMIZATIONS)} (got ${JSON.stringify(optimize)})`);
  }
  const maxAbsDiff = args.maxAbsDiff ?? MOBILE_DEFAULT_MAX_ABS_DIFF[optimize] ?? 0;
  if (typeof maxAbsDiff !== "number" || !Number.isFinite(maxAbsDiff) || maxAbsDiff < 0) {
    issues.add("maxAbsDiff", `must be a finite number >= 0 (got ${JSON.stringify(maxAbsDiff)})`);
  }
  const samplesProblem = args.sampleInputs === undefined ? undefined : sampleInputsProblem(args.sampleInputs);
  if (samplesProblem) issues.add("sampleInputs", samplesProblem);

  const converterImage = args.converterImage ?? MOBILE_CONVERTER_IMAGE;
  const converterImageProblem = imageProblem(converterImage);
  if (converterImageProblem) issues.add("converterImage", converterImageProblem);
  const storeImage = args.storeImage ?? AWS_CLI_IMAGE;
  const storeImageProblem = imageProblem(storeImage);
  if (storeImageProblem) issues.add("storeImage", storeImageProblem);

  const resources = { ...MOBILE_DEFAULT_RESOURCES, ...args.resources };
  for (const key of ["cpu", "memory"] as const) {
    const problem = quantityProblem(resources[key], key);
    if (problem) issues.add(`resources.${key}`, problem);
  }

  const versionWaitMinutes = args.versionWaitMinutes ?? MOBILE_DEFAULT_VERSION_WAIT_MINUTES;
  if (!isPositiveInteger(versionWaitMinutes)) issues.add("versionWaitMinutes", `must be a positive integer of minutes (got ${JSON.stringify(versionWaitMinutes)})`);

  const waitArg = args.wait ?? { until: "complete" as const };
  let wait: MobileExportSpec["wait"] = { until: "created" };
  if (waitArg.until === "complete") {
    const timeoutMinutes = waitArg.timeoutMinutes ?? MOBILE_DEFAULT_WAIT_TIMEOUT_MINUTES;
    if (!isPositiveInteger(timeoutMinutes)) issues.add("wait.timeoutMinutes", `must be a positive integer (got ${JSON.stringify(timeoutMinutes)})`);
    wait = { until: "complete", timeoutMinutes };
  } else if (waitArg.until !== "created") {
    issues.add("wait.until", `${JSON.stringify((waitArg as { until: unknown }).until)} is not valid; use one of "complete", "created"`);
  }

  const backoffLimit = args.backoffLimit ?? MOBILE_DEFAULT_BACKOFF_LIMIT;
  for (const [key, value] of [
    ["backoffLimit", backoffLimit],
    ["ttlSecondsAfterFinished", args.ttlSecondsAfterFinished],
  ] as const) {
    if (value !== undefined && !isNonNegativeInteger(value)) issues.add(key, `must be an integer >= 0 (got ${JSON.stringify(value)})`);
  }
  if (args.activeDeadlineSeconds !== undefined && !isPositiveInteger(args.activeDeadlineSeconds)) {
    issues.add("activeDeadlineSeconds", `must be a positive integer of seconds (got ${JSON.stringify(args.activeDeadlineSeconds)})`);
  }
  const imagePullSecrets = args.imagePullSecrets ?? [];
  imagePullSecrets.forEach((secret, i) => {
    const problem = typeof secret === "string" ? dnsLabelProblem(secret, 253) : "must be a Secret name";
    if (problem) issues.add(`imagePullSecrets[${i}]`, problem);
  });

  // At most 34 + "-v" + 20 digits: Job names fit their 63 characters.
  const names = mobileExportNames(name, isPositiveInteger(args.version) ? args.version : 0);

  issues.throwIfAny(`MobileExport "${name}"`);
  return {
    names,
    namespace,
    model: args.model,
    version: args.version,
    signature,
    optimize,
    maxAbsDiff,
    sampleInputs: args.sampleInputs,
    converterImage,
    storeImage,
    resources,
    versionWaitMinutes,
    wait,
    backoffLimit,
    activeDeadlineSeconds: args.activeDeadlineSeconds,
    ttlSecondsAfterFinished: args.ttlSecondsAfterFinished,
    imagePullSecrets,
  };
}

/**
 * The export's one grant: read that model version (`models/<model>/<version>/`) and write only its mobile export
 * (`mobile/<model>/<version>/`). Nothing else of the store, and no delete.
 */
export function mobileExportGrant(spec: Pick<MobileExportSpec, "model" | "version">, serviceAccount: ServiceAccountRef): ModelAccessGrantArgs {
  return {
    access: "read",
    models: [],
    scopes: [
      { area: "models", model: spec.model, version: spec.version, access: "read" },
      { area: "mobile", model: spec.model, version: spec.version, access: "write" },
    ],
    serviceAccount,
  };
}
