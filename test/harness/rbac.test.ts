/** The RBAC evaluator, with Kubernetes' own built-in roles of the release the real-deploy suite runs. */
import { describe, expect, it } from "vitest";
import { type Binding, kubernetesBootstrapRoles, Rbac, suiteKubernetesVersion } from "./rbac";

const roles = kubernetesBootstrapRoles(suiteKubernetesVersion());
const alice = { name: "alice", groups: ["vision"] };
const job = (verb: string, namespace?: string) => ({ verb, group: "batch", resource: "jobs", namespace });

describe("RBAC evaluator", () => {
  it("reads the built-in roles of the suite's Kubernetes release, with edit, view and admin aggregated", () => {
    expect(suiteKubernetesVersion()).toMatch(/^v1\.\d+\.\d+$/);
    const names = roles.map((r) => r.metadata.name);
    expect(names).toEqual(expect.arrayContaining(["admin", "edit", "view", "cluster-admin", "system:aggregate-to-edit"]));
    const rbac = new Rbac(roles, [], []);
    expect(rbac.clusterRoleRules("edit").length).toBeGreaterThan(5);
    // view is aggregated into edit: edit can read what view reads.
    expect(rbac.clusterRoleRules("edit").some((r) => r.resources?.includes("resourcequotas") && r.verbs.includes("get"))).toBe(true);
  });

  it("a RoleBinding grants in its namespace only; a ClusterRoleBinding everywhere", () => {
    const binding: Binding = { kind: "RoleBinding", metadata: { name: "b", namespace: "vision" }, roleRef: { kind: "ClusterRole", name: "edit" }, subjects: [{ kind: "Group", name: "vision" }] };
    const rbac = new Rbac(roles, [], [binding]);
    expect(rbac.can(alice, job("create", "vision"))).toBe(true);
    expect(rbac.can(alice, job("create", "search"))).toBe(false);
    expect(rbac.can(alice, job("list"))).toBe(false); // all namespaces
    expect(rbac.can({ name: "bob", groups: ["search"] }, job("create", "vision"))).toBe(false);
    const clusterWide = new Rbac(roles, [], [{ kind: "ClusterRoleBinding", metadata: { name: "c" }, roleRef: { kind: "ClusterRole", name: "view" }, subjects: [{ kind: "User", name: "alice" }] }]);
    expect(clusterWide.can(alice, job("list"))).toBe(true);
    expect(clusterWide.can(alice, job("create", "vision"))).toBe(false);
  });

  it("matches verbs, groups, subresources and resource names as the API server does", () => {
    const rbac = new Rbac(
      roles,
      [{ metadata: { name: "r", namespace: "ns" }, rules: [{ apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["update"] }, { apiGroups: [""], resources: ["configmaps"], resourceNames: ["one"], verbs: ["get"] }] }],
      [{ kind: "RoleBinding", metadata: { name: "b", namespace: "ns" }, roleRef: { kind: "Role", name: "r" }, subjects: [{ kind: "ServiceAccount", name: "bot", namespace: "ns" }] }],
    );
    const bot = { name: "system:serviceaccount:ns:bot", groups: ["system:serviceaccounts", "system:serviceaccounts:ns"] };
    expect(rbac.can(bot, { verb: "update", group: "apps", resource: "deployments", subresource: "scale", namespace: "ns" })).toBe(true);
    expect(rbac.can(bot, { verb: "update", group: "apps", resource: "deployments", namespace: "ns" })).toBe(false);
    expect(rbac.can(bot, { verb: "get", group: "", resource: "configmaps", name: "one", namespace: "ns" })).toBe(true);
    expect(rbac.can(bot, { verb: "get", group: "", resource: "configmaps", name: "two", namespace: "ns" })).toBe(false);
  });
});
