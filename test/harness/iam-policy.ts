/**
 * A small evaluator for the IAM policy features the platform's documents use (Allow/Deny, wildcard actions
 * and resources, StringEquals/StringLike/Bool conditions), so tests can ask "may this principal do X on Y?"
 * instead of comparing JSON. An explicit Deny wins; otherwise any matching Allow allows.
 */
import type { PolicyDocument, PolicyStatement } from "../../components/storage/s3-policies";

export interface IamRequest {
  action: string;
  resource: string;
  /** Condition keys of the request, e.g. `{ "s3:prefix": "models/a/" }`. */
  context?: Record<string, string>;
}

function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, caseInsensitive ? "i" : "").test(value);
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function conditionsHold(statement: PolicyStatement, context: Record<string, string>): boolean {
  for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
    for (const [key, expected] of Object.entries(entries)) {
      const actual = context[key];
      if (actual === undefined) return false;
      const values = asList(expected as string | string[] | boolean).map(String);
      switch (operator) {
        case "StringEquals":
        case "Bool":
          if (!values.includes(actual)) return false;
          break;
        case "StringLike":
          if (!values.some((v) => wildcardMatch(v, actual))) return false;
          break;
        default:
          throw new Error(`iam-policy test evaluator does not support condition operator ${operator}`);
      }
    }
  }
  return true;
}

function statementMatches(statement: PolicyStatement, request: IamRequest): boolean {
  const actionMatches = asList(statement.Action).some((a) => wildcardMatch(a, request.action, true));
  const resources = asList(statement.Resource);
  const resourceMatches = resources.length === 0 || resources.some((r) => wildcardMatch(r, request.resource));
  return actionMatches && resourceMatches && conditionsHold(statement, request.context ?? {});
}

/** Whether the policy allows the request (explicit Deny beats Allow; no match means implicit deny). */
export function isAllowed(policy: PolicyDocument, request: IamRequest): boolean {
  const matching = policy.Statement.filter((s) => statementMatches(s, request));
  if (matching.some((s) => s.Effect === "Deny")) return false;
  return matching.some((s) => s.Effect === "Allow");
}

/** Whether the policy explicitly denies the request. */
export function isExplicitlyDenied(policy: PolicyDocument, request: IamRequest): boolean {
  return policy.Statement.some((s) => s.Effect === "Deny" && statementMatches(s, request));
}
