/** The Team component: what it declares field by field, schema-valid, and its validation. */
import { describe, expect, it } from "vitest";
import { ComponentValidationError } from "../../components/common/validation";
import { existingGpuNodes } from "../../components/compute/existing-gpu-nodes";
import { KueueController } from "../../components/queueing/kueue-controller";
import { Team } from "../../components/tenancy/team";
import type { TeamArgs } from "../../components/tenancy/team-args";
import { planTeam } from "../../components/tenancy/team-plan";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import "../harness/kueue-schema";
import { runInMocks } from "../harness/pulumi-mocks";

const CUSTOM = "kubernetes:kueue.x-k8s.io/v1beta2:";

async function teamRun(args: Partial<TeamArgs> = {}) {
  return runInMocks(() => {
    const kueue = new KueueController("kueue");
    const gpu = kueue.gpuFlavor("a100", existingGpuNodes("a100", { nodeLabels: { "nvidia.com/gpu.product": "A100" }, gpusPerNode: 8, taint: { key: "nvidia.com/gpu", effect: "NoSchedule" } }));
    return new Team("vision", {
      groups: ["vision-ml"],
      quota: { cpu: "64", memory: "256Gi", gpus: 8 },
      queue: { kueue, cpu: "32", memory: "128Gi", gpus: [{ flavor: gpu, gpus: 4 }] },
      servingCallers: [{ serving: "classifier", from: [{ namespace: "search", podLabels: { app: "frontend" } }, { cidr: "10.20.0.0/16" }] }],
      stores: [{ type: "in-cluster", namespace: "ml", podLabels: { "app.kubernetes.io/name": "seaweedfs" }, port: 8333 }],
      ...args,
    });
  });
}

describe("Team", async () => {
  const run = await teamRun();
  const team = run.get("ml-platform:tenancy:Team");
  const byKind = (kind: string) => run.kubernetesObjects().filter((r) => r.inputs.kind === kind || r.type.endsWith(`:${kind}`));

  it("declares the namespace, quota, defaults, bindings, policies and queues as its children, all schema-valid", async () => {
    expect(run.childrenOf(team).map((r) => `${r.type} ${r.name}`).sort()).toEqual(
      [
        `${CUSTOM}ClusterQueue vision-cluster-queue`,
        `${CUSTOM}LocalQueue vision-local-queue`,
        "kubernetes:core/v1:LimitRange vision-defaults",
        "kubernetes:core/v1:Namespace vision",
        "kubernetes:core/v1:ResourceQuota vision-quota",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy vision-allow-callers-classifier",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy vision-allow-dns",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy vision-allow-model-stores",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy vision-allow-within-team",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy vision-default-deny",
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding vision-edit",
      ].sort(),
    );
    // 11 team objects plus the KueueController's namespace and two flavors.
    expect(await expectValidKubernetesObjects(run)).toBe(14);
    expect(run.result.namespaceName).toBe("vision");
    expect(run.result.queueName).toBe("vision");
  });

  it("enforces Pod Security restricted on its namespace and labels everything with the team", () => {
    const ns = run.get("kubernetes:core/v1:Namespace", "vision").inputs.metadata;
    expect(ns.labels).toEqual({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "latest",
      "pod-security.kubernetes.io/warn": "restricted",
      "pod-security.kubernetes.io/audit": "restricted",
      "app.kubernetes.io/managed-by": "ml-platform",
      "app.kubernetes.io/part-of": "ml-platform",
      "ml-platform.io/team": "vision",
    });
    for (const object of run.childrenOf(team).filter((r) => r.inputs.metadata?.namespace !== undefined)) expect(object.inputs.metadata.namespace, object.name).toBe("vision");
  });

  it("caps what the namespace may request and hold, and gives request-less containers requests", () => {
    expect(byKind("ResourceQuota")[0].inputs.spec.hard).toEqual({
      "requests.cpu": "64",
      "requests.memory": "256Gi",
      "requests.nvidia.com/gpu": "8",
      pods: "100",
      services: "20",
      "services.loadbalancers": "0",
      configmaps: "100",
      secrets: "100",
      persistentvolumeclaims: "10",
      "count/jobs.batch": "100",
    });
    // Requests only: no default CPU limit would throttle a training, no default memory limit would OOM one.
    expect(byKind("LimitRange")[0].inputs.spec).toEqual({ limits: [{ type: "Container", defaultRequest: { cpu: "100m", memory: "256Mi" } }] });
  });

  it("binds the team's groups to edit in its namespace only (a RoleBinding, never a ClusterRoleBinding)", () => {
    const [binding] = byKind("RoleBinding");
    expect(binding.inputs).toMatchObject({
      metadata: { name: "team-edit", namespace: "vision" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "vision-ml" }],
    });
    expect(run.ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")).toEqual([]);
  });

  it("queues the team's work in a ClusterQueue of the shared cohort: guaranteed what it asks, borrowing up to its quota", () => {
    const cq = run.get(`${CUSTOM}ClusterQueue`).inputs;
    expect(cq.metadata).toMatchObject({ name: "vision" });
    expect(cq.spec).toEqual({
      cohortName: "ml-platform",
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "vision" } },
      queueingStrategy: "BestEffortFIFO",
      preemption: { reclaimWithinCohort: "Any", borrowWithinCohort: { policy: "Never" }, withinClusterQueue: "LowerPriority" },
      resourceGroups: [
        {
          coveredResources: ["cpu", "memory"],
          flavors: [
            {
              name: "default",
              resources: [
                { name: "cpu", nominalQuota: "32", borrowingLimit: "32" },
                { name: "memory", nominalQuota: "128Gi", borrowingLimit: "128Gi" },
              ],
            },
          ],
        },
        { coveredResources: ["nvidia.com/gpu"], flavors: [{ name: "gpu-a100", resources: [{ name: "nvidia.com/gpu", nominalQuota: "4", borrowingLimit: "4" }] }] },
      ],
    });
    expect(run.get(`${CUSTOM}LocalQueue`).inputs).toMatchObject({ metadata: { name: "vision", namespace: "vision" }, spec: { clusterQueue: "vision" } });
  });

  it("creates the queues after Kueue, its flavors and the namespace", () => {
    const cq = run.get(`${CUSTOM}ClusterQueue`);
    const release = run.get("kubernetes:helm.sh/v3:Release");
    const flavors = run.ofType(`${CUSTOM}ResourceFlavor`);
    expect(cq.dependencies).toEqual(expect.arrayContaining([release.urn, ...flavors.map((f) => f.urn)]));
    const lq = run.get(`${CUSTOM}LocalQueue`);
    expect(lq.dependencies).toEqual(expect.arrayContaining([cq.urn, run.get("kubernetes:core/v1:Namespace", "vision").urn]));
  });

  it("without a cohort, the queue neither lends nor borrows (Kueue refuses borrowing limits without one)", async () => {
    const isolated = await runInMocks(() => {
      const kueue = new KueueController("kueue");
      return new Team("solo", { groups: ["solo"], quota: { cpu: "8", memory: "32Gi" }, queue: { kueue, cohort: false, cpu: "4" } });
    });
    const cq = isolated.get(`${CUSTOM}ClusterQueue`).inputs;
    expect(cq.spec.cohortName).toBeUndefined();
    expect(cq.spec.resourceGroups[0].flavors[0].resources[0]).toEqual({ name: "cpu", nominalQuota: "4" });
    expect(await expectValidKubernetesObjects(isolated)).toBeGreaterThan(0);
  });
});

describe("Team validation", () => {
  const kueue = { defaultFlavor: { name: "default" }, release: undefined as never };
  const flavor = { name: "gpu-a100" };

  it("reports every problem at once, naming each argument, before declaring anything", () => {
    const bad = () =>
      planTeam("Vision", {
        namespace: "kube-system",
        groups: [],
        quota: { cpu: "16", memory: "64m", gpus: 2 },
        defaults: { cpuRequest: "lots" },
        queue: { kueue, cpu: "128", gpus: [{ flavor, gpus: 3 }, { flavor, gpus: 1 }] },
        servingCallers: [{ serving: "classifier", from: [] }, { serving: "classifier", from: [{ namespace: "Search" }, { cidr: "10.0.0.0/33" }, { namespace: "x", cidr: "10.0.0.0/8" } as never] }],
        egress: [{ to: { cidr: "0.0.0.0/0" }, ports: [0] }],
        dns: [],
      });
    expect(bad).toThrow(ComponentValidationError);
    let error: ComponentValidationError | undefined;
    try {
      bad();
    } catch (e) {
      error = e as ComponentValidationError;
    }
    expect(error?.issues.map((i) => i.path)).toEqual([
      "name",
      "namespace",
      "groups",
      "quota.memory",
      "defaults.cpuRequest",
      "queue.cpu",
      "queue.gpus[1].flavor",
      "queue.gpus",
      "servingCallers[0].from",
      "servingCallers[1].serving",
      "servingCallers[1].from[0].namespace",
      "servingCallers[1].from[1].cidr",
      "servingCallers[1].from[2]",
      "egress[0].ports[0]",
      "dns",
    ]);
    expect(error?.message).toMatch(/namespace: "kube-system" belongs to the cluster/);
    expect(error?.message).toMatch(/quota\.memory: "64m" means milli-bytes; use "Mi"/);
    expect(error?.message).toMatch(/queue\.cpu: 128 is more than quota\.cpu \(16\): pods the queue admits would be refused by the namespace quota/);
    expect(error?.message).toMatch(/queue\.gpus: guarantee 4 GPU\(s\) in all, more than quota\.gpus \(2\)/);
    expect(error?.message).toMatch(/servingCallers\[1\]\.from\[1\]\.cidr: "10\.0\.0\.0\/33" is not a valid IPv4 CIDR/);
  });

  it("refuses roles that would let a team manage its own quota and access", () => {
    expect(() => planTeam("vision", { groups: ["v"], quota: { cpu: "1", memory: "1Gi" }, extraClusterRoles: ["admin"] })).toThrow(/extraClusterRoles\[0\]: "admin" would let the team manage its own quota and access/);
    expect(() => planTeam("vision", { groups: ["system:masters"], quota: { cpu: "1", memory: "1Gi" } })).toThrow(/groups\[0\]: "system:masters" is a Kubernetes system group/);
  });

  it("derives the borrowing limits from the quota: what the queue does not guarantee, it may borrow", () => {
    const plan = planTeam("vision", { groups: ["v"], quota: { cpu: "16", memory: "64Gi", gpus: 6 }, queue: { kueue, cpu: "4", gpus: [{ flavor, gpus: 2 }] } });
    expect(plan.queue).toMatchObject({ cohort: "ml-platform", cpu: { nominal: 4, borrowingLimit: 12 }, memory: { nominal: 64 * 2 ** 30, borrowingLimit: 0 }, gpus: [{ flavor: "gpu-a100", nominal: 2, borrowingLimit: 4 }] });
  });
});
