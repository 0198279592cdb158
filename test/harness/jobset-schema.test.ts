import { describe, expect, it } from "vitest";
import { validateJobSet } from "./jobset-schema";
import { validateKubernetesObject } from "./kubernetes-schema";

const jobSet = () => ({
  apiVersion: "jobset.x-k8s.io/v1alpha2",
  kind: "JobSet",
  metadata: { name: "train-v1", namespace: "ml" },
  spec: {
    network: { enableDNSHostnames: true, subdomain: "train-v1" },
    successPolicy: { operator: "All", targetReplicatedJobs: ["leader"] },
    failurePolicy: { maxRestarts: 2, rules: [{ name: "FailOnDeadline", action: "FailJobSet", onJobFailureReasons: ["DeadlineExceeded"] }] },
    replicatedJobs: [
      {
        name: "leader",
        replicas: 1,
        template: {
          metadata: { labels: { app: "train" } },
          spec: {
            completionMode: "Indexed",
            completions: 2,
            parallelism: 2,
            template: { spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox:1.37" }] } },
          },
        },
      },
    ],
  },
});

describe("JobSet validator", () => {
  it("accepts a valid JobSet and is what the harness uses for the kind", async () => {
    expect(await validateJobSet(jobSet())).toEqual([]);
    expect(await validateKubernetesObject(jobSet())).toEqual([]);
  });

  it("rejects fields the CRD does not define, at every level", async () => {
    const bad = jobSet() as ReturnType<typeof jobSet> & { spec: Record<string, unknown> };
    bad.spec.sucessPolicy = { operator: "All" };
    (bad.spec.network as Record<string, unknown>).hostnames = true;
    expect((await validateJobSet(bad)).map((p) => [p.path, p.message])).toEqual([
      ["spec.network", 'unknown field(s) "hostnames" (not in the JobSet CRD)'],
      ["spec", 'unknown field(s) "sucessPolicy" (not in the JobSet CRD)'],
    ]);
  });

  it("checks enums, required fields and integer types from the CRD", async () => {
    const bad = jobSet();
    (bad.spec.successPolicy as Record<string, unknown>).operator = "Most";
    (bad.spec.failurePolicy.rules[0] as Record<string, unknown>).action = "Retry";
    (bad.spec.replicatedJobs[0] as Record<string, unknown>).replicas = 1.5;
    expect((await validateJobSet(bad)).map((p) => p.path)).toEqual(["spec.replicatedJobs[0].replicas", "spec.successPolicy.operator", "spec.failurePolicy.rules[0].action"]);
  });

  it("applies the JobSet webhook's rules: rule names, failure reasons, targets and name lengths", async () => {
    const bad = jobSet();
    bad.metadata.name = "a-very-long-jobset-name-that-makes-generated-pod-names-too-long";
    bad.spec.network.subdomain = "2fast";
    bad.spec.successPolicy.targetReplicatedJobs = ["workers"];
    bad.spec.failurePolicy.rules[0].name = "fail-on-deadline";
    bad.spec.failurePolicy.rules[0].onJobFailureReasons = ["Timeout"];
    const messages = (await validateJobSet(bad)).map((p) => `${p.path}: ${p.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^spec\.replicatedJobs\[0\]\.name: generated job name .* is longer than 63 characters$/),
      expect.stringMatching(/^spec\.replicatedJobs\[0\]\.name: generated pod name .* is longer than 63 characters$/),
      expect.stringMatching(/^spec\.network\.subdomain: subdomain "2fast" must be an RFC 1035 label/),
      'spec.successPolicy.targetReplicatedJobs[0]: "workers" is not a replicated job',
      expect.stringMatching(/^spec\.failurePolicy\.rules\[0\]\.name: "fail-on-deadline" must match/),
      expect.stringMatching(/^spec\.failurePolicy\.rules\[0\]\.onJobFailureReasons\[0\]: "Timeout" is not a Job failure reason/),
    ]);
  });

  it("validates each replicated job's template as a batch/v1 JobTemplateSpec, strictly", async () => {
    const bad = jobSet();
    const podSpec = bad.spec.replicatedJobs[0].template.spec.template.spec as Record<string, unknown>;
    podSpec.restartPolicy = 7;
    (podSpec.containers as Array<Record<string, unknown>>)[0].imagePullPolicyy = "Always";
    (bad.spec.replicatedJobs[0].template.spec as Record<string, unknown>).completions = "2";
    const paths = (await validateJobSet(bad)).map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "spec.replicatedJobs[0].template.spec.completions",
        "spec.replicatedJobs[0].template.spec.template.spec.restartPolicy",
        "spec.replicatedJobs[0].template.spec.template.spec.containers[0].imagePullPolicyy",
      ]),
    );
  });
});
