/** The MobileExport component under mocks: what it declares, field by field, its one grant, and its options. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MOBILE_DEFAULT_MAX_ABS_DIFF } from "../../components/mobile/args";
import { MOBILE_CONVERTER_IMAGE, mobileExportGrant } from "../../components/mobile/plan";
import { MOBILE_SCRIPTS_DIR } from "../../components/mobile/scripts";
import { LINEAR_EXAMPLE_IMAGE } from "../../components/training/linear-example";
import { AWS_CLI_IMAGE } from "../../components/serving/images";
import { SCRIPTS_DIR as SERVING_SCRIPTS_DIR } from "../../components/serving/sync";
import { grantIdentity } from "../../components/storage/in-cluster/seaweedfs-identities";
import { grantPrefixAccess, modelAccessPolicy, type PolicyDocument } from "../../components/storage/s3-policies";
import { STORE_SCRIPTS_DIR } from "../../components/storage/version-publishing";
import { isAllowed } from "../harness/iam-policy";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import { expectRestrictedPods } from "../harness/pod-security";
import { type PropertyMap, unwrap } from "../harness/pulumi-mocks";
import { BUCKET, container, envRecord, JOB_TYPE, mobileRun, podOf } from "./fixtures";

const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};
const ARN = `arn:aws:s3:::${BUCKET}`;

describe("MobileExport with the defaults", async () => {
  const run = await mobileRun();
  const job = run.get(JOB_TYPE);
  const pod = podOf(run);
  const fetch = container(pod, "fetch-version");
  const convert = container(pod, "convert");
  const publish = container(pod, "publish");

  it("declares a service account, its store grant, the scripts and a Job named after the version, all schema-valid and Pod Security restricted", async () => {
    const component = run.get("ml-platform:mobile:MobileExport", "linear-mobile");
    expect(run.childrenOf(component).map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      [
        "aws:eks/podIdentityAssociation:PodIdentityAssociation linear-mobile-store-pod-identity",
        "aws:iam/role:Role linear-mobile-store-role",
        "aws:iam/rolePolicy:RolePolicy linear-mobile-store-policy",
        "kubernetes:batch/v1:Job linear-mobile-v3",
        "kubernetes:core/v1:ConfigMap linear-mobile-v3-scripts",
        "kubernetes:core/v1:ServiceAccount linear-mobile",
      ].sort(),
    );
    expect(await expectValidKubernetesObjects(run)).toBe(3);
    expect(expectRestrictedPods(run)).toBe(1);
    expect(job.inputs.metadata).toMatchObject({ name: "linear-mobile-v3", namespace: "default" });
    expect(job.inputs.metadata.labels).toMatchObject({
      "app.kubernetes.io/name": "mobile-export",
      "app.kubernetes.io/instance": "linear-mobile",
      "ml-platform.io/model": "linear",
      "ml-platform.io/model-version": "3",
    });
  });

  it("runs download, conversion and upload in that order, each in the container that has what it needs", () => {
    expect(pod.initContainers.map((c: PropertyMap) => c.name)).toEqual(["fetch-version", "convert"]);
    expect(pod.containers.map((c: PropertyMap) => c.name)).toEqual(["publish"]);
    // The converter is the example trainer's TensorFlow image (the slow suite's TensorFlow); the store steps use the AWS CLI image.
    expect(MOBILE_CONVERTER_IMAGE).toBe(LINEAR_EXAMPLE_IMAGE);
    expect(convert.image).toBe("tensorflow/tensorflow:2.21.0");
    expect(fetch.image).toBe(AWS_CLI_IMAGE);
    expect(publish.image).toBe(AWS_CLI_IMAGE);
    expect(fetch.command).toEqual(["/bin/sh", "/opt/ml-platform/bin/fetch-version.sh"]);
    expect(convert.command).toEqual([
      "python3",
      "/opt/ml-platform/bin/convert_tflite.py",
      "--saved-model",
      "/var/lib/ml-platform/mobile/models/linear/3",
      "--output",
      "/var/lib/ml-platform/mobile/export",
      "--signature",
      "serving_default",
      "--optimize",
      "none",
      "--max-abs-diff",
      "0.0001",
    ]);
    expect(publish.command).toEqual(["/bin/sh", "/opt/ml-platform/bin/publish-export.sh"]);
  });

  it("gives the store steps the grant's environment and the converter none", () => {
    const store = { S3_BUCKET: BUCKET, AWS_CLI: "/usr/local/bin/aws", MODEL_NAME: "linear", MODEL_VERSION: "3", HOME: "/tmp", AWS_REGION: "us-west-2", AWS_DEFAULT_REGION: "us-west-2" };
    expect(envRecord(fetch)).toEqual({ ...store, MODELS_DIR: "/var/lib/ml-platform/mobile/models", VERSION_WAIT_SECONDS: "86400" });
    expect(envRecord(publish)).toEqual({ ...store, EXPORT_DIR: "/var/lib/ml-platform/mobile/export" });
    expect(envRecord(convert)).toEqual({ HOME: "/tmp", PYTHONUNBUFFERED: "1", TF_CPP_MIN_LOG_LEVEL: "2" });
  });

  it("runs the restricted pod: non-root, read-only root, writable scratch volumes only, the export mounted read-only for the upload", () => {
    expect(pod).toMatchObject({ serviceAccountName: "linear-mobile", automountServiceAccountToken: false, restartPolicy: "Never" });
    for (const c of [fetch, convert, publish]) expect(c.securityContext).toEqual(RESTRICTED_CONTAINER);
    expect(pod.volumes).toEqual([
      { name: "scripts", configMap: { name: "linear-mobile-v3-scripts", defaultMode: 0o555 } },
      { name: "work", emptyDir: {} },
      { name: "tmp", emptyDir: {} },
      { name: "store-tmp", emptyDir: {} },
    ]);
    expect(fetch.volumeMounts).toContainEqual({ name: "work", mountPath: "/var/lib/ml-platform/mobile" });
    expect(convert.volumeMounts).toContainEqual({ name: "work", mountPath: "/var/lib/ml-platform/mobile" });
    expect(publish.volumeMounts).toContainEqual({ name: "work", mountPath: "/var/lib/ml-platform/mobile", readOnly: true });
  });

  it("sizes the converter for TensorFlow and keeps the store steps small", () => {
    expect(convert.resources).toEqual({ requests: { cpu: "1", memory: "2Gi" }, limits: { memory: "2Gi" } });
    for (const c of [fetch, publish]) expect(c.resources).toEqual({ requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } });
  });

  it("fails the Job at once when retrying cannot help, retries store outages twice, and waits for it with Pulumi's 10 minutes", () => {
    expect(job.inputs.spec.backoffLimit).toBe(2);
    expect(job.inputs.spec.podFailurePolicy.rules).toEqual([
      { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
      { action: "FailJob", onExitCodes: { containerName: "fetch-version", operator: "In", values: [1, 2] } },
      { action: "FailJob", onExitCodes: { containerName: "convert", operator: "In", values: [1, 2] } },
      { action: "FailJob", onExitCodes: { containerName: "publish", operator: "In", values: [1] } },
    ]);
    expect(job.inputs.metadata.annotations).toEqual({ "pulumi.com/timeoutSeconds": "600" });
  });

  it("ships the scripts as they are in the package, with the serving's model-sync.sh (and its helpers) and the store's publish-version.sh", () => {
    const data = run.get("kubernetes:core/v1:ConfigMap").inputs.data as Record<string, string>;
    const sources: Record<string, string> = {
      "fetch-version.sh": MOBILE_SCRIPTS_DIR,
      "convert_tflite.py": MOBILE_SCRIPTS_DIR,
      "publish-export.sh": MOBILE_SCRIPTS_DIR,
      "model-sync.sh": SERVING_SCRIPTS_DIR,
      "publish-version.sh": STORE_SCRIPTS_DIR,
      "store-sync-lib.sh": STORE_SCRIPTS_DIR,
    };
    expect(Object.keys(data).sort()).toEqual(Object.keys(sources).sort());
    for (const [file, dir] of Object.entries(sources)) expect(data[file], file).toBe(readFileSync(join(dir, file), "utf8"));
  });

  it("creates the Job after the service account, scripts and grant, and resolves the export's URIs through it", async () => {
    for (const dependency of [run.get("kubernetes:core/v1:ServiceAccount"), run.get("kubernetes:core/v1:ConfigMap"), run.get("aws:eks/podIdentityAssociation:PodIdentityAssociation")]) {
      expect(job.dependencies).toContain(dependency.urn);
    }
    expect(await unwrap(run.result.exportUri)).toBe(`s3://${BUCKET}/mobile/linear/3/`);
    expect(await unwrap(run.result.modelFileUri)).toBe(`s3://${BUCKET}/mobile/linear/3/model.tflite`);
    expect(await unwrap(run.result.version)).toBe(3);
  });
});

describe("the export's one grant: read that version, write only its mobile prefix", async () => {
  const run = await mobileRun();
  const policy = JSON.parse(run.get("aws:iam/rolePolicy:RolePolicy").inputs.policy) as PolicyDocument;
  const allowed = (action: string, key: string) => isAllowed(policy, { action, resource: `${ARN}/${key}` });
  const lists = (prefix: string) => isAllowed(policy, { action: "s3:ListBucket", resource: ARN, context: { "s3:prefix": prefix } });

  it("is one grant of the store: { access: read, models: [], scopes: models/linear/3 read, mobile/linear/3 write }", () => {
    const grant = mobileExportGrant({ model: "linear", version: 3 }, { clusterName: "ml-prod", namespace: "default", name: "linear-mobile" });
    expect(grant).toEqual({
      access: "read",
      models: [],
      scopes: [
        { area: "models", model: "linear", version: 3, access: "read" },
        { area: "mobile", model: "linear", version: 3, access: "write" },
      ],
      serviceAccount: { clusterName: "ml-prod", namespace: "default", name: "linear-mobile" },
    });
    expect(run.ofType("aws:iam/rolePolicy:RolePolicy")).toHaveLength(1);
    expect(run.get("aws:eks/podIdentityAssociation:PodIdentityAssociation").inputs).toMatchObject({ clusterName: "ml-prod", namespace: "default", serviceAccount: "linear-mobile" });
  });

  it("reads and lists that model version only", () => {
    expect(allowed("s3:GetObject", "models/linear/3/saved_model.pb")).toBe(true);
    expect(lists("models/linear/3/")).toBe(true);
    expect(allowed("s3:GetObject", "models/linear/2/saved_model.pb")).toBe(false);
    expect(allowed("s3:GetObject", "models/linear/30/saved_model.pb")).toBe(false);
    expect(allowed("s3:GetObject", "models/other/3/saved_model.pb")).toBe(false);
    expect(allowed("s3:GetObject", "checkpoints/linear/3/ckpt-1.index")).toBe(false);
    // Not even the model's other version folders: model-sync.sh's fetch mode never lists them.
    expect(lists("models/linear/")).toBe(false);
    expect(lists("models/")).toBe(false);
  });

  it("writes only mobile/linear/3/, and never deletes or writes the model", () => {
    expect(allowed("s3:PutObject", "mobile/linear/3/model.tflite")).toBe(true);
    expect(allowed("s3:PutObject", "mobile/linear/3/_SUCCESS")).toBe(true);
    expect(allowed("s3:AbortMultipartUpload", "mobile/linear/3/model.tflite")).toBe(true);
    expect(allowed("s3:PutObject", "mobile/linear/2/model.tflite")).toBe(false);
    expect(allowed("s3:PutObject", "mobile/other/3/model.tflite")).toBe(false);
    expect(allowed("s3:PutObject", "models/linear/3/saved_model.pb")).toBe(false);
    expect(allowed("s3:PutObject", "models/linear/4/saved_model.pb")).toBe(false);
    expect(allowed("s3:DeleteObject", "mobile/linear/3/model.tflite")).toBe(false);
    expect(allowed("s3:DeleteObject", "models/linear/3/saved_model.pb")).toBe(false);
  });

  it("with a customer managed KMS key, may decrypt (read) and generate data keys (write) only", () => {
    const kms = modelAccessPolicy({
      bucketArn: ARN,
      kmsKeyArn: "arn:aws:kms:us-west-2:123456789012:key/k",
      grants: grantPrefixAccess(mobileExportGrant({ model: "linear", version: 3 }, { clusterName: "c", namespace: "n", name: "s" })),
    });
    expect(kms.Statement.find((s) => s.Sid === "UseBucketKey")).toEqual({ Sid: "UseBucketKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: "arn:aws:kms:us-west-2:123456789012:key/k" });
  });

  it("on the in-cluster store, is a SeaweedFS identity with exactly those two prefixes", async () => {
    const inCluster = await mobileRun({ namespace: "ml" }, { store: "in-cluster" });
    const patch = inCluster.get("kubernetes:core/v1:SecretPatch", "linear-mobile-store-store-identity");
    const [fragment] = Object.values(patch.inputs.data as Record<string, string>);
    const identity = JSON.parse(Buffer.from(fragment!, "base64").toString("utf8")) as { name: string; actions: string[] };
    expect(identity.actions).toEqual([
      `List:${BUCKET}/models/linear/3/*`,
      `Read:${BUCKET}/models/linear/3/*`,
      `List:${BUCKET}/mobile/linear/3/*`,
      `Read:${BUCKET}/mobile/linear/3/*`,
      `Write:${BUCKET}/mobile/linear/3/*`,
    ]);
    expect(identity.actions).toEqual(grantIdentity({ grantName: "x", bucket: BUCKET, grants: grantPrefixAccess(mobileExportGrant({ model: "linear", version: 3 }, { clusterName: "", namespace: "ml", name: "linear-mobile" })), credential: { accessKey: "a", secretKey: "b" } }).actions);
    // The store steps get the credential by reference, never by value.
    const fetch = container(podOf(inCluster), "fetch-version");
    expect(envRecord(fetch)).toMatchObject({
      AWS_ACCESS_KEY_ID: { secretKeyRef: { name: "linear-mobile-store-store-credentials", key: "AWS_ACCESS_KEY_ID" } },
      S3_ENDPOINT: "http://models.ml.svc.cluster.local:8333",
    });
    expect(envRecord(container(podOf(inCluster), "convert"))).not.toHaveProperty("AWS_ACCESS_KEY_ID");
    // The grant's check Job (the server accepts the credential) comes before the export's Job.
    expect(inCluster.get(JOB_TYPE, "linear-mobile-v3").dependencies).toContain(inCluster.get(JOB_TYPE, "linear-mobile-store-store-check").urn);
    expect(expectRestrictedPods(inCluster)).toBeGreaterThanOrEqual(2);
  });
});

describe("MobileExport options", () => {
  it("float16 with the converter's default threshold for it, another signature, more memory, and no wait", async () => {
    const run = await mobileRun({ optimize: "float16", signature: "predict", resources: { memory: "6Gi" }, wait: { until: "created" }, versionWaitMinutes: 30 });
    const pod = podOf(run);
    const command = container(pod, "convert").command as string[];
    expect(command.slice(command.indexOf("--signature"))).toEqual(["--signature", "predict", "--optimize", "float16", "--max-abs-diff", String(MOBILE_DEFAULT_MAX_ABS_DIFF.float16)]);
    expect(String(MOBILE_DEFAULT_MAX_ABS_DIFF.float16)).toBe("0.01");
    expect(container(pod, "convert").resources).toEqual({ requests: { cpu: "1", memory: "6Gi" }, limits: { memory: "6Gi" } });
    expect(envRecord(container(pod, "fetch-version")).VERSION_WAIT_SECONDS).toBe("1800");
    expect(run.get(JOB_TYPE).inputs.metadata.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
    expect(run.result.spec.maxAbsDiff).toBe(0.01);
  });

  it("a threshold of its own, and sample inputs shipped beside the scripts", async () => {
    const samples = [{ x: [[0], [1], [2]] }, { x: [[-1]] }];
    const run = await mobileRun({ optimize: "dynamic-range", maxAbsDiff: 0.001, sampleInputs: samples });
    const command = container(podOf(run), "convert").command as string[];
    expect(command.slice(command.indexOf("--optimize"))).toEqual(["--optimize", "dynamic-range", "--max-abs-diff", "0.001", "--sample-inputs", "/opt/ml-platform/bin/sample-inputs.json"]);
    const data = run.get("kubernetes:core/v1:ConfigMap").inputs.data as Record<string, string>;
    expect(JSON.parse(data["sample-inputs.json"]!)).toEqual(samples);
    expect(await expectValidKubernetesObjects(run)).toBe(3);
  });

  it("images, pull secrets, retries, deadlines and a transform", async () => {
    const run = await mobileRun({
      converterImage: "registry.example.com/tf-lite:2.21.0-custom",
      storeImage: "registry.example.com/aws-cli@sha256:" + "a".repeat(64),
      imagePullSecrets: ["registry"],
      backoffLimit: 0,
      activeDeadlineSeconds: 3600,
      ttlSecondsAfterFinished: 86400,
      transform: { job: (job) => ({ ...job, metadata: { ...job.metadata, labels: { ...job.metadata.labels, team: "mobile" } } }) },
    });
    const job = run.get(JOB_TYPE);
    const pod = podOf(run);
    expect(container(pod, "convert").image).toBe("registry.example.com/tf-lite:2.21.0-custom");
    expect(container(pod, "publish").image).toBe(`registry.example.com/aws-cli@sha256:${"a".repeat(64)}`);
    expect(pod.imagePullSecrets).toEqual([{ name: "registry" }]);
    expect(job.inputs.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 86400 });
    expect(job.inputs.metadata.labels.team).toBe("mobile");
  });
});
