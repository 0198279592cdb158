import * as aws from "@pulumi/aws";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IssueCollector, modelNameProblem, modelVersionProblem } from "../common/validation";
import {
  addGrantCoverageProblems,
  type GrantOptions,
  grantScopes,
  type ModelAccessGrant,
  type ModelAccessGrantArgs,
  type ModelStoreBackend,
  modelKeyPrefix,
  scopeKeyPrefix,
} from "./model-store-backend";
import {
  bucketNameProblems,
  denyInsecureTransportPolicy,
  grantPrefixAccess,
  lifecycleRules,
  modelAccessPolicy,
  podIdentityTrustPolicy,
} from "./s3-policies";

export interface ModelStoreArgs {
  /**
   * Exact bucket name. Checked against S3's naming rules before anything is declared.
   * @default the component name plus a random suffix (Pulumi auto-naming); the component name must then
   *   be a valid bucket-name prefix.
   * @example "acme-ml-models-prod"
   */
  bucketName?: string;
  /**
   * ARN of a customer managed KMS key. When set, objects are encrypted with SSE-KMS under this key (with an
   * S3 Bucket Key, to cut KMS calls) and grants include the KMS actions they need.
   * @default SSE-S3 (AES256, keys managed by S3)
   */
  kmsKeyArn?: pulumi.Input<string>;
  /**
   * Let `pulumi destroy` delete a bucket that still holds models. Meant for dev stacks only; conflicts with
   * `deletionProtection`.
   * @default false
   */
  forceDestroy?: boolean;
  /**
   * Protect the bucket from deletion: Pulumi refuses to delete it (`protect`) and, should it be removed from
   * the program anyway, leaves it in AWS (`retainOnDelete`). Recommended for production.
   * @default false
   */
  deletionProtection?: boolean;
  /**
   * Days a noncurrent object version (an overwritten or deleted object) is kept before it expires.
   * Positive integer.
   * @default 30
   */
  noncurrentVersionDays?: number;
  /**
   * Days after which an unfinished multipart upload (e.g. a crashed training upload) is aborted.
   * Positive integer.
   * @default 7
   */
  abortIncompleteUploadDays?: number;
  /** Tags for every AWS resource of the store. @default {} */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** Grant resources declared by `ModelStore.grantAccess` on AWS. */
export interface PodIdentityGrant extends ModelAccessGrant {
  readonly role: aws.iam.Role;
  readonly policy: aws.iam.RolePolicy;
  readonly association: aws.eks.PodIdentityAssociation;
}

/** The role's description: what the grant covers, e.g. "write models/linear/, checkpoints/linear/". */
export function grantDescription(args: Pick<ModelAccessGrantArgs, "access" | "models" | "checkpoints" | "scopes">): string {
  const byAccess = (access: string) => grantScopes(args).filter((s) => s.access === access).map(scopeKeyPrefix);
  return (["read", "write"] as const)
    .filter((access) => byAccess(access).length > 0)
    .map((access) => `${access} ${byAccess(access).join(", ")}`)
    .join("; ");
}

const DEFAULT_NONCURRENT_VERSION_DAYS = 30;
const DEFAULT_ABORT_INCOMPLETE_UPLOAD_DAYS = 7;
// Pulumi auto-naming appends "-" and 7 random characters.
const AUTONAME_SUFFIX_LENGTH = 8;

/** Every problem with ModelStore arguments (empty when valid). Exported for tests and config validation. */
export function validateModelStoreArgs(name: string, args: ModelStoreArgs): IssueCollector {
  const issues = new IssueCollector();
  if (args.bucketName !== undefined) {
    for (const problem of bucketNameProblems(args.bucketName)) issues.add("bucketName", `"${args.bucketName}" ${problem}`);
  } else {
    const problems = bucketNameProblems(`${name}-abcdefg`);
    if (problems.length > 0 || name.length + AUTONAME_SUFFIX_LENGTH > 63) {
      issues.add(
        "bucketName",
        `not set, so the bucket is named after the component "${name}" plus a random suffix, which would not be a valid S3 bucket name; ` +
          `set bucketName or use a component name of at most ${63 - AUTONAME_SUFFIX_LENGTH} lowercase letters, digits and "-"`,
      );
    }
  }
  for (const key of ["noncurrentVersionDays", "abortIncompleteUploadDays"] as const) {
    const value = args[key];
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) issues.add(key, `must be a positive integer of days (got ${value})`);
  }
  if (args.forceDestroy && args.deletionProtection) {
    issues.add("forceDestroy", "cannot be true together with deletionProtection: a protected bucket is never force-destroyed");
  }
  return issues;
}

/**
 * An S3 bucket of versioned models, laid out as `models/<model>/<version>/` with `_SUCCESS` marking a
 * complete version. Versioned, encrypted, private, TLS-only, with lifecycle rules; access is granted per
 * model and per Kubernetes service account through EKS Pod Identity.
 */
export class ModelStore extends pulumi.ComponentResource implements ModelStoreBackend {
  readonly bucket: aws.s3.Bucket;
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly region: pulumi.Output<string>;
  /** AWS stores use the SDK's regional endpoint. */
  readonly endpoint: pulumi.Output<string | undefined>;
  readonly kmsKeyArn: pulumi.Output<string | undefined>;
  readonly versioning: aws.s3.BucketVersioning;
  readonly encryption: aws.s3.BucketServerSideEncryptionConfiguration;
  readonly publicAccessBlock: aws.s3.BucketPublicAccessBlock;
  readonly ownershipControls: aws.s3.BucketOwnershipControls;
  readonly bucketPolicy: aws.s3.BucketPolicy;
  readonly lifecycle: aws.s3.BucketLifecycleConfiguration;
  private readonly storeName: string;

  constructor(name: string, args: ModelStoreArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
    validateModelStoreArgs(name, args).throwIfAny(`ModelStore "${name}"`);
    super("ml-platform:storage:ModelStore", name, {}, opts);
    this.storeName = name;

    const tags = args.tags ?? {};
    this.bucket = new aws.s3.Bucket(
      `${name}`,
      { bucket: args.bucketName, forceDestroy: args.forceDestroy ?? false, tags },
      { parent: this, protect: args.deletionProtection || undefined, retainOnDelete: args.deletionProtection || undefined },
    );
    this.bucketName = this.bucket.bucket;
    this.bucketArn = this.bucket.arn;
    this.region = this.bucket.region;
    this.endpoint = pulumi.output(undefined as string | undefined);
    this.kmsKeyArn = pulumi.output(args.kmsKeyArn);

    const bucketOpts = { parent: this };
    this.ownershipControls = new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: this.bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      bucketOpts,
    );
    this.publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket: this.bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      bucketOpts,
    );
    this.versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: this.bucket.id, versioningConfiguration: { status: "Enabled" } },
      bucketOpts,
    );
    this.encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: this.bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: args.kmsKeyArn
              ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn }
              : { sseAlgorithm: "AES256" },
            bucketKeyEnabled: true,
            blockedEncryptionTypes: ["SSE-C"],
          },
        ],
      },
      bucketOpts,
    );
    this.bucketPolicy = new aws.s3.BucketPolicy(
      `${name}-policy`,
      { bucket: this.bucket.id, policy: this.bucket.arn.apply((arn) => JSON.stringify(denyInsecureTransportPolicy(arn))) },
      // S3 rejects policy writes that race the public access block.
      { parent: this, dependsOn: [this.publicAccessBlock] },
    );
    this.lifecycle = new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: this.bucket.id,
        rules: lifecycleRules({
          noncurrentVersionDays: args.noncurrentVersionDays ?? DEFAULT_NONCURRENT_VERSION_DAYS,
          abortIncompleteUploadDays: args.abortIncompleteUploadDays ?? DEFAULT_ABORT_INCOMPLETE_UPLOAD_DAYS,
        }),
      },
      // Noncurrent-version rules only make sense once versioning is on.
      { parent: this, dependsOn: [this.versioning] },
    );

    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn, region: this.region });
  }

  modelUri(model: string, version?: number): pulumi.Output<string> {
    const problem = modelNameProblem(model) ?? (version === undefined ? undefined : modelVersionProblem(version));
    if (problem) throw new Error(`ModelStore.modelUri: ${problem}`);
    return pulumi.interpolate`s3://${this.bucketName}/${modelKeyPrefix(model, version)}`;
  }

  /**
   * Gives one Kubernetes service account read or write access to some models through EKS Pod Identity:
   * an IAM role that only that service account of that cluster can assume, an inline least-privilege
   * policy scoped to the models' prefixes, and the Pod Identity association. The cluster must run the
   * EKS Pod Identity Agent add-on.
   */
  grantAccess(name: string, args: ModelAccessGrantArgs, opts: GrantOptions = {}): PodIdentityGrant {
    const issues = new IssueCollector();
    addGrantCoverageProblems(issues, args);
    if (!args.serviceAccount.namespace) issues.add("serviceAccount.namespace", "is required");
    if (!args.serviceAccount.name) issues.add("serviceAccount.name", "is required");
    issues.throwIfAny(`ModelStore "${this.storeName}" grantAccess("${name}")`);

    const parentOpts = { parent: opts.parent ?? this };
    const role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `${grantDescription(args)} for ${args.serviceAccount.namespace}/${args.serviceAccount.name}`.slice(0, 1000),
        assumeRolePolicy: pulumi.output(args.serviceAccount.clusterName).apply((clusterName) =>
          JSON.stringify(podIdentityTrustPolicy({ clusterName, namespace: args.serviceAccount.namespace, serviceAccount: args.serviceAccount.name })),
        ),
        maxSessionDuration: 3600,
      },
      parentOpts,
    );
    const grants = grantPrefixAccess(args);
    const policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: role.id,
        policy: pulumi
          .all([this.bucketArn, this.kmsKeyArn])
          .apply(([bucketArn, kmsKeyArn]) => JSON.stringify(modelAccessPolicy({ bucketArn, grants, kmsKeyArn }))),
      },
      parentOpts,
    );
    const association = new aws.eks.PodIdentityAssociation(
      `${name}-pod-identity`,
      {
        clusterName: args.serviceAccount.clusterName,
        namespace: args.serviceAccount.namespace,
        serviceAccount: args.serviceAccount.name,
        roleArn: role.arn,
      },
      { ...parentOpts, dependsOn: [policy] },
    );
    const env: pulumi.Output<k8s.types.input.core.v1.EnvVar[]> = this.region.apply((region) => [
      { name: "AWS_REGION", value: region },
      { name: "AWS_DEFAULT_REGION", value: region },
    ]);
    return { role, policy, association, env, resources: [role, policy, association] };
  }
}
