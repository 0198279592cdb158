import { describe, expect, it } from "vitest";
import { parseSmokeTargets } from "../../contracts/smoke-targets";
import { GpuNodePool } from "../../components/compute/gpu-node-pool";
import { ModelStore } from "../../components/storage/model-store";
import * as publicApi from "../../components";
import { TfServing } from "../../components/serving/tf-serving";
import type { TfServingArgs } from "../../components/serving/types";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import { expectRestrictedPods } from "../harness/pod-security";
import { type PropertyMap, type RecordedResource, runInMocks, unwrap } from "../harness/pulumi-mocks";
import { InClusterModelStore } from "../../components/storage/in-cluster/in-cluster-model-store";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SERVICE = "kubernetes:core/v1:Service";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";

type ArgsWithoutStores = Omit<TfServingArgs, "models"> & { models?: TfServingArgs["models"] };

/**
 * Declares a ModelStore and a TfServing serving `linear` from it (plus whatever `extra` sets), and checks
 * every Kubernetes object it declared against the Kubernetes schema.
 */
async function servingRun(extra: (store: ModelStore) => ArgsWithoutStores = () => ({ clusterName: "ml-prod" }), name = "linear-serving") {
  const run = await runInMocks(() => {
    const store = new ModelStore("models", { bucketName: "acme-models" });
    const args = extra(store);
    const serving = new TfServing(name, { models: [{ name: "linear", store }], ...args });
    return { serving, store };
  });
  expect(await expectValidKubernetesObjects(run)).toBeGreaterThanOrEqual(5);
  expect(expectRestrictedPods(run)).toBe(1);
  return run;
}

const podSpecOf = (run: { get(type: string, name?: string): RecordedResource }, name = "linear-serving") => run.get(DEPLOYMENT, name).inputs.spec.template.spec;
const container = (pod: PropertyMap, name: string) => [...(pod.initContainers ?? []), ...pod.containers].find((c: PropertyMap) => c.name === name);
const envOf = (c: PropertyMap) => Object.fromEntries((c.env as PropertyMap[]).map((e) => [e.name, e.value ?? e.valueFrom]));

describe("TfServing with defaults", () => {
  it("is exported from the package; its pure builders stay internal (tested here from their modules)", () => {
    expect(publicApi.TfServing).toBe(TfServing);
    for (const builder of ["tfServingPlan", "tfServingDeployment", "tfServingService", "modelServerConfigText", "syncManifestText", "tfServingSmokeTarget", "validateTfServingArgs"]) {
      expect((publicApi as Record<string, unknown>)[builder]).toBeUndefined();
    }
  });

  it("declares its objects as children, with the read grant bound to its service account", async () => {
    const run = await servingRun();
    const component = run.get("ml-platform:serving:TfServing", "linear-serving");
    const children = run.childrenOf(component).map((r) => `${r.type} ${r.name}`).sort();
    expect(children).toEqual(
      [
        "aws:eks/podIdentityAssociation:PodIdentityAssociation linear-serving-store-0-pod-identity",
        "aws:iam/role:Role linear-serving-store-0-role",
        "aws:iam/rolePolicy:RolePolicy linear-serving-store-0-policy",
        "kubernetes:apps/v1:Deployment linear-serving",
        "kubernetes:core/v1:ConfigMap linear-serving-config",
        "kubernetes:core/v1:ConfigMap linear-serving-scripts",
        "kubernetes:core/v1:Service linear-serving",
        "kubernetes:core/v1:Service linear-serving-headless",
        "kubernetes:core/v1:ServiceAccount linear-serving",
        "kubernetes:policy/v1:PodDisruptionBudget linear-serving",
      ].sort(),
    );
    const association = run.get("aws:eks/podIdentityAssociation:PodIdentityAssociation").inputs;
    expect([association.clusterName, association.namespace, association.serviceAccount]).toEqual(["ml-prod", "default", "linear-serving"]);
    const sa = run.get("kubernetes:core/v1:ServiceAccount").inputs;
    expect(sa.metadata).toMatchObject({ name: "linear-serving", namespace: "default" });
    expect(sa.automountServiceAccountToken).toBe(false);

    // The pods wait for the grant and the service account.
    const deployment = run.get(DEPLOYMENT);
    for (const dep of ["aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:eks/podIdentityAssociation:PodIdentityAssociation", "kubernetes:core/v1:ServiceAccount"]) {
      expect(deployment.dependencies).toContain(run.get(dep).urn);
    }
    expect(await expectValidKubernetesObjects(run)).toBe(7);
  });

  it("rolls out with zero unavailability and drains before stopping", async () => {
    const run = await servingRun();
    const deployment = run.get(DEPLOYMENT).inputs;
    expect(deployment.metadata).toMatchObject({ name: "linear-serving", namespace: "default" });
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(deployment.spec.progressDeadlineSeconds).toBe(900 + 300);
    const pod = podSpecOf(run);
    const server = container(pod, "tf-serving");
    expect(server.lifecycle).toEqual({ preStop: { sleep: { seconds: 10 } } });
    // preStop 10 s + 110% of the 30 s gRPC connection age + 10 s grace for in-flight calls + 5 s margin.
    expect(pod.terminationGracePeriodSeconds).toBe(58);
    expect(server.args).toContain("--grpc_channel_arguments=grpc.max_connection_age_ms=30000,grpc.max_connection_age_grace_ms=10000");
  });

  it("runs the pinned TF Serving image with explicit ports, config file and polling flags", async () => {
    const run = await servingRun();
    const server = container(podSpecOf(run), "tf-serving");
    expect(server.image).toBe("tensorflow/serving:2.19.1");
    expect(server.command).toEqual(["tensorflow_model_server"]);
    expect(server.args).toEqual([
      "--port=8500",
      "--rest_api_port=8501",
      "--model_config_file=/etc/tf-serving/models.config",
      "--model_config_file_poll_wait_seconds=0",
      "--file_system_poll_wait_seconds=5",
      "--grpc_channel_arguments=grpc.max_connection_age_ms=30000,grpc.max_connection_age_grace_ms=10000",
    ]);
    expect(server.ports).toEqual([
      { name: "grpc", containerPort: 8500, protocol: "TCP" },
      { name: "http", containerPort: 8501, protocol: "TCP" },
    ]);
    expect(server.resources).toEqual({ requests: { cpu: "1", memory: "2Gi" }, limits: { memory: "2Gi" } });
    expect(run.get(DEPLOYMENT).inputs.metadata.labels["app.kubernetes.io/version"]).toBe("2.19.1");
  });

  it("probes: startup waits for every model's first load, readiness needs a loaded version, liveness needs an answer", async () => {
    const run = await servingRun();
    const server = container(podSpecOf(run), "tf-serving");
    expect(server.startupProbe).toEqual({ httpGet: { path: "/v1/models/linear", port: "http" }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 90 });
    expect(server.readinessProbe).toEqual({ httpGet: { path: "/v1/models/linear/metadata", port: "http" }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 });
    expect(server.livenessProbe).toEqual({ httpGet: { path: "/v1/models/linear", port: "http" }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 });
  });

  it("runs every container as non-root with a read-only root filesystem, no capabilities and RuntimeDefault seccomp", async () => {
    const run = await servingRun();
    const pod = podSpecOf(run);
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.automountServiceAccountToken).toBe(false);
    const containers = [...pod.initContainers, ...pod.containers];
    expect(containers.map((c: PropertyMap) => c.name)).toEqual(["model-sync-init-0", "model-sync-0", "tf-serving"]);
    for (const c of containers) {
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
      // Writable places are emptyDirs: /models (sync only) and /tmp.
      const writable = (c.volumeMounts as PropertyMap[]).filter((m) => !m.readOnly).map((m) => m.name);
      expect(writable.every((volume) => ["models", "tmp"].includes(volume))).toBe(true);
    }
    expect(pod.volumes).toEqual([
      { name: "models", emptyDir: {} },
      { name: "config", configMap: { name: "linear-serving-config" } },
      { name: "scripts", configMap: { name: "linear-serving-scripts", defaultMode: 0o555 } },
      { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
    ]);
    expect(container(pod, "tf-serving").volumeMounts).toContainEqual({ name: "models", mountPath: "/models", readOnly: true });
  });

  it("syncs models with an init container, then keeps them current with a native sidecar", async () => {
    const run = await servingRun();
    const pod = podSpecOf(run);
    const init = container(pod, "model-sync-init-0");
    const sidecar = container(pod, "model-sync-0");
    expect(init.image).toBe("amazon/aws-cli:2.37.4");
    expect(init.command).toEqual(["/bin/sh", "/opt/ml-platform/bin/model-sync.sh", "once"]);
    expect(init.restartPolicy).toBeUndefined();
    expect(sidecar.command).toEqual(["/bin/sh", "/opt/ml-platform/bin/model-sync.sh", "watch"]);
    expect(sidecar.restartPolicy).toBe("Always");
    expect(envOf(init)).toEqual({
      AWS_REGION: "us-west-2",
      AWS_DEFAULT_REGION: "us-west-2",
      S3_BUCKET: "acme-models",
      AWS_CLI: "/usr/local/bin/aws",
      SYNC_MANIFEST: "/etc/tf-serving/sync-store-0.models",
      MODELS_DIR: "/models",
      HOME: "/tmp",
    });
    // AWS stores have no endpoint: the CLI uses AWS's own.
    expect(envOf(sidecar)).toMatchObject({ SYNC_INTERVAL_SECONDS: "30", S3_BUCKET: "acme-models" });
    expect(envOf(sidecar)).not.toHaveProperty("S3_ENDPOINT");

    const config = run.get(CONFIG_MAP, "linear-serving-config").inputs;
    expect(config.immutable).toBe(true);
    expect(config.data["sync-store-0.models"]).toContain("\nlinear latest 1\n");
    const scripts = run.get(CONFIG_MAP, "linear-serving-scripts").inputs;
    expect(scripts.data["model-sync.sh"]).toMatch(/^#!\/bin\/sh\n/);
  });

  it("renders models.config for the synced directory", async () => {
    const run = await servingRun();
    const modelsConfig: string = run.get(CONFIG_MAP, "linear-serving-config").inputs.data["models.config"];
    expect(modelsConfig).toContain('name: "linear"');
    expect(modelsConfig).toContain('base_path: "/models/linear"');
    expect(modelsConfig).toContain('model_platform: "tensorflow"');
    expect(modelsConfig).toMatch(/model_version_policy \{\s+latest \{\s+num_versions: 1\s+\}/);
    expect(Object.keys(run.get(CONFIG_MAP, "linear-serving-config").inputs.data).sort()).toEqual(["models.config", "sync-store-0.models"]);
  });

  it("exposes gRPC and REST on a ClusterIP Service plus a headless Service, and reports its endpoints", async () => {
    const run = await servingRun();
    const service = run.get(SERVICE, "linear-serving").inputs;
    expect(service.spec.type).toBe("ClusterIP");
    expect(service.spec.ports).toEqual([
      { name: "grpc", port: 8500, targetPort: "grpc", protocol: "TCP", appProtocol: "kubernetes.io/h2c" },
      { name: "http", port: 8501, targetPort: "http", protocol: "TCP", appProtocol: "http" },
    ]);
    expect(service.spec.selector).toEqual(run.get(DEPLOYMENT).inputs.spec.selector.matchLabels);
    expect(service.spec.selector).toEqual({
      "app.kubernetes.io/name": "tf-serving",
      "app.kubernetes.io/instance": "linear-serving",
      "app.kubernetes.io/component": "server",
    });
    const headless = run.get(SERVICE, "linear-serving-headless").inputs;
    expect(headless.spec.clusterIP).toBe("None");
    expect(headless.spec.ports).toEqual(service.spec.ports);

    const { serving } = run.result;
    expect(await unwrap(serving.grpcEndpoint)).toBe("linear-serving.default.svc.cluster.local:8500");
    expect(await unwrap(serving.restEndpoint)).toBe("http://linear-serving.default.svc.cluster.local:8501");
    expect(await unwrap(serving.serviceName)).toBe("linear-serving");
    expect(await unwrap(serving.headlessServiceName)).toBe("linear-serving-headless");
    const target = await unwrap(serving.smokeTarget);
    expect(target).toEqual({
      name: "linear-serving",
      grpc: "linear-serving.default.svc.cluster.local:8500",
      pods: { dns: "linear-serving-headless.default.svc.cluster.local:8500" },
      models: [{ name: "linear" }],
    });
    expect(parseSmokeTargets({ endpoints: [target] }).endpoints).toHaveLength(1);
  });

  it("keeps a disruption budget of one pod for two replicas", async () => {
    const run = await servingRun();
    const budget = run.get("kubernetes:policy/v1:PodDisruptionBudget").inputs;
    expect(budget.spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: run.get(DEPLOYMENT).inputs.spec.selector.matchLabels },
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    });
  });
});

describe("TfServing options", () => {
  it("serves models from several stores with one grant, init container and sidecar per store, never assuming AWS", async () => {
    const run = await runInMocks(() => {
      const store = new ModelStore("models", { bucketName: "acme-models" });
      const inCluster = new InClusterModelStore("objects", { namespace: "storage", bucketName: "local-models" });
      return new TfServing("mixed", {
        clusterName: "ml-prod",
        namespace: "ml",
        models: [
          { name: "linear", store },
          { name: "vision", store: inCluster, versionPolicy: { latest: 2 } },
          { name: "text", store, versionPolicy: { all: true } },
        ],
      });
    });
    const component = run.get("ml-platform:serving:TfServing", "mixed");
    // One AWS grant for linear and text...
    const policy = JSON.stringify(JSON.parse(run.get("aws:iam/rolePolicy:RolePolicy").inputs.policy));
    expect(policy).toContain("models/linear/");
    expect(policy).toContain("models/text/");
    expect(policy).not.toContain("models/vision/");
    expect(run.parentOf(run.get("aws:iam/role:Role"))).toBe(component);
    // ...and one in-cluster grant for vision: a static credential in the pods' namespace.
    const credentials = run.get("kubernetes:core/v1:Secret", "mixed-store-1-store-credentials");
    expect(credentials.inputs.metadata.namespace).toBe("ml");
    expect(run.parentOf(credentials)).toBe(component);

    const pod = podSpecOf(run, "mixed");
    expect(pod.initContainers.map((c: PropertyMap) => c.name)).toEqual(["model-sync-init-0", "model-sync-init-1", "model-sync-0", "model-sync-1"]);
    const aws = envOf(container(pod, "model-sync-init-0"));
    const local = envOf(container(pod, "model-sync-1"));
    expect(aws).toMatchObject({ S3_BUCKET: "acme-models", SYNC_MANIFEST: "/etc/tf-serving/sync-store-0.models", AWS_REGION: "us-west-2" });
    expect(local).toMatchObject({
      S3_BUCKET: "local-models",
      S3_ENDPOINT: "http://objects.storage.svc.cluster.local:8333",
      SYNC_MANIFEST: "/etc/tf-serving/sync-store-1.models",
      AWS_ACCESS_KEY_ID: { secretKeyRef: { name: credentials.inputs.metadata.name, key: "AWS_ACCESS_KEY_ID" } },
      AWS_REGION: "us-east-1",
    });
    // Credentials of one store never reach the other store's containers, and no variable is listed twice.
    expect(aws).not.toHaveProperty("AWS_ACCESS_KEY_ID");
    expect(aws).not.toHaveProperty("S3_ENDPOINT");
    for (const c of pod.initContainers as PropertyMap[]) {
      const names = (c.env as PropertyMap[]).map((e) => e.name);
      expect(new Set(names).size).toBe(names.length);
    }

    const data = run.get(CONFIG_MAP, "mixed-config").inputs.data;
    expect(data["sync-store-0.models"]).toContain("\nlinear latest 1\ntext all\n");
    expect(data["sync-store-1.models"]).toContain("\nvision latest 2\n");
    // The pods wait for both grants, including the in-cluster store's credential check.
    const deployment = run.get(DEPLOYMENT, "mixed");
    expect(deployment.dependencies).toContain(credentials.urn);
    expect(deployment.dependencies).toContain(run.get("kubernetes:batch/v1:Job", "mixed-store-1-store-check").urn);
    expect(deployment.dependencies).toContain(run.get("aws:eks/podIdentityAssociation:PodIdentityAssociation").urn);
    await expectValidKubernetesObjects(run);
    expectRestrictedPods(run);
  });

  it("version labels: a specific policy, labels in models.config, the flag TF Serving needs, and label checks for the smoke suite", async () => {
    const labelled = await runInMocks(() => {
      const store = new ModelStore("models", { bucketName: "acme-models" });
      return new TfServing("linear-serving", {
        clusterName: "ml-prod",
        models: [{ name: "linear", store, versionPolicy: { specific: [3, 4, 5] }, versionLabels: { stable: 3, canary: 4 } }],
      });
    });
    const modelsConfig: string = labelled.get(CONFIG_MAP, "linear-serving-config").inputs.data["models.config"];
    expect(modelsConfig).toMatch(/specific \{\s+versions: 3\s+versions: 4\s+versions: 5\s+\}/);
    expect(modelsConfig).toMatch(/version_labels \{\s+key: "stable"\s+value: 3\s+\}/);
    expect(modelsConfig).toMatch(/version_labels \{\s+key: "canary"\s+value: 4\s+\}/);
    expect(container(podSpecOf(labelled), "tf-serving").args).toContain("--allow_version_labels_for_unavailable_models");
    expect(labelled.get(CONFIG_MAP, "linear-serving-config").inputs.data["sync-store-0.models"]).toContain("\nlinear specific 3,4,5\n");
    const target = await unwrap(labelled.result.smokeTarget);
    expect(target.models).toEqual([
      { name: "linear", version: 3, label: "stable" },
      { name: "linear", version: 4, label: "canary" },
      { name: "linear", version: 5 },
    ]);
    expect(() => parseSmokeTargets({ endpoints: [target] })).not.toThrow();
    await expectValidKubernetesObjects(labelled);
    expect(expectRestrictedPods(labelled)).toBe(1);
  });

  it("labels with { all: true } make the sync require the labelled versions", async () => {
    const run = await runInMocks(() => {
      const store = new ModelStore("models", { bucketName: "acme-models" });
      return new TfServing("linear-serving", { clusterName: "ml-prod", models: [{ name: "linear", store, versionPolicy: { all: true }, versionLabels: { stable: 7, canary: 2 } }] });
    });
    expect(run.get(CONFIG_MAP, "linear-serving-config").inputs.data["sync-store-0.models"]).toContain("\nlinear all 2,7\n");
    expect(run.get(CONFIG_MAP, "linear-serving-config").inputs.data["models.config"]).toMatch(/model_version_policy \{\s+all \{\s+\}\s+\}/);
    await expectValidKubernetesObjects(run);
    expect(expectRestrictedPods(run)).toBe(1);
  });

  it("GPUs: the -gpu image, the pool's node selector and tolerations, and nvidia.com/gpu limits", async () => {
    const run = await runInMocks(() => {
      const store = new ModelStore("models", { bucketName: "acme-models" });
      const pool = new GpuNodePool("gpu", { clusterName: "ml-prod", subnetIds: ["subnet-a"], instanceTypes: ["g5.12xlarge"], scaling: { min: 0, desired: 1, max: 2 } });
      return new TfServing("vision-serving", { clusterName: "ml-prod", models: [{ name: "vision", store }], gpuPool: pool, resources: { gpus: 2, memory: "24Gi", cpu: "4" } });
    });
    const pod = podSpecOf(run, "vision-serving");
    const server = container(pod, "tf-serving");
    expect(server.image).toBe("tensorflow/serving:2.19.1-gpu");
    expect(server.resources).toEqual({ requests: { cpu: "4", memory: "24Gi" }, limits: { memory: "24Gi", "nvidia.com/gpu": "2" } });
    expect(pod.nodeSelector).toEqual({ "kubernetes.io/arch": "amd64", "ml-platform.io/gpu-pool": "gpu" });
    expect(pod.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    // The sync containers need no GPU.
    expect(container(pod, "model-sync-0").resources.limits).not.toHaveProperty("nvidia.com/gpu");
    expect(run.get(DEPLOYMENT, "vision-serving").inputs.metadata.labels["app.kubernetes.io/version"]).toBe("2.19.1-gpu");
    await expectValidKubernetesObjects(run);
    expect(expectRestrictedPods(run)).toBe(1);
  });

  it("CPU pods with the default (amd64-only) image select amd64 nodes; custom images run anywhere; no tolerations", async () => {
    const pod = podSpecOf(await servingRun());
    expect(pod.nodeSelector).toEqual({ "kubernetes.io/arch": "amd64" });
    expect(pod.tolerations).toBeUndefined();
    const custom = podSpecOf(await servingRun(() => ({ clusterName: "ml-prod", image: "registry.example.com/tf-serving-multiarch:2.19.1" })));
    expect(custom.nodeSelector).toBeUndefined();
  });

  it("batching: a BatchingParameters file and --enable_batching", async () => {
    const run = await servingRun(() => ({ clusterName: "ml-prod", batching: { maxBatchSize: 64, batchTimeoutMicros: 2000, numBatchThreads: 4, maxEnqueuedBatches: 100 } }));
    const data = run.get(CONFIG_MAP, "linear-serving-config").inputs.data;
    expect(data["batching.config"]).toMatch(/max_batch_size \{\s+value: 64\s+\}/);
    expect(data["batching.config"]).toMatch(/batch_timeout_micros \{\s+value: 2000\s+\}/);
    expect(data["batching.config"]).toMatch(/num_batch_threads \{\s+value: 4\s+\}/);
    expect(data["batching.config"]).toMatch(/max_enqueued_batches \{\s+value: 100\s+\}/);
    const args = container(podSpecOf(run), "tf-serving").args;
    expect(args).toContain("--enable_batching");
    expect(args).toContain("--batching_parameters_file=/etc/tf-serving/batching.config");
  });

  it("monitoring: a MonitoringConfig for Prometheus and scrape annotations on the pods", async () => {
    const run = await servingRun(() => ({ clusterName: "ml-prod", monitoring: true }));
    const data = run.get(CONFIG_MAP, "linear-serving-config").inputs.data;
    expect(data["monitoring.config"]).toMatch(/prometheus_config \{\s+enable: true\s+path: "\/monitoring\/prometheus\/metrics"\s+\}/);
    expect(container(podSpecOf(run), "tf-serving").args).toContain("--monitoring_config_file=/etc/tf-serving/monitoring.config");
    expect(run.get(DEPLOYMENT).inputs.spec.template.metadata.annotations).toEqual({
      "kubectl.kubernetes.io/default-container": "tf-serving",
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "8501",
      "prometheus.io/path": "/monitoring/prometheus/metrics",
    });
    // Without monitoring, no scrape annotations.
    const plain = await servingRun();
    expect(plain.get(DEPLOYMENT).inputs.spec.template.metadata.annotations).toEqual({ "kubectl.kubernetes.io/default-container": "tf-serving" });
  });

  it("autoscaling: an autoscaling/v2 HPA on the server container's CPU, and no fixed replica count", async () => {
    const run = await servingRun(() => ({ clusterName: "ml-prod", autoscaling: { minReplicas: 2, maxReplicas: 8, targetCpuUtilization: 60 } }));
    expect(run.get(DEPLOYMENT).inputs.spec).not.toHaveProperty("replicas");
    const hpa = run.get("kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
    expect(hpa.inputs.spec).toEqual({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "linear-serving" },
      minReplicas: 2,
      maxReplicas: 8,
      metrics: [{ type: "ContainerResource", containerResource: { name: "cpu", container: "tf-serving", target: { type: "Utilization", averageUtilization: 60 } } }],
    });
    expect(run.ofType("kubernetes:policy/v1:PodDisruptionBudget")).toHaveLength(1);
    await expectValidKubernetesObjects(run);

    const single = await servingRun(() => ({ clusterName: "ml-prod", autoscaling: { minReplicas: 1, maxReplicas: 3 } }));
    expect(single.get("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs.spec.metrics[0].containerResource.target.averageUtilization).toBe(70);
    // One pod at minimum: a budget would block node drains, so there is none.
    expect(single.ofType("kubernetes:policy/v1:PodDisruptionBudget")).toHaveLength(0);
  });

  it("replicas and disruption budget: one replica has no budget; a budget can be set or turned off", async () => {
    const one = await servingRun(() => ({ clusterName: "ml-prod", replicas: 1 }));
    expect(one.get(DEPLOYMENT).inputs.spec.replicas).toBe(1);
    expect(one.ofType("kubernetes:policy/v1:PodDisruptionBudget")).toHaveLength(0);
    const off = await servingRun(() => ({ clusterName: "ml-prod", replicas: 4, podDisruptionBudget: false }));
    expect(off.ofType("kubernetes:policy/v1:PodDisruptionBudget")).toHaveLength(0);
    const two = await servingRun(() => ({ clusterName: "ml-prod", replicas: 6, podDisruptionBudget: { maxUnavailable: 2 } }));
    expect(two.get("kubernetes:policy/v1:PodDisruptionBudget").inputs.spec.maxUnavailable).toBe(2);
  });

  it("an internal AWS NLB through the AWS Load Balancer Controller, with extra annotations and source ranges", async () => {
    const run = await servingRun(() => ({
      clusterName: "ml-prod",
      service: { type: "InternalLoadBalancer", annotations: { "service.beta.kubernetes.io/aws-load-balancer-name": "linear" }, sourceRanges: ["10.0.0.0/16"] },
    }));
    const service = run.get(SERVICE, "linear-serving").inputs;
    expect(service.spec.type).toBe("LoadBalancer");
    expect(service.spec.loadBalancerClass).toBe("service.k8s.aws/nlb");
    expect(service.spec.loadBalancerSourceRanges).toEqual(["10.0.0.0/16"]);
    expect(service.metadata.annotations).toEqual({
      "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
      "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
      "service.beta.kubernetes.io/aws-load-balancer-name": "linear",
    });
    // The headless Service stays in-cluster.
    expect(run.get(SERVICE, "linear-serving-headless").inputs.spec.type).toBe("ClusterIP");
    await expectValidKubernetesObjects(run);
  });

  it("ClusterIP annotations, and no headless Service when turned off (the smoke target then has no pods)", async () => {
    const run = await servingRun(() => ({ clusterName: "ml-prod", service: { annotations: { "mesh.example.com/inject": "true" }, headless: false } }));
    expect(run.ofType(SERVICE)).toHaveLength(1);
    expect(run.get(SERVICE).inputs.metadata.annotations).toEqual({ "mesh.example.com/inject": "true" });
    expect(await unwrap(run.result.serving.headlessServiceName)).toBeUndefined();
    const target = await unwrap(run.result.serving.smokeTarget);
    expect(target).not.toHaveProperty("pods");
    expect(() => parseSmokeTargets({ endpoints: [target] })).not.toThrow();
  });

  it("namespace, images, timings and volume size reach the objects", async () => {
    const run = await servingRun(() => ({
      clusterName: "ml-prod",
      namespace: "ml",
      image: "registry.example.com:5000/tf/serving:2.18.0",
      syncImage: `amazon/aws-cli@sha256:${"a".repeat(64)}`,
      syncIntervalSeconds: 120,
      startupTimeoutSeconds: 1800,
      preStopDelaySeconds: 20,
      grpcMaxConnectionAgeSeconds: 60,
      terminationGracePeriodSeconds: 120,
      modelsVolumeSizeLimit: "40Gi",
    }));
    for (const object of run.kubernetesObjects()) expect(object.inputs.metadata.namespace).toBe("ml");
    const pod = podSpecOf(run);
    const server = container(pod, "tf-serving");
    expect(server.image).toBe("registry.example.com:5000/tf/serving:2.18.0");
    expect(container(pod, "model-sync-0").image).toBe(`amazon/aws-cli@sha256:${"a".repeat(64)}`);
    expect(envOf(container(pod, "model-sync-0")).SYNC_INTERVAL_SECONDS).toBe("120");
    expect(server.startupProbe.failureThreshold).toBe(180);
    expect(server.lifecycle.preStop.sleep.seconds).toBe(20);
    expect(server.args).toContain("--grpc_channel_arguments=grpc.max_connection_age_ms=60000,grpc.max_connection_age_grace_ms=10000");
    expect(pod.terminationGracePeriodSeconds).toBe(120);
    expect(pod.volumes[0]).toEqual({ name: "models", emptyDir: { sizeLimit: "40Gi" } });
    expect(run.get(DEPLOYMENT).inputs.spec.progressDeadlineSeconds).toBe(2100);
    expect(await unwrap(run.result.serving.grpcEndpoint)).toBe("linear-serving.ml.svc.cluster.local:8500");
    expect(run.get("aws:eks/podIdentityAssociation:PodIdentityAssociation").inputs.namespace).toBe("ml");
    await expectValidKubernetesObjects(run);
  });
});

describe("the TfServing example of docs/components.md", () => {
  it("two models with labels on a GPU pool with an autoscaler: valid objects and a valid smoke target", async () => {
    const run = await runInMocks(() => {
      const store = new ModelStore("models", { bucketName: "acme-ml-models-prod" });
      const pool = new GpuNodePool("gpu", { clusterName: "ml-prod", subnetIds: ["subnet-a"], instanceTypes: ["g5.2xlarge"], scaling: { min: 1, desired: 2, max: 6 } });
      return new TfServing("ranking", {
        clusterName: "ml-prod",
        namespace: "ml",
        models: [
          { name: "ranker", store, versionPolicy: { specific: [41, 42] }, versionLabels: { stable: 41, canary: 42 } },
          { name: "embedder", store, versionPolicy: { latest: 1 } },
        ],
        gpuPool: pool,
        resources: { cpu: "4", memory: "28Gi", gpus: 1 },
        autoscaling: { minReplicas: 2, maxReplicas: 6, targetCpuUtilization: 60 },
        batching: { maxBatchSize: 64, batchTimeoutMicros: 2000, numBatchThreads: 4 },
        monitoring: true,
      });
    });
    expect(await expectValidKubernetesObjects(run)).toBe(8);
    expect(await unwrap(run.result.grpcEndpoint)).toBe("ranking.ml.svc.cluster.local:8500");
    expect(expectRestrictedPods(run)).toBe(1);
    const target = await unwrap(run.result.smokeTarget);
    expect(parseSmokeTargets({ endpoints: [target] }).endpoints[0].models).toEqual([
      { name: "ranker", version: 41, label: "stable" },
      { name: "ranker", version: 42, label: "canary" },
      { name: "embedder" },
    ]);
  });
});
