/**
 * A generated S3 credential (access key id and secret access key) for the in-cluster store, made once when
 * the resource is created and kept, as Pulumi secrets, in the stack's state.
 *
 * Why not `@pulumi/random`: it is a provider plugin that `pulumi up` must download (or a user must install),
 * which makes the local stack depend on a download and cannot be built from source here, so the real-engine
 * suite could not run the store users run. A dynamic provider runs inside the Node.js language host that
 * runs the program (its `pulumi-resource-pulumi-nodejs` shim ships with every Pulumi CLI): no plugin to
 * fetch, and the same code path in tests and in users' deploys.
 */
import * as pulumi from "@pulumi/pulumi";

/** Access key ids are 20 upper-case letters and digits, like AWS's; secrets 40 letters and digits. */
export const ACCESS_KEY_ID_LENGTH = 20;
export const SECRET_ACCESS_KEY_LENGTH = 40;

/** What the state records as inputs: the shape of the credential, so a change of shape makes a new one. */
interface StoreCredentialInputs {
  generator: string;
  accessKeyIdLength: number;
  secretAccessKeyLength: number;
}

interface StoreCredentialOutputs extends StoreCredentialInputs {
  accessKeyId: string;
  secretAccessKey: string;
}

export const STORE_CREDENTIAL_GENERATOR = "ml-platform:storage:StoreCredential/v1";

/**
 * The dynamic provider. Pulumi serializes these functions into the state and runs them in a separate
 * process, so they must be self-contained: no reference to other module-level functions or imports.
 */
const storeCredentialProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: StoreCredentialInputs): Promise<pulumi.dynamic.CreateResult> {
    // crypto.randomInt draws without modulo bias from the system CSPRNG.
    const crypto = require("node:crypto") as typeof import("node:crypto");
    const draw = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[crypto.randomInt(alphabet.length)]).join("");
    const upperAndDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const lettersAndDigits = `${upperAndDigits}abcdefghijklmnopqrstuvwxyz`;
    const outs: StoreCredentialOutputs = {
      ...inputs,
      accessKeyId: draw(upperAndDigits, inputs.accessKeyIdLength),
      secretAccessKey: draw(lettersAndDigits, inputs.secretAccessKeyLength),
    };
    return { id: crypto.randomUUID(), outs };
  },
  async diff(_id: string, olds: StoreCredentialOutputs, news: StoreCredentialInputs): Promise<pulumi.dynamic.DiffResult> {
    // A credential never changes in place: a different shape is a new credential; anything else keeps it.
    const replaces = (["generator", "accessKeyIdLength", "secretAccessKeyLength"] as const).filter((key) => olds[key] !== news[key]);
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },
};

/** A generated access key id and secret access key, both Pulumi secrets. */
export class StoreCredential extends pulumi.dynamic.Resource {
  declare readonly accessKeyId: pulumi.Output<string>;
  declare readonly secretAccessKey: pulumi.Output<string>;

  constructor(name: string, opts: pulumi.CustomResourceOptions = {}) {
    const inputs = {
      generator: STORE_CREDENTIAL_GENERATOR,
      accessKeyIdLength: ACCESS_KEY_ID_LENGTH,
      secretAccessKeyLength: SECRET_ACCESS_KEY_LENGTH,
      accessKeyId: undefined,
      secretAccessKey: undefined,
    };
    super(storeCredentialProvider, name, inputs, { ...opts, additionalSecretOutputs: ["accessKeyId", "secretAccessKey"] });
  }
}
