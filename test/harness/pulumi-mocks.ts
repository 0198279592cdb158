/**
 * Runs a component or a whole program under Pulumi's mock runtime and records every resource it registers.
 *
 * The recorder wraps Pulumi's own MockMonitor so that it also sees what `setMocks` alone hides: the parent,
 * resource options (protect, retainOnDelete, ignoreChanges, dependsOn, provider) and which inputs are secret.
 * Outputs are deterministic: ids, ARNs and names derive from the resource name only.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";

/* eslint-disable @typescript-eslint/no-explicit-any -- recorded inputs are arbitrary JSON trees */
export type PropertyMap = Record<string, any>;

export interface RecordedResource {
  /** Type token, e.g. `aws:s3/bucket:Bucket` or `ml-platform:storage:ModelStore`. */
  type: string;
  /** Logical name. */
  name: string;
  urn: string;
  /** URN of the parent, undefined for resources parented to the stack. */
  parentUrn?: string;
  /** Inputs with secrets unwrapped; see `secretPaths`. */
  inputs: PropertyMap;
  /** Dotted paths of inputs that were marked secret. */
  secretPaths: string[];
  /** True for custom (provider) resources, false for components. */
  custom: boolean;
  protect: boolean;
  retainOnDelete: boolean;
  ignoreChanges: string[];
  /** Outputs the engine is told to keep secret (`additionalSecretOutputs`). */
  additionalSecretOutputs: string[];
  /** URNs of explicit and implicit dependencies. */
  dependencies: string[];
  /** Provider reference (`urn::id`), when one was given. */
  provider?: string;
}

export type MockStateFn = (args: pulumi.runtime.MockResourceArgs) => PropertyMap;
export type MockCallFn = (inputs: PropertyMap) => PropertyMap;

export interface MockOptions {
  project?: string;
  stack?: string;
  /** Run as a preview (`pulumi preview`), where unknowns stay unknown. */
  preview?: boolean;
  /** Config values keyed `project:key`; objects are stored as JSON like the CLI does. */
  config?: Record<string, unknown>;
  /** Config keys (as in `config`) that are secret. */
  secretConfigKeys?: string[];
  /** Extra or overriding output state per resource type. */
  resourceState?: Record<string, MockStateFn>;
  /** Extra or overriding invoke results per function token. */
  calls?: Record<string, MockCallFn>;
}

export const MOCK_ACCOUNT_ID = "123456789012";
export const MOCK_REGION = "us-west-2";

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function unwrapSecrets(value: any, path: string, secretPaths: string[]): any {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, secretPaths));
  if (value && typeof value === "object") {
    if (value[SECRET_SIG_KEY] === SECRET_SIG) {
      secretPaths.push(path);
      return unwrapSecrets(value.value, path, secretPaths);
    }
    const out: PropertyMap = {};
    for (const [k, v] of Object.entries(value)) out[k] = unwrapSecrets(v, path ? `${path}.${k}` : k, secretPaths);
    return out;
  }
  return value;
}

/**
 * The value the mocks give a `random` resource named `name`: deterministic, distinct per name, of the
 * requested length, so tests can search rendered objects for it (e.g. to prove a secret never leaks).
 */
export function mockRandomValue(name: string, length = 16): string {
  const seed = createHash("sha256").update(`mock-random-${name}`).digest("hex").toUpperCase();
  return seed.repeat(Math.ceil(length / seed.length)).slice(0, length);
}

/** The credential the mocks give the in-cluster store's generated credential named `name`. */
export function mockStoreCredential(name: string): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: mockRandomValue(`${name}-access-key-id`, 20), secretAccessKey: mockRandomValue(`${name}-secret-access-key`, 40) };
}

export const DYNAMIC_RESOURCE = "pulumi-nodejs:dynamic:Resource";

const defaultResourceState: Record<string, MockStateFn> = {
  // Dynamic resources (components/storage/in-cluster/store-credential.ts): what their provider's create returns.
  [DYNAMIC_RESOURCE]: ({ name, inputs }) =>
    inputs.generator === "ml-platform:storage:StoreCredential/v1" ? { ...inputs, ...mockStoreCredential(name) } : {},
  "aws:s3/bucket:Bucket": ({ name, inputs }) => {
    const bucket = inputs.bucket ?? `${name}-bucket`;
    return { bucket, arn: `arn:aws:s3:::${bucket}`, region: inputs.region ?? MOCK_REGION };
  },
  "aws:iam/role:Role": ({ name, inputs }) => ({
    name: inputs.name ?? name,
    arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${inputs.name ?? name}`,
  }),
  "aws:iam/policy:Policy": ({ name, inputs }) => ({
    name: inputs.name ?? name,
    arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:policy/${inputs.name ?? name}`,
  }),
  "aws:eks/nodeGroup:NodeGroup": ({ name, inputs }) => ({
    nodeGroupName: inputs.nodeGroupName ?? name,
    arn: `arn:aws:eks:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:nodegroup/${inputs.clusterName}/${name}/mock`,
    resources: [{ autoscalingGroups: [{ name: `eks-${name}-asg` }], remoteAccessSecurityGroupId: "" }],
    status: "ACTIVE",
  }),
  "aws:eks/podIdentityAssociation:PodIdentityAssociation": ({ name }) => ({
    associationArn: `arn:aws:eks:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:podidentityassociation/${name}`,
    associationId: `a-${name}`,
  }),
};

function kubernetesState({ name, inputs }: pulumi.runtime.MockResourceArgs): PropertyMap {
  const metadata = { ...(inputs.metadata ?? {}) };
  metadata.name ??= name;
  return { ...inputs, metadata };
}

const defaultCalls: Record<string, MockCallFn> = {
  "aws:index/getRegion:getRegion": () => ({ name: MOCK_REGION, region: MOCK_REGION, id: MOCK_REGION }),
  "aws:index/getCallerIdentity:getCallerIdentity": () => ({
    accountId: MOCK_ACCOUNT_ID,
    arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/mock`,
    userId: "mock",
  }),
  "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com" }),
  "aws:eks/getCluster:getCluster": ({ name }) => ({
    name,
    arn: `arn:aws:eks:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:cluster/${name}`,
    endpoint: `https://${String(name).toUpperCase()}.gr7.${MOCK_REGION}.eks.amazonaws.com`,
    certificateAuthorities: [{ data: Buffer.from(`ca-for-${name}`).toString("base64") }],
    version: "1.33",
    vpcConfigs: [{ subnetIds: ["subnet-a", "subnet-b"], vpcId: "vpc-mock" }],
  }),
};

/** What one mock run produced. */
export class MockRun<T> {
  constructor(
    readonly result: T,
    readonly resources: RecordedResource[],
  ) {}

  /** Every resource of a type token. */
  ofType(type: string): RecordedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  /** The one resource with this type (and name, when given); throws with what exists otherwise. */
  get(type: string, name?: string): RecordedResource {
    const matches = this.ofType(type).filter((r) => name === undefined || r.name === name);
    if (matches.length !== 1) {
      const seen = this.resources.map((r) => `${r.type} ${r.name}`).join("\n  ");
      throw new Error(`expected exactly one ${type}${name ? ` named ${name}` : ""}, found ${matches.length}; registered:\n  ${seen}`);
    }
    return matches[0];
  }

  /** Direct children of a resource. */
  childrenOf(parent: RecordedResource): RecordedResource[] {
    return this.resources.filter((r) => r.parentUrn === parent.urn);
  }

  /** The parent of a resource, if it has one other than the stack. */
  parentOf(child: RecordedResource): RecordedResource | undefined {
    return this.resources.find((r) => r.urn === child.parentUrn);
  }

  /** Kubernetes objects (custom resources of the kubernetes provider), as the API server would receive them. */
  kubernetesObjects(): RecordedResource[] {
    return this.resources.filter(
      (r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:") && !r.type.includes(":helm.sh/"),
    );
  }
}

type RegisterCallback = (err: unknown, response: any) => void;

/**
 * Wraps the MockMonitor that `setMocks` installed so that each registration is recorded with what the
 * mocks API does not pass on (parent, options, secrets). Wrapping the instance, rather than installing a
 * subclass, keeps the feature flags `setMocks` sets (secrets, resource references, ...).
 */
function recordRegistrations(monitor: MockMonitor): RecordedResource[] {
  const recorded: RecordedResource[] = [];
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: RegisterCallback) => {
    const secretPaths: string[] = [];
    const inputs = unwrapSecrets(pulumi.runtime.deserializeProperties(req.getObject()), "", secretPaths);
    const base = {
      type: req.getType() as string,
      name: req.getName() as string,
      parentUrn: (req.getParent() as string) || undefined,
      inputs,
      secretPaths,
      custom: Boolean(req.getCustom()),
      protect: Boolean(req.getProtect()),
      retainOnDelete: Boolean(req.getRetainondelete()),
      ignoreChanges: (req.getIgnorechangesList() as string[]) ?? [],
      additionalSecretOutputs: (req.getAdditionalsecretoutputsList() as string[]) ?? [],
      dependencies: (req.getDependenciesList() as string[]) ?? [],
      provider: (req.getProvider() as string) || undefined,
    };
    return register(req, (err, response) => {
      if (!err && response) recorded.push({ ...base, urn: response.getUrn() });
      callback(err, response);
    });
  };
  return recorded;
}

/**
 * Runs `program` under mocks and returns what it returned plus every registered resource, once all
 * registrations have finished.
 */
export async function runInMocks<T>(program: () => T | Promise<T>, options: MockOptions = {}): Promise<MockRun<Awaited<T>>> {
  const project = options.project ?? "ml-platform";
  const stack = options.stack ?? "test";
  const resourceState = { ...defaultResourceState, ...options.resourceState };
  const calls = { ...defaultCalls, ...options.calls };
  const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
      const extra = resourceState[args.type]?.(args) ?? (args.type.startsWith("kubernetes:") ? kubernetesState(args) : {});
      return { id: args.custom ? `${args.name}-id` : undefined, state: { ...args.inputs, ...extra } };
    },
    call(args) {
      const fn = calls[args.token];
      if (!fn) {
        // Pulumi reports an invoke failure by the gRPC error's `details`.
        const message = `no mock for invoke ${args.token}; add one to MockOptions.calls`;
        throw Object.assign(new Error(message), { details: message });
      }
      return fn(args.inputs);
    },
  };

  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.config ?? {})) {
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(config, options.secretConfigKeys ?? []);

  await pulumi.runtime.setMocks(mocks, project, stack, options.preview ?? false);
  const recorded = recordRegistrations(pulumi.runtime.getMonitor() as unknown as MockMonitor);

  const result = await program();
  // Waits until every registration and registerOutputs call has been answered.
  await pulumi.runtime.disconnect();
  return new MockRun(result, recorded);
}

/** Resolves an Output (or plain value) to its value; use it instead of asserting inside `.apply()`. */
export function unwrap<T>(value: pulumi.Input<T>): Promise<T> {
  return new Promise<T>((resolve) => pulumi.output(value).apply((v) => resolve(v as T)));
}
