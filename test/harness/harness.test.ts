import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { expectValidKubernetesObjects, registerCustomResourceValidator, validateKubernetesObject } from "./kubernetes-schema";
import { runInMocks, unwrap } from "./pulumi-mocks";

const deployment = () => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web" },
  spec: {
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "web", image: "nginx:1.27", ports: [{ containerPort: 80, name: "http" }] }] },
    },
  },
});

describe("validateKubernetesObject", () => {
  it("accepts a valid object", async () => {
    expect(await validateKubernetesObject(deployment())).toEqual([]);
  });

  it("catches wrong types and missing required fields", async () => {
    const bad = deployment();
    const container: Record<string, unknown> = bad.spec.template.spec.containers[0];
    container.ports = [{ containerPort: "80" }];
    delete container.name;
    const problems = await validateKubernetesObject(bad);
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(["/spec/template/spec/containers/0/ports/0/containerPort", "/spec/template/spec/containers/0"]),
    );
  });

  it("catches unknown fields, which the OpenAPI schema alone lets through", async () => {
    const bad = { ...deployment(), spec: { ...deployment().spec, replicass: 2 } };
    const problems = await validateKubernetesObject(bad);
    expect(problems).toEqual([{ object: "Deployment/web", path: "spec.replicass", message: 'unknown field "replicass" (not in V1DeploymentSpec)' }]);
  });

  it("checks unknown fields inside maps and lists", async () => {
    const bad = deployment();
    (bad.spec.template.spec.containers[0] as Record<string, unknown>).resource = { limits: { cpu: "1" } };
    const problems = await validateKubernetesObject(bad);
    expect(problems.map((p) => p.path)).toEqual(["spec.template.spec.containers[0].resource"]);
  });

  it("refuses kinds it has no schema for, and uses registered custom validators", async () => {
    const widget = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } };
    expect((await validateKubernetesObject(widget))[0].message).toMatch(/no schema for example\.com\/v1 Widget/);
    registerCustomResourceValidator("example.com/v1", "Widget", (obj) => (obj.spec ? [] : [{ path: "spec", message: "required" }]));
    expect(await validateKubernetesObject(widget)).toEqual([{ object: "Widget/w", path: "spec", message: "required" }]);
  });
});

describe("runInMocks", () => {
  it("records types, names, parents, options and secret inputs of every resource", async () => {
    const run = await runInMocks(() => {
      const parent = new pulumi.ComponentResource("test:index:Parent", "parent");
      const cm = new k8s.core.v1.ConfigMap(
        "config",
        { metadata: { name: "config" }, data: { token: pulumi.secret("s3cr3t"), plain: "x" } },
        { parent, protect: true, retainOnDelete: true, ignoreChanges: ["data"] },
      );
      return cm;
    });
    const parent = run.get("test:index:Parent");
    const configMap = run.get("kubernetes:core/v1:ConfigMap", "config");
    expect(parent.custom).toBe(false);
    expect(configMap.custom).toBe(true);
    expect(run.parentOf(configMap)?.urn).toBe(parent.urn);
    expect(run.childrenOf(parent)).toEqual([configMap]);
    expect([configMap.protect, configMap.retainOnDelete, configMap.ignoreChanges]).toEqual([true, true, ["data"]]);
    expect(configMap.inputs.data).toEqual({ token: "s3cr3t", plain: "x" });
    // Pulumi marks the whole object that holds a secret as secret.
    expect(configMap.secretPaths).toEqual(["data"]);
    expect(await unwrap(run.result.metadata.name)).toBe("config");
    expect(await expectValidKubernetesObjects(run)).toBe(1);
  });

  it("fails loudly on an invoke it has no mock for", async () => {
    await expect(
      runInMocks(async () => {
        await pulumi.runtime.invoke("aws:ec2/getVpc:getVpc", {});
      }),
    ).rejects.toThrow(/no mock for invoke aws:ec2\/getVpc:getVpc/);
  });

  it("is deterministic: two runs register the same resources with the same inputs", async () => {
    const program = () => new k8s.core.v1.Namespace("ml", { metadata: { name: "ml" } });
    const first = await runInMocks(program);
    const second = await runInMocks(program);
    expect(second.resources).toEqual(first.resources);
  });
});
