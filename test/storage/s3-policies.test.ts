import { describe, expect, it } from "vitest";
import {
  bucketNameProblems,
  denyInsecureTransportPolicy,
  grantPrefixAccess,
  grantPrefixes,
  lifecycleRules,
  modelAccessPolicy,
  podIdentityTrustPolicy,
} from "../../components/storage/s3-policies";
import { isAllowed, isExplicitlyDenied } from "../harness/iam-policy";

const BUCKET = "arn:aws:s3:::acme-models";
const KMS = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("bucketNameProblems", () => {
  it.each(["acme-models", "abc", "models.v2.example", "a".repeat(63), "123-models"])("accepts %s", (name) => {
    expect(bucketNameProblems(name)).toEqual([]);
  });

  it.each([
    ["ab", /3-63 characters/],
    ["a".repeat(64), /3-63 characters/],
    ["Acme-Models", /only lowercase letters/],
    ["acme_models", /only lowercase letters/],
    ["-acme", /start and end/],
    ["acme-", /start and end/],
    ["acme..models", /two adjacent periods/],
    ["192.168.5.4", /IP address/],
    ["xn--acme", /reserved prefix "xn--"/],
    ["sthree-models", /reserved prefix "sthree-"/],
    ["amzn-s3-demo-models", /reserved prefix "amzn-s3-demo-"/],
    ["models-s3alias", /reserved suffix "-s3alias"/],
    ["models--ol-s3", /reserved suffix "--ol-s3"/],
    ["models.mrap", /reserved suffix ".mrap"/],
    ["models--x-s3", /reserved suffix "--x-s3"/],
    ["models--table-s3", /reserved suffix "--table-s3"/],
  ])("rejects %s", (name, message) => {
    const problems = bucketNameProblems(name);
    expect(problems.some((p) => message.test(p)), problems.join("; ")).toBe(true);
  });
});

describe("denyInsecureTransportPolicy", () => {
  const policy = denyInsecureTransportPolicy(BUCKET);

  it("denies every S3 action over plain HTTP, on the bucket and its objects", () => {
    for (const resource of [BUCKET, `${BUCKET}/models/linear/1/saved_model.pb`]) {
      expect(isExplicitlyDenied(policy, { action: "s3:GetObject", resource, context: { "aws:SecureTransport": "false" } })).toBe(true);
      expect(isExplicitlyDenied(policy, { action: "s3:PutObject", resource, context: { "aws:SecureTransport": "false" } })).toBe(true);
    }
  });

  it("does not deny TLS requests", () => {
    expect(isExplicitlyDenied(policy, { action: "s3:GetObject", resource: `${BUCKET}/x`, context: { "aws:SecureTransport": "true" } })).toBe(false);
  });
});

describe("podIdentityTrustPolicy", () => {
  const policy = podIdentityTrustPolicy({ clusterName: "prod", namespace: "ml", serviceAccount: "linear-serving" });

  it("trusts only EKS Pod Identity, with AssumeRole and TagSession", () => {
    expect(policy.Statement).toHaveLength(1);
    const [statement] = policy.Statement;
    expect(statement.Principal).toEqual({ Service: "pods.eks.amazonaws.com" });
    expect(statement.Action).toEqual(["sts:AssumeRole", "sts:TagSession"]);
  });

  it("limits the role to one service account of one cluster", () => {
    const tags = (cluster: string, namespace: string, sa: string) => ({
      "aws:RequestTag/eks-cluster-name": cluster,
      "aws:RequestTag/kubernetes-namespace": namespace,
      "aws:RequestTag/kubernetes-service-account": sa,
    });
    const assume = (context: Record<string, string>) => isAllowed(policy, { action: "sts:AssumeRole", resource: "*", context });
    expect(assume(tags("prod", "ml", "linear-serving"))).toBe(true);
    expect(assume(tags("dev", "ml", "linear-serving"))).toBe(false);
    expect(assume(tags("prod", "other", "linear-serving"))).toBe(false);
    expect(assume(tags("prod", "ml", "trainer"))).toBe(false);
  });
});

describe("modelAccessPolicy", () => {
  const object = (key: string) => `${BUCKET}/${key}`;
  const list = (prefix: string) => ({ action: "s3:ListBucket", resource: BUCKET, context: { "s3:prefix": prefix } });

  describe("read", () => {
    const policy = modelAccessPolicy({ bucketArn: BUCKET, access: "read", prefixes: grantPrefixes(["linear"], false) });

    it("lists and downloads the granted model's versions", () => {
      expect(isAllowed(policy, list("models/linear/"))).toBe(true);
      expect(isAllowed(policy, list("models/linear/3/"))).toBe(true);
      expect(isAllowed(policy, { action: "s3:GetObject", resource: object("models/linear/3/saved_model.pb") })).toBe(true);
    });

    it("cannot write, delete or touch the bucket", () => {
      for (const action of ["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:DeleteObjectVersion"]) {
        expect(isAllowed(policy, { action, resource: object("models/linear/4/saved_model.pb") }), action).toBe(false);
      }
      expect(isAllowed(policy, { action: "s3:PutBucketPolicy", resource: BUCKET })).toBe(false);
    });

    it("cannot see other models or list the whole bucket", () => {
      expect(isAllowed(policy, { action: "s3:GetObject", resource: object("models/other/1/saved_model.pb") })).toBe(false);
      expect(isAllowed(policy, { action: "s3:GetObject", resource: object("models/linear-v2/1/saved_model.pb") })).toBe(false);
      expect(isAllowed(policy, list("models/other/"))).toBe(false);
      expect(isAllowed(policy, list(""))).toBe(false);
      expect(isAllowed(policy, list("models/"))).toBe(false);
    });

    it("has no KMS statement without a customer managed key", () => {
      expect(JSON.stringify(policy)).not.toContain("kms:");
    });
  });

  describe("write", () => {
    const policy = modelAccessPolicy({ bucketArn: BUCKET, access: "write", prefixes: grantPrefixes(["linear"], true), kmsKeyArn: KMS });

    it("uploads versions and checkpoints of its own model", () => {
      for (const key of ["models/linear/4/saved_model.pb", "models/linear/4/_SUCCESS", "checkpoints/linear/4/ckpt-1.index"]) {
        expect(isAllowed(policy, { action: "s3:PutObject", resource: object(key) }), key).toBe(true);
        expect(isAllowed(policy, { action: "s3:AbortMultipartUpload", resource: object(key) }), key).toBe(true);
      }
      expect(isAllowed(policy, list("checkpoints/linear/4/"))).toBe(true);
    });

    it("is scoped to its models: no writes elsewhere, no deletes", () => {
      expect(isAllowed(policy, { action: "s3:PutObject", resource: object("models/other/1/saved_model.pb") })).toBe(false);
      expect(isAllowed(policy, { action: "s3:PutObject", resource: object("checkpoints/other/1/x") })).toBe(false);
      expect(isAllowed(policy, { action: "s3:PutObject", resource: object("linear/4/saved_model.pb") })).toBe(false);
      expect(isAllowed(policy, { action: "s3:DeleteObject", resource: object("models/linear/4/saved_model.pb") })).toBe(false);
    });

    it("may use the bucket's CMK to encrypt and decrypt, and nothing more of KMS", () => {
      expect(isAllowed(policy, { action: "kms:GenerateDataKey", resource: KMS })).toBe(true);
      expect(isAllowed(policy, { action: "kms:Decrypt", resource: KMS })).toBe(true);
      expect(isAllowed(policy, { action: "kms:ScheduleKeyDeletion", resource: KMS })).toBe(false);
      expect(isAllowed(policy, { action: "kms:Decrypt", resource: "arn:aws:kms:us-west-2:123456789012:key/other" })).toBe(false);
    });
  });

  it("read access to a CMK bucket may decrypt but not generate data keys", () => {
    const policy = modelAccessPolicy({ bucketArn: BUCKET, access: "read", prefixes: ["models/linear/"], kmsKeyArn: KMS });
    expect(isAllowed(policy, { action: "kms:Decrypt", resource: KMS })).toBe(true);
    expect(isAllowed(policy, { action: "kms:GenerateDataKey", resource: KMS })).toBe(false);
  });

  describe("scoped grants (each area of a model or version with its own access)", () => {
    // A mobile export's job: reads one version of the model, writes only that version's mobile folder.
    const exporter = modelAccessPolicy({
      bucketArn: BUCKET,
      grants: grantPrefixAccess({
        access: "read",
        models: [],
        scopes: [
          { area: "models", model: "linear", version: 3, access: "read" },
          { area: "mobile", model: "linear", version: 3, access: "write" },
        ],
      }),
    });

    it("reads the version it converts and writes only its own mobile folder", () => {
      expect(isAllowed(exporter, { action: "s3:GetObject", resource: object("models/linear/3/saved_model.pb") })).toBe(true);
      expect(isAllowed(exporter, list("models/linear/3/"))).toBe(true);
      expect(isAllowed(exporter, { action: "s3:PutObject", resource: object("mobile/linear/3/model.tflite") })).toBe(true);
      expect(isAllowed(exporter, { action: "s3:PutObject", resource: object("models/linear/3/saved_model.pb") })).toBe(false);
      expect(isAllowed(exporter, { action: "s3:PutObject", resource: object("mobile/linear/4/model.tflite") })).toBe(false);
      expect(isAllowed(exporter, { action: "s3:GetObject", resource: object("models/linear/4/saved_model.pb") })).toBe(false);
      expect(isAllowed(exporter, { action: "s3:GetObject", resource: object("models/linear/30/saved_model.pb") })).toBe(false);
      expect(isAllowed(exporter, list("models/linear/"))).toBe(false);
    });

    it("a read grant for logs only sees the logs, not the models", () => {
      const board = modelAccessPolicy({ bucketArn: BUCKET, grants: grantPrefixAccess({ access: "read", models: [], scopes: [{ area: "logs", model: "linear", access: "read" }] }) });
      expect(isAllowed(board, list("logs/linear/"))).toBe(true);
      expect(isAllowed(board, { action: "s3:GetObject", resource: object("logs/linear/3/worker-0/events.out.tfevents.1") })).toBe(true);
      expect(isAllowed(board, { action: "s3:GetObject", resource: object("models/linear/3/saved_model.pb") })).toBe(false);
      expect(isAllowed(board, { action: "s3:PutObject", resource: object("logs/linear/3/worker-0/x") })).toBe(false);
    });

    it("prefixes each end in a slash", () => {
      expect(() => modelAccessPolicy({ bucketArn: BUCKET, grants: [{ prefix: "models/linear", access: "read" }] })).toThrow(/must end with "\/"/);
    });
  });

  it("refuses an empty prefix list rather than granting nothing silently", () => {
    expect(() => modelAccessPolicy({ bucketArn: BUCKET, access: "read", prefixes: [] })).toThrow(/at least one prefix/);
  });
});

describe("grantPrefixes", () => {
  it("covers each model, and checkpoints only when asked", () => {
    expect(grantPrefixes(["a", "b"], false)).toEqual(["models/a/", "models/b/"]);
    expect(grantPrefixes(["a"], true)).toEqual(["models/a/", "checkpoints/a/"]);
  });
});

describe("grantPrefixAccess", () => {
  it("is the models (and checkpoints) with the grant's access, then each scope with its own", () => {
    expect(grantPrefixAccess({ access: "write", models: ["a"], checkpoints: true, scopes: [{ area: "logs", model: "a", version: 7, access: "write" }] })).toEqual([
      { prefix: "models/a/", access: "write" },
      { prefix: "checkpoints/a/", access: "write" },
      { prefix: "logs/a/7/", access: "write" },
    ]);
  });
});

describe("lifecycleRules", () => {
  it("expires noncurrent versions and aborts stale multipart uploads, bucket-wide", () => {
    const rules = lifecycleRules({ noncurrentVersionDays: 14, abortIncompleteUploadDays: 3 });
    expect(rules.map((r) => r.status)).toEqual(["Enabled", "Enabled"]);
    expect(rules[0].noncurrentVersionExpiration).toEqual({ noncurrentDays: 14 });
    expect(rules[1].abortIncompleteMultipartUpload).toEqual({ daysAfterInitiation: 3 });
    for (const rule of rules) expect(rule.filter).toEqual({});
  });
});
