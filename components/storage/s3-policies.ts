/**
 * Pure builders for the S3 model store: bucket-name rules, bucket policy, lifecycle rules and the
 * least-privilege IAM documents behind EKS Pod Identity grants. No Pulumi resources here.
 */
import { checkpointKeyPrefix, grantScopes, type ModelAccess, type ModelAccessGrantArgs, modelKeyPrefix, scopeKeyPrefix } from "./model-store-backend";

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: "*" | Record<string, string | string[]>;
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

const RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/**
 * Every rule a general purpose S3 bucket name breaks (empty when valid).
 * Rules: 3-63 characters; lowercase letters, digits, "." and "-"; starts and ends with a letter or digit;
 * no ".."; not an IP address; none of AWS's reserved prefixes and suffixes.
 */
export function bucketNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length < 3 || name.length > 63) problems.push(`must be 3-63 characters long (got ${name.length})`);
  if (!/^[a-z0-9.-]*$/.test(name)) problems.push(`may contain only lowercase letters, digits, "." and "-"`);
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) problems.push(`must start and end with a lowercase letter or digit`);
  if (name.includes("..")) problems.push(`must not contain two adjacent periods`);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) problems.push(`must not be formatted as an IP address`);
  for (const prefix of RESERVED_PREFIXES) if (name.startsWith(prefix)) problems.push(`must not start with the reserved prefix "${prefix}"`);
  for (const suffix of RESERVED_SUFFIXES) if (name.endsWith(suffix)) problems.push(`must not end with the reserved suffix "${suffix}"`);
  return problems;
}

/** Bucket policy: refuse any request that does not use TLS. */
export function denyInsecureTransportPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

/** Who may assume a grant's role: EKS Pod Identity, for one service account of one cluster only. */
export interface PodIdentitySubject {
  clusterName: string;
  namespace: string;
  serviceAccount: string;
}

/**
 * Trust policy for an EKS Pod Identity role. EKS Pod Identity sets the session tags it conditions on, so
 * another association in the account cannot reuse the role.
 */
export function podIdentityTrustPolicy(subject: PodIdentitySubject): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AllowEksPodIdentity",
        Effect: "Allow",
        Principal: { Service: "pods.eks.amazonaws.com" },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: {
          StringEquals: {
            "aws:RequestTag/eks-cluster-name": subject.clusterName,
            "aws:RequestTag/kubernetes-namespace": subject.namespace,
            "aws:RequestTag/kubernetes-service-account": subject.serviceAccount,
          },
        },
      },
    ],
  };
}

/** Key prefixes (each ending in "/") that a grant covers. */
export function grantPrefixes(models: readonly string[], checkpoints: boolean): string[] {
  const prefixes = models.map((m) => modelKeyPrefix(m));
  if (checkpoints) prefixes.push(...models.map((m) => checkpointKeyPrefix(m)));
  return prefixes;
}

export const READ_OBJECT_ACTIONS = ["s3:GetObject"];
export const WRITE_OBJECT_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload"];

/** A key prefix (ending in "/") and the access to it. */
export interface PrefixAccess {
  prefix: string;
  access: ModelAccess;
}

/** What a grant covers as key prefixes with their access (scopeKeyPrefix of each of grantScopes). */
export function grantPrefixAccess(args: Pick<ModelAccessGrantArgs, "access" | "models" | "checkpoints" | "scopes">): PrefixAccess[] {
  return grantScopes(args).map((scope) => ({ prefix: scopeKeyPrefix(scope), access: scope.access }));
}

export type ModelAccessPolicyArgs = {
  bucketArn: string;
  /** The bucket's customer managed KMS key, when it has one. */
  kmsKeyArn?: string;
} & (
  | {
      access: ModelAccess;
      /** Key prefixes, each ending in "/", all with `access`. */
      prefixes: readonly string[];
    }
  | {
      /** Key prefixes, each ending in "/", each with its own access. */
      grants: readonly PrefixAccess[];
    }
);

/**
 * Least-privilege identity policy for a grant: list only under the prefixes, read their objects and, for
 * `write`, upload there too. No delete, no bucket-level changes. With a CMK, the KMS actions that S3 needs
 * on the caller's behalf (decrypt to read; generate data keys to write, decrypt for multipart uploads).
 */
export function modelAccessPolicy(args: ModelAccessPolicyArgs): PolicyDocument {
  const grants = "grants" in args ? args.grants : args.prefixes.map((prefix) => ({ prefix, access: args.access }));
  if (grants.length === 0) throw new Error("modelAccessPolicy: at least one prefix is required");
  for (const { prefix } of grants) {
    if (!prefix.endsWith("/") || prefix.startsWith("/")) throw new Error(`modelAccessPolicy: prefix "${prefix}" must end with "/" and not start with "/"`);
  }
  const prefixes = [...new Set(grants.map((g) => g.prefix))];
  const writable = [...new Set(grants.filter((g) => g.access === "write").map((g) => g.prefix))];
  const statements: PolicyStatement[] = [
    {
      Sid: "ListModelPrefixes",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: args.bucketArn,
      Condition: { StringLike: { "s3:prefix": prefixes.flatMap((p) => [p, `${p}*`]) } },
    },
    { Sid: "ReadModelObjects", Effect: "Allow", Action: [...READ_OBJECT_ACTIONS], Resource: prefixes.map((p) => `${args.bucketArn}/${p}*`) },
  ];
  if (writable.length > 0) {
    statements.push({ Sid: "WriteModelObjects", Effect: "Allow", Action: [...WRITE_OBJECT_ACTIONS], Resource: writable.map((p) => `${args.bucketArn}/${p}*`) });
  }
  if (args.kmsKeyArn) {
    statements.push({
      Sid: "UseBucketKey",
      Effect: "Allow",
      Action: writable.length > 0 ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"],
      Resource: args.kmsKeyArn,
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

export interface LifecycleSettings {
  /** Days after which a noncurrent (overwritten or deleted) object version is removed. */
  noncurrentVersionDays: number;
  /** Days after which an unfinished multipart upload is aborted. */
  abortIncompleteUploadDays: number;
}

/** Lifecycle rules of a model bucket, shaped for `aws.s3.BucketLifecycleConfiguration`. */
export function lifecycleRules(settings: LifecycleSettings) {
  return [
    {
      id: "expire-noncurrent-versions",
      status: "Enabled",
      filter: {},
      noncurrentVersionExpiration: { noncurrentDays: settings.noncurrentVersionDays },
    },
    {
      id: "abort-incomplete-multipart-uploads",
      status: "Enabled",
      filter: {},
      abortIncompleteMultipartUpload: { daysAfterInitiation: settings.abortIncompleteUploadDays },
    },
  ];
}
