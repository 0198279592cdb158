/** Bad MobileExport input: clear errors naming the argument and what is allowed, before any resource. */
import { describe, expect, it } from "vitest";
import { ComponentValidationError } from "../../components/common/validation";
import { rejectedMobileRun } from "./fixtures";

async function rejection(args: Record<string, unknown>, name = "linear-mobile"): Promise<ComponentValidationError> {
  const run = await rejectedMobileRun(args, name);
  expect(run.result).toBeInstanceOf(ComponentValidationError);
  expect(run.ofType("ml-platform:mobile:MobileExport")).toEqual([]);
  expect(run.resources.filter((r) => r.type.startsWith("kubernetes:") || r.type.startsWith("aws:iam"))).toEqual([]);
  return run.result as ComponentValidationError;
}

describe("MobileExport argument errors", () => {
  it("reports every problem at once, each at its argument", async () => {
    const error = await rejection({
      model: "Linear",
      version: 0,
      optimize: "int4",
      maxAbsDiff: -1,
      signature: "",
      converterImage: "tensorflow/tensorflow:latest",
      storeImage: "amazon/aws-cli",
      resources: { memory: "2Gm" },
      versionWaitMinutes: 0,
      wait: { until: "done" },
      backoffLimit: -1,
      namespace: "ML",
    });
    expect(error.message).toMatch(/^MobileExport "linear-mobile" has invalid arguments:/);
    expect(error.issues.map((i) => i.path)).toEqual([
      "model",
      "version",
      "namespace",
      "signature",
      "optimize",
      "maxAbsDiff",
      "converterImage",
      "storeImage",
      "resources.memory",
      "versionWaitMinutes",
      "wait.until",
      "backoffLimit",
    ]);
    expect(error.message).toMatch(/optimize: must be "none", "float16", "dynamic-range" \(got "int4"\)/);
    expect(error.message).toMatch(/maxAbsDiff: must be a finite number >= 0 \(got -1\)/);
    expect(error.message).toMatch(/converterImage: "tensorflow\/tensorflow:latest" must be a pinned image: <repository>:<tag> \(not "latest"\) or <repository>@sha256:<digest>/);
    expect(error.message).toMatch(/storeImage: "amazon\/aws-cli" must be a pinned image/);
    expect(error.message).toMatch(/resources\.memory: "2Gm" is not a positive Kubernetes quantity/);
  });

  it.each([
    [[], /sampleInputs: must be an object of input name to a nested list \(one batch\), or a non-empty list of them/],
    [[{ x: [[1]] }, 3], /sampleInputs: must be an object/],
    [{}, /sampleInputs: names no input/],
    [{ x: "a".repeat(600 * 1024) }, /sampleInputs: is \d+ bytes of JSON; at most 524288 fit beside the scripts in a ConfigMap/],
  ])("rejects sample inputs %#", async (sampleInputs, message) => {
    expect((await rejection({ sampleInputs })).message).toMatch(message);
  });

  it("keeps the component name short enough for the store grant it names", async () => {
    expect((await rejection({}, "a".repeat(35))).message).toMatch(/name: the component name names the Job, its service account and its store grant: "a{35}" must be 1-34/);
  });

  it("requires a cluster name", async () => {
    const run = await rejectedMobileRun({ clusterName: "" });
    expect((run.result as ComponentValidationError).issues.map((i) => i.path)).toEqual(["clusterName"]);
  });
});
