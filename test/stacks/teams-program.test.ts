/**
 * The program with two teams sharing a GPU pool, under Pulumi's mocks: what it declares (Kueue, a Team per team,
 * workloads in the teams' namespaces, queued), all of it schema-valid, and who may reach whom and who may do what,
 * evaluated over every NetworkPolicy and RoleBinding the program renders and the pods it renders.
 */
import { describe, expect, it, vi } from "vitest";
import { expectValidKubernetesObjects } from "../harness/kubernetes-schema";
import "../harness/kueue-schema";
import { ClusterNetwork, type NetworkPolicy, type Pod } from "../harness/network-policy";
import { expectRestrictedPods, podTemplatesOf } from "../harness/pod-security";
import { type MockRun, runInMocks, unwrap } from "../harness/pulumi-mocks";
import { type Binding, kubernetesBootstrapRoles, Rbac, suiteKubernetesVersion } from "../harness/rbac";
import { parsePlatformConfig } from "../../stacks/config";
import { type KueueRef, teamArgs } from "../../stacks/wiring";
import { twoTeams } from "./two-teams";

type Exports = Record<string, unknown>;

async function programRun(config: Record<string, unknown>): Promise<MockRun<Exports>> {
  vi.resetModules();
  const entries = Object.fromEntries(Object.entries(config).map(([key, value]) => [`ml-platform:${key}`, value]));
  return runInMocks(async () => (await import("../../stacks/index")) as unknown as Exports, { config: entries, stack: "teams" });
}

const JOB = "kubernetes:batch/v1:Job";

/** Two teams; vision also converts detector version 1 for phones. */
function twoTeamsWithMobileExport(): Record<string, unknown> {
  const config = twoTeams();
  config.mobileExports = [{ name: "detector-mobile", team: "vision", store: "models", model: "detector", version: 1, wait: { until: "created" } }];
  return config;
}

describe("two teams on one GPU cluster", async () => {
  const run = await programRun(twoTeamsWithMobileExport());
  const objects = run.kubernetesObjects();

  it("installs Kueue with a flavor for the GPU pool, and declares both teams, everything schema-valid and restricted", async () => {
    expect(run.ofType("ml-platform:queueing:KueueController").map((r) => r.name)).toEqual(["kueue"]);
    expect(run.ofType("ml-platform:tenancy:Team").map((r) => r.name)).toEqual(["vision", "search"]);
    expect(run.ofType("kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor").map((r) => [r.inputs.metadata.name, r.inputs.spec])).toEqual([
      ["default", {}],
      ["gpu-gpu", { nodeLabels: { "nvidia.com/gpu.present": "true" } }],
    ]);
    expect(await expectValidKubernetesObjects(run)).toBeGreaterThan(40);
    expect(expectRestrictedPods(run)).toBeGreaterThan(4);
  });

  it("runs each team's servings and trainings in its namespace; trainings wait in the team's queue", () => {
    for (const [workload, namespace] of [["detector", "vision"], ["ranker", "search"]]) {
      expect(run.get("kubernetes:apps/v1:Deployment", workload).inputs.metadata.namespace).toBe(namespace);
      const job = run.get(JOB, `${workload}-train-v1`).inputs;
      expect(job.metadata.namespace).toBe(namespace);
      expect(job.metadata.labels["kueue.x-k8s.io/queue-name"]).toBe(namespace);
      expect(job.spec.suspend).toBe(true);
    }
    // A mobile export runs in its team's namespace, after the team, and is not queued (it uses no GPU).
    const mobile = run.get(JOB, "detector-mobile-v1").inputs;
    expect(mobile.metadata.namespace).toBe("vision");
    expect(mobile.metadata.labels?.["kueue.x-k8s.io/queue-name"]).toBeUndefined();
    // The GPU pool's selector reaches the pods; Kueue checks it against the flavor.
    expect(run.get(JOB, "detector-train-v1").inputs.spec.template.spec.nodeSelector).toEqual({ "nvidia.com/gpu.present": "true" });
  });

  it("gives the queues their guarantees in one cohort, borrowing up to the namespace quota", () => {
    const queues = run.ofType("kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue").map((r) => r.inputs);
    expect(queues.map((q) => [q.metadata.name, q.spec.cohortName, q.spec.resourceGroups[1].flavors[0].resources[0]])).toEqual([
      ["vision", "ml-platform", { name: "nvidia.com/gpu", nominalQuota: "4", borrowingLimit: "4" }],
      ["search", "ml-platform", { name: "nvidia.com/gpu", nominalQuota: "4", borrowingLimit: "4" }],
    ]);
  });

  it("makes team workloads wait for their team (namespace, quota, policies, queue)", () => {
    // Depending on a component means depending on everything in it.
    const team = run.childrenOf(run.get("ml-platform:tenancy:Team", "vision")).map((r) => r.urn);
    expect(team.length).toBeGreaterThan(8);
    expect(run.get("ml-platform:training:TrainingJob", "detector-train").dependencies).toEqual(expect.arrayContaining(team));
    expect(run.get("ml-platform:serving:TfServing", "detector").dependencies).toEqual(expect.arrayContaining(team));
    expect(run.get("ml-platform:mobile:MobileExport", "detector-mobile").dependencies).toEqual(expect.arrayContaining(team));
  });

  it("exports each team's namespace, queue, groups, servings, trainings, mobile exports and TensorBoards", async () => {
    expect(await unwrap(run.result.teams as never)).toEqual({
      vision: { namespace: "vision", queue: "vision", groups: ["vision-ml"], servings: ["detector"], trainings: ["detector-train"], mobileExports: ["detector-mobile"], tensorboards: ["vision"] },
      search: { namespace: "search", queue: "search", groups: ["search-ml"], servings: ["ranker"], trainings: ["ranker-train"], mobileExports: [], tensorboards: [] },
    });
  });

  it("lets a team whose only use of a store is a mobile export reach that store", () => {
    const raw = twoTeams();
    raw.trainings = [];
    raw.servings = [];
    raw.teams[0].servingCallers = [];
    raw.mobileExports = [{ name: "detector-mobile", team: "vision", store: "models", model: "detector", version: 1 }];
    const config = parsePlatformConfig(raw);
    const kueue = { defaultFlavor: { name: "default" }, release: undefined, poolFlavors: new Map() } as unknown as KueueRef;
    expect(teamArgs(config.teams[0], config, kueue).stores).toEqual([expect.objectContaining({ type: "in-cluster", port: 8333 })]);
    expect(teamArgs(config.teams[1], config, kueue).stores).toEqual([]);
  });

  describe("network: the pods the program renders, under the policies it renders", () => {
    const policies = objects.filter((r) => r.inputs.kind === "NetworkPolicy").map((r) => r.inputs as NetworkPolicy);
    const namespaces = Object.fromEntries(objects.filter((r) => r.inputs.kind === "Namespace").map((r) => [r.inputs.metadata.name, r.inputs.metadata.labels]));
    const pods = new Map<string, Pod>();
    let ip = 10;
    for (const object of objects) {
      for (const template of podTemplatesOf(object.inputs)) {
        pods.set(`${object.inputs.metadata.namespace}/${object.inputs.metadata.name}`, {
          name: template.label,
          namespace: object.inputs.metadata.namespace,
          labels: template.metadata.labels ?? {},
          ip: `10.244.0.${ip++}`,
        });
      }
    }
    const net = new ClusterNetwork({ ...namespaces, "kube-system": {} }, policies);
    const pod = (key: string) => {
      const found = pods.get(key);
      if (!found) throw new Error(`no rendered pod ${key}; rendered: ${[...pods.keys()].join(", ")}`);
      return { pod: found };
    };
    const dns = { pod: { name: "coredns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" }, ip: "10.96.0.10" } };

    it("search's pods may call vision's detector, which lists search; vision's pods may not call search's ranker", () => {
      for (const caller of ["search/ranker", "search/ranker-train-v1"]) {
        expect(net.mayConnect(pod(caller), pod("vision/detector"), 8500), caller).toBe(true);
        expect(net.mayConnect(pod(caller), pod("vision/detector"), 8501), caller).toBe(true);
      }
      expect(net.mayConnect(pod("vision/detector-train-v1"), pod("search/ranker"), 8500)).toBe(false);
      expect(net.mayConnect(pod("search/ranker"), pod("vision/detector-train-v1"), 2222)).toBe(false);
    });

    it("the platform's own namespace (the store) cannot call into a team, while every team reaches the store", () => {
      expect(net.mayConnect(pod("ml/models"), pod("vision/detector"), 8500)).toBe(false);
      for (const client of ["vision/detector", "vision/detector-train-v1", "vision/detector-mobile-v1", "search/ranker", "search/ranker-train-v1"]) {
        expect(net.mayConnect(pod(client), pod("ml/models"), 8333), client).toBe(true);
        expect(net.mayConnect(pod(client), dns, 53, "UDP"), client).toBe(true);
      }
    });

    it("a team's TensorBoard answers the team's own pods only, and reaches the store and DNS", () => {
      expect(run.get("kubernetes:apps/v1:Deployment", "vision-tensorboard").inputs.metadata.namespace).toBe("vision");
      for (const member of ["vision/detector", "vision/detector-train-v1"]) expect(net.mayConnect(pod(member), pod("vision/vision-tensorboard"), 6006), member).toBe(true);
      for (const outsider of ["search/ranker", "search/ranker-train-v1", "ml/models"]) expect(net.mayConnect(pod(outsider), pod("vision/vision-tensorboard"), 6006), outsider).toBe(false);
      expect(net.mayConnect(pod("vision/vision-tensorboard"), pod("ml/models"), 8333)).toBe(true);
      expect(net.mayConnect(pod("vision/vision-tensorboard"), dns, 53, "UDP")).toBe(true);
    });

    it("the grant checks of the store (Jobs in the teams' namespaces) reach it too", () => {
      const checks = [...pods.keys()].filter((key) => /^(vision|search)\/.*store-check/.test(key));
      expect(checks.length).toBeGreaterThan(0);
      for (const check of checks) expect(net.mayConnect(pod(check), pod("ml/models"), 8333), check).toBe(true);
    });
  });

  it("access: each team's group edits its own namespace only, sees its queue, and cannot touch Kueue's cluster objects", () => {
    const bindings = objects.filter((r) => r.inputs.kind === "RoleBinding" || r.inputs.kind === "ClusterRoleBinding").map((r) => ({ ...r.inputs, kind: r.inputs.kind }) as Binding);
    expect(bindings.map((b) => `${b.metadata.namespace}/${b.roleRef.name}`).sort()).toEqual(["search/edit", "search/kueue-batch-user-role", "vision/edit", "vision/kueue-batch-user-role"]);
    const rbac = new Rbac(kubernetesBootstrapRoles(suiteKubernetesVersion()), [], bindings);
    const alice = { name: "alice", groups: ["vision-ml"] };
    expect(rbac.can(alice, { verb: "create", group: "batch", resource: "jobs", namespace: "vision" })).toBe(true);
    expect(rbac.can(alice, { verb: "create", group: "batch", resource: "jobs", namespace: "search" })).toBe(false);
    expect(rbac.can(alice, { verb: "get", group: "", resource: "secrets", namespace: "ml" })).toBe(false);
    // Kueue's cluster-scoped objects are the platform's: edit grants nothing on them.
    expect(rbac.can(alice, { verb: "update", group: "kueue.x-k8s.io", resource: "clusterqueues" })).toBe(false);
    expect(rbac.can(alice, { verb: "create", group: "kueue.x-k8s.io", resource: "localqueues", namespace: "vision" })).toBe(false);
  });
});

describe("a team whose only workload is a TensorBoard", async () => {
  const config = twoTeams();
  const run = await programRun({
    cluster: config.cluster,
    stores: config.stores,
    teams: [{ name: "viz", groups: ["viz-ml"], quota: { cpu: "4", memory: "8Gi" } }],
    tensorboards: [{ name: "detector", team: "viz", models: [{ name: "detector", store: "models" }] }],
  });

  it("still reaches the store its TensorBoard reads from", () => {
    const objects = run.kubernetesObjects();
    const policies = objects.filter((r) => r.inputs.kind === "NetworkPolicy").map((r) => r.inputs as NetworkPolicy);
    const namespaces = Object.fromEntries(objects.filter((r) => r.inputs.kind === "Namespace").map((r) => [r.inputs.metadata.name, r.inputs.metadata.labels]));
    const podOf = (kind: string, name: string, ip: string): { pod: Pod } => {
      const object = objects.find((r) => r.inputs.kind === kind && r.inputs.metadata.name === name)!.inputs;
      const [template] = podTemplatesOf(object);
      return { pod: { name, namespace: object.metadata.namespace, labels: template!.metadata.labels ?? {}, ip } };
    };
    const net = new ClusterNetwork(namespaces, policies);
    const tensorboard = podOf("Deployment", "detector-tensorboard", "10.244.0.2");
    expect(tensorboard.pod.namespace).toBe("viz");
    expect(net.mayConnect(tensorboard, podOf("Deployment", "models", "10.244.0.3"), 8333)).toBe(true);
  });
});
