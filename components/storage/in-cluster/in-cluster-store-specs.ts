/**
 * Pure builders for the in-cluster model store (SeaweedFS): every Kubernetes object it declares, as plain
 * data with `pulumi.Input` values where a value is only known at deploy time. `InClusterModelStore` is a
 * thin shell that declares them.
 *
 * One pod runs `weed server` (master, volume server, filer and S3 gateway in one process; everything but
 * the S3 port listens on 127.0.0.1 only) on a PersistentVolumeClaim. Identities (the store's admin and
 * one per grant) are JSON fragments in one Secret of the store's namespace: the store writes the admin
 * key, each grant adds its own key with a server-side-apply patch. An init container renders the S3
 * configuration from the fragments; a sidecar re-renders it when the Secret volume changes and sends the
 * server SIGHUP, which makes it reload the identities (so grants come and go without a restart).
 */
import type * as pulumi from "@pulumi/pulumi";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, selectorLabels, standardLabels } from "../../common/kubernetes";
import { SCRIPTS_MOUNT_PATH, scriptsVolume, scriptsVolumeMount } from "../../common/container-scripts";

/** Pinned SeaweedFS release (multi-arch image: linux/amd64, arm64, arm/v7, 386, ppc64le, s390x). */
export const SEAWEEDFS_VERSION = "4.53";
export const SEAWEEDFS_IMAGE = `chrislusf/seaweedfs:${SEAWEEDFS_VERSION}`;
/** The image's unprivileged `seaweed` user and group. */
export const SEAWEEDFS_UID = 1000;
export const S3_PORT = 8333;
export const S3_PORT_NAME = "s3";

export const DATA_PATH = "/data";
export const IDENTITY_FRAGMENTS_PATH = "/var/run/ml-platform/identities";
export const S3_CONFIG_DIR = "/run/seaweedfs";
export const S3_CONFIG_FILE = `${S3_CONFIG_DIR}/s3.json`;
/** Identities Secret key of the store's admin identity. */
export const ADMIN_FRAGMENT_KEY = "admin.json";
/** Keys of credentials Secrets, named like the variables the AWS CLI reads. */
export const ACCESS_KEY_ID_KEY = "AWS_ACCESS_KEY_ID";
export const SECRET_ACCESS_KEY_KEY = "AWS_SECRET_ACCESS_KEY";

/** Scripts shipped to the store's pods (files in ./scripts). */
export const STORE_SCRIPTS = ["render-identities.sh", "reload-identities.sh", "s3-client.sh"] as const;
/** Scripts shipped to a grant's access check job. */
export const GRANT_CHECK_SCRIPTS = ["s3-client.sh"] as const;

const APP_NAME = "seaweedfs";
const SCRIPTS_VOLUME = "scripts";
const TMP_VOLUME = "tmp";
const DATA_VOLUME = "data";
const CONFIG_VOLUME = "s3-config";
const FRAGMENTS_VOLUME = "identities";

export interface StoreResources {
  cpu: string;
  memory: string;
  /** Memory limit; CPU is not limited. */
  memoryLimit: string;
}

/** Everything the builders need, resolved from the component's args and defaults. */
export interface StoreSpecArgs {
  /** Component name; prefixes every object name. */
  name: string;
  namespace: string;
  bucket: string;
  region: string;
  image: string;
  storageSize: string;
  storageClassName?: string;
  resources: StoreResources;
  /** How often the sidecar looks for identity changes. */
  identityReloadSeconds: number;
}

/** Kubernetes object names of a store. */
export function storeObjectNames(name: string) {
  return {
    deployment: name,
    service: name,
    pvc: `${name}-data`,
    identities: `${name}-identities`,
    adminCredentials: `${name}-admin-credentials`,
    scripts: `${name}-scripts`,
    bucketJob: `${name}-create-bucket`,
  };
}

/** Labels of the store server's pods (what its Service selects, and what NetworkPolicies admit clients to). */
export function storeServerPodLabels(name: string): Record<string, string> {
  return selectorLabels({ name: APP_NAME, instance: name, component: "server" });
}

/** The S3 endpoint inside the cluster: `http://<service>.<namespace>.svc.cluster.local:8333`. */
export function storeEndpoint(name: string, namespace: string): string {
  return `http://${storeObjectNames(name).service}.${namespace}.svc.cluster.local:${S3_PORT}`;
}

function labels(args: Pick<StoreSpecArgs, "name" | "image">, component: string) {
  return standardLabels({ name: APP_NAME, instance: args.name, component, version: imageTag(args.image) });
}

function imageTag(image: string): string | undefined {
  const tag = image.split("@")[0].split("/").pop()?.split(":")[1];
  return tag && /^[A-Za-z0-9._-]{1,63}$/.test(tag) ? tag : undefined;
}

function metadata(args: StoreSpecArgs, name: string, component: string) {
  return { name, namespace: args.namespace, labels: labels(args, component) };
}

/** Writable scratch space for a container whose root filesystem is read-only. */
const tmpVolume = { name: TMP_VOLUME, emptyDir: { sizeLimit: "64Mi" } };
const tmpMount = { name: TMP_VOLUME, mountPath: "/tmp" };

function containerSecurity() {
  return restrictedContainerSecurityContext();
}

export function storePersistentVolumeClaim(args: StoreSpecArgs) {
  return {
    apiVersion: "v1" as const,
    kind: "PersistentVolumeClaim" as const,
    metadata: metadata(args, storeObjectNames(args.name).pvc, "storage"),
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: args.storageSize } },
      ...(args.storageClassName ? { storageClassName: args.storageClassName } : {}),
    },
  };
}

/** The Secret of identity fragments; grants add keys to it (see `grantIdentityPatch`). */
export function storeIdentitiesSecret(args: StoreSpecArgs, adminFragmentBase64: pulumi.Input<string>) {
  return {
    apiVersion: "v1" as const,
    kind: "Secret" as const,
    metadata: metadata(args, storeObjectNames(args.name).identities, "identities"),
    type: "Opaque",
    data: { [ADMIN_FRAGMENT_KEY]: adminFragmentBase64 },
  };
}

/** A Secret holding one S3 credential under the AWS CLI's variable names. */
export function credentialsSecret(
  meta: { name: string; namespace: string; labels: Record<string, string> },
  accessKeyIdBase64: pulumi.Input<string>,
  secretAccessKeyBase64: pulumi.Input<string>,
) {
  return {
    apiVersion: "v1" as const,
    kind: "Secret" as const,
    metadata: meta,
    type: "Opaque",
    data: { [ACCESS_KEY_ID_KEY]: accessKeyIdBase64, [SECRET_ACCESS_KEY_KEY]: secretAccessKeyBase64 },
  };
}

export function storeAdminCredentialsSecret(args: StoreSpecArgs, accessKeyIdBase64: pulumi.Input<string>, secretAccessKeyBase64: pulumi.Input<string>) {
  return credentialsSecret(metadata(args, storeObjectNames(args.name).adminCredentials, "admin-credentials"), accessKeyIdBase64, secretAccessKeyBase64);
}

export function storeScriptsConfigMap(args: StoreSpecArgs, scripts: Record<string, string>) {
  return {
    apiVersion: "v1" as const,
    kind: "ConfigMap" as const,
    metadata: metadata(args, storeObjectNames(args.name).scripts, "scripts"),
    data: scripts,
  };
}

/** Arguments of `weed server`: one process, internal services on loopback, S3 on every interface. */
export function seaweedServerArgs(): string[] {
  return [
    "-logtostderr=true",
    "server",
    `-dir=${DATA_PATH}`,
    // Master, volume server and filer answer on loopback only: their APIs have no authentication, and
    // the S3 gateway (the only way in) reaches them inside the pod.
    "-ip=127.0.0.1",
    "-ip.bind=127.0.0.1",
    "-filer",
    "-s3",
    `-s3.port=${S3_PORT}`,
    "-s3.ip.bind=0.0.0.0",
    `-s3.config=${S3_CONFIG_FILE}`,
    // The Iceberg and Lance catalog endpoints are not used.
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    "-volume.max=0",
    "-master.volumeSizeLimitMB=512",
    "-master.telemetry=false",
  ];
}

export function storeDeployment(args: StoreSpecArgs) {
  const names = storeObjectNames(args.name);
  const selector = storeServerPodLabels(args.name);
  const scriptPath = (script: string) => `${SCRIPTS_MOUNT_PATH}/${script}`;
  const fragmentsMount = { name: FRAGMENTS_VOLUME, mountPath: IDENTITY_FRAGMENTS_PATH, readOnly: true };
  const probe = { httpGet: { path: "/healthz", port: S3_PORT_NAME } };
  return {
    apiVersion: "apps/v1" as const,
    kind: "Deployment" as const,
    metadata: metadata(args, names.deployment, "server"),
    spec: {
      replicas: 1,
      // One pod owns the ReadWriteOnce volume: stop the old pod before starting the new one.
      strategy: { type: "Recreate" },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...labels(args, "server"), ...selector } },
        spec: {
          // The identity reloader signals the server process (SIGHUP) in its sibling container.
          shareProcessNamespace: true,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: restrictedPodSecurityContext(SEAWEEDFS_UID),
          initContainers: [
            {
              name: "render-identities",
              image: args.image,
              command: ["/bin/sh", scriptPath("render-identities.sh"), IDENTITY_FRAGMENTS_PATH, S3_CONFIG_FILE],
              securityContext: containerSecurity(),
              resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
              volumeMounts: [scriptsVolumeMount(SCRIPTS_VOLUME), fragmentsMount, { name: CONFIG_VOLUME, mountPath: S3_CONFIG_DIR }, tmpMount],
            },
          ],
          containers: [
            {
              name: "seaweedfs",
              image: args.image,
              command: ["/usr/bin/weed"],
              args: seaweedServerArgs(),
              workingDir: DATA_PATH,
              ports: [{ name: S3_PORT_NAME, containerPort: S3_PORT, protocol: "TCP" }],
              securityContext: containerSecurity(),
              resources: { requests: { cpu: args.resources.cpu, memory: args.resources.memory }, limits: { memory: args.resources.memoryLimit } },
              // Startup covers the first start on an empty volume; readiness gates the Service.
              startupProbe: { ...probe, periodSeconds: 2, failureThreshold: 90 },
              readinessProbe: { ...probe, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { ...probe, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
              volumeMounts: [
                { name: DATA_VOLUME, mountPath: DATA_PATH },
                { name: CONFIG_VOLUME, mountPath: S3_CONFIG_DIR, readOnly: true },
                tmpMount,
              ],
            },
            {
              name: "identity-reloader",
              image: args.image,
              command: ["/bin/sh", scriptPath("reload-identities.sh"), IDENTITY_FRAGMENTS_PATH, S3_CONFIG_FILE, String(args.identityReloadSeconds)],
              securityContext: containerSecurity(),
              resources: { requests: { cpu: "5m", memory: "16Mi" }, limits: { memory: "64Mi" } },
              volumeMounts: [scriptsVolumeMount(SCRIPTS_VOLUME), fragmentsMount, { name: CONFIG_VOLUME, mountPath: S3_CONFIG_DIR }, tmpMount],
            },
          ],
          volumes: [
            { name: DATA_VOLUME, persistentVolumeClaim: { claimName: names.pvc } },
            // The rendered configuration holds every secret key: keep it in memory, never on the node's disk.
            { name: CONFIG_VOLUME, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
            // Not subPath-mounted, so the kubelet refreshes it when grants change the Secret.
            { name: FRAGMENTS_VOLUME, secret: { secretName: names.identities, defaultMode: 0o440 } },
            scriptsVolume(SCRIPTS_VOLUME, names.scripts),
            tmpVolume,
          ],
        },
      },
    },
  };
}

export function storeService(args: StoreSpecArgs) {
  return {
    apiVersion: "v1" as const,
    kind: "Service" as const,
    metadata: metadata(args, storeObjectNames(args.name).service, "server"),
    spec: {
      type: "ClusterIP",
      selector: storeServerPodLabels(args.name),
      ports: [{ name: S3_PORT_NAME, port: S3_PORT, targetPort: S3_PORT_NAME, protocol: "TCP", appProtocol: "http" }],
    },
  };
}

interface S3ClientJobArgs {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  image: string;
  scriptsConfigMap: pulumi.Input<string>;
  credentialsSecret: pulumi.Input<string>;
  endpoint: string;
  bucket: string;
  region: string;
  /** Arguments of s3-client.sh. */
  command: string[];
  timeoutSeconds: number;
}

/** A Job running s3-client.sh with one credential: restricted pod, read-only root, credentials from a Secret. */
function s3ClientJob(args: S3ClientJobArgs) {
  const secretEnv = (name: string) => ({ name, valueFrom: { secretKeyRef: { name: args.credentialsSecret, key: name } } });
  return {
    apiVersion: "batch/v1" as const,
    kind: "Job" as const,
    metadata: { name: args.name, namespace: args.namespace, labels: args.labels },
    spec: {
      backoffLimit: 3,
      activeDeadlineSeconds: args.timeoutSeconds + 120,
      template: {
        metadata: { labels: args.labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: restrictedPodSecurityContext(SEAWEEDFS_UID),
          containers: [
            {
              name: "s3-client",
              image: args.image,
              command: ["/bin/sh", `${SCRIPTS_MOUNT_PATH}/s3-client.sh`, ...args.command],
              env: [
                { name: "S3_ENDPOINT", value: args.endpoint },
                { name: "S3_BUCKET", value: args.bucket },
                { name: "AWS_REGION", value: args.region },
                { name: "WAIT_TIMEOUT_SECONDS", value: String(args.timeoutSeconds) },
                secretEnv(ACCESS_KEY_ID_KEY),
                secretEnv(SECRET_ACCESS_KEY_KEY),
              ],
              securityContext: containerSecurity(),
              resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
              volumeMounts: [scriptsVolumeMount(SCRIPTS_VOLUME), tmpMount],
            },
          ],
          volumes: [scriptsVolume(SCRIPTS_VOLUME, args.scriptsConfigMap), tmpVolume],
        },
      },
    },
  };
}

/** Creates the bucket with the admin credential once the server answers (idempotent). */
export function storeBucketJob(args: StoreSpecArgs) {
  const names = storeObjectNames(args.name);
  return s3ClientJob({
    name: names.bucketJob,
    namespace: args.namespace,
    labels: labels(args, "create-bucket"),
    image: args.image,
    scriptsConfigMap: names.scripts,
    credentialsSecret: names.adminCredentials,
    endpoint: storeEndpoint(args.name, args.namespace),
    bucket: args.bucket,
    region: args.region,
    command: ["create-bucket"],
    timeoutSeconds: 300,
  });
}

/** What the grant builders need about the store and the grant. */
export interface GrantSpecArgs {
  /** Grant name; prefixes the grant's object names. */
  grantName: string;
  store: Pick<StoreSpecArgs, "name" | "namespace" | "bucket" | "region" | "image">;
  /** Namespace of the service account (the workload's namespace). */
  namespace: string;
  serviceAccountName: string;
  /** Key prefix the access check lists (the grant's first prefix). */
  checkPrefix: string;
}

export function grantObjectNames(grantName: string) {
  return { credentials: `${grantName}-store-credentials`, checkScripts: `${grantName}-store-check`, checkJob: `${grantName}-store-check` };
}

/** Identities Secret key of a grant's fragment. */
export function grantFragmentKey(grantName: string): string {
  return `grant-${grantName}.json`;
}

function grantLabels(args: GrantSpecArgs, component: string) {
  return {
    ...standardLabels({ name: APP_NAME, instance: args.store.name, component, version: imageTag(args.store.image) }),
    "ml-platform.io/grant": args.grantName,
    "ml-platform.io/service-account": args.serviceAccountName,
  };
}

/** The grant's credential, in the workload's namespace, for `secretKeyRef`s. */
export function grantCredentialsSecret(args: GrantSpecArgs, accessKeyIdBase64: pulumi.Input<string>, secretAccessKeyBase64: pulumi.Input<string>) {
  const meta = { name: grantObjectNames(args.grantName).credentials, namespace: args.namespace, labels: grantLabels(args, "grant-credentials") };
  return credentialsSecret(meta, accessKeyIdBase64, secretAccessKeyBase64);
}

/** Server-side-apply patch that adds the grant's identity fragment to the store's identities Secret. */
export function grantIdentityPatch(args: GrantSpecArgs, fragmentBase64: pulumi.Input<string>) {
  return {
    apiVersion: "v1" as const,
    kind: "Secret" as const,
    metadata: { name: storeObjectNames(args.store.name).identities, namespace: args.store.namespace },
    data: { [grantFragmentKey(args.grantName)]: fragmentBase64 },
  };
}

export function grantCheckScriptsConfigMap(args: GrantSpecArgs, scripts: Record<string, string>) {
  return {
    apiVersion: "v1" as const,
    kind: "ConfigMap" as const,
    metadata: { name: grantObjectNames(args.grantName).checkScripts, namespace: args.namespace, labels: grantLabels(args, "grant-check") },
    data: scripts,
  };
}

/**
 * Waits until the server accepts the grant's credential (the reloader picked the new identity up), so
 * workloads that depend on the grant start with working credentials.
 */
export function grantCheckJob(args: GrantSpecArgs) {
  const names = grantObjectNames(args.grantName);
  return s3ClientJob({
    name: names.checkJob,
    namespace: args.namespace,
    labels: grantLabels(args, "grant-check"),
    image: args.store.image,
    scriptsConfigMap: names.checkScripts,
    credentialsSecret: names.credentials,
    endpoint: storeEndpoint(args.store.name, args.store.namespace),
    bucket: args.store.bucket,
    region: args.store.region,
    command: ["wait-for-access", args.checkPrefix],
    timeoutSeconds: 300,
  });
}

/** Environment of a workload container using a grant: credentials by reference, never by value. */
export function grantEnv(credentialsSecretName: string, endpoint: string, region: string) {
  const secretEnv = (name: string) => ({ name, valueFrom: { secretKeyRef: { name: credentialsSecretName, key: name } } });
  return [
    secretEnv(ACCESS_KEY_ID_KEY),
    secretEnv(SECRET_ACCESS_KEY_KEY),
    { name: "AWS_REGION", value: region },
    { name: "AWS_DEFAULT_REGION", value: region },
    { name: "S3_ENDPOINT", value: endpoint },
  ];
}
