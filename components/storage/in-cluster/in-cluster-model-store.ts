import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { loadContainerScripts } from "../../common/container-scripts";
import { IssueCollector, dnsLabelProblem, modelNameProblem, modelVersionProblem, quantityProblem } from "../../common/validation";
import { addGrantCoverageProblems, type GrantOptions, type ModelAccessGrant, type ModelAccessGrantArgs, type ModelStoreBackend, modelKeyPrefix } from "../model-store-backend";
import { bucketNameProblems, grantPrefixAccess } from "../s3-policies";
import {
  GRANT_CHECK_SCRIPTS,
  S3_PORT,
  SEAWEEDFS_IMAGE,
  STORE_SCRIPTS,
  type StoreSpecArgs,
  grantCheckJob,
  grantCheckScriptsConfigMap,
  grantCredentialsSecret,
  grantEnv,
  grantIdentityPatch,
  storeAdminCredentialsSecret,
  storeBucketJob,
  storeDeployment,
  storeEndpoint,
  storeIdentitiesSecret,
  storePersistentVolumeClaim,
  storeScriptsConfigMap,
  storeServerPodLabels,
  storeService,
} from "./in-cluster-store-specs";
import { adminIdentity, grantIdentity, identityFragment } from "./seaweedfs-identities";
import { StoreCredential } from "./store-credential";
import { packagePath } from "../../common/package-files";

const SCRIPTS_DIR = packagePath("components", "storage", "in-cluster", "scripts");

export interface InClusterModelStoreArgs {
  /**
   * Namespace the store runs in. It must exist (the component does not create it). Grants' credentials
   * live in their workloads' namespaces, not here.
   * @default "default"
   */
  namespace?: string;
  /**
   * Name of the bucket holding the models. Checked against S3's bucket naming rules.
   * @default "models"
   */
  bucketName?: string;
  /**
   * Region that clients sign requests for. SeaweedFS accepts any region; it only has to be consistent.
   * @default "us-east-1"
   */
  region?: string;
  /**
   * Size of the PersistentVolumeClaim holding the objects, as a Kubernetes quantity.
   * @default "10Gi"
   * @example "50Gi"
   */
  storageSize?: string;
  /**
   * StorageClass of the PersistentVolumeClaim.
   * @default the cluster's default StorageClass (kind and k3d: "standard"/"local-path")
   */
  storageClassName?: string;
  /**
   * SeaweedFS image. Must be pinned by tag or digest.
   * @default SEAWEEDFS_IMAGE (`chrislusf/seaweedfs:4.53`)
   */
  image?: string;
  /**
   * CPU and memory of the server container.
   * @default { cpu: "100m", memory: "256Mi", memoryLimit: "1Gi" }
   */
  resources?: { cpu?: string; memory?: string; memoryLimit?: string };
  /**
   * Seconds between checks for added or removed grants (the reloader's poll interval). New grants also
   * wait for the kubelet to refresh the Secret volume (about a minute by default).
   * @default 10
   */
  identityReloadSeconds?: number;
}

/** Grant resources declared by `InClusterModelStore.grantAccess`. */
export interface StaticCredentialsGrant extends ModelAccessGrant {
  /** The grant's credential, in the service account's namespace. */
  readonly credentials: k8s.core.v1.Secret;
  /** Adds the grant's identity to the store's identities Secret. */
  readonly identity: k8s.core.v1.SecretPatch;
  /** Completes once the server accepts the credential. */
  readonly check: k8s.batch.v1.Job;
}

export const IN_CLUSTER_STORE_DEFAULTS = {
  namespace: "default",
  bucketName: "models",
  region: "us-east-1",
  storageSize: "10Gi",
  resources: { cpu: "100m", memory: "256Mi", memoryLimit: "1Gi" },
  identityReloadSeconds: 10,
} as const;

const REGION = /^[a-z0-9-]{1,32}$/;
// registry/repository:tag or @sha256:digest; a tag other than "latest" is required.
const PINNED_IMAGE = /^[a-z0-9][a-z0-9._\-/:]*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[a-f0-9]{64})$/;
// Grant names prefix Kubernetes object names such as `<grant>-store-credentials`.
const MAX_GRANT_NAME = 40;

/** Every problem with InClusterModelStore arguments. Exported for tests and config validation. */
export function validateInClusterModelStoreArgs(name: string, args: InClusterModelStoreArgs): IssueCollector {
  const issues = new IssueCollector();
  const nameProblem = dnsLabelProblem(name, 40);
  if (nameProblem) issues.add("name", `component name ${nameProblem} (it prefixes Kubernetes object names)`);
  if (args.namespace !== undefined) {
    const problem = dnsLabelProblem(args.namespace);
    if (problem) issues.add("namespace", problem);
  }
  if (args.bucketName !== undefined) {
    for (const problem of bucketNameProblems(args.bucketName)) issues.add("bucketName", `"${args.bucketName}" ${problem}`);
  }
  if (args.region !== undefined && !REGION.test(args.region)) issues.add("region", `"${args.region}" must be 1-32 lowercase letters, digits or "-", e.g. "us-east-1"`);
  const storageProblem = args.storageSize === undefined ? undefined : quantityProblem(args.storageSize, "storage");
  if (storageProblem) issues.add("storageSize", storageProblem);
  if (args.storageClassName !== undefined) {
    const problem = dnsLabelProblem(args.storageClassName, 253);
    if (problem) issues.add("storageClassName", problem);
  }
  if (args.image !== undefined && (!PINNED_IMAGE.test(args.image) || args.image.endsWith(":latest"))) {
    issues.add("image", `"${args.image}" must be pinned: <repository>:<tag> (not "latest") or <repository>@sha256:<digest>`);
  }
  for (const key of ["cpu", "memory", "memoryLimit"] as const) {
    const value = args.resources?.[key];
    const problem = value === undefined ? undefined : quantityProblem(value, key === "cpu" ? "cpu" : "memory");
    if (problem) issues.add(`resources.${key}`, problem);
  }
  const reload = args.identityReloadSeconds;
  if (reload !== undefined && !(Number.isInteger(reload) && reload >= 1 && reload <= 3600)) {
    issues.add("identityReloadSeconds", `must be an integer from 1 to 3600 (got ${reload})`);
  }
  return issues;
}

/** Resolves args and defaults into what the spec builders take. */
export function inClusterStoreSpecArgs(name: string, args: InClusterModelStoreArgs): StoreSpecArgs {
  const d = IN_CLUSTER_STORE_DEFAULTS;
  return {
    name,
    namespace: args.namespace ?? d.namespace,
    bucket: args.bucketName ?? d.bucketName,
    region: args.region ?? d.region,
    image: args.image ?? SEAWEEDFS_IMAGE,
    storageSize: args.storageSize ?? d.storageSize,
    storageClassName: args.storageClassName,
    resources: { ...d.resources, ...args.resources },
    identityReloadSeconds: args.identityReloadSeconds ?? d.identityReloadSeconds,
  };
}

/** Every problem with a grant's arguments. */
export function validateInClusterGrant(grantName: string, args: ModelAccessGrantArgs): IssueCollector {
  const issues = new IssueCollector();
  const nameProblem = dnsLabelProblem(grantName, MAX_GRANT_NAME);
  if (nameProblem) issues.add("name", `grant name ${nameProblem} (it prefixes Kubernetes object names)`);
  addGrantCoverageProblems(issues, args);
  const namespaceProblem = args.serviceAccount?.namespace ? dnsLabelProblem(args.serviceAccount.namespace) : "is required";
  if (namespaceProblem) issues.add("serviceAccount.namespace", namespaceProblem);
  if (!args.serviceAccount?.name) issues.add("serviceAccount.name", "is required");
  return issues;
}

const base64 = (value: string) => Buffer.from(value, "utf8").toString("base64");

/** A generated access key id and secret access key, both Pulumi secrets (see store-credential.ts). */
function generatedCredential(name: string, parent: pulumi.Resource) {
  return new StoreCredential(`${name}-credential`, { parent });
}

/**
 * An S3-compatible model store inside the Kubernetes cluster (SeaweedFS), for clusters without a cloud
 * account such as kind, k3d, minikube or Docker Desktop. It implements `ModelStoreBackend` like the S3
 * `ModelStore`, so TfServing and TrainingJob use it unchanged: grants are static per-service-account
 * credentials kept in Secrets, referenced from the workloads' environment.
 */
export class InClusterModelStore extends pulumi.ComponentResource implements ModelStoreBackend {
  readonly bucketName: pulumi.Output<string>;
  readonly region: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string | undefined>;
  /** Namespace and Service name of the S3 endpoint. */
  readonly namespace: pulumi.Output<string>;
  readonly serviceName: pulumi.Output<string>;
  /**
   * Where clients connect, for network policies: the server pods' namespace and labels, and the S3 port (e.g. a
   * Team's `stores` entry, `{ type: "in-cluster", ...store.networkEndpoint }`).
   */
  readonly networkEndpoint: { namespace: string; podLabels: Record<string, string>; port: number };
  /** Secret (in the store's namespace) with the admin credential, for operators. */
  readonly adminCredentialsSecretName: pulumi.Output<string>;
  readonly pvc: k8s.core.v1.PersistentVolumeClaim;
  readonly identitiesSecret: k8s.core.v1.Secret;
  readonly adminCredentials: k8s.core.v1.Secret;
  readonly scripts: k8s.core.v1.ConfigMap;
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  readonly bucketJob: k8s.batch.v1.Job;
  private readonly spec: StoreSpecArgs;
  private readonly grantNames = new Set<string>();

  constructor(name: string, args: InClusterModelStoreArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
    validateInClusterModelStoreArgs(name, args).throwIfAny(`InClusterModelStore "${name}"`);
    super("ml-platform:storage:InClusterModelStore", name, {}, opts);
    const spec = inClusterStoreSpecArgs(name, args);
    this.spec = spec;
    const child = { parent: this };

    const admin = generatedCredential(`${name}-admin`, this);
    const adminFragment = pulumi
      .all([admin.accessKeyId, admin.secretAccessKey])
      .apply(([accessKey, secretKey]) => base64(identityFragment(adminIdentity({ accessKey, secretKey }))));

    this.pvc = new k8s.core.v1.PersistentVolumeClaim(`${name}-data`, storePersistentVolumeClaim(spec), child);
    this.identitiesSecret = new k8s.core.v1.Secret(`${name}-identities`, storeIdentitiesSecret(spec, pulumi.secret(adminFragment)), child);
    this.adminCredentials = new k8s.core.v1.Secret(
      `${name}-admin-credentials`,
      storeAdminCredentialsSecret(spec, pulumi.secret(admin.accessKeyId.apply(base64)), pulumi.secret(admin.secretAccessKey.apply(base64))),
      child,
    );
    this.scripts = new k8s.core.v1.ConfigMap(`${name}-scripts`, storeScriptsConfigMap(spec, loadContainerScripts(SCRIPTS_DIR, STORE_SCRIPTS)), child);
    this.deployment = new k8s.apps.v1.Deployment(`${name}`, storeDeployment(spec), {
      parent: this,
      dependsOn: [this.pvc, this.identitiesSecret, this.scripts],
    });
    this.service = new k8s.core.v1.Service(`${name}`, storeService(spec), child);
    this.bucketJob = new k8s.batch.v1.Job(`${name}-create-bucket`, storeBucketJob(spec), {
      parent: this,
      dependsOn: [this.deployment, this.service, this.adminCredentials, this.scripts],
    });

    // Outputs resolve once the bucket exists, so anything using the store waits for it.
    const ready = this.bucketJob.metadata.name;
    this.bucketName = ready.apply(() => spec.bucket);
    this.region = pulumi.output(spec.region);
    this.endpoint = ready.apply(() => storeEndpoint(name, spec.namespace) as string | undefined);
    this.namespace = pulumi.output(spec.namespace);
    this.networkEndpoint = { namespace: spec.namespace, podLabels: storeServerPodLabels(name), port: S3_PORT };
    this.serviceName = this.service.metadata.name;
    this.adminCredentialsSecretName = this.adminCredentials.metadata.name;
    this.registerOutputs({
      bucketName: this.bucketName,
      region: this.region,
      endpoint: this.endpoint,
      namespace: this.namespace,
      serviceName: this.serviceName,
      adminCredentialsSecretName: this.adminCredentialsSecretName,
    });
  }

  modelUri(model: string, version?: number): pulumi.Output<string> {
    const problem = modelNameProblem(model) ?? (version === undefined ? undefined : modelVersionProblem(version));
    if (problem) throw new Error(`InClusterModelStore.modelUri: ${problem}`);
    return pulumi.interpolate`s3://${this.bucketName}/${modelKeyPrefix(model, version)}`;
  }

  /**
   * Gives one Kubernetes service account read or write access to some models with a static credential:
   * a generated access key kept in a Secret in the service account's namespace, an identity on the server
   * scoped to the models' prefixes (added to the store's identities Secret by a server-side-apply patch,
   * picked up by the server without a restart), and a Job that completes once the server accepts the
   * credential. `clusterName` is not used.
   */
  grantAccess(name: string, args: ModelAccessGrantArgs, opts: GrantOptions = {}): StaticCredentialsGrant {
    const issues = validateInClusterGrant(name, args);
    if (this.grantNames.has(name)) issues.add("name", `grant "${name}" is already declared on this store; grant names must be unique`);
    issues.throwIfAny(`InClusterModelStore "${this.spec.name}" grantAccess("${name}")`);
    this.grantNames.add(name);

    const parent = opts.parent ?? this;
    const grants = grantPrefixAccess(args);
    const grantSpec = {
      grantName: name,
      store: this.spec,
      namespace: args.serviceAccount.namespace,
      serviceAccountName: args.serviceAccount.name,
      checkPrefix: grants[0]!.prefix,
    };
    const credential = generatedCredential(name, parent);
    const fragment = pulumi
      .all([credential.accessKeyId, credential.secretAccessKey])
      .apply(([accessKey, secretKey]) =>
        base64(identityFragment(grantIdentity({ grantName: name, bucket: this.spec.bucket, grants, credential: { accessKey, secretKey } }))),
      );

    const credentials = new k8s.core.v1.Secret(
      `${name}-store-credentials`,
      grantCredentialsSecret(grantSpec, pulumi.secret(credential.accessKeyId.apply(base64)), pulumi.secret(credential.secretAccessKey.apply(base64))),
      { parent },
    );
    const identity = new k8s.core.v1.SecretPatch(`${name}-store-identity`, grantIdentityPatch(grantSpec, pulumi.secret(fragment)), {
      parent,
      dependsOn: [this.identitiesSecret],
    });
    const checkScripts = new k8s.core.v1.ConfigMap(
      `${name}-store-check`,
      grantCheckScriptsConfigMap(grantSpec, loadContainerScripts(SCRIPTS_DIR, GRANT_CHECK_SCRIPTS)),
      { parent },
    );
    const check = new k8s.batch.v1.Job(`${name}-store-check`, grantCheckJob(grantSpec), {
      parent,
      dependsOn: [credentials, identity, checkScripts, this.bucketJob],
    });

    const env = pulumi
      .all([credentials.metadata.name, this.endpoint, this.region, check.metadata.name])
      .apply(([secretName, endpoint]) => grantEnv(secretName, endpoint ?? storeEndpoint(this.spec.name, this.spec.namespace), this.spec.region));
    return { env, resources: [credentials, identity, check], credentials, identity, check };
  }
}
