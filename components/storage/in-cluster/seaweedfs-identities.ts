/**
 * Pure builders for the SeaweedFS S3 gateway's identity configuration (the file given to
 * `weed server -s3.config`): one identity per credential, each with the actions it may perform.
 *
 * SeaweedFS scopes an action by bucket and key with `<Action>:<bucket>/<key pattern>`, where `*` matches
 * any run of characters. `List` is checked against the `prefix` of a listing request, so a grant can list
 * only under its models' prefixes. Compared with the IAM policy of the S3 `ModelStore` grant:
 * - same: read grants list and get only under `models/<model>/` (and `checkpoints/<model>/`); write grants
 *   upload (including multipart uploads) only there; nothing outside those prefixes, no bucket changes;
 * - weaker: SeaweedFS's `Write` also covers DeleteObject and CopyObject, so a write grant can delete or
 *   overwrite objects under its own prefixes (the IAM policy allows PutObject and AbortMultipartUpload only).
 */
import type { ModelAccess } from "../model-store-backend";

/** A static S3 credential (access key id and secret access key). */
export interface S3Credential {
  accessKey: string;
  secretKey: string;
}

/** One identity of the SeaweedFS S3 configuration (protobuf JSON of `iam_pb.Identity`). */
export interface SeaweedIdentity {
  name: string;
  credentials: S3Credential[];
  actions: string[];
}

/** The whole S3 configuration file (protobuf JSON of `iam_pb.S3ApiConfiguration`). */
export interface SeaweedS3Configuration {
  identities: SeaweedIdentity[];
}

/** SeaweedFS's legacy S3 actions used here. */
export const SEAWEED_ACTIONS = { admin: "Admin", read: "Read", list: "List", write: "Write" } as const;

/** Name of the store's own identity: full access, used to create the bucket. */
export const ADMIN_IDENTITY_NAME = "ml-platform-admin";

export function adminIdentity(credential: S3Credential): SeaweedIdentity {
  return { name: ADMIN_IDENTITY_NAME, credentials: [credential], actions: [SEAWEED_ACTIONS.admin] };
}

/**
 * Actions of a grant: `List` and `Read` on each prefix, plus `Write` for write grants. Prefixes end in "/",
 * so `models/lin/` never covers `models/linear/`.
 */
export function grantActions(bucket: string, access: ModelAccess, prefixes: readonly string[]): string[] {
  if (prefixes.length === 0) throw new Error("grantActions: at least one prefix is required");
  const verbs: string[] = access === "write" ? [SEAWEED_ACTIONS.list, SEAWEED_ACTIONS.read, SEAWEED_ACTIONS.write] : [SEAWEED_ACTIONS.list, SEAWEED_ACTIONS.read];
  return prefixes.flatMap((prefix) => {
    if (!prefix.endsWith("/") || prefix.startsWith("/")) throw new Error(`grantActions: prefix "${prefix}" must end with "/" and not start with "/"`);
    return verbs.map((verb) => `${verb}:${bucket}/${prefix}*`);
  });
}

/** Identity name of a grant (unique per grant name). */
export function grantIdentityName(grantName: string): string {
  return `grant-${grantName}`;
}

export interface GrantIdentityArgs {
  grantName: string;
  bucket: string;
  /** Key prefixes, each ending in "/", each with its access. */
  grants: ReadonlyArray<{ prefix: string; access: ModelAccess }>;
  credential: S3Credential;
}

export function grantIdentity(args: GrantIdentityArgs): SeaweedIdentity {
  if (args.grants.length === 0) throw new Error("grantIdentity: at least one prefix is required");
  const actions = args.grants.flatMap((g) => grantActions(args.bucket, g.access, [g.prefix]));
  return { name: grantIdentityName(args.grantName), credentials: [args.credential], actions: [...new Set(actions)] };
}

/**
 * One identity as a one-line JSON fragment. The store keeps one fragment per identity in a Secret, and the
 * reloader joins them into the configuration file (`render-identities.sh`), so fragments must be single
 * JSON objects.
 */
export function identityFragment(identity: SeaweedIdentity): string {
  return JSON.stringify(identity);
}

/** The configuration file the reloader renders from fragments (what `weed -s3.config` reads). */
export function s3Configuration(identities: readonly SeaweedIdentity[]): SeaweedS3Configuration {
  const names = new Set<string>();
  for (const identity of identities) {
    if (names.has(identity.name)) throw new Error(`s3Configuration: duplicate identity "${identity.name}"`);
    names.add(identity.name);
  }
  return { identities: [...identities] };
}
