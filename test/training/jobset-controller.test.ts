import { describe, expect, it } from "vitest";
import { ComponentValidationError } from "../../components/common/validation";
import { JOBSET_CHART, JOBSET_VERSION, JobSetController, jobSetReleaseArgs } from "../../components/training/jobset-controller";
import { runInMocks } from "../harness/pulumi-mocks";

describe("JobSetController", () => {
  it("installs the pinned JobSet release from its Helm chart on registry.k8s.io, waiting for the webhook", () => {
    expect(JOBSET_VERSION).toBe("0.12.0");
    expect(jobSetReleaseArgs()).toEqual({
      name: "jobset",
      chart: "oci://registry.k8s.io/jobset/charts/jobset",
      version: "0.12.0",
      namespace: "jobset-system",
      createNamespace: false,
      skipCrds: false,
      skipAwait: false,
      atomic: true,
      timeout: 600,
      values: {},
    });
  });

  it("declares the Helm release and, before it, its namespace with Pod Security restricted (so destroying removes it)", async () => {
    const run = await runInMocks(() => new JobSetController("jobset", { values: { controller: { replicas: 2 } } }));
    const release = run.get("kubernetes:helm.sh/v3:Release");
    expect(run.parentOf(release)?.type).toBe("ml-platform:training:JobSetController");
    const namespace = run.get("kubernetes:core/v1:Namespace", "jobset");
    expect(run.parentOf(namespace)?.type).toBe("ml-platform:training:JobSetController");
    expect(namespace.inputs.metadata).toMatchObject({ name: "jobset-system", labels: { "pod-security.kubernetes.io/enforce": "restricted" } });
    expect(release.dependencies).toContain(namespace.urn);
    expect(release.inputs).toMatchObject({ chart: JOBSET_CHART, version: JOBSET_VERSION, namespace: "jobset-system", values: { controller: { replicas: 2 } } });
    expect(run.result.version).toBe("0.12.0");
  });

  it("installs from a mirrored chart when given one (clusters without registry access)", () => {
    expect(jobSetReleaseArgs({ chart: "/mirror/charts/jobset-0.12.0.tgz" })).toMatchObject({ chart: "/mirror/charts/jobset-0.12.0.tgz", version: "0.12.0" });
    expect(() => new JobSetController("jobset", { chart: " " })).toThrow(/chart: must be a chart reference .* or the path of a chart folder or \.tgz \(got " "\)/);
  });

  it("rejects a release tag where a chart version belongs, and a bad namespace, before declaring anything", () => {
    expect(() => new JobSetController("jobset", { version: "v0.12.0", namespace: "Jobs" })).toThrow(ComponentValidationError);
    expect(() => new JobSetController("jobset", { version: "v0.12.0" })).toThrow(/version: "v0\.12\.0" must be a chart version such as "0\.12\.0" \(no "v"\)/);
    expect(() => new JobSetController("jobset", { namespace: "Jobs" })).toThrow(/namespace: "Jobs" must be 1-63 lowercase letters/);
  });
});
