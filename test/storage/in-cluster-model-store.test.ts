import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ComponentValidationError } from "../../components/common/validation";
import type { ModelAccessGrantArgs } from "../../components/storage/model-store-backend";
import { InClusterModelStore, type InClusterModelStoreArgs } from "../../components/storage/in-cluster/in-cluster-model-store";
import { SEAWEEDFS_IMAGE, seaweedServerArgs } from "../../components/storage/in-cluster/in-cluster-store-specs";
import { grantActions, s3Configuration, type SeaweedIdentity } from "../../components/storage/in-cluster/seaweedfs-identities";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import { expectRestrictedPods } from "../harness/pod-security";
import { type MockRun, type RecordedResource, DYNAMIC_RESOURCE, mockStoreCredential, runInMocks, unwrap } from "../harness/pulumi-mocks";
import { seaweedAllows } from "../harness/seaweedfs-actions";

/* eslint-disable @typescript-eslint/no-explicit-any -- recorded Kubernetes objects are JSON trees */

const STORE = "ml-platform:storage:InClusterModelStore";
const serving = { clusterName: "local", namespace: "serving", name: "linear-serving" };
const training = { clusterName: "local", namespace: "training", name: "linear-trainer" };

function decode(value: string): string {
  return Buffer.from(value, "base64").toString("utf8");
}

/** The identity a grant added to the store's identities Secret. */
function grantIdentityOf(run: MockRun<unknown>, grantName: string): SeaweedIdentity {
  const patch = run.get("kubernetes:core/v1:SecretPatch", `${grantName}-store-identity`);
  return JSON.parse(decode(patch.inputs.data[`grant-${grantName}.json`])) as SeaweedIdentity;
}

/** Every value the mocks generated for the random credentials of a run. */
function generatedSecrets(run: MockRun<unknown>): string[] {
  return run.ofType(DYNAMIC_RESOURCE).flatMap((r) => Object.values(mockStoreCredential(r.name)));
}

function containersOf(resource: RecordedResource): any[] {
  const spec = resource.inputs.spec?.template?.spec ?? {};
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

async function storeWithGrants(args: InClusterModelStoreArgs = {}) {
  return runInMocks(() => {
    const store = new InClusterModelStore("models", args);
    const read = store.grantAccess("linear-serving", { access: "read", models: ["linear"], serviceAccount: serving });
    const write = store.grantAccess("linear-training", { access: "write", models: ["linear"], checkpoints: true, serviceAccount: training });
    return { store, read, write };
  });
}

describe("InClusterModelStore resources", () => {
  it("declares a SeaweedFS server with storage, Service, bucket job and identities, no AWS resource, all schema-valid and restricted", async () => {
    const run = await runInMocks(() => new InClusterModelStore("models"));
    expect(run.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    const store = run.get(STORE, "models");
    expect(
      run
        .childrenOf(store)
        .map((r) => `${r.type} ${r.name}`)
        .sort(),
    ).toEqual(
      [
        "kubernetes:apps/v1:Deployment models",
        "kubernetes:batch/v1:Job models-create-bucket",
        "kubernetes:core/v1:ConfigMap models-scripts",
        "kubernetes:core/v1:PersistentVolumeClaim models-data",
        "kubernetes:core/v1:Secret models-admin-credentials",
        "kubernetes:core/v1:Secret models-identities",
        "kubernetes:core/v1:Service models",
        `${DYNAMIC_RESOURCE} models-admin-credential`,
      ].sort(),
    );
    expect(await expectValidKubernetesObjects(run)).toBe(7);
    // The server Deployment and the bucket Job.
    expect(expectRestrictedPods(run)).toBe(2);
  });

  it("uses sensible defaults: 10Gi claim on the default class, pinned image, models bucket, us-east-1, endpoint of the Service", async () => {
    const run = await runInMocks(() => new InClusterModelStore("models"));
    const pvc = run.get("kubernetes:core/v1:PersistentVolumeClaim").inputs;
    expect(pvc.metadata).toMatchObject({ name: "models-data", namespace: "default" });
    expect(pvc.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } });

    const deployment = run.get("kubernetes:apps/v1:Deployment").inputs;
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: "Recreate" });
    const pod = deployment.spec.template.spec;
    expect(pod.shareProcessNamespace).toBe(true);
    expect(pod.automountServiceAccountToken).toBe(false);
    const server = pod.containers.find((c: any) => c.name === "seaweedfs");
    expect(server.image).toBe(SEAWEEDFS_IMAGE);
    expect(SEAWEEDFS_IMAGE).toMatch(/^chrislusf\/seaweedfs:\d+\.\d+$/);
    expect(server.args).toEqual(seaweedServerArgs());
    expect(server.args).toEqual(expect.arrayContaining(["-ip.bind=127.0.0.1", "-s3.ip.bind=0.0.0.0", "-s3.config=/run/seaweedfs/s3.json", "-master.telemetry=false"]));
    expect(server.resources).toEqual({ requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } });
    expect(server.readinessProbe.httpGet).toEqual({ path: "/healthz", port: "s3" });
    expect(server.startupProbe.failureThreshold * server.startupProbe.periodSeconds).toBeGreaterThanOrEqual(120);
    expect(pod.containers.find((c: any) => c.name === "identity-reloader").command.slice(-1)).toEqual(["10"]);
    // Read-only root filesystems everywhere; writes go to the claim and emptyDirs.
    for (const c of [...containersOf(run.get("kubernetes:apps/v1:Deployment")), ...containersOf(run.get("kubernetes:batch/v1:Job"))]) {
      expect(c.securityContext.readOnlyRootFilesystem, c.name).toBe(true);
    }
    expect(pod.volumes.find((v: any) => v.name === "s3-config").emptyDir).toEqual({ medium: "Memory", sizeLimit: "1Mi" });

    const service = run.get("kubernetes:core/v1:Service").inputs;
    expect(service.spec.type).toBe("ClusterIP");
    expect(service.spec.ports).toEqual([{ name: "s3", port: 8333, targetPort: "s3", protocol: "TCP", appProtocol: "http" }]);

    const store = run.result;
    expect(await unwrap(store.bucketName)).toBe("models");
    expect(await unwrap(store.region)).toBe("us-east-1");
    expect(await unwrap(store.endpoint)).toBe("http://models.default.svc.cluster.local:8333");
    expect(await unwrap(store.modelUri("linear", 1))).toBe("s3://models/models/linear/1/");
    expect(() => store.modelUri("Linear")).toThrow(/model name "Linear"/);

    const job = run.get("kubernetes:batch/v1:Job").inputs;
    expect(job.spec.template.spec.containers[0].command.slice(-1)).toEqual(["create-bucket"]);
    expect(job.spec.template.spec.containers[0].env).toEqual(
      expect.arrayContaining([
        { name: "S3_BUCKET", value: "models" },
        { name: "S3_ENDPOINT", value: "http://models.default.svc.cluster.local:8333" },
        { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "models-admin-credentials", key: "AWS_ACCESS_KEY_ID" } } },
      ]),
    );
    // The job runs after the server is up and the Service exists.
    const jobResource = run.get("kubernetes:batch/v1:Job");
    expect(jobResource.dependencies).toEqual(expect.arrayContaining([run.get("kubernetes:apps/v1:Deployment").urn, run.get("kubernetes:core/v1:Service").urn]));
  });

  it("honours namespace, bucket, region, storage and resources", async () => {
    const run = await runInMocks(
      () =>
        new InClusterModelStore("store", {
          namespace: "ml",
          bucketName: "local-models",
          region: "eu-west-1",
          storageSize: "50Gi",
          storageClassName: "local-path",
          resources: { memory: "512Mi" },
          identityReloadSeconds: 5,
        }),
    );
    const pvc = run.get("kubernetes:core/v1:PersistentVolumeClaim").inputs;
    expect(pvc.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "50Gi" } }, storageClassName: "local-path" });
    for (const object of run.kubernetesObjects()) expect(object.inputs.metadata.namespace, object.name).toBe("ml");
    const server = run.get("kubernetes:apps/v1:Deployment").inputs.spec.template.spec.containers[0];
    expect(server.resources).toEqual({ requests: { cpu: "100m", memory: "512Mi" }, limits: { memory: "1Gi" } });
    expect(await unwrap(run.result.endpoint)).toBe("http://store.ml.svc.cluster.local:8333");
    expect(await unwrap(run.result.bucketName)).toBe("local-models");
    expect(await unwrap(run.result.region)).toBe("eu-west-1");
    await expectValidKubernetesObjects(run);
  });

  it("keeps the admin credential in Secrets marked secret, and its identity has full access", async () => {
    const run = await runInMocks(() => new InClusterModelStore("models"));
    const identities = run.get("kubernetes:core/v1:Secret", "models-identities");
    expect(identities.secretPaths).toContain("data");
    const admin = JSON.parse(decode(identities.inputs.data["admin.json"])) as SeaweedIdentity;
    expect(admin.actions).toEqual(["Admin"]);
    const generated = mockStoreCredential("models-admin-credential");
    expect(admin.credentials).toEqual([{ accessKey: generated.accessKeyId, secretKey: generated.secretAccessKey }]);
    const credentials = run.get("kubernetes:core/v1:Secret", "models-admin-credentials");
    expect(credentials.secretPaths).toContain("data");
    expect(decode(credentials.inputs.data.AWS_ACCESS_KEY_ID)).toBe(admin.credentials[0].accessKey);
    const credential = run.get(DYNAMIC_RESOURCE, "models-admin-credential");
    expect(credential.inputs).toMatchObject({ accessKeyIdLength: 20, secretAccessKeyLength: 40 });
  });
});

describe("InClusterModelStore.grantAccess", () => {
  it("gives a read grant a credential in the workload namespace, referenced from env, and an identity that cannot write", async () => {
    const run = await storeWithGrants();
    const { read } = run.result;
    expect(await unwrap(read.env)).toEqual([
      { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "linear-serving-store-credentials", key: "AWS_ACCESS_KEY_ID" } } },
      { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "linear-serving-store-credentials", key: "AWS_SECRET_ACCESS_KEY" } } },
      { name: "AWS_REGION", value: "us-east-1" },
      { name: "AWS_DEFAULT_REGION", value: "us-east-1" },
      { name: "S3_ENDPOINT", value: "http://models.default.svc.cluster.local:8333" },
    ]);
    const secret = run.get("kubernetes:core/v1:Secret", "linear-serving-store-credentials");
    expect(secret.inputs.metadata).toMatchObject({ name: "linear-serving-store-credentials", namespace: "serving" });
    expect(secret.secretPaths).toContain("data");
    expect(read.resources.map((r) => r)).toEqual([read.credentials, read.identity, read.check]);

    const identity = grantIdentityOf(run, "linear-serving");
    expect(identity.name).toBe("grant-linear-serving");
    expect(identity.credentials).toEqual([
      { accessKey: decode(secret.inputs.data.AWS_ACCESS_KEY_ID), secretKey: decode(secret.inputs.data.AWS_SECRET_ACCESS_KEY) },
    ]);
    const can = (action: "Read" | "Write" | "List", key: string, bucket = "models") => seaweedAllows(identity.actions, { action, bucket, key });
    expect(can("List", "models/linear/")).toBe(true);
    expect(can("Read", "models/linear/1/saved_model.pb")).toBe(true);
    expect(can("Write", "models/linear/2/saved_model.pb")).toBe(false);
    expect(can("Read", "models/linear-v2/1/saved_model.pb")).toBe(false);
    expect(can("Read", "models/other/1/saved_model.pb")).toBe(false);
    expect(can("List", "models/")).toBe(false);
    expect(can("Read", "checkpoints/linear/1/ckpt")).toBe(false);
    expect(can("Read", "models/linear/1/saved_model.pb", "other-bucket")).toBe(false);
    expect(identity.actions).not.toContain("Admin");
  });

  it("scopes a write grant to its models (and their checkpoints when asked)", async () => {
    const run = await storeWithGrants();
    const identity = grantIdentityOf(run, "linear-training");
    const can = (action: "Read" | "Write" | "List", key: string) => seaweedAllows(identity.actions, { action, bucket: "models", key });
    expect(can("Write", "models/linear/3/saved_model.pb")).toBe(true);
    expect(can("Write", "models/linear/3/_SUCCESS")).toBe(true);
    expect(can("Write", "checkpoints/linear/3/ckpt-1.index")).toBe(true);
    expect(can("List", "checkpoints/linear/3/")).toBe(true);
    expect(can("Write", "models/other/1/_SUCCESS")).toBe(false);
    expect(can("Write", "checkpoints/other/1/ckpt")).toBe(false);
    expect(can("Write", "linear/3/saved_model.pb")).toBe(false);
    expect(identity.actions).toEqual(grantActions("models", "write", ["models/linear/", "checkpoints/linear/"]));
  });

  it("gives a scoped grant each area with its own access: read one version, write only its mobile folder", async () => {
    const run = await runInMocks(() =>
      new InClusterModelStore("models").grantAccess("linear-mobile", {
        access: "read",
        models: [],
        scopes: [
          { area: "models", model: "linear", version: 3, access: "read" },
          { area: "mobile", model: "linear", version: 3, access: "write" },
        ],
        serviceAccount: training,
      }),
    );
    const identity = grantIdentityOf(run, "linear-mobile");
    const can = (action: "Read" | "Write" | "List", key: string) => seaweedAllows(identity.actions, { action, bucket: "models", key });
    expect(can("Read", "models/linear/3/saved_model.pb")).toBe(true);
    expect(can("List", "models/linear/3/")).toBe(true);
    expect(can("Write", "mobile/linear/3/model.tflite")).toBe(true);
    expect(can("Write", "models/linear/3/saved_model.pb")).toBe(false);
    expect(can("Read", "models/linear/30/saved_model.pb")).toBe(false);
    expect(can("Write", "mobile/linear/4/model.tflite")).toBe(false);
    // The grant's check Job tries the first prefix it covers.
    expect(JSON.stringify(run.get("kubernetes:batch/v1:Job", "linear-mobile-store-check").inputs)).toContain("models/linear/3/");
  });

  it("adds the identity to the store's Secret with a patch, and checks the credential before workloads use it", async () => {
    const run = await storeWithGrants();
    const patch = run.get("kubernetes:core/v1:SecretPatch", "linear-serving-store-identity");
    expect(patch.inputs.metadata).toEqual({ name: "models-identities", namespace: "default" });
    expect(Object.keys(patch.inputs.data)).toEqual(["grant-linear-serving.json"]);
    expect(patch.secretPaths).toContain("data");
    expect(patch.dependencies).toContain(run.get("kubernetes:core/v1:Secret", "models-identities").urn);

    const check = run.get("kubernetes:batch/v1:Job", "linear-serving-store-check");
    expect(check.inputs.metadata.namespace).toBe("serving");
    const container = check.inputs.spec.template.spec.containers[0];
    expect(container.command.slice(-2)).toEqual(["wait-for-access", "models/linear/"]);
    expect(container.env).toEqual(
      expect.arrayContaining([{ name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "linear-serving-store-credentials", key: "AWS_SECRET_ACCESS_KEY" } } }]),
    );
    expect(check.dependencies).toEqual(expect.arrayContaining([patch.urn, run.get("kubernetes:batch/v1:Job", "models-create-bucket").urn]));
    expect(run.get("kubernetes:core/v1:ConfigMap", "linear-serving-store-check").inputs.metadata.namespace).toBe("serving");

    // Grants belong to the store unless the caller names a parent.
    expect(run.parentOf(check)?.type).toBe(STORE);
    expect(await expectValidKubernetesObjects(run)).toBe(15);
    // Server, bucket job, and one check job per grant.
    expect(expectRestrictedPods(run)).toBe(4);
  });

  it("parents grant resources to opts.parent", async () => {
    const run = await runInMocks(() => {
      const store = new InClusterModelStore("models");
      const parent = new pulumi.ComponentResource("test:index:Serving", "serving");
      return store.grantAccess("linear", { access: "read", models: ["linear"], serviceAccount: serving }, { parent });
    });
    expect(run.parentOf(run.get("kubernetes:core/v1:Secret", "linear-store-credentials"))?.type).toBe("test:index:Serving");
    expect(run.parentOf(run.get("kubernetes:core/v1:SecretPatch"))?.type).toBe("test:index:Serving");
  });

  it("never puts a credential value in env values, ConfigMaps or outputs", async () => {
    const run = await storeWithGrants();
    const secrets = generatedSecrets(run);
    expect(secrets).toHaveLength(6);
    const { store, read, write } = run.result;
    const exposed = JSON.stringify({
      configMaps: run.ofType("kubernetes:core/v1:ConfigMap").map((r) => r.inputs),
      env: run.kubernetesObjects().flatMap((r) => containersOf(r).flatMap((c) => c.env ?? [])),
      grantEnv: [await unwrap(read.env), await unwrap(write.env)],
      outputs: await unwrap(
        pulumi.all([store.bucketName, store.region, store.endpoint, store.namespace, store.serviceName, store.adminCredentialsSecretName]),
      ),
      nonSecretObjects: run
        .kubernetesObjects()
        .filter((r) => !r.type.includes(":Secret"))
        .map((r) => r.inputs),
    });
    for (const secret of secrets) {
      expect(exposed).not.toContain(secret);
      expect(exposed).not.toContain(Buffer.from(secret).toString("base64"));
    }
    // Every value in the env of workloads and jobs that looks like a credential comes from a Secret.
    for (const env of [...(await unwrap(read.env)), ...run.kubernetesObjects().flatMap((r) => containersOf(r).flatMap((c) => c.env ?? []))]) {
      if (/KEY/.test(env.name)) expect(env.valueFrom?.secretKeyRef, env.name).toBeDefined();
    }
    // Objects that carry credentials are marked secret.
    for (const r of [...run.ofType("kubernetes:core/v1:Secret"), ...run.ofType("kubernetes:core/v1:SecretPatch")]) {
      expect(r.secretPaths, r.name).toContain("data");
    }
  });
});

describe("InClusterModelStore validation", () => {
  async function failure(program: () => void) {
    let error: unknown;
    const run = await runInMocks(() => {
      try {
        program();
      } catch (err) {
        error = err;
      }
    });
    expect(error).toBeInstanceOf(ComponentValidationError);
    return { message: (error as Error).message, run };
  }

  it("reports every bad store argument at once, before declaring anything", async () => {
    const { message, run } = await failure(
      () =>
        new InClusterModelStore("models", {
          namespace: "ML",
          bucketName: "Models_Bucket",
          storageSize: "ten gigs",
          image: "chrislusf/seaweedfs:latest",
          resources: { cpu: "lots" },
          identityReloadSeconds: 0,
          region: "US East",
        }),
    );
    expect(run.resources).toEqual([]);
    expect(message).toMatch(/InClusterModelStore "models"/);
    expect(message).toMatch(/namespace: "ML" must be 1-63 lowercase letters/);
    expect(message).toMatch(/bucketName: "Models_Bucket" may contain only lowercase letters/);
    expect(message).toMatch(/storageSize: "ten gigs" is not a positive Kubernetes quantity; use e.g. "512Mi" or "4Gi"/);
    expect(message).toMatch(/image: "chrislusf\/seaweedfs:latest" must be pinned/);
    expect(message).toMatch(/resources\.cpu: "lots" is not a positive Kubernetes quantity; use e.g. "500m" or "2"/);
    expect(message).toMatch(/identityReloadSeconds: must be an integer from 1 to 3600 \(got 0\)/);
    expect(message).toMatch(/region: "US East" must be/);
  });

  it("rejects bad grants, naming the field, and declares nothing for them", async () => {
    const grant = (name: string, args: Partial<ModelAccessGrantArgs>) => () => {
      const store = new InClusterModelStore("models");
      store.grantAccess(name, { access: "read", models: ["linear"], serviceAccount: serving, ...args } as ModelAccessGrantArgs);
    };
    const bad = await failure(grant("Bad_Name", { access: "admin" as "read", models: ["Linear Model"], serviceAccount: { clusterName: "c", namespace: "", name: "" } }));
    expect(bad.message).toMatch(/grantAccess\("Bad_Name"\)/);
    expect(bad.message).toMatch(/name: grant name "Bad_Name" must be/);
    expect(bad.message).toMatch(/access: must be "read", "write" \(got "admin"\)/);
    expect(bad.message).toMatch(/models\[0\]: model name "Linear Model" is invalid/);
    expect(bad.message).toMatch(/serviceAccount\.namespace: is required/);
    expect(bad.message).toMatch(/serviceAccount\.name: is required/);
    expect(bad.run.ofType("kubernetes:core/v1:SecretPatch")).toEqual([]);

    expect((await failure(grant("g", { models: [] }))).message).toMatch(/models: must name at least one model \(or give scopes\)/);
    expect((await failure(grant("g", { models: [], scopes: [{ area: "logs", model: "x", access: "delete" as "read" }] }))).message).toMatch(
      /scopes\[0\]\.access: must be "read", "write" \(got "delete"\)/,
    );

    const duplicate = await failure(() => {
      const store = new InClusterModelStore("models");
      store.grantAccess("g", { access: "read", models: ["a"], serviceAccount: serving });
      store.grantAccess("g", { access: "write", models: ["a"], serviceAccount: training });
    });
    expect(duplicate.message).toMatch(/name: grant "g" is already declared on this store/);
  });
});

describe("SeaweedFS identity builders", () => {
  it("requires prefixes that end in a slash, so one model never covers another", () => {
    expect(grantActions("b", "read", ["models/a/"])).toEqual(["List:b/models/a/*", "Read:b/models/a/*"]);
    expect(() => grantActions("b", "read", ["models/a"])).toThrow(/must end with "\/"/);
    expect(() => grantActions("b", "read", [])).toThrow(/at least one prefix/);
  });

  it("refuses duplicate identity names in a configuration", () => {
    const id: SeaweedIdentity = { name: "x", credentials: [], actions: [] };
    expect(() => s3Configuration([id, id])).toThrow(/duplicate identity "x"/);
    expect(s3Configuration([id])).toEqual({ identities: [id] });
  });
});
