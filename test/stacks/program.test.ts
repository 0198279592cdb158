import { describe, expect, it, vi } from "vitest";
import type { PolicyDocument } from "../../components/storage/s3-policies";
import { parseSmokeTargets, type SmokeTargets } from "../../contracts/smoke-targets";
import "../harness/jobset-schema";
import "../harness/kueue-schema";
import { isAllowed } from "../harness/iam-policy";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import { expectRestrictedPods } from "../harness/pod-security";
import { type MockOptions, type MockRun, DYNAMIC_RESOURCE, mockStoreCredential, type RecordedResource, runInMocks, unwrap } from "../harness/pulumi-mocks";
import { stackConfig, stackNames } from "../harness/stack-config";

type ProgramExports = Record<string, unknown> & { smokeTargets: SmokeTargets; tensorboards: Record<string, unknown> };

/** Runs the real program entry point (`stacks/index.ts`) with a stack's config. */
async function runProgram(config: MockOptions["config"], stack = "test"): Promise<MockRun<ProgramExports>> {
  vi.resetModules();
  return runInMocks(async () => (await import("../../stacks/index")) as unknown as ProgramExports, { config, stack });
}

const runs = new Map<string, Promise<MockRun<ProgramExports>>>();
/** Each stack file's run, shared by the tests of that stack. */
function stackRun(stack: string): Promise<MockRun<ProgramExports>> {
  if (!runs.has(stack)) runs.set(stack, runProgram(stackConfig(stack), stack));
  return runs.get(stack)!;
}

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";

function deploymentOf(run: MockRun<unknown>, serving: string): RecordedResource {
  return run.get(DEPLOYMENT, serving);
}

/** The models.config text of a serving. */
function modelsConfigOf(run: MockRun<unknown>, serving: string): string {
  return run.get(CONFIG_MAP, `${serving}-config`).inputs.data["models.config"];
}

describe("the program, once per stack file", () => {
  it("has the dev, staging, prod and local stacks", () => {
    expect(stackNames()).toEqual(["dev", "local", "prod", "staging"]);
  });

  it.each(stackNames())("%s: every Kubernetes object is schema-valid and every platform pod meets Pod Security restricted", async (stack) => {
    const run = await stackRun(stack);
    expect(await expectValidKubernetesObjects(run)).toBeGreaterThan(5);
    // Every namespace the program declares (the platform's, the teams', Kueue's) enforces "restricted", so every
    // pod in them must meet it.
    const namespaces = run.ofType("kubernetes:core/v1:Namespace");
    const platformNamespace = (stackConfig(stack)["ml-platform:cluster"] as { namespace?: string }).namespace ?? "ml";
    expect(namespaces.map((n) => n.inputs.metadata.name)).toContain(platformNamespace);
    for (const namespace of namespaces) expect(namespace.inputs.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const restricted = new Set(namespaces.map((n) => n.inputs.metadata.name as string));
    const inPlatformNamespace = (r: RecordedResource) => restricted.has(r.inputs.metadata?.namespace);
    expect(expectRestrictedPods(run, inPlatformNamespace)).toBeGreaterThan(0);
    // Only node agents outside them (the NVIDIA device plugin in kube-system) may need more.
    const others = run.kubernetesObjects().filter((r) => r.inputs.spec?.template && !inPlatformNamespace(r));
    expect(others.map((r) => `${r.inputs.kind}/${r.inputs.metadata.namespace}`)).toEqual(others.length ? ["DaemonSet/kube-system"] : []);
  });

  it.each(stackNames())("%s: declares every store, pool, serving and training of its config", async (stack) => {
    const run = await stackRun(stack);
    const config = stackConfig(stack);
    const names = (key: string) => ((config[`ml-platform:${key}`] as Array<{ name: string }> | undefined) ?? []).map((x) => x.name).sort();
    const declared = (...types: string[]) => types.flatMap((t) => run.ofType(t)).map((r) => r.name).sort();
    expect(declared("ml-platform:storage:ModelStore", "ml-platform:storage:InClusterModelStore")).toEqual(names("stores"));
    expect(declared("ml-platform:observability:TensorBoard")).toEqual(names("tensorboards"));
    expect(declared("ml-platform:compute:GpuNodePool")).toEqual(names("gpuPools"));
    expect(declared("ml-platform:serving:TfServing")).toEqual(names("servings"));
    expect(declared("ml-platform:training:TrainingJob")).toEqual(names("trainings"));
    expect(declared("ml-platform:mobile:MobileExport")).toEqual(names("mobileExports"));
  });

  it.each(stackNames())("%s: exports smokeTargets in the smoke suite's format, one endpoint per serving", async (stack) => {
    const run = await stackRun(stack);
    const targets = parseSmokeTargets(await unwrap(run.result.smokeTargets));
    const servings = (stackConfig(stack)["ml-platform:servings"] as Array<{ name: string; models: Array<{ name: string }> }>) ?? [];
    expect(targets.endpoints.map((e) => e.name)).toEqual(servings.map((s) => s.name));
    for (const [i, endpoint] of targets.endpoints.entries()) {
      expect(endpoint.grpc).toMatch(/^[a-z0-9-]+\.[a-z0-9-]+\.svc\.cluster\.local:8500$/);
      expect(endpoint.pods).toEqual({ dns: expect.stringMatching(/-headless\.[a-z0-9-]+\.svc\.cluster\.local:8500$/) });
      expect([...new Set(endpoint.models.map((m) => m.name))]).toEqual(servings[i].models.map((m) => m.name));
    }
  });

  it("eks stacks reach the cluster with `aws eks get-token`, never a static token", async () => {
    for (const stack of ["dev", "staging", "prod"]) {
      const run = await stackRun(stack);
      const kubeconfig = JSON.parse(run.get("pulumi:providers:kubernetes").inputs.kubeconfig);
      expect(kubeconfig.users[0].user.exec.command).toBe("aws");
      expect(kubeconfig.users[0].user.exec.args.slice(0, 4)).toEqual(["eks", "get-token", "--cluster-name", `ml-${stack}`]);
      expect(kubeconfig.users[0].user).not.toHaveProperty("token");
    }
  });
});

describe("dev", () => {
  it("runs spot GPUs that scale to zero", async () => {
    const nodeGroup = (await stackRun("dev")).get("aws:eks/nodeGroup:NodeGroup").inputs;
    expect(nodeGroup.capacityType).toBe("SPOT");
    expect(nodeGroup.scalingConfig.minSize).toBe(0);
  });

  it("serves one replica per server with the latest version, so new exports go live by themselves", async () => {
    const run = await stackRun("dev");
    for (const serving of ["linear", "vision"]) {
      expect(deploymentOf(run, serving).inputs.spec.replicas).toBe(1);
      expect(modelsConfigOf(run, serving)).toMatch(/latest \{\s*num_versions: 1\s*\}/);
    }
    expect(run.ofType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")).toEqual([]);
  });

  it("lets the bucket be destroyed with the stack, and installs the NVIDIA device plugin once", async () => {
    const run = await stackRun("dev");
    const bucket = run.get("aws:s3/bucket:Bucket");
    expect([bucket.inputs.forceDestroy, bucket.protect]).toEqual([true, false]);
    expect(run.ofType("kubernetes:apps/v1:DaemonSet")).toHaveLength(1);
  });

  it("runs a TensorBoard of linear-train's runs, with a grant that reads linear's logs and nothing else", async () => {
    const run = await stackRun("dev");
    expect(run.get("kubernetes:apps/v1:Deployment", "linear-tensorboard").inputs.metadata.namespace).toBe("ml");
    expect(run.get("kubernetes:core/v1:Service", "linear-tensorboard").inputs.spec).toMatchObject({ type: "ClusterIP", ports: [{ port: 6006 }] });
    const grant = run.get("aws:iam/rolePolicy:RolePolicy", "linear-tensorboard-0-policy");
    const policy = JSON.parse(grant.inputs.policy) as PolicyDocument;
    const object = (key: string) => `arn:aws:s3:::acme-ml-models-dev/${key}`;
    expect(isAllowed(policy, { action: "s3:GetObject", resource: object("logs/linear/1/trainer-0/events.out.tfevents.1.pod.1.0.v2") })).toBe(true);
    expect(isAllowed(policy, { action: "s3:GetObject", resource: object("models/linear/1/saved_model.pb") })).toBe(false);
    expect(isAllowed(policy, { action: "s3:GetObject", resource: object("logs/image-classifier/1/trainer-0/x") })).toBe(false);
    expect(isAllowed(policy, { action: "s3:PutObject", resource: object("logs/linear/1/trainer-0/x") })).toBe(false);
    // The training uploads its logs beside its model, under its own version only.
    const training = JSON.parse(run.get("aws:iam/rolePolicy:RolePolicy", "linear-train-store-policy").inputs.policy) as PolicyDocument;
    expect(isAllowed(training, { action: "s3:PutObject", resource: object("logs/linear/1/trainer-0/x") })).toBe(true);
    expect(isAllowed(training, { action: "s3:PutObject", resource: object("logs/linear/2/trainer-0/x") })).toBe(false);
    expect(await unwrap(run.result.tensorboards)).toEqual({
      linear: {
        url: "http://linear-tensorboard.ml.svc.cluster.local:6006/",
        portForward: "kubectl port-forward --namespace ml service/linear-tensorboard 6006:6006",
        localUrl: "http://127.0.0.1:6006/",
      },
    });
  });

  it("schedules the GPU server on the GPU pool", async () => {
    const pod = deploymentOf(await stackRun("dev"), "vision").inputs.spec.template.spec;
    expect(pod.nodeSelector).toMatchObject({ "ml-platform.io/gpu-pool": "gpu-spot" });
    expect(pod.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
    const server = pod.containers.find((c: { name: string }) => c.name === "tf-serving");
    expect(server.image).toMatch(/^tensorflow\/serving:[\d.]+-gpu$/);
    expect(server.resources.limits["nvidia.com/gpu"]).toBe("1");
  });
});

describe("staging", () => {
  it("serves pinned specific versions with prod-like shapes", async () => {
    const run = await stackRun("staging");
    expect(modelsConfigOf(run, "linear")).toMatch(/specific \{\s*versions: 4\s*\}/);
    const hpa = run.get("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "linear").inputs;
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(run.ofType("kubernetes:policy/v1:PodDisruptionBudget").length).toBe(2);
  });

  it("runs the example training job, and the serving that serves its model waits for it", async () => {
    const run = await stackRun("staging");
    const job = run.get("kubernetes:batch/v1:Job", "linear-train-v5");
    expect(job.inputs.metadata.namespace).toBe("ml");
    // Depending on a component means depending on its resources, the Job among them.
    expect(run.get("ml-platform:serving:TfServing", "linear").dependencies).toContain(job.urn);
    expect(run.get("ml-platform:serving:TfServing", "vision").dependencies).not.toContain(job.urn);
    expect(await unwrap((run.result.trainings as Record<string, unknown>) ?? {})).toEqual({
      "linear-train": { exportUri: "s3://acme-ml-models-staging/models/linear/5/", version: 5 },
    });
  });
});

describe("prod", () => {
  it("runs on-demand GPUs and a protected, KMS-encrypted bucket", async () => {
    const run = await stackRun("prod");
    expect(run.get("aws:eks/nodeGroup:NodeGroup").inputs.capacityType).toBe("ON_DEMAND");
    const bucket = run.get("aws:s3/bucket:Bucket");
    expect([bucket.protect, bucket.retainOnDelete, bucket.inputs.forceDestroy]).toEqual([true, true, false]);
    const [rule] = run.get("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules;
    expect(rule.applyServerSideEncryptionByDefault).toMatchObject({ sseAlgorithm: "aws:kms", kmsMasterKeyId: expect.stringMatching(/^arn:aws:kms:/) });
  });

  it("keeps at least two replicas per server, spread across zones, with a disruption budget and an autoscaler", async () => {
    const run = await stackRun("prod");
    for (const serving of ["linear", "vision"]) {
      const hpa = run.get("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", serving).inputs.spec;
      expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
      expect(run.get("kubernetes:policy/v1:PodDisruptionBudget", serving).inputs.spec.maxUnavailable).toBe(1);
      const spread = deploymentOf(run, serving).inputs.spec.template.spec.topologySpreadConstraints;
      expect(spread.map((c: { topologyKey: string }) => c.topologyKey)).toContain("topology.kubernetes.io/zone");
    }
  });

  it("pins versions with stable and canary labels, from ml-platform:releases", async () => {
    const run = await stackRun("prod");
    const config = modelsConfigOf(run, "linear");
    expect(config).toMatch(/specific \{\s*versions: 3\s*versions: 4\s*\}/);
    expect(config).toMatch(/version_labels \{\s*key: "canary"\s*value: 4\s*\}/);
    expect(config).toMatch(/version_labels \{\s*key: "stable"\s*value: 3\s*\}/);
    expect(await unwrap(run.result.releases as Record<string, unknown>)).toEqual({
      linear: { versions: [3, 4], labels: { stable: 3, canary: 4 } },
      "image-classifier": { versions: [7], labels: { stable: 7 } },
    });
    const linear = (await unwrap(run.result.smokeTargets)).endpoints.find((e) => e.name === "linear")!;
    expect(linear.models).toEqual([
      expect.objectContaining({ name: "linear", version: 3, label: "stable", latencyMsP95: 100, request: { inputs: { x: [[1.0], [2.0]] } } }),
      expect.objectContaining({ name: "linear", version: 4, label: "canary" }),
    ]);
  });
});

describe("local", () => {
  it("declares no AWS resource and no AWS call, and uses the kubeconfig's context", async () => {
    const run = await stackRun("local");
    expect(run.resources.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("pulumi:providers:aws"))).toEqual([]);
    expect(run.ofType("ml-platform:compute:GpuNodePool")).toEqual([]);
    const provider = run.get("pulumi:providers:kubernetes").inputs;
    expect(provider).not.toHaveProperty("kubeconfig");
  });

  it("trains linear version 1 into the in-cluster store, then serves it on CPU", async () => {
    const run = await stackRun("local");
    expect(run.get("kubernetes:batch/v1:Job", "linear-train-v1").inputs.spec.template.spec.containers[0].image).toMatch(/^tensorflow\/tensorflow:/);
    const server = deploymentOf(run, "linear").inputs.spec.template.spec.containers.find((c: { name: string }) => c.name === "tf-serving");
    expect(server.image).toMatch(/^tensorflow\/serving:[\d.]+$/);
    expect(server.resources.limits).not.toHaveProperty("nvidia.com/gpu");
    expect(modelsConfigOf(run, "linear")).toMatch(/specific \{\s*versions: 1\s*\}/);
  });

  it("waits up to 30 minutes for the training (the first run pulls the TensorFlow image), and serves after it", async () => {
    const run = await stackRun("local");
    const job = run.get("kubernetes:batch/v1:Job", "linear-train-v1");
    expect(job.inputs.metadata.annotations).toMatchObject({ "pulumi.com/timeoutSeconds": "1800" });
    expect(run.get("ml-platform:serving:TfServing", "linear").dependencies).toContain(job.urn);
  });

  it("converts linear version 1 for phones after training it, through a grant that reads that version and writes only its mobile export", async () => {
    const run = await stackRun("local");
    const job = run.get("kubernetes:batch/v1:Job", "linear-mobile-v1");
    const pod = job.inputs.spec.template.spec;
    expect([...pod.initContainers, ...pod.containers].map((c: { name: string }) => c.name)).toEqual(["fetch-version", "convert", "publish"]);
    const convert = pod.initContainers[1];
    expect(convert.image).toBe(run.get("kubernetes:batch/v1:Job", "linear-train-v1").inputs.spec.template.spec.containers[0].image);
    expect(convert.resources).toEqual({ requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "1Gi" } });
    expect(run.get("ml-platform:mobile:MobileExport", "linear-mobile").dependencies).toContain(run.get("kubernetes:batch/v1:Job", "linear-train-v1").urn);
    const patch = run.get("kubernetes:core/v1:SecretPatch", "linear-mobile-store-store-identity");
    const identity = JSON.parse(Buffer.from(Object.values(patch.inputs.data as Record<string, string>)[0]!, "base64").toString("utf8")) as { actions: string[] };
    expect(identity.actions).toEqual(["List:models/models/linear/1/*", "Read:models/models/linear/1/*", "List:models/mobile/linear/1/*", "Read:models/mobile/linear/1/*", "Write:models/mobile/linear/1/*"]);
    expect(await unwrap(run.result.mobileExports as Record<string, unknown>)).toEqual({
      "linear-mobile": { exportUri: "s3://models/mobile/linear/1/", modelFileUri: "s3://models/mobile/linear/1/model.tflite", version: 1 },
    });
  });

  it("runs a TensorBoard of linear's runs: ClusterIP only, reading the logs and nothing else, and says how to open it", async () => {
    const run = await stackRun("local");
    expect(run.get("ml-platform:observability:TensorBoard", "linear")).toBeDefined();
    expect(run.get("kubernetes:core/v1:Service", "linear-tensorboard").inputs.spec).toMatchObject({ type: "ClusterIP", ports: [{ port: 6006 }] });
    const identity = (grant: string) =>
      JSON.parse(Buffer.from(run.get("kubernetes:core/v1:SecretPatch", `${grant}-store-identity`).inputs.data[`grant-${grant}.json`], "base64").toString("utf8")) as { actions: string[] };
    expect(identity("linear-tensorboard-0").actions).toEqual(["List:models/logs/linear/*", "Read:models/logs/linear/*"]);
    // The training writes its own version's logs, beside its model.
    expect(identity("linear-train-store").actions).toEqual(expect.arrayContaining(["Write:models/models/linear/*", "Write:models/logs/linear/1/*"]));
    expect(identity("linear-train-store").actions.filter((a) => a.includes("logs/"))).toEqual(["List:models/logs/linear/1/*", "Read:models/logs/linear/1/*", "Write:models/logs/linear/1/*"]);
    expect(await unwrap(run.result.tensorboards)).toEqual({
      linear: {
        url: "http://linear-tensorboard.ml.svc.cluster.local:6006/",
        portForward: "kubectl port-forward --namespace ml service/linear-tensorboard 6006:6006",
        localUrl: "http://127.0.0.1:6006/",
      },
    });
  });

  it("never puts a store credential in an env value, ConfigMap or output", async () => {
    const run = await stackRun("local");
    const secrets = run.ofType(DYNAMIC_RESOURCE).flatMap((r) => Object.values(mockStoreCredential(r.name)));
    expect(secrets.length).toBeGreaterThan(0);
    const exposed = JSON.stringify({
      nonSecrets: run.kubernetesObjects().filter((r) => !/:Secret(Patch)?$/.test(r.type)).map((r) => r.inputs),
      outputs: await unwrap(run.result as Record<string, unknown>),
    });
    for (const secret of secrets) {
      expect(exposed).not.toContain(secret);
      expect(exposed).not.toContain(Buffer.from(secret).toString("base64"));
    }
  });
});

describe("the program with other configs", () => {
  it("works with no GPU pools, no trainings and no servings", async () => {
    const run = await runProgram({ "ml-platform:cluster": { name: "bare" } });
    expect(run.ofType("aws:eks/nodeGroup:NodeGroup")).toEqual([]);
    expect(run.ofType("ml-platform:training:JobSetController")).toEqual([]);
    expect(await unwrap(run.result.smokeTargets)).toEqual({ endpoints: [] });
    expect(await unwrap(run.result.bucketNames as Record<string, string>)).toEqual({});
  });

  it("installs the JobSet controller only when a distributed training exists, and the JobSet depends on it", async () => {
    const config = {
      ...stackConfig("staging"),
      "ml-platform:trainings": [
        {
          name: "classifier-train",
          store: "models",
          model: "image-classifier",
          version: 8,
          framework: "pytorch",
          mode: "ddp",
          replicas: { worker: 2 },
          image: "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime",
          command: ["python", "train.py"],
          gpuPool: "gpu",
          resources: { gpus: 1 },
        },
      ],
    };
    const run = await runProgram(config, "staging");
    const controller = run.get("ml-platform:training:JobSetController");
    const jobSet = run.get("kubernetes:jobset.x-k8s.io/v1alpha2:JobSet");
    expect(jobSet.dependencies).toEqual(expect.arrayContaining([expect.stringContaining("JobSetController")]));
    expect(controller.name).toBe("jobset");
    await expectValidKubernetesObjects(run);
    expect((await stackRun("staging")).ofType("ml-platform:training:JobSetController")).toEqual([]);
  });

  it("rejects bad config before declaring any resource", async () => {
    let error: unknown;
    const run = await runInMocks(
      async () => {
        vi.resetModules();
        try {
          await import("../../stacks/index");
        } catch (err) {
          error = err;
        }
      },
      { config: { "ml-platform:cluster": { name: "c" }, "ml-platform:serving": [] } },
    );
    expect((error as Error).message).toMatch(/ml-platform:serving: unknown config key; the program reads ml-platform:cluster, ml-platform:stores/);
    expect(run.resources).toEqual([]);
  });
});
