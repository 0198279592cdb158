import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { TeamArgs } from "./team-args";
import { type KubernetesObject, teamLimitRange, teamNamespace, teamNetworkPolicies, teamQueues, teamResourceQuota, teamRoleBindings } from "./team-objects";
import { planTeam, type TeamPlan } from "./team-plan";

/**
 * A team (tenant) on a shared cluster: its own namespace with Pod Security "restricted", a ResourceQuota (CPU,
 * memory, GPUs, object counts) with LimitRange defaults, its groups bound to `edit` in that namespace only,
 * NetworkPolicies that make the namespace one trust zone (deny in and out, except the serving ports for the
 * callers it lists, DNS, its model stores and the egress it lists), and, with `queue`, a Kueue ClusterQueue with
 * its guaranteed share in the cohort plus a LocalQueue its trainings are submitted to (`queueName`).
 */
export class Team extends pulumi.ComponentResource {
  /** Checked arguments with defaults. */
  readonly plan: TeamPlan;
  readonly namespaceName: string;
  /** The LocalQueue to give TrainingJob's `queue`; undefined without a queue. */
  readonly queueName?: string;
  readonly namespace: k8s.core.v1.Namespace;
  readonly resourceQuota: k8s.core.v1.ResourceQuota;
  readonly limitRange: k8s.core.v1.LimitRange;
  readonly roleBindings: k8s.rbac.v1.RoleBinding[];
  readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];
  readonly clusterQueue?: k8s.apiextensions.CustomResource;
  readonly localQueue?: k8s.apiextensions.CustomResource;

  constructor(name: string, args: TeamArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const plan = planTeam(name, args);
    super("ml-platform:tenancy:Team", name, {}, opts);
    this.plan = plan;
    this.namespaceName = plan.namespace;

    const ns = teamNamespace(plan);
    this.namespace = new k8s.core.v1.Namespace(`${name}`, { metadata: ns.metadata }, { parent: this });
    const inNamespace = { parent: this, dependsOn: [this.namespace] };
    // The builders return plain objects the API server validates (and the tests check against its schema).
    const spec = <T>(o: KubernetesObject) => o.spec as T;

    const quota = teamResourceQuota(plan);
    this.resourceQuota = new k8s.core.v1.ResourceQuota(`${name}-quota`, { metadata: quota.metadata, spec: spec<k8s.types.input.core.v1.ResourceQuotaSpec>(quota) }, inNamespace);
    const limits = teamLimitRange(plan);
    this.limitRange = new k8s.core.v1.LimitRange(`${name}-defaults`, { metadata: limits.metadata, spec: spec<k8s.types.input.core.v1.LimitRangeSpec>(limits) }, inNamespace);
    this.roleBindings = teamRoleBindings(plan).map(
      (binding) =>
        new k8s.rbac.v1.RoleBinding(
          `${name}-${binding.metadata.name.replace(/^team-/, "")}`,
          { metadata: binding.metadata, roleRef: binding.roleRef as k8s.types.input.rbac.v1.RoleRef, subjects: binding.subjects as k8s.types.input.rbac.v1.Subject[] },
          inNamespace,
        ),
    );
    this.networkPolicies = teamNetworkPolicies(plan).map(
      (p) => new k8s.networking.v1.NetworkPolicy(`${name}-${p.metadata.name}`, { metadata: p.metadata, spec: spec<k8s.types.input.networking.v1.NetworkPolicySpec>(p) }, inNamespace),
    );

    if (plan.queue && args.queue) {
      const [clusterQueue, localQueue] = teamQueues(plan);
      const flavors = [args.queue.kueue.defaultFlavor, ...(args.queue.gpus ?? []).map((g) => g.flavor)].flatMap((f) => (f.resource ? [f.resource] : []));
      this.clusterQueue = new k8s.apiextensions.CustomResource(
        `${name}-cluster-queue`,
        { apiVersion: clusterQueue.apiVersion, kind: clusterQueue.kind, metadata: clusterQueue.metadata, spec: clusterQueue.spec },
        { parent: this, dependsOn: [args.queue.kueue.release, ...flavors] },
      );
      this.localQueue = new k8s.apiextensions.CustomResource(
        `${name}-local-queue`,
        { apiVersion: localQueue.apiVersion, kind: localQueue.kind, metadata: localQueue.metadata, spec: localQueue.spec },
        { parent: this, dependsOn: [this.namespace, this.clusterQueue] },
      );
      this.queueName = plan.queue.name;
    }
    this.registerOutputs({ namespace: this.namespaceName, queueName: this.queueName });
  }
}
