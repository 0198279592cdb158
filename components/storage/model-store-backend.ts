/**
 * The contract between model stores and the workloads that use them.
 *
 * TfServing and TrainingJob only ever talk to this interface, so they never hard-code AWS: the S3
 * `ModelStore` grants access through EKS Pod Identity, an in-cluster S3-compatible store through
 * per-service-account credentials kept in Secrets. Both speak the S3 protocol, so the AWS CLI in the
 * sync and upload containers works against either, given the environment a grant returns.
 *
 * Layout inside the bucket:
 * - `models/<model>/<version>/...` a SavedModel export; `<version>` is a positive integer;
 * - `models/<model>/<version>/_SUCCESS` written last by the uploader: a version without it is incomplete
 *   and is never served;
 * - `checkpoints/<model>/<version>/...` training checkpoints, so a restarted job resumes;
 * - other areas laid out the same way, `<area>/<model>/<version>/` (STORE_AREAS), e.g. a training's TensorBoard
 *   logs or a version converted for phones.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { type IssueCollector, modelNameProblem, modelVersionProblem, oneOf } from "../common/validation";

/** The Kubernetes service account that a grant is for. */
export interface ServiceAccountRef {
  /** EKS cluster name (used by EKS Pod Identity; ignored by in-cluster stores). */
  clusterName: pulumi.Input<string>;
  /** Namespace of the service account. */
  namespace: string;
  /** Name of the service account. */
  name: string;
}

export type ModelAccess = "read" | "write";

/** The store's areas: each is laid out `<area>/<model>/<version>/`. */
export const STORE_AREAS = ["models", "checkpoints", "logs", "mobile"] as const;
export type StoreArea = (typeof STORE_AREAS)[number];

/**
 * One area of one model (or of one version of it) with its access: what `ModelAccessGrantArgs.scopes` lists
 * when a grant needs more than the same access to whole models, e.g. a training that writes only its own
 * version's logs, or a job that reads a model and writes only its mobile export.
 */
export interface StoreScope {
  area: StoreArea;
  model: string;
  /** Only this version's folder. @default every version of the model in that area */
  version?: number;
  /** `read` lists and downloads; `write` also uploads. Neither deletes. */
  access: ModelAccess;
}

export interface ModelAccessGrantArgs {
  /**
   * `read` lists and downloads the models' versions (serving). `write` also uploads and aborts multipart
   * uploads (training). Neither can delete objects.
   */
  access: ModelAccess;
  /**
   * Model names whose `models/<model>/` prefixes the grant covers with `access`. May be empty when `scopes`
   * names what the grant covers.
   */
  models: string[];
  /**
   * Also cover `checkpoints/<model>/` for the same models, with the same access.
   * @default false
   */
  checkpoints?: boolean;
  /**
   * More areas the grant covers, each with its own access (one grant per service account: EKS Pod Identity
   * associates one role with a service account).
   * @default none
   * @example [{ area: "logs", model: "linear", version: 3, access: "write" }]
   */
  scopes?: StoreScope[];
  /** Who gets the access. */
  serviceAccount: ServiceAccountRef;
}

/** What a workload needs to use a grant. */
export interface ModelAccessGrant {
  /**
   * Environment variables for every container that talks to the store: region, endpoint and, for stores
   * that use static credentials, references to a Secret. Never contains a credential value.
   */
  readonly env: pulumi.Output<k8s.types.input.core.v1.EnvVar[]>;
  /** Resources that must exist before a pod uses the grant (make workloads depend on them). */
  readonly resources: pulumi.Resource[];
}

/** A store of versioned models that speaks the S3 protocol. */
export interface ModelStoreBackend {
  /** The bucket holding the models. */
  readonly bucketName: pulumi.Output<string>;
  /** Region to sign requests for. */
  readonly region: pulumi.Output<string>;
  /** S3 endpoint URL, or undefined for AWS's own regional endpoint. */
  readonly endpoint: pulumi.Output<string | undefined>;
  /** `s3://<bucket>/models/<model>/` or, with a version, `s3://<bucket>/models/<model>/<version>/`. */
  modelUri(model: string, version?: number): pulumi.Output<string>;
  /**
   * Gives a Kubernetes service account access to some models. `name` prefixes the resources it declares;
   * they are parented to `opts.parent` when given, else to the store.
   */
  grantAccess(name: string, args: ModelAccessGrantArgs, opts?: GrantOptions): ModelAccessGrant;
}

export interface GrantOptions {
  /** Parent of the declared resources. @default the store */
  parent?: pulumi.Resource;
}

export const MODELS_PREFIX = "models";
export const CHECKPOINTS_PREFIX = "checkpoints";
/** Marker object written last into a complete version directory. */
export const SUCCESS_MARKER = "_SUCCESS";

/** Key prefix of a model (with a version: of one version), always ending in "/". */
export function modelKeyPrefix(model: string, version?: number): string {
  return version === undefined ? `${MODELS_PREFIX}/${model}/` : `${MODELS_PREFIX}/${model}/${version}/`;
}

/** Key prefix of a scope: `<area>/<model>/` or `<area>/<model>/<version>/`. */
export function scopeKeyPrefix(scope: Pick<StoreScope, "area" | "model" | "version">): string {
  return scope.version === undefined ? `${scope.area}/${scope.model}/` : `${scope.area}/${scope.model}/${scope.version}/`;
}

/** Everything a grant covers, as scopes: `models` (and `checkpoints`) with `access`, then `scopes`. */
export function grantScopes(args: Pick<ModelAccessGrantArgs, "access" | "models" | "checkpoints" | "scopes">): StoreScope[] {
  const models = args.models ?? [];
  return [
    ...models.map((model) => ({ area: "models" as const, model, access: args.access })),
    ...(args.checkpoints ? models.map((model) => ({ area: "checkpoints" as const, model, access: args.access })) : []),
    ...(args.scopes ?? []),
  ];
}

/** Key prefix of a model's checkpoints (with a version: of one training run), always ending in "/". */
export function checkpointKeyPrefix(model: string, version?: number): string {
  return version === undefined ? `${CHECKPOINTS_PREFIX}/${model}/` : `${CHECKPOINTS_PREFIX}/${model}/${version}/`;
}

/** Adds every problem with what a grant covers (access, models, scopes) to `issues`, named by field. */
export function addGrantCoverageProblems(issues: IssueCollector, args: Pick<ModelAccessGrantArgs, "access" | "models" | "checkpoints" | "scopes">): void {
  const accessProblem = (access: unknown) => (access === "read" || access === "write" ? undefined : `must be ${oneOf(["read", "write"])} (got ${JSON.stringify(access)})`);
  const models = args.models ?? [];
  const scopes = args.scopes ?? [];
  if (!Array.isArray(models)) issues.add("models", "must be a list of model names");
  if (!Array.isArray(scopes)) issues.add("scopes", "must be a list of { area, model, version?, access }");
  if (models.length > 0 || args.checkpoints) {
    const problem = accessProblem(args.access);
    if (problem) issues.add("access", problem);
  }
  if (models.length === 0 && scopes.length === 0) issues.add("models", "must name at least one model (or give scopes)");
  models.forEach((model, i) => {
    const problem = modelNameProblem(model);
    if (problem) issues.add(`models[${i}]`, problem);
  });
  scopes.forEach((scope, i) => {
    if (!(STORE_AREAS as readonly string[]).includes(scope.area)) issues.add(`scopes[${i}].area`, `must be ${oneOf(STORE_AREAS)} (got ${JSON.stringify(scope.area)})`);
    const modelProblem = modelNameProblem(scope.model);
    if (modelProblem) issues.add(`scopes[${i}].model`, modelProblem);
    const versionProblem = scope.version === undefined ? undefined : modelVersionProblem(scope.version);
    if (versionProblem) issues.add(`scopes[${i}].version`, versionProblem);
    const problem = accessProblem(scope.access);
    if (problem) issues.add(`scopes[${i}].access`, problem);
  });
}
