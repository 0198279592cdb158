/**
 * Strict validator for JobSet (jobset.x-k8s.io/v1alpha2) objects, written from the JobSet v0.12.0 CRD's
 * structural schema and the rules its admission webhook enforces. Importing this module registers it
 * with the Kubernetes schema harness.
 *
 * - Every JobSet spec field the CRD defines is known; any other field is rejected (what the API server's
 *   strict field validation does). `volumeClaimPolicies` exists in the CRD but is deliberately not
 *   modelled here: using it fails validation until the harness learns it.
 * - Types, enums and required fields as in the CRD (e.g. successPolicy.operator All|Any, failurePolicy
 *   rule name and action required, int32 counts, ttlSecondsAfterFinished >= 0).
 * - The webhook's checks: failure rule names match ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$ and are
 *   unique, onJobFailureReasons are Job failure reasons, success and failure targets name existing
 *   replicated jobs, the subdomain and the generated job and pod names (pod names with the 5-character
 *   suffix) are RFC 1035 labels of at most 63 characters, the first replicated job has no dependsOn.
 * - Each replicated job's template is a batch/v1 JobTemplateSpec: validated with kubernetes-models plus
 *   the strict unknown-field check. The CRD only keeps labels, annotations, finalizers, name and namespace
 *   of the template's metadata, so other metadata fields are rejected.
 */
import { z } from "zod";
import { registerCustomResourceValidator, unknownFields } from "./kubernetes-schema";
import type { PropertyMap } from "./pulumi-mocks";

export const JOBSET_API_VERSION = "jobset.x-k8s.io/v1alpha2";

const int32 = z.int().min(-2147483648).max(2147483647);
const stringList = z.array(z.string());
const FAILURE_RULE_NAME = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
const JOB_FAILURE_REASONS = ["BackoffLimitExceeded", "DeadlineExceeded", "FailedIndexes", "MaxFailedIndexesExceeded", "PodFailurePolicy"];
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const replicatedJobSchema = z.strictObject({
  name: z.string().min(1),
  groupName: z.string().optional(),
  replicas: int32.min(0).optional(),
  dependsOn: z
    .array(z.strictObject({ name: z.string(), status: z.enum(["Ready", "Complete"]) }))
    .max(5)
    .optional(),
  template: z.strictObject({
    metadata: z
      .strictObject({
        annotations: z.record(z.string(), z.string()).optional(),
        finalizers: stringList.optional(),
        labels: z.record(z.string(), z.string()).optional(),
        name: z.string().optional(),
        namespace: z.string().optional(),
      })
      .optional(),
    spec: z.record(z.string(), z.unknown()),
  }),
});

const jobSetSpecSchema = z.strictObject({
  replicatedJobs: z.array(replicatedJobSchema).min(1),
  network: z
    .strictObject({ enableDNSHostnames: z.boolean().optional(), subdomain: z.string().optional(), publishNotReadyAddresses: z.boolean().optional() })
    .optional(),
  successPolicy: z.strictObject({ operator: z.enum(["All", "Any"]), targetReplicatedJobs: stringList.optional() }).optional(),
  failurePolicy: z
    .strictObject({
      maxRestarts: int32.optional(),
      restartStrategy: z.enum(["Recreate", "BlockingRecreate", "InPlaceRestart"]).optional(),
      rules: z
        .array(
          z.strictObject({
            name: z.string(),
            action: z.enum(["FailJobSet", "RestartJobSet", "RestartJobSetAndIgnoreMaxRestarts", "RestartJob", "RestartJobAndIgnoreMaxRestarts"]),
            onJobFailureReasons: stringList.optional(),
            onJobFailureMessagePatterns: stringList.optional(),
            targetReplicatedJobs: stringList.optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  startupPolicy: z.strictObject({ startupPolicyOrder: z.enum(["AnyOrder", "InOrder"]) }).optional(),
  coordinator: z.strictObject({ replicatedJob: z.string(), jobIndex: int32.optional(), podIndex: int32.optional() }).optional(),
  suspend: z.boolean().optional(),
  managedBy: z.string().optional(),
  ttlSecondsAfterFinished: int32.min(0).optional(),
});

const jobSetSchema = z.strictObject({
  apiVersion: z.literal(JOBSET_API_VERSION),
  kind: z.literal("JobSet"),
  metadata: z.record(z.string(), z.unknown()),
  spec: jobSetSpecSchema,
});

type Problem = { path: string; message: string };
type JobSetSpec = z.infer<typeof jobSetSpecSchema>;

function dns1035Problem(value: string, what: string): string | undefined {
  if (value.length > 63) return `${what} "${value}" is longer than 63 characters`;
  if (!DNS1035_LABEL.test(value)) return `${what} "${value}" must be an RFC 1035 label (lowercase letters, digits, "-", starting with a letter)`;
  return undefined;
}

/** What JobSet's validating webhook checks beyond the CRD schema. */
function webhookProblems(name: string, spec: JobSetSpec): Problem[] {
  const problems: Problem[] = [];
  const names = spec.replicatedJobs.map((r) => r.name);
  const known = new Set<string>();
  spec.replicatedJobs.forEach((rjob, i) => {
    const path = `spec.replicatedJobs[${i}]`;
    if (known.has(rjob.name)) problems.push({ path: `${path}.name`, message: `duplicate replicated job name "${rjob.name}"` });
    known.add(rjob.name);
    if (i === 0 && rjob.dependsOn) problems.push({ path: `${path}.dependsOn`, message: "the first replicated job cannot use dependsOn" });
    const replicas = rjob.replicas ?? 1;
    const jobName = dns1035Problem(`${name}-${rjob.name}-${replicas - 1}`, "generated job name");
    if (jobName) problems.push({ path: `${path}.name`, message: jobName });
    const jobSpec = rjob.template.spec;
    if (jobSpec.completionMode === "Indexed" && typeof jobSpec.completions === "number") {
      const podName = dns1035Problem(`${name}-${rjob.name}-${replicas - 1}-${jobSpec.completions - 1}-abcde`, "generated pod name");
      if (podName) problems.push({ path: `${path}.name`, message: podName });
    }
  });
  const subdomain = spec.network?.subdomain;
  if (subdomain !== undefined) {
    const problem = dns1035Problem(subdomain, "subdomain");
    if (problem) problems.push({ path: "spec.network.subdomain", message: problem });
  }
  (spec.successPolicy?.targetReplicatedJobs ?? []).forEach((target, i) => {
    if (!names.includes(target)) problems.push({ path: `spec.successPolicy.targetReplicatedJobs[${i}]`, message: `"${target}" is not a replicated job` });
  });
  const ruleNames = new Set<string>();
  (spec.failurePolicy?.rules ?? []).forEach((rule, i) => {
    const path = `spec.failurePolicy.rules[${i}]`;
    if (!FAILURE_RULE_NAME.test(rule.name)) problems.push({ path: `${path}.name`, message: `"${rule.name}" must match ${FAILURE_RULE_NAME}` });
    if (ruleNames.has(rule.name)) problems.push({ path: `${path}.name`, message: `duplicate rule name "${rule.name}"` });
    ruleNames.add(rule.name);
    (rule.onJobFailureReasons ?? []).forEach((reason, j) => {
      if (!JOB_FAILURE_REASONS.includes(reason)) {
        problems.push({ path: `${path}.onJobFailureReasons[${j}]`, message: `"${reason}" is not a Job failure reason (${JOB_FAILURE_REASONS.join(", ")})` });
      }
    });
    (rule.targetReplicatedJobs ?? []).forEach((target, j) => {
      if (!names.includes(target)) problems.push({ path: `${path}.targetReplicatedJobs[${j}]`, message: `"${target}" is not a replicated job` });
    });
  });
  return problems;
}

type ModelClass = new (data: PropertyMap) => { validate(): void };
let jobTemplateSpec: Promise<ModelClass> | undefined;
function loadJobTemplateSpec(): Promise<ModelClass> {
  jobTemplateSpec ??= import("kubernetes-models/batch/v1/JobTemplateSpec").then((module) => module.JobTemplateSpec as unknown as ModelClass);
  return jobTemplateSpec;
}

async function templateProblems(template: PropertyMap, path: string): Promise<Problem[]> {
  const problems: Problem[] = [];
  const JobTemplateSpec = await loadJobTemplateSpec();
  try {
    new JobTemplateSpec(template).validate();
  } catch (err) {
    const errors = (err as { errors?: Array<{ instancePath: string; message?: string }> }).errors;
    if (errors?.length) {
      for (const e of errors) problems.push({ path: `${path}${e.instancePath.replaceAll("/", ".")}`, message: e.message ?? String(err) });
    } else {
      problems.push({ path, message: String(err) });
    }
  }
  for (const p of unknownFields(template, "V1JobTemplateSpec", path)) problems.push(p);
  return problems;
}

/** Every problem with a JobSet object (empty when valid). */
export async function validateJobSet(object: PropertyMap): Promise<Problem[]> {
  const parsed = jobSetSchema.safeParse(object);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => ({
      path: issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, ""),
      message: issue.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")} (not in the JobSet CRD)` : issue.message,
    }));
  }
  const problems: Problem[] = unknownFields(object.metadata, "V1ObjectMeta", "metadata");
  const name = object.metadata.name;
  if (typeof name !== "string" || name === "") {
    problems.push({ path: "metadata.name", message: "is required" });
    return problems;
  }
  problems.push(...webhookProblems(name, parsed.data.spec));
  for (const [i, rjob] of (object.spec.replicatedJobs as PropertyMap[]).entries()) {
    problems.push(...(await templateProblems(rjob.template, `spec.replicatedJobs[${i}].template`)));
  }
  return problems;
}

registerCustomResourceValidator(JOBSET_API_VERSION, "JobSet", validateJobSet);
