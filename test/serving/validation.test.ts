import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ComponentValidationError } from "../../components/common/validation";
import type { GpuScheduling } from "../../components/compute/gpu-node-pool";
import { imageProblem, parseImageReference } from "../../components/serving/images";
import { TfServing } from "../../components/serving/tf-serving";
import type { TfServingArgs } from "../../components/serving/types";
import { validateTfServingArgs } from "../../components/serving/validation";
import { runInMocks } from "../harness/pulumi-mocks";
import { StaticCredentialsStore } from "./stores";

const store = new StaticCredentialsStore();
const base: TfServingArgs = { clusterName: "ml-prod", models: [{ name: "linear", store }] };
/** A pool with one GPU per node (only its scheduling contract matters to TfServing). */
const onePerNodePool: NonNullable<TfServingArgs["gpuPool"]> = {
  scheduling: pulumi.output<GpuScheduling>({ nodeSelector: { "ml-platform.io/gpu-pool": "gpu" }, tolerations: [], gpuResourceName: "nvidia.com/gpu" }),
  gpusPerNode: 1,
  gpuResourceName: "nvidia.com/gpu",
};

/** Every problem, as `path: message` lines. */
function problems(args: Partial<TfServingArgs>, name = "linear-serving"): string[] {
  return validateTfServingArgs(name, { ...base, ...args })
    .list()
    .map((i) => `${i.path}: ${i.message}`);
}
const problemText = (args: Partial<TfServingArgs>, name?: string) => problems(args, name).join("\n");

describe("TfServing validation", () => {
  it("accepts the defaults", () => {
    expect(problems({})).toEqual([]);
  });

  it("rejects duplicate model names, naming both positions", () => {
    expect(problemText({ models: [{ name: "linear", store }, { name: "vision", store }, { name: "linear", store }] })).toMatch(
      /^models\[2\]\.name: duplicate model name "linear" \(also models\[0\]\); model names must be unique$/m,
    );
  });

  it("rejects no models and invalid model names", () => {
    expect(problemText({ models: [] })).toMatch(/^models: must list at least one model/m);
    expect(problemText({ models: [{ name: "Linear", store }] })).toMatch(/^models\[0\]\.name: model name "Linear" is invalid: use 1-63 lowercase letters, digits, "-" or "_"/m);
  });

  it("rejects an empty specific policy, latest < 1, and a policy that is not exactly one kind", () => {
    expect(problemText({ models: [{ name: "linear", store, versionPolicy: { specific: [] } }] })).toMatch(
      /^models\[0\]\.versionPolicy\.specific: must list at least one version, e.g. \{ specific: \[3\] \}/m,
    );
    expect(problemText({ models: [{ name: "linear", store, versionPolicy: { latest: 0 } }] })).toMatch(/^models\[0\]\.versionPolicy\.latest: must be an integer >= 1 \(got 0\)/m);
    expect(problemText({ models: [{ name: "linear", store, versionPolicy: { latest: 1.5 } }] })).toMatch(/versionPolicy\.latest: must be an integer >= 1 \(got 1\.5\)/);
    const both = { latest: 2, all: true } as unknown as TfServingArgs["models"][0]["versionPolicy"];
    expect(problemText({ models: [{ name: "linear", store, versionPolicy: both }] })).toMatch(
      /^models\[0\]\.versionPolicy: must be exactly one of \{ latest: n \}, \{ all: true \}, \{ specific: \[versions\] \}/m,
    );
    expect(problemText({ models: [{ name: "linear", store, versionPolicy: { specific: [3, 0, 3] } }] })).toMatch(
      /versionPolicy\.specific\[1\]: model version 0 is invalid: it must be a positive integer[\s\S]*versionPolicy\.specific\[2\]: version 3 is listed twice/,
    );
  });

  it("rejects a label pointing at a version the policy does not serve, listing the served ones", () => {
    expect(problemText({ models: [{ name: "linear", store, versionPolicy: { specific: [3, 4] }, versionLabels: { stable: 3, canary: 9 } }] })).toBe(
      "models[0].versionLabels.canary: points at version 9, which versionPolicy { specific: [3, 4] } does not serve; serve it, or label one of 3, 4",
    );
    // With "latest" the served versions change over time, so a label can never be guaranteed.
    expect(problemText({ models: [{ name: "linear", store, versionPolicy: { latest: 2 }, versionLabels: { stable: 3 } }] })).toMatch(
      /^models\[0\]\.versionLabels\.stable: points at version 3, which versionPolicy \{ latest: 2 \} does not always serve .*labels need \{ specific: \[3, \.\.\.\] \} or \{ all: true \}$/m,
    );
    expect(problemText({ models: [{ name: "linear", store, versionLabels: { stable: 1 } }] })).toMatch(/versionPolicy \{ latest: 1 \} does not always serve/);
    expect(problems({ models: [{ name: "linear", store, versionPolicy: { all: true }, versionLabels: { stable: 3 } }] })).toEqual([]);
    expect(problemText({ models: [{ name: "linear", store, versionPolicy: { all: true }, versionLabels: { "1st": 3, ok: -1 } }] })).toMatch(
      /versionLabels\.1st: label "1st" is invalid: use 1-63 letters, digits, "-", "_" or "\.", starting with a letter[\s\S]*versionLabels\.ok: model version -1 is invalid/,
    );
  });

  it("rejects GPUs without GPU scheduling, more GPUs than a node has, and a pool without GPUs", () => {
    expect(problemText({ resources: { gpus: 1 } })).toBe(
      "resources.gpus: requests 1 GPU(s) but no gpuPool is set; GPU pods need GPU scheduling: set gpuPool to the GpuNodePool to run on",
    );
    expect(problemText({ resources: { gpus: 2 }, gpuPool: onePerNodePool })).toBe("resources.gpus: requests 2 GPUs per pod but the gpuPool's nodes have 1; use 1-1");
    expect(problemText({ gpuPool: onePerNodePool })).toMatch(/^gpuPool: is set but resources\.gpus is not; set resources\.gpus to the GPUs per pod \(at least 1\), or remove gpuPool$/m);
    expect(problemText({ resources: { gpus: -1 } })).toMatch(/^resources\.gpus: must be an integer >= 0/m);
    expect(problems({ resources: { gpus: 1 }, gpuPool: onePerNodePool })).toEqual([]);
  });

  it("rejects the default (amd64-only) GPU image on an arm64 pool, unless an image is given", () => {
    const armPool = { ...onePerNodePool, architecture: "arm64" as const };
    expect(problemText({ resources: { gpus: 1 }, gpuPool: armPool })).toBe(
      "image: not set, so the default tensorflow/serving:2.19.1-gpu is used, which is built for linux/amd64 only, but gpuPool runs arm64 nodes; set image to an arm64 build of TF Serving, or use an x86_64 pool",
    );
    expect(problems({ resources: { gpus: 1 }, gpuPool: armPool, image: "registry.example.com/tf-serving-arm64:2.19.1-gpu" })).toEqual([]);
  });

  it("rejects replicas < 1, autoscaling min > max, and replicas together with autoscaling", () => {
    expect(problemText({ replicas: 0 })).toBe("replicas: must be an integer >= 1 (got 0)");
    expect(problemText({ autoscaling: { minReplicas: 5, maxReplicas: 2 } })).toBe("autoscaling: minReplicas (5) must be <= maxReplicas (2)");
    expect(problemText({ autoscaling: { minReplicas: 0, maxReplicas: 2, targetCpuUtilization: 150 } })).toMatch(
      /autoscaling\.minReplicas: must be an integer >= 1 \(got 0\)[\s\S]*autoscaling\.targetCpuUtilization: must be an integer percentage from 1 to 100 \(got 150\)/,
    );
    expect(problemText({ replicas: 3, autoscaling: { minReplicas: 2, maxReplicas: 4 } })).toMatch(/^replicas: conflicts with autoscaling: the autoscaler owns the replica count/m);
    expect(problemText({ podDisruptionBudget: { maxUnavailable: 0 } })).toMatch(/^podDisruptionBudget\.maxUnavailable: must be an integer >= 1/m);
  });

  it("rejects images with an unknown tag format, unpinned images, and CPU builds for GPU pods", () => {
    const formats = '<repository>:<major>.<minor>.<patch>, <repository>:<major>.<minor>.<patch>-gpu, either of those with @sha256:<digest>, <repository>@sha256:<digest>';
    expect(problemText({ image: "tensorflow/serving:latest" })).toBe(`image: "tensorflow/serving:latest" has an unknown image tag format "latest"; use ${formats}`);
    expect(problemText({ image: "tensorflow/serving:2.19" })).toMatch(/^image: "tensorflow\/serving:2\.19" has an unknown image tag format "2\.19"/);
    expect(problemText({ image: "tensorflow/serving:2.19.1-devel" })).toMatch(/unknown image tag format "2\.19\.1-devel"/);
    expect(problemText({ image: "tensorflow/serving" })).toBe(`image: "tensorflow/serving" is not pinned (no tag or digest); use ${formats}`);
    expect(problemText({ image: "Tensorflow/Serving:2.19.1" })).toMatch(/^image: "Tensorflow\/Serving:2\.19\.1" is not a valid image reference/);
    expect(problemText({ image: "tensorflow/serving:2.19.1", resources: { gpus: 1 }, gpuPool: onePerNodePool })).toBe(
      'image: "tensorflow/serving:2.19.1" is a CPU build but resources.gpus requests GPUs; use the "-gpu" tag, e.g. "tensorflow/serving:2.19.1-gpu"',
    );
    expect(problemText({ syncImage: "amazon/aws-cli:latest" })).toMatch(/^syncImage: "amazon\/aws-cli:latest" has an unknown image tag format/);
    expect(problems({ image: `my.registry:5000/serving:2.19.1-gpu@sha256:${"0".repeat(64)}`, resources: { gpus: 1 }, gpuPool: onePerNodePool })).toEqual([]);
    expect(problems({ image: `my.registry/serving@sha256:${"0".repeat(64)}` })).toEqual([]);
  });

  it("rejects bad resource quantities, batching, service and timing settings", () => {
    expect(problemText({ resources: { memory: "512m" } })).toBe('resources.memory: "512m" means milli-bytes; use "Mi" or "Gi" (e.g. "512Mi")');
    expect(problemText({ resources: { cpu: "lots" } })).toBe('resources.cpu: "lots" is not a positive Kubernetes quantity; use e.g. "500m" or "2"');
    expect(problemText({ modelsVolumeSizeLimit: "0" })).toMatch(/^modelsVolumeSizeLimit: "0" is not a positive Kubernetes quantity/);
    expect(problemText({ batching: { maxBatchSize: 0, batchTimeoutMicros: -1, numBatchThreads: 0, maxEnqueuedBatches: 0 } }).split("\n")).toEqual([
      "batching.maxBatchSize: must be an integer >= 1 (got 0)",
      "batching.batchTimeoutMicros: must be an integer >= 0 (got -1)",
      "batching.numBatchThreads: must be an integer >= 1 (got 0)",
      "batching.maxEnqueuedBatches: must be an integer >= 1 (got 0)",
    ]);
    const nodePort = { type: "NodePort" } as unknown as TfServingArgs["service"];
    expect(problemText({ service: nodePort })).toBe('service.type: "NodePort" is not supported; use one of "ClusterIP", "InternalLoadBalancer"');
    expect(problemText({ service: { type: "InternalLoadBalancer", sourceRanges: ["10.0.0.0"], annotations: { "bad key!": "x" } } })).toMatch(
      /service\.annotations\["bad key!"\]: annotation key "bad key!" is invalid[\s\S]*service\.sourceRanges\[0\]: "10\.0\.0\.0" is not a CIDR such as "10\.0\.0\.0\/16"/,
    );
    expect(problemText({ syncIntervalSeconds: 0, startupTimeoutSeconds: -5, preStopDelaySeconds: 1.5 }).split("\n")).toEqual([
      "syncIntervalSeconds: must be an integer >= 1 (got 0)",
      "startupTimeoutSeconds: must be an integer >= 1 (got -5)",
      "preStopDelaySeconds: must be an integer >= 1 (got 1.5)",
    ]);
    expect(problemText({ grpcMaxConnectionAgeSeconds: 1 })).toBe("grpcMaxConnectionAgeSeconds: must be an integer from 5 to 3600 (got 1)");
    expect(problemText({ terminationGracePeriodSeconds: 30 })).toBe(
      "terminationGracePeriodSeconds: must be an integer >= 53 (preStopDelaySeconds 10 + 110% of grpcMaxConnectionAgeSeconds 30 + 10s for in-flight calls) so gRPC connections close gracefully before the pod is killed (got 30)",
    );
    expect(problems({ terminationGracePeriodSeconds: 53 })).toEqual([]);
  });

  it("rejects names that cannot name Kubernetes objects", () => {
    expect(problemText({ namespace: "ML" })).toMatch(/^namespace: "ML" must be 1-63 lowercase letters/m);
    expect(problemText({}, "x".repeat(33))).toMatch(
      /^name: the component name names its Service, Deployment, ServiceAccount and model store grants \("<name>-store-<n>", which stores may limit to 40 characters\): "x{33}" must be 1-32 lowercase letters/m,
    );
    expect(problems({}, "x".repeat(32))).toEqual([]);
    expect(problemText({ clusterName: "" })).toMatch(/^clusterName: is required/m);
  });

  it("the component reports every problem at once, before declaring any resource", async () => {
    const run = await runInMocks(() => {
      try {
        new TfServing("linear-serving", {
          ...base,
          models: [
            { name: "linear", store: new StaticCredentialsStore() },
            { name: "linear", store, versionPolicy: { specific: [] } },
          ],
          replicas: 0,
          image: "tensorflow/serving:nightly",
        });
        return undefined;
      } catch (err) {
        return err;
      }
    });
    const error = run.result;
    expect(error).toBeInstanceOf(ComponentValidationError);
    expect((error as ComponentValidationError).message).toMatch(/^TfServing "linear-serving" has invalid arguments:\n/);
    expect((error as ComponentValidationError).issues.map((i) => i.path)).toEqual(["models[1].name", "models[1].versionPolicy.specific", "image", "replicas"]);
    expect(run.resources).toEqual([]);
  });
});

describe("image references", () => {
  it("splits repository, tag and digest, with registry ports", () => {
    expect(parseImageReference("tensorflow/serving:2.19.1-gpu")).toEqual({ repository: "tensorflow/serving", tag: "2.19.1-gpu", digest: undefined });
    expect(parseImageReference("registry:5000/tf/serving:2.19.1")).toEqual({ repository: "registry:5000/tf/serving", tag: "2.19.1", digest: undefined });
    expect(parseImageReference("registry:5000/tf/serving")).toEqual({ repository: "registry:5000/tf/serving", tag: undefined, digest: undefined });
    expect(parseImageReference(`a/b@sha256:${"f".repeat(64)}`)).toEqual({ repository: "a/b", tag: undefined, digest: `sha256:${"f".repeat(64)}` });
    expect(parseImageReference("a/b@sha256:short")).toBeUndefined();
  });

  it("the default images satisfy the rules they enforce", () => {
    expect(imageProblem("tensorflow/serving:2.19.1", false)).toBeUndefined();
    expect(imageProblem("tensorflow/serving:2.19.1-gpu", true)).toBeUndefined();
    expect(imageProblem("amazon/aws-cli:2.37.4", false)).toBeUndefined();
  });
});
