/**
 * The pure parts of the local-stack commands, and the committed stacks/Pulumi.local.yaml they rely on:
 * its encryptionsalt must belong to the documented passphrase, or `pulumi stack init` fails ("incorrect
 * passphrase") on every fresh clone.
 */
import { createDecipheriv, pbkdf2Sync } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { checkArchitectures, checkSameContext } from "../../local/cluster";
import { PROJECT_DIR } from "../../local/context";
import { forwardedPort, serviceAddress } from "../../local/port-forward";
import { LOCAL_STACK_PASSPHRASE, isLocalStackName } from "../../local/pulumi";
import { localStackConfigPath, localStackFacts, readLocalStackConfig } from "../../local/stack-config";
import { TF_SERVING_IMAGE } from "../../components/serving/images";
import { LINEAR_EXAMPLE_IMAGE } from "../../components/training/linear-example";

/**
 * Whether a passphrase unlocks a Pulumi `encryptionsalt` (`v1:<salt>:v1:<nonce>:<ciphertext>`): the key is
 * PBKDF2-SHA256 of the passphrase and salt (1,000,000 iterations, 32 bytes), and the ciphertext is
 * "pulumi" sealed with AES-256-GCM (16-byte tag appended), as in Pulumi's passphrase secrets manager.
 */
function unlocks(passphrase: string, encryptionSalt: string): boolean {
  const [version, salt, valueVersion, nonce, sealed] = encryptionSalt.split(":");
  if (version !== "v1" || valueVersion !== "v1" || !salt || !nonce || !sealed) return false;
  const key = pbkdf2Sync(passphrase, Buffer.from(salt, "base64"), 1_000_000, 32, "sha256");
  const data = Buffer.from(sealed, "base64");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
  decipher.setAuthTag(data.subarray(data.length - 16));
  try {
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8") === "pulumi";
  } catch {
    return false;
  }
}

describe("stacks/Pulumi.local.yaml", () => {
  const document = parse(readFileSync(localStackConfigPath(PROJECT_DIR), "utf8")) as { encryptionsalt?: string };

  it("carries the encryptionsalt of the documented passphrase, so stack init leaves the file as committed", () => {
    expect(document.encryptionsalt).toMatch(/^v1:/);
    expect(unlocks(LOCAL_STACK_PASSPHRASE, document.encryptionsalt!)).toBe(true);
    expect(unlocks(`${LOCAL_STACK_PASSPHRASE}-not`, document.encryptionsalt!)).toBe(false);
  });

  it("uses the current kubeconfig context and runs amd64-only images in its serving, its training and its mobile export", () => {
    expect(readLocalStackConfig(PROJECT_DIR)).toEqual({
      amd64OnlyWorkloads: [`serving "linear" (${TF_SERVING_IMAGE})`, `training "linear-train" (${LINEAR_EXAMPLE_IMAGE})`, `mobile export "linear-mobile" (${LINEAR_EXAMPLE_IMAGE})`],
    });
  });
});

describe("localStackFacts", () => {
  it("takes the context from ml-platform:cluster, and counts only default images as amd64-only", () => {
    const facts = localStackFacts({
      "ml-platform:cluster": { type: "local", context: "k3d-ml" },
      "ml-platform:servings": [{ name: "a" }, { name: "b", image: "registry.example.com/tf-serving-arm64:2.19.1" }],
      "ml-platform:trainings": [{ name: "t", example: { name: "linear" } }, { name: "u", image: "registry.example.com/trainer:1.0" }],
      "ml-platform:mobileExports": [
        { name: "m", store: "s", model: "linear", version: 1 },
        { name: "n", store: "s", model: "linear", version: 1, converterImage: "registry.example.com/tf-arm64:2.21.0" },
      ],
    });
    expect(facts).toEqual({
      context: "k3d-ml",
      amd64OnlyWorkloads: [`serving "a" (${TF_SERVING_IMAGE})`, `training "t" (${LINEAR_EXAMPLE_IMAGE})`, `mobile export "m" (${LINEAR_EXAMPLE_IMAGE})`],
    });
    expect(localStackFacts({})).toEqual({ amd64OnlyWorkloads: [] });
  });
});

describe("checks", () => {
  const config = { amd64OnlyWorkloads: ['serving "linear" (tensorflow/serving:2.19.1)'] };

  it("accepts a cluster with an amd64 node among others, and any cluster when nothing is amd64-only", () => {
    expect(() => checkArchitectures(["arm64", "amd64"], config)).not.toThrow();
    expect(() => checkArchitectures(["arm64"], { amd64OnlyWorkloads: [] })).not.toThrow();
    expect(() => checkArchitectures(["arm64"], config)).toThrow(/no amd64 node \(its nodes: arm64\), but serving "linear" \(tensorflow\/serving:2\.19\.1\) run images/);
  });

  it("accepts the recorded context or none, and refuses another", () => {
    expect(() => checkSameContext(undefined, "kind-ml")).not.toThrow();
    expect(() => checkSameContext("kind-ml", "kind-ml")).not.toThrow();
    expect(() => checkSameContext("kind-ml", "prod")).toThrow(/deployed with kubeconfig context "kind-ml", but the commands would now use "prod"/);
  });

  it("recognises the local stack's name as the file backend lists it", () => {
    expect(["local", "organization/ml-platform/local", "locally", "dev"].map(isLocalStackName)).toEqual([true, true, false, false]);
  });
});

describe("port-forward helpers", () => {
  it("reads the Service, namespace and port from an endpoint's in-cluster address", () => {
    expect(serviceAddress({ name: "linear", grpc: "linear.ml.svc.cluster.local:8500", models: [] })).toEqual({ service: "linear", namespace: "ml", port: 8500 });
    expect(serviceAddress({ name: "x", grpc: "x-y.team-a.svc:9000", models: [] })).toEqual({ service: "x-y", namespace: "team-a", port: 9000 });
    expect(() => serviceAddress({ name: "ext", grpc: "10.0.0.7:8500", models: [] })).toThrow(/endpoint "ext" has the address 10\.0\.0\.7:8500, which is not an in-cluster Service/);
  });

  it("reads the local port kubectl chose", () => {
    expect(forwardedPort("Forwarding from 127.0.0.1:41235 -> 8500\nForwarding from [::1]:41235 -> 8500\n")).toBe(41235);
    expect(forwardedPort("Forwarding from [::1]:41235 -> 8500\n")).toBeUndefined();
    expect(forwardedPort("")).toBeUndefined();
  });
});
