/** The Kueue validators against the real v0.17.0 CRDs: they accept Kueue's own forms and refuse what its API server would. */
import { describe, expect, it } from "vitest";
import { clusterQueue, DEFAULT_PREEMPTION, localQueue, resourceFlavor } from "../../components/queueing/kueue-objects";
import { validateAgainstCrd } from "./crd-schema";
import { kueueCrd, validateClusterQueue, validateLocalQueue, validateResourceFlavor } from "./kueue-schema";

const queue = () =>
  clusterQueue({
    name: "vision",
    namespace: "vision",
    cohort: "ml-platform",
    cpuFlavor: "default",
    cpu: { nominal: 8, borrowingLimit: 0 },
    memory: { nominal: 32 * 2 ** 30, borrowingLimit: 0 },
    gpus: [{ flavor: "gpu-a100", nominal: 4, borrowingLimit: 4 }],
    preemption: DEFAULT_PREEMPTION,
  });

describe("Kueue CRD validators (Kueue v0.17.0, kueue.x-k8s.io/v1beta2)", () => {
  it("read the CRDs from Kueue's module, where v1beta2 is the storage version (no conversion webhook call for it)", () => {
    const crd = kueueCrd("clusterqueues");
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([
      ["v1beta1", true, false],
      ["v1beta2", true, true],
    ]);
  });

  it("accept the objects the builders render", () => {
    expect(validateClusterQueue(queue())).toEqual([]);
    expect(validateLocalQueue(localQueue("vision", "vision", "vision"))).toEqual([]);
    expect(validateResourceFlavor(resourceFlavor("gpu-a100", { nodeLabels: { "ml-platform.io/gpu-pool": "a100" }, nodeTaints: [{ key: "nvidia.com/gpu", effect: "NoSchedule" }] }))).toEqual([]);
  });

  it("refuse unknown fields, such as v1beta1's `cohort` in a v1beta2 object", () => {
    const object = queue();
    object.spec = { ...object.spec, cohort: "ml-platform" };
    expect(validateClusterQueue(object)).toEqual([{ path: "spec.cohort", message: 'unknown field "cohort" (not in the CRD\'s schema)' }]);
    const flavor = resourceFlavor("default", { nodeLabels: {}, nodeTaints: [] });
    flavor.metadata = { ...flavor.metadata, annotation: "x" } as never;
    expect(validateResourceFlavor(flavor)).toEqual([{ path: "metadata.annotation", message: 'unknown field "annotation" (not in V1ObjectMeta)' }]);
  });

  it("evaluate the CRDs' CEL rules: borrowing needs a cohort, each flavor covers every resource of its group", () => {
    const object = queue();
    delete (object.spec as Record<string, unknown>).cohortName;
    expect(validateClusterQueue(object)).toEqual([{ path: "spec", message: "borrowingLimit must be nil when cohort is empty" }]);
    const groups = queue().spec.resourceGroups as Array<{ flavors: Array<{ resources: unknown[] }> }>;
    groups[0].flavors[0].resources.pop();
    const broken = { ...queue(), spec: { ...queue().spec, resourceGroups: groups } };
    expect(validateClusterQueue(broken)).toEqual([{ path: "spec.resourceGroups[0]", message: "flavors must have the same number of resources as the coveredResources" }]);
  });

  it("check types, enums, patterns and scope", () => {
    const object = queue();
    object.spec = { ...object.spec, queueingStrategy: "Fifo", preemption: { reclaimWithinCohort: "Sometimes" } };
    const problems = validateClusterQueue(object).map((p) => p.path).sort();
    expect(problems).toEqual(["spec.preemption.reclaimWithinCohort", "spec.queueingStrategy"]);
    const quota = queue();
    ((quota.spec.resourceGroups as Array<{ flavors: Array<{ resources: Array<Record<string, unknown>> }> }>)[1].flavors[0].resources[0]).nominalQuota = "four";
    expect(validateClusterQueue(quota)).toMatchObject([{ path: "spec.resourceGroups[1].flavors[0].resources[0].nominalQuota" }]);
    const namespaced = { ...localQueue("vision", "vision", "vision"), metadata: { name: "vision" } };
    expect(validateLocalQueue(namespaced)).toEqual([{ path: "metadata.namespace", message: "is required: LocalQueue is namespaced" }]);
    const taint = resourceFlavor("gpu", { nodeLabels: { pool: "a" }, nodeTaints: [{ key: "nvidia.com/gpu", effect: "Sometimes" as never }] });
    expect(validateResourceFlavor(taint)).toMatchObject([{ path: "spec.nodeTaints", message: expect.stringMatching(/NoSchedule/) }]);
  });

  it("report a CEL rule the harness has no equivalent for, instead of passing it", () => {
    const schema = { type: "object", properties: { apiVersion: { type: "string" }, kind: { type: "string" }, spec: { type: "object", properties: { a: { type: "string" } }, "x-kubernetes-validations": [{ rule: "self.a != 'b'", message: "no b" }] } } };
    expect(validateAgainstCrd({ apiVersion: "x/v1", kind: "X", metadata: { name: "x" }, spec: { a: "b" } }, schema, { apiVersion: "x/v1", kind: "X", namespaced: false })).toEqual([
      { path: "spec", message: `the harness has no equivalent of the CEL rule "self.a != 'b'"; add one with registerCelRule` },
    ]);
  });
});
