/**
 * Evaluates SeaweedFS's legacy S3 identity actions the way its gateway does (`Identity.CanDo`), so unit
 * tests can assert what a rendered identity may do. The slow suite checks the same identities against a
 * real server.
 *
 * An identity may perform `<Action>` on `<bucket>/<key>` when it has `Admin`, the bare `<Action>`,
 * `<Action>:<bucket>` (whole bucket), or a pattern `<Action>:<bucket>/<key pattern>` whose `*` and `?`
 * wildcards match `<Action>:<bucket>/<key>`. For listings, the key is the request's `prefix`.
 */
export type SeaweedAction = "Read" | "Write" | "List" | "Tagging" | "Admin";

export interface SeaweedRequest {
  action: SeaweedAction;
  bucket: string;
  /** Object key, or the `prefix` of a listing. */
  key?: string;
}

function wildcardMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("")}$`, "s");
  return regex.test(value);
}

export function seaweedAllows(actions: readonly string[], request: SeaweedRequest): boolean {
  if (actions.includes("Admin") || actions.includes(request.action)) return true;
  const path = request.key ? `${request.bucket}/${request.key.replace(/^\//, "")}` : request.bucket;
  const targets = [`${request.action}:${path}`, `Admin:${path}`];
  const bucketWide = [`${request.action}:${request.bucket}`, `Admin:${request.bucket}`];
  return actions.some((a) => (/[*?]/.test(a) ? targets.some((t) => wildcardMatches(a, t)) : bucketWide.includes(a)));
}
