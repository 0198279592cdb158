/** The TensorBoard component under mocks: what it declares, field by field, its grants and its validation. */
import { describe, expect, it } from "vitest";
import * as publicApi from "../../components";
import { ComponentValidationError } from "../../components/common/validation";
import type { TensorBoardArgs } from "../../components/observability/args";
import { TENSORBOARD_IMAGE, tensorBoardPlan, validateTensorBoardArgs } from "../../components/observability/plan";
import { TensorBoard } from "../../components/observability/tensorboard";
import { InClusterModelStore } from "../../components/storage/in-cluster/in-cluster-model-store";
import type { SeaweedIdentity } from "../../components/storage/in-cluster/seaweedfs-identities";
import { ModelStore } from "../../components/storage/model-store";
import type { PolicyDocument } from "../../components/storage/s3-policies";
import { isAllowed } from "../harness/iam-policy";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import { expectRestrictedPods } from "../harness/pod-security";
import { type MockRun, type PropertyMap, runInMocks, unwrap } from "../harness/pulumi-mocks";
import { seaweedAllows } from "../harness/seaweedfs-actions";
import { StaticCredentialsStore } from "../serving/stores";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SERVICE = "kubernetes:core/v1:Service";
const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

const container = (pod: PropertyMap, name: string) => [...(pod.initContainers ?? []), ...pod.containers].find((c: PropertyMap) => c.name === name);
const envOf = (c: PropertyMap) => Object.fromEntries((c.env as PropertyMap[]).map((e) => [e.name, e.value ?? e.valueFrom]));
const s3 = (key: string) => `arn:aws:s3:::acme-models/${key}`;

/** A TensorBoard for `linear` from an S3 ModelStore (plus whatever `extra` sets), schema-checked and restricted. */
async function tensorBoardRun(extra: Partial<TensorBoardArgs> = {}, name = "linear") {
  const run = await runInMocks(() => {
    const store = new ModelStore("models", { bucketName: "acme-models" });
    return new TensorBoard(name, { clusterName: "ml-prod", namespace: "ml", models: [{ name: "linear", store }], ...extra });
  });
  expect(await expectValidKubernetesObjects(run)).toBe(4);
  expect(expectRestrictedPods(run)).toBe(1);
  return run;
}

const podOf = (run: MockRun<unknown>, name = "linear-tensorboard") => run.get(DEPLOYMENT, name).inputs.spec.template.spec;

describe("TensorBoard with defaults", async () => {
  const run = await tensorBoardRun();
  const deployment = run.get(DEPLOYMENT, "linear-tensorboard");
  const pod = podOf(run);
  const server = container(pod, "tensorboard");
  const sync = container(pod, "log-sync-0");

  it("is exported from the package; its builders stay internal", () => {
    expect(publicApi.TensorBoard).toBe(TensorBoard);
    for (const builder of ["tensorBoardPlan", "tensorBoardDeployment", "tensorBoardService", "validateTensorBoardArgs"]) {
      expect((publicApi as Record<string, unknown>)[builder]).toBeUndefined();
    }
  });

  it("declares a service account with its read grant, the sync script, a Deployment and a Service, as children", () => {
    const component = run.get("ml-platform:observability:TensorBoard", "linear");
    expect(run.childrenOf(component).map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      [
        "aws:eks/podIdentityAssociation:PodIdentityAssociation linear-tensorboard-0-pod-identity",
        "aws:iam/role:Role linear-tensorboard-0-role",
        "aws:iam/rolePolicy:RolePolicy linear-tensorboard-0-policy",
        "kubernetes:apps/v1:Deployment linear-tensorboard",
        "kubernetes:core/v1:ConfigMap linear-tensorboard-scripts",
        "kubernetes:core/v1:Service linear-tensorboard",
        "kubernetes:core/v1:ServiceAccount linear-tensorboard",
      ].sort(),
    );
    expect(run.get("aws:eks/podIdentityAssociation:PodIdentityAssociation").inputs).toMatchObject({ clusterName: "ml-prod", namespace: "ml", serviceAccount: "linear-tensorboard" });
    // The pod starts only once its service account may read the store.
    expect(deployment.dependencies).toEqual(expect.arrayContaining([run.get("kubernetes:core/v1:ServiceAccount").urn, run.get("aws:eks/podIdentityAssociation:PodIdentityAssociation").urn]));
  });

  it("may read the models' logs, and nothing else: not their versions, checkpoints or other models' logs, and never write", () => {
    const policy = JSON.parse(run.get("aws:iam/rolePolicy:RolePolicy").inputs.policy) as PolicyDocument;
    expect(isAllowed(policy, { action: "s3:GetObject", resource: s3("logs/linear/3/trainer-0/events.out.tfevents.1.pod.1.0.v2") })).toBe(true);
    expect(isAllowed(policy, { action: "s3:ListBucket", resource: "arn:aws:s3:::acme-models", context: { "s3:prefix": "logs/linear/" } })).toBe(true);
    expect(isAllowed(policy, { action: "s3:GetObject", resource: s3("models/linear/3/saved_model.pb") })).toBe(false);
    expect(isAllowed(policy, { action: "s3:ListBucket", resource: "arn:aws:s3:::acme-models", context: { "s3:prefix": "models/linear/" } })).toBe(false);
    expect(isAllowed(policy, { action: "s3:GetObject", resource: s3("checkpoints/linear/3/ckpt-1.index") })).toBe(false);
    expect(isAllowed(policy, { action: "s3:GetObject", resource: s3("logs/other/1/trainer-0/x") })).toBe(false);
    expect(isAllowed(policy, { action: "s3:PutObject", resource: s3("logs/linear/3/trainer-0/x") })).toBe(false);
    expect(isAllowed(policy, { action: "s3:DeleteObject", resource: s3("logs/linear/3/trainer-0/x") })).toBe(false);
  });

  it("runs one TensorBoard from the pinned TensorFlow image, on amd64 nodes, restricted, with a read-only root", () => {
    expect(TENSORBOARD_IMAGE).toBe("tensorflow/tensorflow:2.20.0");
    expect(deployment.inputs.metadata).toMatchObject({ name: "linear-tensorboard", namespace: "ml" });
    expect(deployment.inputs.spec).toMatchObject({ replicas: 1, strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } });
    expect(pod).toMatchObject({
      serviceAccountName: "linear-tensorboard",
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } },
      nodeSelector: { "kubernetes.io/arch": "amd64" },
    });
    for (const c of [server, sync]) expect(c.securityContext).toEqual(RESTRICTED_CONTAINER);
    expect(server.image).toBe(TENSORBOARD_IMAGE);
    expect(server.command).toEqual(["python3", "-m", "tensorboard.main"]);
    expect(server.resources).toEqual({ requests: { cpu: "100m", memory: "1Gi" }, limits: { memory: "1Gi" } });
    expect(envOf(server)).toMatchObject({ HOME: "/tmp", TMPDIR: "/tmp" });
    // TensorBoard only reads the logs; its writable places are /tmp and nothing else.
    expect(server.volumeMounts).toEqual([
      { name: "data", mountPath: "/var/lib/tensorboard", readOnly: true },
      { name: "tmp", mountPath: "/tmp" },
    ]);
    expect(pod.volumes).toContainEqual({ name: "data", emptyDir: { sizeLimit: "10Gi" } });
  });

  it("serves the synced logs, reopening files the sync replaced, on 6006 of every interface of the pod", () => {
    expect(server.args).toEqual([
      "--logdir=/var/lib/tensorboard/logs",
      "--bind_all",
      "--port=6006",
      "--load_fast=false",
      "--detect_file_replacement=true",
      "--reload_multifile=true",
      "--reload_interval=5",
      "--window_title=linear",
    ]);
    expect(server.ports).toEqual([{ name: "http", containerPort: 6006, protocol: "TCP" }]);
  });

  it("probes TensorBoard's environment endpoint: up to 5 minutes to start, then ready and alive", () => {
    const probe = { httpGet: { path: "/data/environment", port: "http" }, periodSeconds: 10, timeoutSeconds: 5 };
    expect(server.startupProbe).toEqual({ ...probe, failureThreshold: 30 });
    expect(server.readinessProbe).toEqual({ ...probe, failureThreshold: 3 });
    expect(server.livenessProbe).toEqual({ ...probe, failureThreshold: 6 });
  });

  it("keeps the logs current with a log sync sidecar that holds the store's grant (TensorBoard holds none)", () => {
    expect(pod.initContainers.map((c: PropertyMap) => c.name)).toEqual(["log-sync-0"]);
    expect(sync).toMatchObject({ image: "amazon/aws-cli:2.37.4", restartPolicy: "Always", command: ["/bin/sh", "/opt/ml-platform/bin/log-sync.sh", "watch"] });
    expect(envOf(sync)).toEqual({
      AWS_REGION: "us-west-2",
      AWS_DEFAULT_REGION: "us-west-2",
      S3_BUCKET: "acme-models",
      AWS_CLI: "/usr/local/bin/aws",
      SYNC_MODELS: "linear",
      LOGS_DIR: "/var/lib/tensorboard/logs",
      STAGING_DIR: "/var/lib/tensorboard/staging/store-0",
      SYNC_INTERVAL_SECONDS: "30",
      HOME: "/tmp",
    });
    expect(sync.volumeMounts).toContainEqual({ name: "data", mountPath: "/var/lib/tensorboard" });
    expect(Object.keys(envOf(server)).filter((k) => k.startsWith("AWS_") || k.startsWith("S3_"))).toEqual([]);
    const scripts = run.get("kubernetes:core/v1:ConfigMap", "linear-tensorboard-scripts").inputs;
    expect(scripts.immutable).toBe(true);
    expect(Object.keys(scripts.data).sort()).toEqual(["log-sync.sh", "store-sync-lib.sh"]);
  });

  it("is reached through a ClusterIP Service on 6006 only, and says how", async () => {
    const service = run.get(SERVICE, "linear-tensorboard").inputs;
    expect(service.spec).toEqual({
      type: "ClusterIP",
      selector: { "app.kubernetes.io/name": "tensorboard", "app.kubernetes.io/instance": "linear" },
      ports: [{ name: "http", port: 6006, targetPort: "http", protocol: "TCP", appProtocol: "http" }],
    });
    const tensorBoard = run.result as TensorBoard;
    expect(await unwrap(tensorBoard.url)).toBe("http://linear-tensorboard.ml.svc.cluster.local:6006/");
    expect(await unwrap(tensorBoard.portForwardCommand)).toBe("kubectl port-forward --namespace ml service/linear-tensorboard 6006:6006");
    expect(await unwrap(tensorBoard.localUrl)).toBe("http://127.0.0.1:6006/");
  });
});

describe("TensorBoard options", () => {
  it("serves under a path prefix (behind a proxy), with its probes there, from another image on any node", async () => {
    const run = await tensorBoardRun({
      pathPrefix: "/tensorboard/linear",
      image: "registry.example.com/tensorboard:2.21.0",
      resources: { cpu: "500m", memory: "2Gi" },
      syncIntervalSeconds: 10,
      logsVolumeSizeLimit: "50Gi",
    });
    const pod = podOf(run);
    const server = container(pod, "tensorboard");
    expect(server.image).toBe("registry.example.com/tensorboard:2.21.0");
    expect(pod).not.toHaveProperty("nodeSelector");
    expect(server.args).toContain("--path_prefix=/tensorboard/linear");
    expect(server.readinessProbe.httpGet.path).toBe("/tensorboard/linear/data/environment");
    expect(server.resources).toEqual({ requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "2Gi" } });
    expect(envOf(container(pod, "log-sync-0"))).toMatchObject({ SYNC_INTERVAL_SECONDS: "10" });
    expect(pod.volumes).toContainEqual({ name: "data", emptyDir: { sizeLimit: "50Gi" } });
    expect(await unwrap((run.result as TensorBoard).url)).toBe("http://linear-tensorboard.ml.svc.cluster.local:6006/tensorboard/linear/");
    expect(await unwrap((run.result as TensorBoard).localUrl)).toBe("http://127.0.0.1:6006/tensorboard/linear/");
  });

  it("syncs models of several stores with one sidecar and one read grant per store", async () => {
    const run = await runInMocks(() => {
      const cloud = new ModelStore("models", { bucketName: "acme-models" });
      const local = new InClusterModelStore("objects", { namespace: "ml" });
      return new TensorBoard("team", {
        clusterName: "ml-prod",
        namespace: "ml",
        models: [
          { name: "linear", store: cloud },
          { name: "vision", store: local },
          { name: "text", store: cloud },
        ],
      });
    });
    expect(expectRestrictedPods(run)).toBeGreaterThanOrEqual(1);
    const pod = podOf(run, "team-tensorboard");
    expect(pod.initContainers.map((c: PropertyMap) => [c.name, envOf(c).SYNC_MODELS, envOf(c).STAGING_DIR])).toEqual([
      ["log-sync-0", "linear text", "/var/lib/tensorboard/staging/store-0"],
      ["log-sync-1", "vision", "/var/lib/tensorboard/staging/store-1"],
    ]);
    // The in-cluster store's sidecar reaches it at its endpoint with its own credential.
    expect(envOf(pod.initContainers[1])).toMatchObject({ S3_BUCKET: "models", S3_ENDPOINT: "http://objects.ml.svc.cluster.local:8333" });
    expect(envOf(pod.initContainers[1]).AWS_ACCESS_KEY_ID).toMatchObject({ secretKeyRef: expect.objectContaining({ name: "team-tensorboard-1-store-credentials" }) });
    // The in-cluster store's identity: list and read logs/vision/, nothing else.
    const patch = run.get("kubernetes:core/v1:SecretPatch", "team-tensorboard-1-store-identity");
    const identity = JSON.parse(Buffer.from(patch.inputs.data["grant-team-tensorboard-1.json"], "base64").toString("utf8")) as SeaweedIdentity;
    const can = (action: "Read" | "Write" | "List", key: string) => seaweedAllows(identity.actions, { action, bucket: "models", key });
    expect(can("Read", "logs/vision/2/worker-1/events.out.tfevents.1.pod.1.0.v2")).toBe(true);
    expect(can("List", "logs/vision/")).toBe(true);
    expect(can("Read", "models/vision/2/saved_model.pb")).toBe(false);
    expect(can("Write", "logs/vision/2/worker-1/x")).toBe(false);
    // The S3 store's policy covers both of its models' logs.
    const policy = JSON.parse(run.get("aws:iam/rolePolicy:RolePolicy").inputs.policy) as PolicyDocument;
    for (const model of ["linear", "text"]) expect(isAllowed(policy, { action: "s3:GetObject", resource: s3(`logs/${model}/1/trainer-0/x`) })).toBe(true);
    expect(isAllowed(policy, { action: "s3:GetObject", resource: s3("logs/vision/1/trainer-0/x") })).toBe(false);
  });
});

describe("TensorBoard validation", () => {
  const store = new StaticCredentialsStore();

  it("reports every bad argument at once, by path, before anything is declared", () => {
    const issues = validateTensorBoardArgs("Linear_TB", {
      clusterName: "",
      namespace: "ML",
      models: [{ name: "linear", store }, { name: "Linear!", store }, { name: "linear", store }, { name: "vision", store: undefined as never }],
      image: "tensorflow/tensorflow:latest",
      resources: { cpu: "lots", memory: "1GB" },
      syncIntervalSeconds: 0,
      logsVolumeSizeLimit: "10m",
      pathPrefix: "tensorboard/",
    }).list();
    expect(issues.map((i) => i.path)).toEqual([
      "name",
      "models[1].name",
      "models[2].name",
      "models[3].store",
      "clusterName",
      "namespace",
      "image",
      "resources.cpu",
      "resources.memory",
      "syncIntervalSeconds",
      "logsVolumeSizeLimit",
      "pathPrefix",
    ]);
    const message = (path: string) => issues.find((i) => i.path === path)!.message;
    expect(message("models[2].name")).toBe('"linear" is already listed at models[0]; a TensorBoard shows each model\'s runs once');
    expect(message("image")).toMatch(/must be pinned: <repository>:<tag> \(not "latest"\)/);
    expect(message("pathPrefix")).toMatch(/must start with "\/", not end with one/);
  });

  it("needs at least one model, and a name short enough for its grants", () => {
    expect(() => tensorBoardPlan("linear", { clusterName: "c", models: [] })).toThrow(ComponentValidationError);
    expect(() => tensorBoardPlan("linear", { clusterName: "c", models: [] })).toThrow(/models: must list at least one model/);
    expect(() => tensorBoardPlan("a-very-long-tensorboard-name", { clusterName: "c", models: [{ name: "linear", store }] })).toThrow(/name: .*must be 1-24 lowercase/);
  });
});
