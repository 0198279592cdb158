/**
 * A NetworkPolicy evaluator for policy-level tests: given namespaces, pods and `networking.k8s.io/v1`
 * NetworkPolicies, may a connection from one endpoint reach another on a port? It follows the semantics of the
 * Kubernetes API (what a conforming CNI enforces), which a cluster without a CNI (such as the real-deploy suite's)
 * cannot show:
 *
 * - A pod is isolated for ingress (egress) once any policy of its namespace selects it with that policy type;
 *   `policyTypes` defaults to Ingress, plus Egress when the policy has egress rules.
 * - A connection needs both: egress allowed from the source, ingress allowed at the destination. Policies only
 *   add allowances (the union of their rules); there is no deny rule.
 * - A rule with no `from`/`to` allows every peer; with no `ports`, every port. Within one peer,
 *   `namespaceSelector` and `podSelector` must both match (AND); separate peers are alternatives (OR). A
 *   `podSelector` alone means pods of the policy's own namespace; a `namespaceSelector` alone, every pod of the
 *   selected namespaces. `ipBlock` matches addresses (minus `except`), here pod IPs and outside addresses alike.
 * - Ports are numbers or named container ports of the destination, optionally up to `endPort`; protocol TCP
 *   by default.
 * - A pod can always reach itself, and traffic from or to the pod's own node (kubelet probes) is always allowed.
 */
import { BlockList, isIP } from "node:net";

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }>;
}

export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface PolicyPort {
  protocol?: "TCP" | "UDP" | "SCTP";
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicy {
  metadata: { name: string; namespace?: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: Array<"Ingress" | "Egress">;
    ingress?: Array<{ from?: PolicyPeer[]; ports?: PolicyPort[] }>;
    egress?: Array<{ to?: PolicyPeer[]; ports?: PolicyPort[] }>;
  };
}

export interface Pod {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  ip: string;
  /** Named container ports, for policies that name ports. */
  ports?: Array<{ name: string; containerPort: number; protocol?: string }>;
}

/** A pod, an address outside the cluster, or a node (its kubelet). */
export type Endpoint = { pod: Pod } | { address: string } | { node: string };

export type Protocol = "TCP" | "UDP" | "SCTP";

export function labelsMatch(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, key);
    if (operator === "In" && !(present && values.includes(labels[key]))) return false;
    if (operator === "NotIn" && present && values.includes(labels[key])) return false;
    if (operator === "Exists" && !present) return false;
    if (operator === "DoesNotExist" && present) return false;
  }
  return true;
}

function inBlock(address: string, block: { cidr: string; except?: string[] }): boolean {
  const family = isIP(address) === 6 ? "ipv6" : "ipv4";
  const contains = (cidr: string) => {
    const [network, prefix] = cidr.split("/");
    if ((isIP(network) === 6 ? "ipv6" : "ipv4") !== family) return false;
    const list = new BlockList();
    list.addSubnet(network, Number(prefix), family);
    return list.check(address, family);
  };
  return contains(block.cidr) && !(block.except ?? []).some(contains);
}

export class ClusterNetwork {
  private readonly namespaceLabels = new Map<string, Record<string, string>>();

  constructor(
    namespaces: Record<string, Record<string, string>>,
    private readonly policies: readonly NetworkPolicy[],
  ) {
    for (const [name, labels] of Object.entries(namespaces)) this.namespaceLabels.set(name, { ...labels, "kubernetes.io/metadata.name": name });
    for (const policy of policies) {
      if (!policy.metadata.namespace || !this.namespaceLabels.has(policy.metadata.namespace)) {
        throw new Error(`NetworkPolicy ${policy.metadata.name} is in namespace ${policy.metadata.namespace ?? "(none)"}, which the cluster model does not have`);
      }
    }
  }

  private labelsOfNamespace(namespace: string): Record<string, string> {
    const labels = this.namespaceLabels.get(namespace);
    if (!labels) throw new Error(`the cluster model has no namespace ${namespace}`);
    return labels;
  }

  private peerMatches(peer: PolicyPeer, policyNamespace: string, endpoint: Endpoint): boolean {
    if (peer.ipBlock) {
      const address = "pod" in endpoint ? endpoint.pod.ip : "address" in endpoint ? endpoint.address : undefined;
      return address !== undefined && inBlock(address, peer.ipBlock);
    }
    if (!("pod" in endpoint)) return false;
    const { pod } = endpoint;
    const namespaceOk = peer.namespaceSelector ? labelsMatch(peer.namespaceSelector, this.labelsOfNamespace(pod.namespace)) : pod.namespace === policyNamespace;
    const podOk = peer.podSelector ? labelsMatch(peer.podSelector, pod.labels ?? {}) : true;
    return namespaceOk && podOk;
  }

  private portMatches(ports: PolicyPort[] | undefined, destination: Endpoint, port: number, protocol: Protocol): boolean {
    if (!ports || ports.length === 0) return true;
    return ports.some((p) => {
      if ((p.protocol ?? "TCP") !== protocol) return false;
      if (p.port === undefined) return true;
      if (typeof p.port === "string") {
        const named = "pod" in destination ? destination.pod.ports?.find((cp) => cp.name === p.port && (cp.protocol ?? "TCP") === protocol) : undefined;
        return named?.containerPort === port;
      }
      return p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port;
    });
  }

  private selecting(pod: Pod, direction: "Ingress" | "Egress"): NetworkPolicy[] {
    return this.policies.filter((policy) => {
      if (policy.metadata.namespace !== pod.namespace || !labelsMatch(policy.spec.podSelector, pod.labels ?? {})) return false;
      const types = policy.spec.policyTypes ?? ["Ingress", ...(policy.spec.egress ? (["Egress"] as const) : [])];
      return types.includes(direction);
    });
  }

  /** Whether the source's egress policies let it start this connection (true when nothing isolates it). */
  egressAllowed(from: Endpoint, to: Endpoint, port: number, protocol: Protocol = "TCP"): boolean {
    if (!("pod" in from)) return true;
    const policies = this.selecting(from.pod, "Egress");
    if (policies.length === 0) return true;
    return policies.some((policy) =>
      (policy.spec.egress ?? []).some(
        (rule) => (!rule.to || rule.to.length === 0 || rule.to.some((peer) => this.peerMatches(peer, policy.metadata.namespace!, to))) && this.portMatches(rule.ports, to, port, protocol),
      ),
    );
  }

  /** Whether the destination's ingress policies admit this connection (true when nothing isolates it). */
  ingressAllowed(from: Endpoint, to: Endpoint, port: number, protocol: Protocol = "TCP"): boolean {
    if (!("pod" in to)) return true;
    const policies = this.selecting(to.pod, "Ingress");
    if (policies.length === 0) return true;
    return policies.some((policy) =>
      (policy.spec.ingress ?? []).some(
        (rule) => (!rule.from || rule.from.length === 0 || rule.from.some((peer) => this.peerMatches(peer, policy.metadata.namespace!, from))) && this.portMatches(rule.ports, to, port, protocol),
      ),
    );
  }

  /** May `from` open a connection to `to` on `port`? */
  mayConnect(from: Endpoint, to: Endpoint, port: number, protocol: Protocol = "TCP"): boolean {
    if ("pod" in from && "pod" in to && from.pod === to.pod) return true;
    if ("node" in from || "node" in to) return true;
    return this.egressAllowed(from, to, port, protocol) && this.ingressAllowed(from, to, port, protocol);
  }
}
