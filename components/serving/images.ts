/** Pinned container images of TfServing, and the image reference format it accepts. */

/** TF Serving release used by default (the same release for the CPU and GPU builds). */
export const TF_SERVING_VERSION = "2.19.1";
export const TF_SERVING_IMAGE = `tensorflow/serving:${TF_SERVING_VERSION}`;
export const TF_SERVING_GPU_IMAGE = `tensorflow/serving:${TF_SERVING_VERSION}-gpu`;
/** The official TF Serving images are published for this platform only. */
export const TF_SERVING_IMAGE_ARCHITECTURE = "amd64";

/**
 * AWS CLI v2 image for the model sync containers. Built on Amazon Linux, so it has `/bin/sh` and the
 * coreutils the sync script uses; the CLI is `/usr/local/bin/aws`.
 */
export const AWS_CLI_IMAGE = "amazon/aws-cli:2.37.4";
/** Where the AWS CLI lives in `AWS_CLI_IMAGE`. */
export const AWS_CLI_PATH = "/usr/local/bin/aws";

export interface ImageReference {
  /** Everything before the tag or digest, e.g. `tensorflow/serving` or `registry:5000/tf/serving`. */
  repository: string;
  /** The tag, when there is one. */
  tag?: string;
  /** `sha256:<hex>`, when pinned by digest. */
  digest?: string;
}

/** `name:tag@sha256:...`, `name:tag` or `name@sha256:...`; the tag is after the last "/". */
export function parseImageReference(image: string): ImageReference | undefined {
  const at = image.indexOf("@");
  const nameAndTag = at >= 0 ? image.slice(0, at) : image;
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) return undefined;
  const slash = nameAndTag.lastIndexOf("/");
  const colon = nameAndTag.lastIndexOf(":");
  const hasTag = colon > slash;
  const repository = hasTag ? nameAndTag.slice(0, colon) : nameAndTag;
  const tag = hasTag ? nameAndTag.slice(colon + 1) : undefined;
  if (!/^[a-z0-9]+([._:/-][a-z0-9]+)*$/.test(repository)) return undefined;
  if (tag !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) return undefined;
  return { repository, tag, digest };
}

/** Release tags as `tensorflow/serving` and `amazon/aws-cli` publish them: `2.19.1`, `2.19.1-gpu`. */
const RELEASE_TAG = /^\d+\.\d+\.\d+(-gpu)?$/;

export const PINNED_IMAGE_FORMATS = [
  "<repository>:<major>.<minor>.<patch>",
  "<repository>:<major>.<minor>.<patch>-gpu",
  "either of those with @sha256:<digest>",
  "<repository>@sha256:<digest>",
];

/**
 * Problems with a user-given image: it must be pinned to a release tag or a digest (never `latest` or a
 * moving tag such as `2.19`), and a GPU pod needs a `-gpu` build.
 */
export function imageProblem(image: string, needsGpuBuild: boolean): string | undefined {
  const ref = parseImageReference(image);
  const formats = PINNED_IMAGE_FORMATS.join(", ");
  if (!ref) return `"${image}" is not a valid image reference; use ${formats}`;
  if (ref.tag === undefined && ref.digest === undefined) return `"${image}" is not pinned (no tag or digest); use ${formats}`;
  if (ref.tag !== undefined && !RELEASE_TAG.test(ref.tag)) return `"${image}" has an unknown image tag format "${ref.tag}"; use ${formats}`;
  if (needsGpuBuild && ref.tag !== undefined && !ref.tag.endsWith("-gpu")) {
    return `"${image}" is a CPU build but resources.gpus requests GPUs; use the "-gpu" tag, e.g. "${ref.repository}:${ref.tag}-gpu"`;
  }
  return undefined;
}

/** The value for `app.kubernetes.io/version`: the tag, or the digest's first 12 hex digits. */
export function imageVersionLabel(image: string): string | undefined {
  const ref = parseImageReference(image);
  if (!ref) return undefined;
  return ref.tag ?? ref.digest?.slice("sha256:".length, "sha256:".length + 12);
}
