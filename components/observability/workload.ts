/**
 * TensorBoard's Kubernetes objects: the Deployment (TensorBoard, and one log sync sidecar per store), the
 * ClusterIP Service and the service account. Pure.
 */
import type * as k8s from "@pulumi/kubernetes";
import { SCRIPTS_MOUNT_PATH, scriptsVolume, scriptsVolumeMount } from "../common/container-scripts";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../common/kubernetes";
import { AWS_CLI_PATH } from "../serving/images";
import { LOG_SYNC_SCRIPT, TENSORBOARD_DATA_DIR, TENSORBOARD_LOGS_DIR, TENSORBOARD_PORT, type TensorBoardPlan } from "./plan";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/** What the Deployment needs that is only known once other resources exist. */
export interface TensorBoardRuntime {
  /** Name of the ConfigMap with the log sync script. */
  scriptsConfigMapName: string;
  /** Per store, by `TensorBoardStoreGroup.index`: its bucket, endpoint and the env its grant gives. */
  stores: Array<{ bucketName: string; endpoint?: string; env: EnvVar[] }>;
}

export const TENSORBOARD_CONTAINER = "tensorboard";
export const logSyncContainerName = (index: number) => `log-sync-${index}`;
const VOLUMES = { data: "data", scripts: "scripts", tmp: "tmp" } as const;
const PROBE_PERIOD_SECONDS = 10;
/** How long TensorBoard may take to start (it imports TensorFlow) before Kubernetes restarts it. */
const STARTUP_SECONDS = 300;

/** The path whose answer proves that TensorBoard's server and its data provider answer. */
export function tensorBoardProbePath(plan: TensorBoardPlan): string {
  return `${plan.pathPrefix}/data/environment`;
}

function logSyncContainer(plan: TensorBoardPlan, runtime: TensorBoardRuntime, index: number) {
  const store = runtime.stores[index]!;
  const own: EnvVar[] = [
    { name: "S3_BUCKET", value: store.bucketName },
    ...(store.endpoint ? [{ name: "S3_ENDPOINT", value: store.endpoint }] : []),
    { name: "AWS_CLI", value: AWS_CLI_PATH },
    { name: "SYNC_MODELS", value: plan.stores[index]!.models.join(" ") },
    { name: "LOGS_DIR", value: TENSORBOARD_LOGS_DIR },
    // Each store's sync stages on the same volume as the logs (so its renames are atomic), outside them.
    { name: "STAGING_DIR", value: `${TENSORBOARD_DATA_DIR}/staging/store-${index}` },
    { name: "SYNC_INTERVAL_SECONDS", value: String(plan.syncIntervalSeconds) },
    // The root filesystem is read-only; the CLI may keep caches under $HOME.
    { name: "HOME", value: "/tmp" },
  ];
  // The grant's variables (credentials, region; some stores also set S3_ENDPOINT) come first; a name is never listed twice.
  const ownNames = new Set(own.map((e) => e.name));
  return {
    name: logSyncContainerName(index),
    image: plan.syncImage,
    command: ["/bin/sh", `${SCRIPTS_MOUNT_PATH}/${LOG_SYNC_SCRIPT}`, "watch"],
    env: [...store.env.filter((e) => !ownNames.has(e.name as string)), ...own],
    // A native sidecar: started before TensorBoard, kept running beside it, stopped after it.
    restartPolicy: "Always",
    resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } },
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [{ name: VOLUMES.data, mountPath: TENSORBOARD_DATA_DIR }, scriptsVolumeMount(VOLUMES.scripts), { name: VOLUMES.tmp, mountPath: "/tmp" }],
  };
}

function tensorBoardContainer(plan: TensorBoardPlan) {
  const probe = { httpGet: { path: tensorBoardProbePath(plan), port: "http" }, periodSeconds: PROBE_PERIOD_SECONDS, timeoutSeconds: 5 };
  return {
    name: TENSORBOARD_CONTAINER,
    image: plan.image,
    command: ["python3", "-m", "tensorboard.main"],
    args: plan.serverArgs,
    env: [
      // TensorBoard writes its instance file to the temp folder; the root filesystem is read-only.
      { name: "HOME", value: "/tmp" },
      { name: "TMPDIR", value: "/tmp" },
      { name: "TF_CPP_MIN_LOG_LEVEL", value: "2" },
    ],
    ports: [{ name: "http", containerPort: TENSORBOARD_PORT, protocol: "TCP" }],
    resources: { requests: { cpu: plan.resources.cpu, memory: plan.resources.memory }, limits: { memory: plan.resources.memory } },
    // The first answer proves the server runs (TensorFlow imported, plugins loaded); logs may come later.
    startupProbe: { ...probe, failureThreshold: Math.ceil(STARTUP_SECONDS / PROBE_PERIOD_SECONDS) },
    readinessProbe: { ...probe, failureThreshold: 3 },
    // Restart only after a minute without an answer (a large reload can keep it busy for a while).
    livenessProbe: { ...probe, failureThreshold: 6 },
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [
      { name: VOLUMES.data, mountPath: TENSORBOARD_DATA_DIR, readOnly: true },
      { name: VOLUMES.tmp, mountPath: "/tmp" },
    ],
  };
}

export function tensorBoardDeploymentMetadata(plan: TensorBoardPlan) {
  return { name: plan.objectName, namespace: plan.namespace, labels: plan.labels };
}

/** The Deployment: one TensorBoard pod, fed by one log sync sidecar per store. */
export function tensorBoardDeployment(plan: TensorBoardPlan, runtime: TensorBoardRuntime) {
  return {
    apiVersion: "apps/v1" as const,
    kind: "Deployment" as const,
    metadata: tensorBoardDeploymentMetadata(plan),
    spec: {
      // One TensorBoard: it holds what it read in memory, so more replicas would each sync and read it all.
      replicas: 1,
      selector: { matchLabels: plan.selector },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      revisionHistoryLimit: 5,
      template: {
        metadata: { labels: { ...plan.labels, ...plan.selector }, annotations: { "kubectl.kubernetes.io/default-container": TENSORBOARD_CONTAINER } },
        spec: {
          serviceAccountName: plan.objectName,
          // Nothing in the pod talks to the Kubernetes API; EKS Pod Identity injects its own token.
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurityContext(),
          ...(plan.nodeArchitecture ? { nodeSelector: { "kubernetes.io/arch": plan.nodeArchitecture } } : {}),
          initContainers: plan.stores.map((s) => logSyncContainer(plan, runtime, s.index)),
          containers: [tensorBoardContainer(plan)],
          volumes: [
            { name: VOLUMES.data, emptyDir: { sizeLimit: plan.logsVolumeSizeLimit } },
            scriptsVolume(VOLUMES.scripts, runtime.scriptsConfigMapName),
            { name: VOLUMES.tmp, emptyDir: { sizeLimit: "256Mi" } },
          ],
        },
      },
    },
  };
}

/** The Service: ClusterIP only. TensorBoard has no authentication; docs/tensorboard.md says how to expose it safely. */
export function tensorBoardService(plan: TensorBoardPlan) {
  return {
    apiVersion: "v1" as const,
    kind: "Service" as const,
    metadata: { name: plan.objectName, namespace: plan.namespace, labels: plan.labels },
    spec: {
      type: "ClusterIP",
      selector: plan.selector,
      ports: [{ name: "http", port: TENSORBOARD_PORT, targetPort: "http", protocol: "TCP", appProtocol: "http" }],
    },
  };
}

/** The pod's service account; the stores' read grants are bound to it. */
export function tensorBoardServiceAccount(plan: TensorBoardPlan) {
  return {
    apiVersion: "v1" as const,
    kind: "ServiceAccount" as const,
    metadata: { name: plan.objectName, namespace: plan.namespace, labels: plan.labels },
    automountServiceAccountToken: false,
  };
}

/** In-cluster URL of the Service (with the path prefix, ending in "/"). */
export function tensorBoardUrl(plan: TensorBoardPlan): string {
  return `http://${plan.objectName}.${plan.namespace}.svc.cluster.local:${TENSORBOARD_PORT}${plan.pathPrefix}/`;
}

/** The command that makes TensorBoard reachable at http://127.0.0.1:6006 from a machine with cluster access. */
export function tensorBoardPortForwardCommand(plan: TensorBoardPlan): string {
  return `kubectl port-forward --namespace ${plan.namespace} service/${plan.objectName} ${TENSORBOARD_PORT}:${TENSORBOARD_PORT}`;
}

/** Where the port-forwarded TensorBoard answers. */
export function tensorBoardLocalUrl(plan: TensorBoardPlan): string {
  return `http://127.0.0.1:${TENSORBOARD_PORT}${plan.pathPrefix}/`;
}
