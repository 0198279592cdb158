import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ComponentValidationError } from "../../components/common/validation";
import { ModelStore, type ModelStoreArgs } from "../../components/storage/model-store";
import type { PolicyDocument } from "../../components/storage/s3-policies";
import { isAllowed, isExplicitlyDenied } from "../harness/iam-policy";
import { runInMocks, unwrap } from "../harness/pulumi-mocks";

const KMS = "arn:aws:kms:us-west-2:123456789012:key/abcd";

function storeRun(args: ModelStoreArgs = {}, name = "models") {
  return runInMocks(() => new ModelStore(name, args));
}

describe("ModelStore resources", () => {
  it("declares a private, versioned, encrypted, TLS-only bucket as children of the component", async () => {
    const run = await storeRun({ bucketName: "acme-models" });
    const component = run.get("ml-platform:storage:ModelStore", "models");
    const bucket = run.get("aws:s3/bucket:Bucket");
    expect(bucket.inputs.bucket).toBe("acme-models");
    expect(bucket.inputs.forceDestroy).toBe(false);
    expect(bucket.protect).toBe(false);

    const children = run.childrenOf(component).map((r) => r.type).sort();
    expect(children).toEqual(
      [
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
      ].sort(),
    );

    expect(run.get("aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
    const pab = run.get("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs;
    expect([pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets]).toEqual([true, true, true, true]);
    expect(run.get("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });

    const [sse] = run.get("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules;
    expect(sse.applyServerSideEncryptionByDefault).toEqual({ sseAlgorithm: "AES256" });
    expect(sse.bucketKeyEnabled).toBe(true);
    expect(sse.blockedEncryptionTypes).toEqual(["SSE-C"]);

    const policy = JSON.parse(run.get("aws:s3/bucketPolicy:BucketPolicy").inputs.policy) as PolicyDocument;
    expect(
      isExplicitlyDenied(policy, { action: "s3:GetObject", resource: "arn:aws:s3:::acme-models/models/a/1/x", context: { "aws:SecureTransport": "false" } }),
    ).toBe(true);

    const lifecycle = run.get("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration");
    expect(lifecycle.inputs.rules[0].noncurrentVersionExpiration.noncurrentDays).toBe(30);
    expect(lifecycle.inputs.rules[1].abortIncompleteMultipartUpload.daysAfterInitiation).toBe(7);
    // Lifecycle depends on versioning; the policy waits for the public access block.
    expect(lifecycle.dependencies).toContain(run.get("aws:s3/bucketVersioning:BucketVersioning").urn);
    expect(run.get("aws:s3/bucketPolicy:BucketPolicy").dependencies).toContain(run.get("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").urn);
  });

  it("uses SSE-KMS with a bucket key when a CMK is given", async () => {
    const run = await storeRun({ bucketName: "acme-models", kmsKeyArn: KMS });
    const [sse] = run.get("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules;
    expect(sse.applyServerSideEncryptionByDefault).toEqual({ sseAlgorithm: "aws:kms", kmsMasterKeyId: KMS });
    expect(sse.bucketKeyEnabled).toBe(true);
  });

  it("protects and retains the bucket with deletionProtection, and honours forceDestroy and lifecycle days", async () => {
    const run = await storeRun({ bucketName: "acme-models", deletionProtection: true, noncurrentVersionDays: 90, abortIncompleteUploadDays: 2 });
    const bucket = run.get("aws:s3/bucket:Bucket");
    expect(bucket.protect).toBe(true);
    expect(bucket.retainOnDelete).toBe(true);
    const rules = run.get("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules;
    expect(rules[0].noncurrentVersionExpiration.noncurrentDays).toBe(90);
    expect(rules[1].abortIncompleteMultipartUpload.daysAfterInitiation).toBe(2);

    const dev = await storeRun({ bucketName: "acme-models-dev", forceDestroy: true });
    expect(dev.get("aws:s3/bucket:Bucket").inputs.forceDestroy).toBe(true);
    expect(dev.get("aws:s3/bucket:Bucket").protect).toBe(false);
  });

  it("exports the bucket name and ARN, and model URIs", async () => {
    const run = await storeRun({ bucketName: "acme-models" });
    const store = run.result;
    expect(await unwrap(store.bucketName)).toBe("acme-models");
    expect(await unwrap(store.bucketArn)).toBe("arn:aws:s3:::acme-models");
    expect(await unwrap(store.modelUri("linear"))).toBe("s3://acme-models/models/linear/");
    expect(await unwrap(store.modelUri("linear", 3))).toBe("s3://acme-models/models/linear/3/");
    expect(() => store.modelUri("linear", 0)).toThrow(/positive integer/);
    expect(() => store.modelUri("Bad Name")).toThrow(/model name "Bad Name"/);
  });
});

describe("ModelStore validation", () => {
  async function failure(args: ModelStoreArgs, name = "models") {
    let error: unknown;
    const run = await runInMocks(() => {
      try {
        new ModelStore(name, args);
      } catch (err) {
        error = err;
      }
    });
    // Nothing is declared when the arguments are bad.
    expect(run.resources).toEqual([]);
    expect(error).toBeInstanceOf(ComponentValidationError);
    return (error as Error).message;
  }

  it("names the field and the rule for a bad bucket name", async () => {
    const message = await failure({ bucketName: "Acme_Models" });
    expect(message).toMatch(/ModelStore "models"/);
    expect(message).toMatch(/bucketName: "Acme_Models" may contain only lowercase letters, digits, "\." and "-"/);
  });

  it("rejects an auto-named bucket whose component name cannot prefix a bucket name", async () => {
    expect(await failure({}, "Models")).toMatch(/bucketName: not set.*component "Models"/);
    expect(await failure({}, "m".repeat(60))).toMatch(/at most 55 lowercase/);
  });

  it("rejects bad lifecycle days and contradictory deletion settings, all at once", async () => {
    const message = await failure({ bucketName: "ok-bucket", noncurrentVersionDays: 0, abortIncompleteUploadDays: 1.5, forceDestroy: true, deletionProtection: true });
    expect(message).toMatch(/noncurrentVersionDays: must be a positive integer of days \(got 0\)/);
    expect(message).toMatch(/abortIncompleteUploadDays: must be a positive integer of days \(got 1.5\)/);
    expect(message).toMatch(/forceDestroy: cannot be true together with deletionProtection/);
  });
});

describe("ModelStore.grantAccess (EKS Pod Identity)", () => {
  const serviceAccount = { clusterName: "prod", namespace: "ml", name: "linear-serving" };

  it("declares a role only that service account can assume, a scoped read policy and the association", async () => {
    const run = await runInMocks(() => {
      const store = new ModelStore("models", { bucketName: "acme-models" });
      return store.grantAccess("linear-read", { access: "read", models: ["linear"], serviceAccount });
    });
    const role = run.get("aws:iam/role:Role", "linear-read-role");
    const trust = JSON.parse(role.inputs.assumeRolePolicy) as PolicyDocument;
    expect(trust.Statement[0].Principal).toEqual({ Service: "pods.eks.amazonaws.com" });
    expect(trust.Statement[0].Condition?.StringEquals).toEqual({
      "aws:RequestTag/eks-cluster-name": "prod",
      "aws:RequestTag/kubernetes-namespace": "ml",
      "aws:RequestTag/kubernetes-service-account": "linear-serving",
    });

    const policy = JSON.parse(run.get("aws:iam/rolePolicy:RolePolicy", "linear-read-policy").inputs.policy) as PolicyDocument;
    const key = (k: string) => `arn:aws:s3:::acme-models/${k}`;
    expect(isAllowed(policy, { action: "s3:GetObject", resource: key("models/linear/1/saved_model.pb") })).toBe(true);
    expect(isAllowed(policy, { action: "s3:PutObject", resource: key("models/linear/2/saved_model.pb") })).toBe(false);
    expect(isAllowed(policy, { action: "s3:GetObject", resource: key("checkpoints/linear/1/ckpt") })).toBe(false);

    const association = run.get("aws:eks/podIdentityAssociation:PodIdentityAssociation");
    expect(association.inputs).toMatchObject({ clusterName: "prod", namespace: "ml", serviceAccount: "linear-serving" });
    expect(association.inputs.roleArn).toBe(`arn:aws:iam::123456789012:role/linear-read-role`);

    // Grant resources belong to the store unless the caller says otherwise.
    const store = run.get("ml-platform:storage:ModelStore");
    expect(run.parentOf(role)?.urn).toBe(store.urn);
    expect(await unwrap(run.result.env)).toEqual([
      { name: "AWS_REGION", value: "us-west-2" },
      { name: "AWS_DEFAULT_REGION", value: "us-west-2" },
    ]);
  });

  it("write grants cover only the named models (and their checkpoints when asked), with CMK actions", async () => {
    const run = await runInMocks(() => {
      const store = new ModelStore("models", { bucketName: "acme-models", kmsKeyArn: KMS });
      const parent = new pulumi.ComponentResource("test:index:Trainer", "trainer");
      return store.grantAccess("trainer", { access: "write", models: ["linear"], checkpoints: true, serviceAccount }, { parent });
    });
    const policy = JSON.parse(run.get("aws:iam/rolePolicy:RolePolicy").inputs.policy) as PolicyDocument;
    const key = (k: string) => `arn:aws:s3:::acme-models/${k}`;
    expect(isAllowed(policy, { action: "s3:PutObject", resource: key("models/linear/7/_SUCCESS") })).toBe(true);
    expect(isAllowed(policy, { action: "s3:PutObject", resource: key("checkpoints/linear/7/ckpt-3.data") })).toBe(true);
    expect(isAllowed(policy, { action: "s3:PutObject", resource: key("models/other/7/_SUCCESS") })).toBe(false);
    expect(isAllowed(policy, { action: "kms:GenerateDataKey", resource: KMS })).toBe(true);
    expect(run.parentOf(run.get("aws:iam/role:Role"))?.type).toBe("test:index:Trainer");
  });

  it("rejects a grant without models or with a bad model name, before declaring anything", async () => {
    const run = await runInMocks(() => {
      const store = new ModelStore("models", { bucketName: "acme-models" });
      expect(() => store.grantAccess("g", { access: "read", models: [], serviceAccount })).toThrow(/models: must name at least one model/);
      expect(() => store.grantAccess("g", { access: "read", models: ["Linear Model"], serviceAccount })).toThrow(/models\[0\]: model name "Linear Model"/);
      expect(() => store.grantAccess("g", { access: "admin" as "read", models: ["a"], serviceAccount })).toThrow(/access: must be "read", "write" \(got "admin"\)/);
      const badScope = { area: "tensorboard" as "logs", model: "Linear", version: 0, access: "all" as "read" };
      const scoped = () => store.grantAccess("g", { access: "read", models: [], scopes: [badScope], serviceAccount });
      expect(scoped).toThrow(/scopes\[0\]\.area: must be "models", "checkpoints", "logs", "mobile" \(got "tensorboard"\)/);
      expect(scoped).toThrow(/scopes\[0\]\.model: model name "Linear" is invalid/);
      expect(scoped).toThrow(/scopes\[0\]\.version: model version 0 is invalid/);
      expect(scoped).toThrow(/scopes\[0\]\.access: must be "read", "write" \(got "all"\)/);
    });
    expect(run.ofType("aws:iam/role:Role")).toEqual([]);
  });

  it("a scoped grant (a training's own logs beside its models) is one role, described by what it covers", async () => {
    const run = await runInMocks(() => {
      const store = new ModelStore("models", { bucketName: "acme-models" });
      return store.grantAccess("trainer", { access: "write", models: ["linear"], scopes: [{ area: "logs", model: "linear", version: 7, access: "write" }], serviceAccount });
    });
    expect(run.ofType("aws:iam/role:Role")).toHaveLength(1);
    expect(run.get("aws:iam/role:Role").inputs.description).toBe("write models/linear/, logs/linear/7/ for ml/linear-serving");
    const policy = JSON.parse(run.get("aws:iam/rolePolicy:RolePolicy").inputs.policy) as PolicyDocument;
    const key = (k: string) => `arn:aws:s3:::acme-models/${k}`;
    expect(isAllowed(policy, { action: "s3:PutObject", resource: key("logs/linear/7/worker-0/events.out.tfevents.1") })).toBe(true);
    expect(isAllowed(policy, { action: "s3:PutObject", resource: key("logs/linear/6/worker-0/events.out.tfevents.1") })).toBe(false);
  });
});
