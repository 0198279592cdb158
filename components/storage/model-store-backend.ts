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
 * - `checkpoints/<model>/<version>/...` training checkpoints, so a restarted job resumes.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

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

export interface ModelAccessGrantArgs {
  /**
   * `read` lists and downloads the models' versions (serving). `write` also uploads and aborts multipart
   * uploads (training). Neither can delete objects.
   */
  access: ModelAccess;
  /** Model names whose `models/<model>/` prefixes the grant covers. At least one. */
  models: string[];
  /**
   * Also cover `checkpoints/<model>/` for the same models, with the same access.
   * @default false
   */
  checkpoints?: boolean;
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

/** Key prefix of a model's checkpoints (with a version: of one training run), always ending in "/". */
export function checkpointKeyPrefix(model: string, version?: number): string {
  return version === undefined ? `${CHECKPOINTS_PREFIX}/${model}/` : `${CHECKPOINTS_PREFIX}/${model}/${version}/`;
}
