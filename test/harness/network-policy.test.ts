/** The NetworkPolicy evaluator follows the Kubernetes semantics the team policies rely on. */
import { describe, expect, it } from "vitest";
import { ClusterNetwork, type NetworkPolicy, type Pod } from "./network-policy";

const web: Pod = { name: "web", namespace: "shop", labels: { app: "web" }, ip: "10.0.0.10", ports: [{ name: "http", containerPort: 8080 }] };
const db: Pod = { name: "db", namespace: "shop", labels: { app: "db" }, ip: "10.0.0.11" };
const monitor: Pod = { name: "prom", namespace: "monitoring", labels: { app: "prometheus" }, ip: "10.0.1.5" };
const other: Pod = { name: "other", namespace: "monitoring", labels: { app: "other" }, ip: "10.0.1.6" };
const stranger: Pod = { name: "stranger", namespace: "elsewhere", labels: { app: "prometheus" }, ip: "10.0.2.7" };
const namespaces = { shop: {}, monitoring: { purpose: "monitoring" }, elsewhere: {} };

function ingressPolicy(from: NetworkPolicy["spec"]["ingress"]): NetworkPolicy {
  return { metadata: { name: "p", namespace: "shop" }, spec: { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"], ingress: from } };
}

describe("NetworkPolicy evaluator", () => {
  it("allows everything when no policy selects a pod", () => {
    const net = new ClusterNetwork(namespaces, []);
    expect(net.mayConnect({ pod: stranger }, { pod: web }, 8080)).toBe(true);
    expect(net.mayConnect({ pod: web }, { address: "203.0.113.9" }, 443)).toBe(true);
  });

  it("default deny: a policy that selects a pod with no rules isolates it both ways, and only it", () => {
    const deny: NetworkPolicy = { metadata: { name: "deny", namespace: "shop" }, spec: { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress", "Egress"] } };
    const net = new ClusterNetwork(namespaces, [deny]);
    expect(net.mayConnect({ pod: db }, { pod: web }, 8080)).toBe(false);
    expect(net.mayConnect({ pod: web }, { pod: db }, 5432)).toBe(false);
    expect(net.mayConnect({ pod: monitor }, { pod: db }, 5432)).toBe(true);
    // A pod always reaches itself, and its node's kubelet always reaches it (probes).
    expect(net.mayConnect({ pod: web }, { pod: web }, 8080)).toBe(true);
    expect(net.mayConnect({ node: "node-1" }, { pod: web }, 8080)).toBe(true);
  });

  it("policyTypes defaults to Ingress, plus Egress only when the policy has egress rules", () => {
    const ingressOnly: NetworkPolicy = { metadata: { name: "i", namespace: "shop" }, spec: { podSelector: {} } };
    const net = new ClusterNetwork(namespaces, [ingressOnly]);
    expect(net.mayConnect({ pod: monitor }, { pod: web }, 8080)).toBe(false);
    expect(net.mayConnect({ pod: web }, { pod: monitor }, 9090)).toBe(true);
  });

  it("namespaceSelector and podSelector in one peer must both match (AND)", () => {
    const net = new ClusterNetwork(namespaces, [
      ingressPolicy([{ from: [{ namespaceSelector: { matchLabels: { purpose: "monitoring" } }, podSelector: { matchLabels: { app: "prometheus" } } }] }]),
    ]);
    expect(net.mayConnect({ pod: monitor }, { pod: web }, 8080)).toBe(true);
    expect(net.mayConnect({ pod: other }, { pod: web }, 8080)).toBe(false); // right namespace, wrong pod
    expect(net.mayConnect({ pod: stranger }, { pod: web }, 8080)).toBe(false); // right pod labels, wrong namespace
  });

  it("separate peers are alternatives (OR), and a podSelector alone means the policy's own namespace", () => {
    const net = new ClusterNetwork(namespaces, [
      ingressPolicy([{ from: [{ namespaceSelector: { matchLabels: { purpose: "monitoring" } } }, { podSelector: { matchLabels: { app: "prometheus" } } }] }]),
    ]);
    expect(net.mayConnect({ pod: other }, { pod: web }, 8080)).toBe(true); // any pod of the monitoring namespace
    expect(net.mayConnect({ pod: stranger }, { pod: web }, 8080)).toBe(false); // prometheus, but not in "shop"
    const shopProm: Pod = { ...stranger, name: "shop-prom", namespace: "shop", ip: "10.0.0.20" };
    expect(net.mayConnect({ pod: shopProm }, { pod: web }, 8080)).toBe(true);
  });

  it("matches ports by number, range and container port name, with TCP as the default protocol", () => {
    const net = new ClusterNetwork(namespaces, [
      ingressPolicy([{ ports: [{ port: "http" }, { port: 9000, endPort: 9002 }, { protocol: "UDP", port: 53 }] }]),
    ]);
    expect(net.mayConnect({ pod: db }, { pod: web }, 8080)).toBe(true);
    expect(net.mayConnect({ pod: db }, { pod: web }, 9001)).toBe(true);
    expect(net.mayConnect({ pod: db }, { pod: web }, 9003)).toBe(false);
    expect(net.mayConnect({ pod: db }, { pod: web }, 53, "UDP")).toBe(true);
    expect(net.mayConnect({ pod: db }, { pod: web }, 53, "TCP")).toBe(false);
  });

  it("needs both sides: the source's egress and the destination's ingress", () => {
    const egressDeny: NetworkPolicy = { metadata: { name: "e", namespace: "monitoring" }, spec: { podSelector: {}, policyTypes: ["Egress"] } };
    const net = new ClusterNetwork(namespaces, [ingressPolicy([{ from: [{ namespaceSelector: {} }] }]), egressDeny]);
    expect(net.ingressAllowed({ pod: monitor }, { pod: web }, 8080)).toBe(true);
    expect(net.mayConnect({ pod: monitor }, { pod: web }, 8080)).toBe(false);
  });

  it("matches ipBlocks by address, minus their exceptions, for IPv4 and IPv6", () => {
    const egress: NetworkPolicy = {
      metadata: { name: "e", namespace: "shop" },
      spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.0.0/16"] } }, { ipBlock: { cidr: "fd00:ec2::23/128" } }] }] },
    };
    const net = new ClusterNetwork(namespaces, [egress]);
    expect(net.mayConnect({ pod: web }, { address: "52.216.1.1" }, 443)).toBe(true);
    expect(net.mayConnect({ pod: web }, { address: "169.254.169.254" }, 80)).toBe(false);
    expect(net.mayConnect({ pod: web }, { address: "fd00:ec2::23" }, 80)).toBe(true);
    expect(net.mayConnect({ pod: web }, { address: "fd00:ec2::24" }, 80)).toBe(false);
  });

  it("refuses policies of namespaces the model does not know (a typo would otherwise isolate nothing)", () => {
    expect(() => new ClusterNetwork(namespaces, [{ metadata: { name: "x", namespace: "shopp" }, spec: { podSelector: {} } }])).toThrow(/namespace shopp/);
  });
});
