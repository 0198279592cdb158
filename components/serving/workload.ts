/**
 * The TF Serving Deployment: the server container, one model sync init container and one sync sidecar per
 * model store, probes, rollout and shutdown settings, and the restricted security context. Pure.
 */
import type * as k8s from "@pulumi/kubernetes";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, type Toleration } from "../common/kubernetes";
import { SCRIPTS_MOUNT_PATH, scriptsVolume, scriptsVolumeMount } from "../common/container-scripts";
import { AWS_CLI_PATH } from "./images";
import { MODELS_DIR, PROMETHEUS_METRICS_PATH } from "./model-server-config";
import { CONFIG_DIR, GRPC_PORT, REST_PORT, type TfServingPlan } from "./plan";
import { MODEL_SYNC_SCRIPT } from "./sync";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/** What the Deployment needs that is only known once other resources exist. */
export interface TfServingRuntime {
  /** Name of the ConfigMap with `plan.configFiles`. */
  configMapName: string;
  /** Name of the ConfigMap with the container scripts. */
  scriptsConfigMapName: string;
  /** Per store, by `PlannedStore.index`: where its models are and the env its grant gives. */
  stores: Array<{ bucketName: string; endpoint?: string; env: EnvVar[] }>;
  /** Node selector, tolerations and GPU resource name of the GPU pool, when the pods use GPUs. */
  gpuScheduling?: { nodeSelector: Record<string, string>; tolerations: Toleration[]; gpuResourceName: string };
}

export const SERVER_CONTAINER = "tf-serving";
const VOLUMES = { models: "models", config: "config", scripts: "scripts", tmp: "tmp" } as const;
const PROBE_PERIOD_SECONDS = 10;

export const syncInitContainerName = (index: number) => `model-sync-init-${index}`;
export const syncSidecarName = (index: number) => `model-sync-${index}`;

/** The REST path whose answer says something about a model (docs/components.md, TfServing: probes). */
export const modelStatusPath = (model: string) => `/v1/models/${model}`;
export const modelMetadataPath = (model: string) => `/v1/models/${model}/metadata`;

function syncContainer(plan: TfServingPlan, runtime: TfServingRuntime, index: number, mode: "once" | "watch") {
  const store = runtime.stores[index];
  const manifest = plan.stores[index].manifestFile;
  const own: EnvVar[] = [
    { name: "S3_BUCKET", value: store.bucketName },
    ...(store.endpoint ? [{ name: "S3_ENDPOINT", value: store.endpoint }] : []),
    { name: "AWS_CLI", value: AWS_CLI_PATH },
    { name: "SYNC_MANIFEST", value: `${CONFIG_DIR}/${manifest}` },
    { name: "MODELS_DIR", value: MODELS_DIR },
    // The root filesystem is read-only; the CLI may keep caches under $HOME.
    { name: "HOME", value: "/tmp" },
    ...(mode === "watch" ? [{ name: "SYNC_INTERVAL_SECONDS", value: String(plan.syncIntervalSeconds) }] : []),
  ];
  // The grant's variables (credentials, region; some stores also set S3_ENDPOINT) come first; a name is
  // never listed twice.
  const ownNames = new Set(own.map((e) => e.name));
  const env = [...store.env.filter((e) => !ownNames.has(e.name as string)), ...own];
  return {
    name: mode === "once" ? syncInitContainerName(index) : syncSidecarName(index),
    image: plan.syncImage,
    command: ["/bin/sh", `${SCRIPTS_MOUNT_PATH}/${MODEL_SYNC_SCRIPT}`, mode],
    env,
    // A native sidecar: started after the init syncs, kept running beside the server, stopped after it.
    ...(mode === "watch" ? { restartPolicy: "Always" } : {}),
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [
      { name: VOLUMES.models, mountPath: MODELS_DIR },
      { name: VOLUMES.config, mountPath: CONFIG_DIR, readOnly: true },
      scriptsVolumeMount(VOLUMES.scripts),
      { name: VOLUMES.tmp, mountPath: "/tmp" },
    ],
  };
}

function serverContainer(plan: TfServingPlan, runtime: TfServingRuntime) {
  const firstModel = plan.models[0].name;
  const limits: Record<string, string> = { memory: plan.resources.memory };
  if (plan.resources.gpus > 0 && runtime.gpuScheduling) limits[runtime.gpuScheduling.gpuResourceName] = String(plan.resources.gpus);
  return {
    name: SERVER_CONTAINER,
    image: plan.image,
    command: ["tensorflow_model_server"],
    args: plan.serverArgs,
    ports: [
      { name: "grpc", containerPort: GRPC_PORT, protocol: "TCP" },
      { name: "http", containerPort: REST_PORT, protocol: "TCP" },
    ],
    resources: { requests: { cpu: plan.resources.cpu, memory: plan.resources.memory }, limits },
    // TF Serving opens its ports only after every model in models.config has a loaded version (a model
    // that fails to load stops the server), so the first answer proves that all models are loaded.
    startupProbe: {
      httpGet: { path: modelStatusPath(firstModel), port: "http" },
      periodSeconds: PROBE_PERIOD_SECONDS,
      timeoutSeconds: 5,
      failureThreshold: Math.ceil(plan.startupTimeoutSeconds / PROBE_PERIOD_SECONDS),
    },
    // Metadata is only served from a loaded (AVAILABLE) version: the REST frontend answers and a version
    // is loaded. TF Serving never unloads a model's last available version before a new one is loaded.
    readinessProbe: {
      httpGet: { path: modelMetadataPath(firstModel), port: "http" },
      periodSeconds: PROBE_PERIOD_SECONDS,
      timeoutSeconds: 5,
      failureThreshold: 3,
    },
    // The process still answers at all; restarting is the cure only after a minute of silence.
    livenessProbe: {
      httpGet: { path: modelStatusPath(firstModel), port: "http" },
      periodSeconds: PROBE_PERIOD_SECONDS,
      timeoutSeconds: 5,
      failureThreshold: 6,
    },
    // Keeps serving while the pod leaves the Service endpoints. TF Serving ignores SIGTERM, so the pod then
    // serves until the grace period ends; max_connection_age has closed every gRPC connection by then.
    lifecycle: { preStop: { sleep: { seconds: plan.preStopDelaySeconds } } },
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [
      { name: VOLUMES.models, mountPath: MODELS_DIR, readOnly: true },
      { name: VOLUMES.config, mountPath: CONFIG_DIR, readOnly: true },
      { name: VOLUMES.tmp, mountPath: "/tmp" },
    ],
  };
}

/** Node selector (architecture, GPU pool) and tolerations (GPU pool taint), when there are any. */
function nodePlacement(plan: TfServingPlan, runtime: TfServingRuntime) {
  const nodeSelector: Record<string, string> = {
    ...(plan.nodeArchitecture ? { "kubernetes.io/arch": plan.nodeArchitecture } : {}),
    ...runtime.gpuScheduling?.nodeSelector,
  };
  return {
    ...(Object.keys(nodeSelector).length > 0 ? { nodeSelector } : {}),
    ...(runtime.gpuScheduling && runtime.gpuScheduling.tolerations.length > 0 ? { tolerations: runtime.gpuScheduling.tolerations } : {}),
  };
}

/** Pod template annotations: default container for kubectl, and Prometheus scraping when monitoring is on. */
function podAnnotations(plan: TfServingPlan): Record<string, string> {
  const annotations: Record<string, string> = { "kubectl.kubernetes.io/default-container": SERVER_CONTAINER };
  if (plan.monitoring) {
    annotations["prometheus.io/scrape"] = "true";
    annotations["prometheus.io/port"] = String(REST_PORT);
    annotations["prometheus.io/path"] = PROMETHEUS_METRICS_PATH;
  }
  return annotations;
}

/** A rollout may take as long as one pod may take to start, plus time to schedule it (and its node). */
export function rolloutDeadlineSeconds(plan: TfServingPlan): number {
  return plan.startupTimeoutSeconds + 300;
}

export function tfServingDeploymentMetadata(plan: TfServingPlan) {
  return { name: plan.deploymentName, namespace: plan.namespace, labels: plan.labels };
}

/** The Deployment object. */
export function tfServingDeployment(plan: TfServingPlan, runtime: TfServingRuntime) {
  const storeIndexes = plan.stores.map((s) => s.index);
  return {
    apiVersion: "apps/v1" as const,
    kind: "Deployment" as const,
    metadata: tfServingDeploymentMetadata(plan),
    spec: {
      ...(plan.replicas !== undefined ? { replicas: plan.replicas } : {}),
      selector: { matchLabels: plan.selector },
      // Never fewer ready pods than wanted: a new pod must pass its probes before an old one goes.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      progressDeadlineSeconds: rolloutDeadlineSeconds(plan),
      revisionHistoryLimit: 5,
      template: {
        metadata: { labels: { ...plan.labels, ...plan.selector }, annotations: podAnnotations(plan) },
        spec: {
          serviceAccountName: plan.serviceAccountName,
          // Nothing in the pod talks to the Kubernetes API; EKS Pod Identity injects its own token.
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurityContext(),
          terminationGracePeriodSeconds: plan.terminationGracePeriodSeconds,
          ...nodePlacement(plan, runtime),
          topologySpreadConstraints: ["topology.kubernetes.io/zone", "kubernetes.io/hostname"].map((topologyKey) => ({
            maxSkew: 1,
            topologyKey,
            whenUnsatisfiable: "ScheduleAnyway",
            labelSelector: { matchLabels: plan.selector },
          })),
          initContainers: [
            ...storeIndexes.map((i) => syncContainer(plan, runtime, i, "once")),
            ...storeIndexes.map((i) => syncContainer(plan, runtime, i, "watch")),
          ],
          containers: [serverContainer(plan, runtime)],
          volumes: [
            { name: VOLUMES.models, emptyDir: plan.modelsVolumeSizeLimit ? { sizeLimit: plan.modelsVolumeSizeLimit } : {} },
            { name: VOLUMES.config, configMap: { name: runtime.configMapName } },
            scriptsVolume(VOLUMES.scripts, runtime.scriptsConfigMapName),
            { name: VOLUMES.tmp, emptyDir: { sizeLimit: "256Mi" } },
          ],
        },
      },
    },
  };
}
