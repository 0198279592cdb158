/**
 * An RBAC evaluator for policy-level tests: who may do what where, given ClusterRoles, Roles, RoleBindings and
 * ClusterRoleBindings, with the API server's semantics (rbac.authorization.k8s.io/v1):
 *
 * - a RoleBinding grants its role's rules in its own namespace only; a ClusterRoleBinding everywhere;
 * - a rule matches when its apiGroups, resources (`resource/subresource`, `*`) and verbs match (and
 *   resourceNames, when it lists any, contain the object's name); `*` matches anything;
 * - aggregated ClusterRoles (`aggregationRule`) have the rules of every ClusterRole their selectors match, as the
 *   controller-manager's aggregation controller computes them;
 * - subjects are users and groups (service accounts as `system:serviceaccount:<ns>:<name>` users in the groups
 *   `system:serviceaccounts` and `system:serviceaccounts:<ns>`).
 *
 * `kubernetesBootstrapRoles()` gives Kubernetes' built-in ClusterRoles (admin, edit, view, ...) exactly as the API
 * server of the release the suite runs creates them: read from Kubernetes' own module, not written down here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { goModuleDir } from "./go-modules";
import { labelsMatch, type LabelSelector } from "./network-policy";

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}

export interface ClusterRole {
  metadata: { name: string; labels?: Record<string, string> };
  rules?: PolicyRule[] | null;
  aggregationRule?: { clusterRoleSelectors?: LabelSelector[] };
}

export interface Role {
  metadata: { name: string; namespace: string };
  rules?: PolicyRule[];
}

export interface Subject {
  kind: "User" | "Group" | "ServiceAccount";
  name: string;
  namespace?: string;
}

export interface Binding {
  kind: "RoleBinding" | "ClusterRoleBinding";
  metadata: { name: string; namespace?: string };
  roleRef: { kind: "Role" | "ClusterRole"; name: string };
  subjects?: Subject[];
}

export interface User {
  name: string;
  groups: string[];
}

export interface Request {
  verb: string;
  /** API group, "" for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  /** Undefined for cluster-scoped requests (and for "in all namespaces"). */
  namespace?: string;
  name?: string;
}

function listMatches(list: string[] | undefined, value: string): boolean {
  return (list ?? []).some((item) => item === "*" || item === value);
}

function ruleAllows(rule: PolicyRule, request: Request): boolean {
  if (!listMatches(rule.verbs, request.verb)) return false;
  if (!listMatches(rule.apiGroups, request.group)) return false;
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
  // "*" matches every resource and subresource, "*/scale" a subresource of any resource (Kubernetes' ResourceMatches).
  const resourceOk = (rule.resources ?? []).some((r) => r === "*" || r === resource || (request.subresource !== undefined && r === `*/${request.subresource}`));
  if (!resourceOk) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) return request.name !== undefined && rule.resourceNames.includes(request.name);
  return true;
}

export class Rbac {
  private readonly clusterRoles = new Map<string, ClusterRole>();
  private readonly roles = new Map<string, Role>();

  constructor(
    clusterRoles: readonly ClusterRole[],
    roles: readonly Role[],
    private readonly bindings: readonly Binding[],
  ) {
    for (const role of clusterRoles) this.clusterRoles.set(role.metadata.name, role);
    for (const role of roles) this.roles.set(`${role.metadata.namespace}/${role.metadata.name}`, role);
  }

  /** The effective rules of a ClusterRole, aggregation included. */
  clusterRoleRules(name: string, seen = new Set<string>()): PolicyRule[] {
    const role = this.clusterRoles.get(name);
    if (!role || seen.has(name)) return [];
    seen.add(name);
    const own = role.rules ?? [];
    const selectors = role.aggregationRule?.clusterRoleSelectors ?? [];
    if (selectors.length === 0) return own;
    const aggregated = [...this.clusterRoles.values()]
      .filter((other) => other.metadata.name !== name && selectors.some((s) => labelsMatch(s, other.metadata.labels ?? {})))
      .flatMap((other) => this.clusterRoleRules(other.metadata.name, seen));
    return [...own, ...aggregated];
  }

  private subjectIs(subject: Subject, user: User): boolean {
    if (subject.kind === "User") return subject.name === user.name;
    if (subject.kind === "Group") return user.groups.includes(subject.name);
    return user.name === `system:serviceaccount:${subject.namespace}:${subject.name}`;
  }

  /** Whether `user` may make `request`. */
  can(user: User, request: Request): boolean {
    return this.bindings.some((binding) => {
      if (!(binding.subjects ?? []).some((s) => this.subjectIs(s, user))) return false;
      if (binding.kind === "RoleBinding" && binding.metadata.namespace !== request.namespace) return false;
      const rules =
        binding.roleRef.kind === "ClusterRole" ? this.clusterRoleRules(binding.roleRef.name) : (this.roles.get(`${binding.metadata.namespace}/${binding.roleRef.name}`)?.rules ?? []);
      return rules.some((rule) => ruleAllows(rule, request));
    });
  }
}

/** Kubernetes' built-in ClusterRoles of a release (its RBAC bootstrap policy, as its tests record it). */
export function kubernetesBootstrapRoles(version: string): ClusterRole[] {
  const dir = goModuleDir("k8s.io/kubernetes", version);
  const file = join(dir, "plugin", "pkg", "auth", "authorizer", "rbac", "bootstrappolicy", "testdata", "cluster-roles.yaml");
  return (parse(readFileSync(file, "utf8")) as { items: ClusterRole[] }).items;
}

/** The Kubernetes release the real-deploy suite runs (KUBERNETES_VERSION of test/e2e/install-tools.sh). */
export function suiteKubernetesVersion(): string {
  const script = readFileSync(join(__dirname, "..", "e2e", "install-tools.sh"), "utf8");
  const version = /^KUBERNETES_VERSION=(v[\d.]+)$/m.exec(script)?.[1];
  if (!version) throw new Error("test/e2e/install-tools.sh sets no KUBERNETES_VERSION");
  return version;
}
