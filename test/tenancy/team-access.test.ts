/**
 * Policy-level tests of a Team's isolation: its NetworkPolicies evaluated with the Kubernetes semantics (which pod
 * may reach which port), and its RoleBindings with Kubernetes' own built-in roles (who may do what where).
 */
import { describe, expect, it } from "vitest";
import { selectorLabels } from "../../components/common/kubernetes";
import type { TeamArgs } from "../../components/tenancy/team-args";
import { teamNetworkPolicies, teamRoleBindings, tfServingPods } from "../../components/tenancy/team-objects";
import { planTeam } from "../../components/tenancy/team-plan";
import { ClusterNetwork, type NetworkPolicy, type Pod } from "../harness/network-policy";
import { type Binding, kubernetesBootstrapRoles, Rbac, suiteKubernetesVersion } from "../harness/rbac";

const STORE_LABELS = selectorLabels({ name: "seaweedfs", instance: "models", component: "server" });
const vision: TeamArgs = {
  groups: ["vision-ml"],
  quota: { cpu: "64", memory: "256Gi", gpus: 8 },
  servingCallers: [{ serving: "classifier", from: [{ namespace: "search", podLabels: { app: "frontend" } }, { cidr: "10.20.0.0/16" }] }],
  stores: [{ type: "in-cluster", namespace: "ml", podLabels: STORE_LABELS, port: 8333 }],
};
const search: TeamArgs = {
  groups: ["search-ml"],
  quota: { cpu: "16", memory: "64Gi" },
  stores: [{ type: "s3" }],
  // Search calls vision's classifier: its own egress must allow it too.
  egress: [{ to: tfServingPods("vision", "classifier"), ports: [8500, 8501] }],
};

const pod = (name: string, namespace: string, labels: Record<string, string>, ip: string): Pod => ({ name, namespace, labels, ip });
const classifier = pod("classifier-0", "vision", selectorLabels({ name: "tf-serving", instance: "classifier", component: "server" }), "10.1.0.10");
const detector = pod("detector-0", "vision", selectorLabels({ name: "tf-serving", instance: "detector", component: "server" }), "10.1.0.11");
const worker0 = pod("resnet-worker-0", "vision", { "app.kubernetes.io/name": "training-job", "app.kubernetes.io/component": "worker" }, "10.1.0.20");
const worker1 = pod("resnet-worker-1", "vision", { "app.kubernetes.io/name": "training-job", "app.kubernetes.io/component": "worker" }, "10.1.0.21");
const tensorboard = pod("tensorboard-0", "vision", { "app.kubernetes.io/name": "tensorboard" }, "10.1.0.30");
const frontend = pod("frontend-0", "search", { app: "frontend" }, "10.2.0.10");
const batch = pod("batch-0", "search", { app: "batch" }, "10.2.0.11");
const intruder = pod("x-0", "ads", { app: "frontend" }, "10.3.0.10");
const store = pod("models-0", "ml", STORE_LABELS, "10.4.0.10");
const otherInMl = pod("other-0", "ml", { app: "other" }, "10.4.0.11");
const dns = pod("coredns-0", "kube-system", { "k8s-app": "kube-dns" }, "10.5.0.2");
const metricsServer = pod("metrics-server-0", "kube-system", { "k8s-app": "metrics-server" }, "10.5.0.3");

const policies = [...teamNetworkPolicies(planTeam("vision", vision)), ...teamNetworkPolicies(planTeam("search", search))] as unknown as NetworkPolicy[];
const net = new ClusterNetwork({ vision: {}, search: {}, ads: {}, ml: {}, "kube-system": {} }, policies);
const may = (from: Pod, to: Pod, port: number, protocol: "TCP" | "UDP" = "TCP") => net.mayConnect({ pod: from }, { pod: to }, port, protocol);

describe("a team's network isolation", () => {
  it("lets only the listed callers reach a serving, and only on its gRPC and REST ports", () => {
    expect(may(frontend, classifier, 8500)).toBe(true);
    expect(may(frontend, classifier, 8501)).toBe(true);
    expect(may(frontend, classifier, 9090)).toBe(false);
    // Namespace and pod labels both count: search's batch pod and ads' "frontend" are not callers.
    expect(may(batch, classifier, 8500)).toBe(false);
    expect(may(intruder, classifier, 8500)).toBe(false);
    // The listing is per serving: the team's other serving stays closed.
    expect(may(frontend, detector, 8500)).toBe(false);
    // Addresses the team lists (an internal load balancer's clients) come in too, on the serving ports only.
    expect(net.mayConnect({ address: "10.20.3.4" }, { pod: classifier }, 8500)).toBe(true);
    expect(net.mayConnect({ address: "10.20.3.4" }, { pod: worker0 }, 2222)).toBe(false);
    expect(net.mayConnect({ address: "10.21.0.1" }, { pod: classifier }, 8500)).toBe(false);
  });

  it("needs the caller's egress too: a team that does not list another's serving cannot call it", () => {
    expect(net.ingressAllowed({ pod: frontend }, { pod: classifier }, 8500)).toBe(true);
    const withoutEgress = new ClusterNetwork(
      { vision: {}, search: {}, ads: {}, ml: {}, "kube-system": {} },
      [...teamNetworkPolicies(planTeam("vision", vision)), ...teamNetworkPolicies(planTeam("search", { ...search, egress: [] }))] as unknown as NetworkPolicy[],
    );
    expect(withoutEgress.mayConnect({ pod: frontend }, { pod: classifier }, 8500)).toBe(false);
  });

  it("makes the namespace one trust zone: distributed training peers, TensorBoard (6006) and own servings inside; nothing from other teams", () => {
    expect(may(worker0, worker1, 2222)).toBe(true);
    expect(may(worker1, worker0, 29500)).toBe(true);
    expect(may(worker0, tensorboard, 6006)).toBe(true);
    expect(may(worker0, classifier, 8500)).toBe(true);
    expect(may(frontend, tensorboard, 6006)).toBe(false);
    expect(may(frontend, worker0, 2222)).toBe(false);
    expect(may(intruder, tensorboard, 6006)).toBe(false);
    // ... not even from a team the serving admits, and the kubelet's probes still get through.
    expect(net.mayConnect({ node: "ip-10-0-1-1" }, { pod: classifier }, 8501)).toBe(true);
  });

  it("lets pods resolve names at the cluster DNS only, on port 53 over UDP and TCP", () => {
    expect(may(worker0, dns, 53, "UDP")).toBe(true);
    expect(may(worker0, dns, 53, "TCP")).toBe(true);
    expect(may(worker0, dns, 9153)).toBe(false);
    expect(may(worker0, metricsServer, 53, "UDP")).toBe(false);
  });

  it("reaches an in-cluster store's server on its S3 port only, not the rest of its namespace", () => {
    expect(may(classifier, store, 8333)).toBe(true);
    expect(may(worker0, store, 8333)).toBe(true);
    expect(may(worker0, store, 9333)).toBe(false);
    expect(may(worker0, otherInMl, 8333)).toBe(false);
    // A team without the S3 store cannot go out on 443.
    expect(net.mayConnect({ pod: worker0 }, { address: "52.216.8.1" }, 443)).toBe(false);
  });

  it("with S3: HTTPS to any address (no FQDN rules in NetworkPolicy) and the Pod Identity agent, never the instance metadata", () => {
    expect(net.mayConnect({ pod: frontend }, { address: "52.216.8.1" }, 443)).toBe(true);
    expect(net.mayConnect({ pod: frontend }, { address: "2600:1fa0:80c0::1" }, 443)).toBe(true);
    expect(net.mayConnect({ pod: frontend }, { address: "169.254.170.23" }, 80)).toBe(true);
    expect(net.mayConnect({ pod: frontend }, { address: "fd00:ec2::23" }, 80)).toBe(true);
    expect(net.mayConnect({ pod: frontend }, { address: "169.254.169.254" }, 80)).toBe(false);
    expect(net.mayConnect({ pod: frontend }, { address: "52.216.8.1" }, 80)).toBe(false);
  });

  it("nothing reaches the team from outside the cluster unless listed", () => {
    expect(net.mayConnect({ address: "203.0.113.7" }, { pod: classifier }, 8500)).toBe(false);
    expect(net.mayConnect({ address: "203.0.113.7" }, { pod: worker0 }, 22)).toBe(false);
  });
});

describe("a team's access rights (with Kubernetes' built-in roles)", () => {
  const bindings = [...teamRoleBindings(planTeam("vision", vision)), ...teamRoleBindings(planTeam("search", search))] as unknown as Binding[];
  const rbac = new Rbac(kubernetesBootstrapRoles(suiteKubernetesVersion()), [], bindings);
  const alice = { name: "alice", groups: ["vision-ml", "system:authenticated"] };
  const can = (verb: string, group: string, resource: string, namespace?: string, subresource?: string) => rbac.can(alice, { verb, group, resource, namespace, subresource });

  it("lets members run workloads in their namespace: Jobs, Deployments, Pods, Services, Secrets, logs", () => {
    for (const [group, resource] of [["batch", "jobs"], ["apps", "deployments"], ["", "pods"], ["", "services"], ["", "secrets"], ["", "configmaps"]] as const) {
      expect(can("create", group, resource, "vision"), `${group}/${resource}`).toBe(true);
      expect(can("delete", group, resource, "vision"), `${group}/${resource}`).toBe(true);
    }
    expect(can("get", "", "pods", "vision", "log")).toBe(true);
  });

  it("nowhere else: not in another team's namespace, not cluster-wide", () => {
    expect(can("create", "batch", "jobs", "search")).toBe(false);
    expect(can("get", "", "secrets", "search")).toBe(false);
    expect(can("list", "", "pods")).toBe(false);
    expect(can("create", "", "namespaces")).toBe(false);
    expect(can("get", "", "nodes")).toBe(false);
  });

  it("cannot raise its own quota, change its defaults or grant itself more rights", () => {
    expect(can("get", "", "resourcequotas", "vision")).toBe(true);
    expect(can("update", "", "resourcequotas", "vision")).toBe(false);
    expect(can("delete", "", "limitranges", "vision")).toBe(false);
    expect(can("create", "rbac.authorization.k8s.io", "rolebindings", "vision")).toBe(false);
    expect(can("update", "", "namespaces")).toBe(false);
  });

  it("can edit its own NetworkPolicies (edit includes them): egress limits are a guardrail it could lift, ingress isolation of other teams is not", () => {
    expect(can("delete", "networking.k8s.io", "networkpolicies", "vision")).toBe(true);
    expect(can("create", "networking.k8s.io", "networkpolicies", "search")).toBe(false);
  });
});
