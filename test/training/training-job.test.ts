/** The TrainingJob component under mocks: what it declares, field by field, and how the pieces connect. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GpuNodePool } from "../../components/compute/gpu-node-pool";
import { ModelStore } from "../../components/storage/model-store";
import { InClusterModelStore } from "../../components/storage/in-cluster/in-cluster-model-store";
import { JobSetController } from "../../components/training/jobset-controller";
import { TRAINING_SCRIPTS_DIR } from "../../components/training/scripts";
import { PUBLISH_VERSION_SCRIPT, STORE_SCRIPTS_DIR } from "../../components/storage/version-publishing";
import { TrainingJob } from "../../components/training/training-job";
import { STORE_AGENT_IMAGE } from "../../components/training/workload";
import type { PolicyDocument } from "../../components/storage/s3-policies";
import { isAllowed } from "../harness/iam-policy";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import { expectRestrictedPods } from "../harness/pod-security";
import { type PropertyMap, runInMocks, unwrap } from "../harness/pulumi-mocks";
import { container, JOB_TYPE, JOBSET_TYPE, renderedRoles, trainingRun, workloadOf } from "./fixtures";

const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};
const RESTRICTED_POD = { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } };

const envRecord = (c: PropertyMap) => Object.fromEntries((c.env as PropertyMap[]).map((e) => [e.name, e.value ?? e.valueFrom]));

describe("single-pod TensorFlow job with the defaults", async () => {
  const run = await trainingRun({ framework: "tensorflow", mode: "single" });
  const job = run.get(JOB_TYPE);
  const pod = job.inputs.spec.template.spec;
  const trainer = container(pod, "trainer");
  const agent = container(pod, "store-agent");

  it("declares a service account, the store grant, the scripts and a Job named after the version, all schema-valid", async () => {
    const component = run.get("ml-platform:training:TrainingJob", "train");
    expect(run.childrenOf(component).map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      [
        "aws:eks/podIdentityAssociation:PodIdentityAssociation train-store-pod-identity",
        "aws:iam/role:Role train-store-role",
        "aws:iam/rolePolicy:RolePolicy train-store-policy",
        "kubernetes:batch/v1:Job train-v3",
        "kubernetes:core/v1:ConfigMap train-v3-scripts",
        "kubernetes:core/v1:ServiceAccount train",
      ].sort(),
    );
    expect(await expectValidKubernetesObjects(run)).toBe(3);
    expect(expectRestrictedPods(run)).toBe(1);
    expect(job.inputs.metadata).toMatchObject({ name: "train-v3", namespace: "default" });
    expect(job.inputs.metadata.labels).toMatchObject({ "ml-platform.io/model": "linear", "ml-platform.io/model-version": "3", "app.kubernetes.io/instance": "train" });
    const sa = run.get("kubernetes:core/v1:ServiceAccount");
    expect(sa.inputs.metadata).toMatchObject({ name: "train", namespace: "default" });
  });

  it("grants the service account write access to this model only, through EKS Pod Identity", () => {
    const association = run.get("aws:eks/podIdentityAssociation:PodIdentityAssociation");
    expect(association.inputs).toMatchObject({ clusterName: "ml-prod", namespace: "default", serviceAccount: "train" });
    const policy = JSON.parse(run.get("aws:iam/rolePolicy:RolePolicy").inputs.policy) as PolicyDocument;
    expect(isAllowed(policy, { action: "s3:PutObject", resource: "arn:aws:s3:::acme-models/models/linear/3/saved_model.pb" })).toBe(true);
    expect(isAllowed(policy, { action: "s3:PutObject", resource: "arn:aws:s3:::acme-models/models/other/1/saved_model.pb" })).toBe(false);
    expect(isAllowed(policy, { action: "s3:PutObject", resource: "arn:aws:s3:::acme-models/checkpoints/linear/3/ckpt" })).toBe(false);
    expect(isAllowed(policy, { action: "s3:DeleteObject", resource: "arn:aws:s3:::acme-models/models/linear/3/saved_model.pb" })).toBe(false);
  });

  it("ships the container scripts as they are in the package", () => {
    const data = run.get("kubernetes:core/v1:ConfigMap").inputs.data;
    expect(Object.keys(data).sort()).toEqual(["checkpoints.sh", "entrypoint.sh", "logs.sh", "publish-version.sh", "store-agent.sh", "upload-model.sh"]);
    // The store's uploader comes from components/storage/scripts, the others from the training scripts.
    for (const file of Object.keys(data)) {
      const dir = file === PUBLISH_VERSION_SCRIPT ? STORE_SCRIPTS_DIR : TRAINING_SCRIPTS_DIR;
      expect(data[file]).toBe(readFileSync(join(dir, file), "utf8"));
    }
  });

  it("waits for completion with Pulumi's 10-minute limit, retries 3 times, and does not count disruptions", () => {
    expect(job.inputs.metadata.annotations).toEqual({ "pulumi.com/timeoutSeconds": "600" });
    expect(job.inputs.spec.backoffLimit).toBe(3);
    expect(job.inputs.spec.podFailurePolicy).toEqual({ rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] }] });
    expect(job.inputs.spec).not.toHaveProperty("activeDeadlineSeconds");
    expect(job.inputs.spec).not.toHaveProperty("ttlSecondsAfterFinished");
  });

  it("runs the restricted pod: non-root, read-only root, no privileges, writable scratch volumes only", () => {
    expect(pod).toMatchObject({
      serviceAccountName: "train",
      // No Kubernetes API token: EKS Pod Identity projects its own token into the pods it serves.
      automountServiceAccountToken: false,
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 120,
      securityContext: RESTRICTED_POD,
    });
    for (const c of [trainer, agent]) expect(c.securityContext).toEqual(RESTRICTED_CONTAINER);
    expect(pod.volumes).toEqual([
      { name: "scripts", configMap: { name: "train-v3-scripts", defaultMode: 0o555 } },
      { name: "export", emptyDir: {} },
      { name: "logs", emptyDir: {} },
      { name: "state", emptyDir: {} },
      { name: "tmp", emptyDir: {} },
      { name: "agent-tmp", emptyDir: {} },
    ]);
    expect(pod).not.toHaveProperty("nodeSelector");
    expect(pod).not.toHaveProperty("tolerations");
  });

  it("runs the command under the wrapper with the export and log locations, and gives it no store credentials", () => {
    expect(trainer.image).toBe("registry.example.com/trainer:1.0");
    expect(trainer.command).toEqual(["/bin/sh", "/opt/ml-platform/bin/entrypoint.sh", "python", "train.py"]);
    expect(envRecord(trainer)).toEqual({
      ML_PLATFORM_FRAMEWORK: "tensorflow",
      ML_PLATFORM_ROLE: "trainer",
      ML_PLATFORM_EXPORTER_INDEX: "0",
      ML_PLATFORM_STATE_DIR: "/var/run/ml-platform",
      MODEL_NAME: "linear",
      MODEL_VERSION: "3",
      MODEL_EXPORT_DIR: "/var/lib/ml-platform/export",
      TENSORBOARD_LOG_DIR: "/var/lib/ml-platform/logs",
      HOME: "/tmp",
    });
    expect(trainer.resources).toEqual({});
    expect(trainer.volumeMounts.map((m: PropertyMap) => m.mountPath)).toEqual([
      "/opt/ml-platform/bin",
      "/var/lib/ml-platform/export",
      "/var/lib/ml-platform/logs",
      "/var/run/ml-platform",
      "/tmp",
    ]);
  });

  it("uploads through a native sidecar in the pinned AWS CLI image, with the store's environment", () => {
    expect(pod.initContainers.map((c: PropertyMap) => c.name)).toEqual(["restore-logs", "store-agent"]);
    expect(STORE_AGENT_IMAGE).toBe("amazon/aws-cli:2.37.4");
    expect(agent).toMatchObject({ image: STORE_AGENT_IMAGE, restartPolicy: "Always", command: ["/bin/sh", "/opt/ml-platform/bin/store-agent.sh"] });
    expect(envRecord(agent)).toEqual({
      S3_BUCKET: "acme-models",
      AWS_CLI: "/usr/local/bin/aws",
      MODEL_NAME: "linear",
      MODEL_VERSION: "3",
      HOME: "/tmp",
      AWS_REGION: "us-west-2",
      AWS_DEFAULT_REGION: "us-west-2",
      ML_PLATFORM_STATE_DIR: "/var/run/ml-platform",
      ML_PLATFORM_EXPORTER_INDEX: "0",
      ML_PLATFORM_ROLE: "trainer",
      TENSORBOARD_LOG_DIR: "/var/lib/ml-platform/logs",
      LOGS_STATE_DIR: "/tmp/ml-platform-logs",
      ML_PLATFORM_LOGS_INTERVAL: "30",
      MODEL_EXPORT_DIR: "/var/lib/ml-platform/export",
    });
    expect(agent.volumeMounts).toContainEqual({ name: "export", mountPath: "/var/lib/ml-platform/export", readOnly: true });
    expect(agent.volumeMounts).toContainEqual({ name: "logs", mountPath: "/var/lib/ml-platform/logs", readOnly: true });
  });

  it("creates the Job after the service account, scripts and grant, and resolves exportUri and version through it", async () => {
    for (const dependency of [run.get("kubernetes:core/v1:ServiceAccount"), run.get("kubernetes:core/v1:ConfigMap"), run.get("aws:eks/podIdentityAssociation:PodIdentityAssociation")]) {
      expect(job.dependencies).toContain(dependency.urn);
    }
    expect(await unwrap(run.result.exportUri)).toBe("s3://acme-models/models/linear/3/");
    expect(await unwrap(run.result.version)).toBe(3);
  });
});

describe("checkpoints", async () => {
  const run = await trainingRun({ framework: "tensorflow", mode: "single", checkpoints: { saveIntervalSeconds: 30 } });
  const pod = run.get(JOB_TYPE).inputs.spec.template.spec;

  it("restores before the command starts, gives it $CHECKPOINT_DIR and saves on the interval", async () => {
    expect(await expectValidKubernetesObjects(run)).toBe(3);
    expect(pod.initContainers.map((c: PropertyMap) => c.name)).toEqual(["restore-checkpoints", "restore-logs", "store-agent"]);
    const restore = container(pod, "restore-checkpoints");
    expect(restore.command).toEqual(["/bin/sh", "/opt/ml-platform/bin/checkpoints.sh", "restore"]);
    expect(restore).not.toHaveProperty("restartPolicy");
    expect(envRecord(restore)).toMatchObject({ CHECKPOINT_DIR: "/var/lib/ml-platform/checkpoints", S3_BUCKET: "acme-models", MODEL_NAME: "linear", MODEL_VERSION: "3" });
    expect(envRecord(container(pod, "trainer"))).toMatchObject({ CHECKPOINT_DIR: "/var/lib/ml-platform/checkpoints" });
    expect(envRecord(container(pod, "store-agent"))).toMatchObject({ CHECKPOINT_DIR: "/var/lib/ml-platform/checkpoints", ML_PLATFORM_CHECKPOINT_INTERVAL: "30" });
    expect(pod.volumes).toContainEqual({ name: "checkpoints", emptyDir: {} });
  });

  it("extends the grant to checkpoints/<model>/", () => {
    const policy = JSON.parse(run.get("aws:iam/rolePolicy:RolePolicy").inputs.policy) as PolicyDocument;
    expect(isAllowed(policy, { action: "s3:PutObject", resource: "arn:aws:s3:::acme-models/checkpoints/linear/3/ckpt-1.index" })).toBe(true);
    expect(isAllowed(policy, { action: "s3:ListBucket", resource: "arn:aws:s3:::acme-models", context: { "s3:prefix": "checkpoints/linear/3/" } })).toBe(true);
  });
});

describe("TensorBoard logs", async () => {
  const run = await trainingRun({ framework: "tensorflow", mode: "single", logs: { uploadIntervalSeconds: 5 } });
  const pod = run.get(JOB_TYPE).inputs.spec.template.spec;
  const s3 = (key: string) => `arn:aws:s3:::acme-models/${key}`;

  it("restores the pod's run before the command starts, and uploads it on the chosen interval", () => {
    const restore = container(pod, "restore-logs");
    expect(restore.command).toEqual(["/bin/sh", "/opt/ml-platform/bin/logs.sh", "restore"]);
    expect(restore).not.toHaveProperty("restartPolicy");
    expect(envRecord(restore)).toMatchObject({ TENSORBOARD_LOG_DIR: "/var/lib/ml-platform/logs", ML_PLATFORM_ROLE: "trainer", MODEL_NAME: "linear", MODEL_VERSION: "3" });
    expect(restore.volumeMounts).toContainEqual({ name: "logs", mountPath: "/var/lib/ml-platform/logs" });
    expect(envRecord(container(pod, "store-agent"))).toMatchObject({ ML_PLATFORM_LOGS_INTERVAL: "5" });
  });

  it("lets the job write its own version's logs and nothing else under logs/", () => {
    const policy = JSON.parse(run.get("aws:iam/rolePolicy:RolePolicy").inputs.policy) as PolicyDocument;
    const run3 = "logs/linear/3/trainer-0/events.out.tfevents.1.trainer.1.0.v2";
    expect(isAllowed(policy, { action: "s3:PutObject", resource: s3(run3) })).toBe(true);
    expect(isAllowed(policy, { action: "s3:GetObject", resource: s3(run3) })).toBe(true);
    expect(isAllowed(policy, { action: "s3:ListBucket", resource: "arn:aws:s3:::acme-models", context: { "s3:prefix": "logs/linear/3/trainer-0/" } })).toBe(true);
    expect(isAllowed(policy, { action: "s3:PutObject", resource: s3("logs/linear/2/trainer-0/events.out.tfevents.1.trainer.1.0.v2") })).toBe(false);
    expect(isAllowed(policy, { action: "s3:PutObject", resource: s3("logs/other/3/trainer-0/x") })).toBe(false);
    expect(isAllowed(policy, { action: "s3:ListBucket", resource: "arn:aws:s3:::acme-models", context: { "s3:prefix": "logs/linear/" } })).toBe(false);
    expect(isAllowed(policy, { action: "s3:DeleteObject", resource: s3(run3) })).toBe(false);
  });

  it("logs: false leaves the pod without a log directory, its restore and its upload", async () => {
    const off = await trainingRun({ framework: "tensorflow", mode: "multi-worker", replicas: { worker: 2 }, logs: false });
    const roles = renderedRoles(off);
    expect(roles.map((r) => r.role)).toEqual(["worker"]);
    const podSpec = roles[0]!.podSpec;
    // The exporting role still has its agent (the export), but no logs anywhere.
    expect(podSpec.initContainers.map((c: PropertyMap) => c.name)).toEqual(["store-agent"]);
    expect(envRecord(container(podSpec, "trainer"))).not.toHaveProperty("TENSORBOARD_LOG_DIR");
    expect(envRecord(container(podSpec, "store-agent"))).not.toHaveProperty("TENSORBOARD_LOG_DIR");
    expect(podSpec.volumes.map((v: PropertyMap) => v.name)).not.toContain("logs");
    const policy = JSON.parse(off.get("aws:iam/rolePolicy:RolePolicy").inputs.policy) as PolicyDocument;
    expect(isAllowed(policy, { action: "s3:PutObject", resource: s3("logs/linear/3/worker-0/x") })).toBe(false);
  });
});

describe("GPUs", async () => {
  const run = await trainingRun({ framework: "pytorch", mode: "single", resources: { cpu: "7", memory: "28Gi", gpus: 1 }, gpuInstanceType: "g5.2xlarge", sharedMemorySize: "8Gi" });
  const pod = run.get(JOB_TYPE).inputs.spec.template.spec;

  it("asks for nvidia.com/gpu and lands on the pool's nodes", async () => {
    expect(await expectValidKubernetesObjects(run)).toBeGreaterThanOrEqual(3);
    expect(expectRestrictedPods(run)).toBe(1);
    expect(container(pod, "trainer").resources).toEqual({ requests: { cpu: "7", memory: "28Gi" }, limits: { memory: "28Gi", "nvidia.com/gpu": "1" } });
    expect(pod.nodeSelector).toEqual({ "ml-platform.io/gpu-pool": "gpu" });
    expect(pod.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    // The store agent stays small whatever the trainer gets.
    expect(container(pod, "store-agent").resources).toEqual({ requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } });
  });

  it("gives PyTorch a memory-backed /dev/shm", () => {
    expect(pod.volumes).toContainEqual({ name: "dshm", emptyDir: { medium: "Memory", sizeLimit: "8Gi" } });
    expect(container(pod, "trainer").volumeMounts).toContainEqual({ name: "dshm", mountPath: "/dev/shm" });
  });
});

describe("parameter-server training as a JobSet", async () => {
  const run = await runInMocks(() => {
    const controller = new JobSetController("jobset");
    const store = new ModelStore("models", { bucketName: "acme-models" });
    const gpuPool = new GpuNodePool("gpu", { clusterName: "ml-prod", subnetIds: ["subnet-a"], instanceTypes: ["g5.12xlarge"], scaling: { min: 0, desired: 0, max: 4 } });
    return new TrainingJob("ctr", {
      framework: "tensorflow",
      mode: "parameter-server",
      replicas: { chief: 1, worker: 4, ps: 2, evaluator: 1 },
      image: "registry.example.com/ctr:7",
      command: ["python", "-m", "ctr.train"],
      resources: { cpu: "8", memory: "32Gi", gpus: 4 },
      gpuPool,
      store,
      model: "ctr",
      version: 12,
      clusterName: "ml-prod",
      checkpoints: true,
      activeDeadlineSeconds: 86_400,
      jobSetController: controller,
      wait: { until: "complete", timeoutMinutes: 240 },
    });
  });
  const jobSet = run.get(JOBSET_TYPE);
  const spec = jobSet.inputs.spec;
  const roles = renderedRoles(run);

  it("is one schema-valid JobSet with one indexed replicated job per role", async () => {
    // The JobSet, its ConfigMap of scripts, its ServiceAccount, and the JobSet controller's namespace.
    expect(await expectValidKubernetesObjects(run)).toBe(4);
    expect(jobSet.inputs.metadata.name).toBe("ctr-v12");
    expect(spec.replicatedJobs.map((r: PropertyMap) => [r.name, r.replicas, r.template.spec.completions, r.template.spec.parallelism, r.template.spec.completionMode])).toEqual([
      ["chief", 1, 1, 1, "Indexed"],
      ["worker", 1, 4, 4, "Indexed"],
      ["ps", 1, 2, 2, "Indexed"],
      ["evaluator", 1, 1, 1, "Indexed"],
    ]);
  });

  it("gives pods stable host names through the JobSet's headless service", () => {
    expect(spec.network).toEqual({ enableDNSHostnames: true, subdomain: "ctr-v12", publishNotReadyAddresses: true });
  });

  it("succeeds when the chief is done (parameter servers never exit) and restarts as a whole on failure", () => {
    expect(spec.successPolicy).toEqual({ operator: "All", targetReplicatedJobs: ["chief"] });
    expect(spec.failurePolicy).toEqual({
      maxRestarts: 3,
      restartStrategy: "BlockingRecreate",
      rules: [
        { name: "FailOnDeadline", action: "FailJobSet", onJobFailureReasons: ["DeadlineExceeded"] },
        { name: "RestartOnDisruption", action: "RestartJobSetAndIgnoreMaxRestarts", onJobFailureReasons: ["PodFailurePolicy"] },
      ],
    });
    for (const rjob of spec.replicatedJobs) {
      expect(rjob.template.spec.backoffLimit).toBe(0);
      expect(rjob.template.spec.activeDeadlineSeconds).toBe(86_400);
      expect(rjob.template.spec.podFailurePolicy).toEqual({ rules: [{ action: "FailJob", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] }] });
    }
  });

  it("waits for the JobSet's Completed condition with the chosen timeout, after the JobSet controller is installed", () => {
    expect(jobSet.inputs.metadata.annotations).toEqual({ "pulumi.com/timeoutSeconds": "14400", "pulumi.com/waitFor": "condition=Completed" });
    // Depending on the component means depending on what it declares: the Helm release.
    expect(jobSet.dependencies).toContain(run.get("kubernetes:helm.sh/v3:Release").urn);
  });

  it("puts GPUs and the GPU pool's scheduling only on workers and the evaluator", () => {
    const gpus = Object.fromEntries(roles.map((r) => [r.role, [container(r.podSpec, "trainer").resources.limits?.["nvidia.com/gpu"], r.podSpec.nodeSelector]]));
    expect(gpus).toEqual({
      chief: [undefined, undefined],
      worker: ["4", { "ml-platform.io/gpu-pool": "gpu" }],
      ps: [undefined, undefined],
      evaluator: ["4", { "ml-platform.io/gpu-pool": "gpu" }],
    });
  });

  it("runs the store agent beside every pod for its logs; it exports on the chief and follows checkpoints on the evaluator", () => {
    const agents = Object.fromEntries(roles.map((r) => [r.role, (r.podSpec.initContainers ?? []).map((c: PropertyMap) => c.name)]));
    expect(agents).toEqual({
      chief: ["restore-checkpoints", "restore-logs", "store-agent"],
      worker: ["restore-checkpoints", "restore-logs", "store-agent"],
      ps: ["restore-checkpoints", "restore-logs", "store-agent"],
      evaluator: ["restore-checkpoints", "restore-logs", "store-agent"],
    });
    const agentEnv = Object.fromEntries(roles.map((r) => [r.role, envRecord(container(r.podSpec, "store-agent"))]));
    expect(agentEnv.chief).toMatchObject({ ML_PLATFORM_EXPORTER_INDEX: "0", ML_PLATFORM_ROLE: "chief" });
    expect(agentEnv.evaluator).toMatchObject({ ML_PLATFORM_CHECKPOINT_FOLLOW: "true", ML_PLATFORM_ROLE: "evaluator" });
    for (const role of ["worker", "ps", "evaluator"]) expect(agentEnv[role]).not.toHaveProperty("ML_PLATFORM_EXPORTER_INDEX");
    // Each pod's run is named after its role (and, at run time, its index).
    expect(agentEnv.ps).toMatchObject({ ML_PLATFORM_ROLE: "ps", TENSORBOARD_LOG_DIR: "/var/lib/ml-platform/logs" });
    // Every trainer hands over to its agent (the wrapper waits for the last logs).
    for (const { podSpec } of roles) expect(envRecord(container(podSpec, "trainer"))).toMatchObject({ ML_PLATFORM_STATE_DIR: "/var/run/ml-platform" });
  });

  it("keeps every container of every role restricted", () => {
    expect(expectRestrictedPods(run)).toBe(4);
    for (const { podSpec } of roles) {
      expect(podSpec.securityContext).toEqual(RESTRICTED_POD);
      for (const c of [...(podSpec.initContainers ?? []), ...podSpec.containers]) expect(c.securityContext).toEqual(RESTRICTED_CONTAINER);
    }
  });
});

describe("options", () => {
  it("passes backoff, deadline, TTL, pull secrets, env, args, source files and the no-wait choice through", async () => {
    const run = await trainingRun({
      framework: "tensorflow",
      mode: "single",
      namespace: "ml",
      args: ["--epochs", "5"],
      env: { EPOCHS: "5", HOME: "/work" },
      backoffLimit: 6,
      activeDeadlineSeconds: 3600,
      ttlSecondsAfterFinished: 86_400,
      imagePullSecrets: ["registry-creds"],
      sourceFiles: { "train.py": "print('hi')\n" },
      wait: { until: "created" },
    });
    expect(await expectValidKubernetesObjects(run)).toBe(4);
    const job = run.get(JOB_TYPE).inputs;
    expect(job.metadata.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
    expect(job.metadata.namespace).toBe("ml");
    expect([job.spec.backoffLimit, job.spec.activeDeadlineSeconds, job.spec.ttlSecondsAfterFinished]).toEqual([6, 3600, 86_400]);
    const pod = job.spec.template.spec;
    expect(pod.imagePullSecrets).toEqual([{ name: "registry-creds" }]);
    const trainer = container(pod, "trainer");
    expect(trainer.args).toEqual(["--epochs", "5"]);
    expect(envRecord(trainer)).toMatchObject({ EPOCHS: "5", HOME: "/work" });
    expect((trainer.env as PropertyMap[]).filter((e) => e.name === "HOME")).toHaveLength(1);
    expect(run.get("kubernetes:core/v1:ConfigMap", "train-v3-code").inputs.data).toEqual({ "train.py": "print('hi')\n" });
    expect(pod.volumes).toContainEqual({ name: "code", configMap: { name: "train-v3-code", defaultMode: 0o444 } });
    expect(trainer.volumeMounts).toContainEqual({ name: "code", mountPath: "/opt/ml-platform/code", readOnly: true });
  });

  it("a new version is a new Job, with the same service account", async () => {
    const run = await trainingRun({ framework: "tensorflow", mode: "single", version: 4 });
    expect(workloadOf(run).name).toBe("train-v4");
    expect(workloadOf(run).inputs.metadata.name).toBe("train-v4");
    expect(run.get("kubernetes:core/v1:ServiceAccount").inputs.metadata.name).toBe("train");
    expect(await unwrap(run.result.exportUri)).toBe("s3://acme-models/models/linear/4/");
  });

  it("lets a transform change the rendered workload", async () => {
    const run = await trainingRun({
      framework: "tensorflow",
      mode: "single",
      transform: {
        workload: (w) => {
          const template = (w.spec.template as { spec: PropertyMap }).spec;
          template.priorityClassName = "training";
          return w;
        },
      },
    });
    expect(run.get(JOB_TYPE).inputs.spec.template.spec.priorityClassName).toBe("training");
  });
});

describe("a store that is not AWS (the in-cluster store)", () => {
  it("passes the endpoint and the grant's secret references to the store containers only", async () => {
    const run = await runInMocks(
      () =>
        new TrainingJob("train", {
          framework: "custom",
          mode: "single",
          image: "registry.example.com/trainer:1.0",
          command: ["./train"],
          store: new InClusterModelStore("objects", { namespace: "storage" }),
          model: "linear",
          version: 1,
          clusterName: "local",
          namespace: "ml",
          checkpoints: true,
        }),
    );
    expect(await expectValidKubernetesObjects(run)).toBeGreaterThan(3);
    expect(expectRestrictedPods(run)).toBeGreaterThan(0);
    const pod = run.get(JOB_TYPE, "train-v1").inputs.spec.template.spec;
    for (const name of ["restore-checkpoints", "restore-logs", "store-agent"]) {
      const env = envRecord(container(pod, name));
      expect(env).toMatchObject({ S3_BUCKET: "models", S3_ENDPOINT: expect.stringMatching(/^http:\/\/objects\.storage\.svc/) });
      expect(env.AWS_ACCESS_KEY_ID).toMatchObject({ secretKeyRef: expect.objectContaining({ key: expect.any(String) }) });
    }
    const trainerEnv = envRecord(container(pod, "trainer"));
    expect(Object.keys(trainerEnv).filter((k) => k.startsWith("AWS_") || k.startsWith("S3_"))).toEqual([]);
    expect(await unwrap(run.result.exportUri)).toBe("s3://models/models/linear/1/");
  });
});
