import { describe, expect, it } from "vitest";
import { StoreCredential } from "../../components/storage/in-cluster/store-credential";
import { DYNAMIC_RESOURCE, runInMocks } from "../harness/pulumi-mocks";

/** The provider the resource hands to Pulumi: what the engine runs on `pulumi up` (serialized into the state). */
async function providerOf(): Promise<{ inputs: Record<string, unknown>; additionalSecretOutputs: string[]; provider: string }> {
  const run = await runInMocks(() => new StoreCredential("models-admin-credential"));
  const recorded = run.get(DYNAMIC_RESOURCE, "models-admin-credential");
  return { inputs: recorded.inputs, additionalSecretOutputs: recorded.additionalSecretOutputs, provider: recorded.inputs.__provider as string };
}

/** Evaluates the serialized provider the way Pulumi's dynamic-provider host does (a module exporting `handler`). */
function load(serialized: string): { create: (inputs: unknown) => Promise<{ id: string; outs: Record<string, unknown> }>; diff: (id: string, olds: unknown, news: unknown) => Promise<{ changes: boolean; replaces: string[] }> } {
  const module = { exports: {} as Record<string, unknown> };
  new Function("module", "exports", "require", serialized)(module, module.exports, require);
  return (module.exports.handler as () => never)();
}

describe("StoreCredential (the in-cluster store's generated credentials, no provider plugin)", () => {
  it("registers as a dynamic resource whose credential outputs the engine keeps secret", async () => {
    const { inputs, additionalSecretOutputs } = await providerOf();
    expect(additionalSecretOutputs.sort()).toEqual(["accessKeyId", "secretAccessKey"]);
    expect(inputs).toMatchObject({ accessKeyIdLength: 20, secretAccessKeyLength: 40 });
  });

  it("creates AWS-shaped, distinct credentials from the serialized provider the engine runs", async () => {
    const { inputs, provider } = await providerOf();
    const { create } = load(provider);
    const first = await create(inputs);
    const second = await create(inputs);
    expect(first.outs.accessKeyId).toMatch(/^[A-Z0-9]{20}$/);
    expect(first.outs.secretAccessKey).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(first.id).not.toBe(second.id);
    expect(first.outs.accessKeyId).not.toBe(second.outs.accessKeyId);
    expect(first.outs.secretAccessKey).not.toBe(second.outs.secretAccessKey);
  });

  it("keeps a credential across updates, and makes a new one only when its shape changes", async () => {
    const { inputs, provider } = await providerOf();
    const { create, diff } = load(provider);
    const { id, outs } = await create(inputs);
    expect(await diff(id, outs, inputs)).toMatchObject({ changes: false, replaces: [] });
    expect(await diff(id, outs, { ...inputs, secretAccessKeyLength: 64 })).toMatchObject({ changes: true, replaces: ["secretAccessKeyLength"] });
  });
});
