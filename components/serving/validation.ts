/**
 * Every check on TfServing's arguments, run before any resource is declared. Problems are collected and
 * reported together, each with its argument path and what is allowed.
 */
import {
  IssueCollector,
  dnsLabelProblem,
  isNonNegativeInteger,
  isPositiveInteger,
  labelKeyProblem,
  modelNameProblem,
  modelVersionProblem,
  oneOf,
  quantityProblem,
} from "../common/validation";
import { imageProblem, TF_SERVING_GPU_IMAGE, TF_SERVING_IMAGE_ARCHITECTURE } from "./images";
import type { TfServingArgs, VersionPolicy } from "./types";

/** Suffix of the headless Service's name. */
export const HEADLESS_SUFFIX = "-headless";
/**
 * Longest component name: it prefixes the grants (`<name>-store-<n>`), and InClusterModelStore takes
 * grant names of up to 40 characters (ModelStore's IAM role names leave more room).
 */
export const MAX_NAME_LENGTH = 32;
export const SERVICE_TYPES = ["ClusterIP", "InternalLoadBalancer"] as const;
export const POLICY_KINDS = ["{ latest: n }", "{ all: true }", "{ specific: [versions] }"];

const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/;
const VERSION_LABEL = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;

export const TF_SERVING_DEFAULTS = {
  namespace: "default",
  replicas: 2,
  cpu: "1",
  memory: "2Gi",
  targetCpuUtilization: 70,
  syncIntervalSeconds: 30,
  startupTimeoutSeconds: 900,
  grpcMaxConnectionAgeSeconds: 30,
  /** gRPC's grace for in-flight calls on a connection past its maximum age. */
  grpcMaxConnectionAgeGraceSeconds: 10,
  preStopDelaySeconds: 10,
} as const;

/**
 * The shortest termination grace period that lets every gRPC connection of a terminating pod reach its
 * maximum age (gRPC adds up to 10% jitter) and finish its in-flight calls after the preStop delay.
 */
export function minimumTerminationGracePeriod(preStopDelaySeconds: number, grpcMaxConnectionAgeSeconds: number): number {
  return preStopDelaySeconds + Math.ceil(grpcMaxConnectionAgeSeconds * 1.1) + TF_SERVING_DEFAULTS.grpcMaxConnectionAgeGraceSeconds;
}

/** The default termination grace period: the minimum plus a few seconds of margin. */
export function defaultTerminationGracePeriod(preStopDelaySeconds: number, grpcMaxConnectionAgeSeconds: number): number {
  return minimumTerminationGracePeriod(preStopDelaySeconds, grpcMaxConnectionAgeSeconds) + 5;
}

/** Problems with one version policy, keyed by sub-path ("" for the policy itself). */
function policyProblems(policy: unknown): Array<[string, string]> {
  if (policy === null || typeof policy !== "object" || Array.isArray(policy)) return [["", `must be one of ${POLICY_KINDS.join(", ")}`]];
  const keys = Object.keys(policy);
  if (keys.length !== 1 || !["latest", "all", "specific"].includes(keys[0])) {
    return [["", `must be exactly one of ${POLICY_KINDS.join(", ")} (got ${JSON.stringify(policy)})`]];
  }
  const p = policy as Record<string, unknown>;
  if (keys[0] === "latest") {
    return isPositiveInteger(p.latest) ? [] : [["latest", `must be an integer >= 1 (got ${JSON.stringify(p.latest)})`]];
  }
  if (keys[0] === "all") return p.all === true ? [] : [["all", `must be true (got ${JSON.stringify(p.all)})`]];
  if (!Array.isArray(p.specific) || p.specific.length === 0) {
    return [["specific", `must list at least one version, e.g. { specific: [3] } (got ${JSON.stringify(p.specific)})`]];
  }
  const problems: Array<[string, string]> = [];
  p.specific.forEach((v: unknown, i: number) => {
    const problem = modelVersionProblem(v);
    if (problem) problems.push([`specific[${i}]`, problem]);
    else if (p.specific instanceof Array && p.specific.indexOf(v) !== i) problems.push([`specific[${i}]`, `version ${v} is listed twice`]);
  });
  return problems;
}

function describePolicy(policy: VersionPolicy): string {
  if ("latest" in policy) return `{ latest: ${policy.latest} }`;
  if ("all" in policy) return "{ all: true }";
  return `{ specific: [${policy.specific.join(", ")}] }`;
}

/** Every problem with TfServing arguments (empty when valid). Pure; exported for tests and config validation. */
export function validateTfServingArgs(name: string, args: TfServingArgs): IssueCollector {
  const issues = new IssueCollector();
  const nameProblem = dnsLabelProblem(name, MAX_NAME_LENGTH);
  if (nameProblem) {
    issues.add(
      "name",
      `the component name names its Service, Deployment, ServiceAccount and model store grants ("<name>-store-<n>", which stores may limit to 40 characters): ${nameProblem}`,
    );
  }

  if (args.namespace !== undefined) {
    const problem = dnsLabelProblem(args.namespace);
    if (problem) issues.add("namespace", problem);
  }
  if (args.clusterName === undefined || args.clusterName === "") issues.add("clusterName", "is required (the EKS cluster for the model store's Pod Identity association)");

  // Models, policies and labels.
  if (!Array.isArray(args.models) || args.models.length === 0) {
    issues.add("models", "must list at least one model ({ name, store, versionPolicy?, versionLabels? })");
  }
  const firstIndexOf = new Map<string, number>();
  (Array.isArray(args.models) ? args.models : []).forEach((model, i) => {
    const path = `models[${i}]`;
    const problem = modelNameProblem(model?.name ?? "");
    if (problem) issues.add(`${path}.name`, problem);
    else if (firstIndexOf.has(model.name)) {
      issues.add(`${path}.name`, `duplicate model name "${model.name}" (also models[${firstIndexOf.get(model.name)}]); model names must be unique`);
    } else firstIndexOf.set(model.name, i);
    if (!model?.store) issues.add(`${path}.store`, "is required (the ModelStoreBackend holding models/<name>/)");

    const policy = model?.versionPolicy ?? { latest: 1 };
    const problems = policyProblems(policy);
    for (const [sub, message] of problems) issues.add(sub ? `${path}.versionPolicy.${sub}` : `${path}.versionPolicy`, message);

    for (const [label, version] of Object.entries(model?.versionLabels ?? {})) {
      const labelPath = `${path}.versionLabels.${label}`;
      if (!VERSION_LABEL.test(label)) {
        issues.add(labelPath, `label "${label}" is invalid: use 1-63 letters, digits, "-", "_" or ".", starting with a letter`);
      }
      const versionProblem = modelVersionProblem(version);
      if (versionProblem) {
        issues.add(labelPath, versionProblem);
        continue;
      }
      if (problems.length > 0) continue;
      const valid = policy as VersionPolicy;
      if ("latest" in valid) {
        issues.add(
          labelPath,
          `points at version ${version}, which versionPolicy ${describePolicy(valid)} does not always serve (the latest versions change); ` +
            `labels need { specific: [${version}, ...] } or { all: true }`,
        );
      } else if ("specific" in valid && !valid.specific.includes(version)) {
        issues.add(labelPath, `points at version ${version}, which versionPolicy ${describePolicy(valid)} does not serve; serve it, or label one of ${oneOf(valid.specific)}`);
      }
    }
  });

  // Image and resources.
  const gpus = args.resources?.gpus ?? 0;
  if (!isNonNegativeInteger(gpus)) issues.add("resources.gpus", `must be an integer >= 0 (got ${JSON.stringify(gpus)})`);
  if (args.image !== undefined) {
    const problem = imageProblem(args.image, isPositiveInteger(gpus));
    if (problem) issues.add("image", problem);
  }
  if (args.syncImage !== undefined) {
    const problem = imageProblem(args.syncImage, false);
    if (problem) issues.add("syncImage", problem);
  }
  if (args.resources?.cpu !== undefined) {
    const problem = quantityProblem(args.resources.cpu, "cpu");
    if (problem) issues.add("resources.cpu", problem);
  }
  if (args.resources?.memory !== undefined) {
    const problem = quantityProblem(args.resources.memory, "memory");
    if (problem) issues.add("resources.memory", problem);
  }
  if (args.modelsVolumeSizeLimit !== undefined) {
    const problem = quantityProblem(args.modelsVolumeSizeLimit, "storage");
    if (problem) issues.add("modelsVolumeSizeLimit", problem);
  }
  if (isPositiveInteger(gpus)) {
    if (!args.gpuPool) {
      issues.add("resources.gpus", `requests ${gpus} GPU(s) but no gpuPool is set; GPU pods need GPU scheduling: set gpuPool to the GpuNodePool to run on`);
    } else if (gpus > args.gpuPool.gpusPerNode) {
      issues.add("resources.gpus", `requests ${gpus} GPUs per pod but the gpuPool's nodes have ${args.gpuPool.gpusPerNode}; use 1-${args.gpuPool.gpusPerNode}`);
    }
    if (args.gpuPool?.architecture === "arm64" && args.image === undefined) {
      issues.add(
        "image",
        `not set, so the default ${TF_SERVING_GPU_IMAGE} is used, which is built for linux/${TF_SERVING_IMAGE_ARCHITECTURE} only, but gpuPool runs arm64 nodes; set image to an arm64 build of TF Serving, or use an x86_64 pool`,
      );
    }
  } else if (args.gpuPool) {
    issues.add("gpuPool", "is set but resources.gpus is not; set resources.gpus to the GPUs per pod (at least 1), or remove gpuPool");
  }

  // Replicas and autoscaling.
  if (args.replicas !== undefined && !isPositiveInteger(args.replicas)) issues.add("replicas", `must be an integer >= 1 (got ${JSON.stringify(args.replicas)})`);
  if (args.autoscaling) {
    const { minReplicas, maxReplicas, targetCpuUtilization } = args.autoscaling;
    if (args.replicas !== undefined) issues.add("replicas", "conflicts with autoscaling: the autoscaler owns the replica count; set autoscaling.minReplicas instead");
    if (!isPositiveInteger(minReplicas)) issues.add("autoscaling.minReplicas", `must be an integer >= 1 (got ${JSON.stringify(minReplicas)})`);
    if (!isPositiveInteger(maxReplicas)) issues.add("autoscaling.maxReplicas", `must be an integer >= 1 (got ${JSON.stringify(maxReplicas)})`);
    if (isPositiveInteger(minReplicas) && isPositiveInteger(maxReplicas) && minReplicas > maxReplicas) {
      issues.add("autoscaling", `minReplicas (${minReplicas}) must be <= maxReplicas (${maxReplicas})`);
    }
    if (targetCpuUtilization !== undefined && !(Number.isInteger(targetCpuUtilization) && targetCpuUtilization >= 1 && targetCpuUtilization <= 100)) {
      issues.add("autoscaling.targetCpuUtilization", `must be an integer percentage from 1 to 100 (got ${JSON.stringify(targetCpuUtilization)})`);
    }
  }
  if (args.podDisruptionBudget && !isPositiveInteger(args.podDisruptionBudget.maxUnavailable)) {
    issues.add("podDisruptionBudget.maxUnavailable", `must be an integer >= 1 (got ${JSON.stringify(args.podDisruptionBudget.maxUnavailable)})`);
  }

  // Batching.
  if (args.batching) {
    const b = args.batching;
    if (!isPositiveInteger(b.maxBatchSize)) issues.add("batching.maxBatchSize", `must be an integer >= 1 (got ${JSON.stringify(b.maxBatchSize)})`);
    if (!isNonNegativeInteger(b.batchTimeoutMicros)) issues.add("batching.batchTimeoutMicros", `must be an integer >= 0 (got ${JSON.stringify(b.batchTimeoutMicros)})`);
    if (b.numBatchThreads !== undefined && !isPositiveInteger(b.numBatchThreads)) issues.add("batching.numBatchThreads", `must be an integer >= 1 (got ${JSON.stringify(b.numBatchThreads)})`);
    if (b.maxEnqueuedBatches !== undefined && !isPositiveInteger(b.maxEnqueuedBatches)) {
      issues.add("batching.maxEnqueuedBatches", `must be an integer >= 1 (got ${JSON.stringify(b.maxEnqueuedBatches)})`);
    }
  }

  // Service.
  const service = args.service ?? {};
  const serviceType = service.type ?? "ClusterIP";
  if (!(SERVICE_TYPES as readonly string[]).includes(serviceType)) issues.add("service.type", `"${serviceType}" is not supported; use one of ${oneOf(SERVICE_TYPES)}`);
  for (const key of Object.keys(service.annotations ?? {})) {
    const problem = labelKeyProblem(key);
    if (problem) issues.add(`service.annotations["${key}"]`, problem.replace("label key", "annotation key"));
  }
  if ("sourceRanges" in service && service.sourceRanges !== undefined) {
    service.sourceRanges.forEach((cidr, i) => {
      if (!CIDR.test(cidr)) issues.add(`service.sourceRanges[${i}]`, `"${cidr}" is not a CIDR such as "10.0.0.0/16"`);
    });
  }

  // Timings.
  const positive: Array<[string, number | undefined]> = [
    ["syncIntervalSeconds", args.syncIntervalSeconds],
    ["startupTimeoutSeconds", args.startupTimeoutSeconds],
    ["preStopDelaySeconds", args.preStopDelaySeconds],
  ];
  for (const [key, value] of positive) {
    if (value !== undefined && !isPositiveInteger(value)) issues.add(key, `must be an integer >= 1 (got ${JSON.stringify(value)})`);
  }
  const age = args.grpcMaxConnectionAgeSeconds;
  if (age !== undefined && !(Number.isInteger(age) && age >= 5 && age <= 3600)) {
    issues.add("grpcMaxConnectionAgeSeconds", `must be an integer from 5 to 3600 (got ${JSON.stringify(age)})`);
  }
  const grace = args.terminationGracePeriodSeconds;
  if (grace !== undefined) {
    const preStop = isPositiveInteger(args.preStopDelaySeconds) ? args.preStopDelaySeconds : TF_SERVING_DEFAULTS.preStopDelaySeconds;
    const validAge = age !== undefined && Number.isInteger(age) && age >= 5 && age <= 3600 ? age : TF_SERVING_DEFAULTS.grpcMaxConnectionAgeSeconds;
    const minimum = minimumTerminationGracePeriod(preStop, validAge);
    if (!isPositiveInteger(grace) || grace < minimum) {
      issues.add(
        "terminationGracePeriodSeconds",
        `must be an integer >= ${minimum} (preStopDelaySeconds ${preStop} + 110% of grpcMaxConnectionAgeSeconds ${validAge} + ${TF_SERVING_DEFAULTS.grpcMaxConnectionAgeGraceSeconds}s for in-flight calls) so gRPC connections close gracefully before the pod is killed (got ${JSON.stringify(grace)})`,
      );
    }
  }
  return issues;
}
