/** The `teams` and `kueue` config keys: what is accepted, and every invalid combination named before any resource. */
import { describe, expect, it } from "vitest";
import { parsePlatformConfig, PlatformConfigError } from "../../stacks/config";
import { twoTeams } from "./two-teams";

function problemsOf(raw: Record<string, unknown>): readonly string[] {
  try {
    parsePlatformConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(PlatformConfigError);
    return (err as PlatformConfigError).problems;
  }
  throw new Error("expected a config error");
}

/* eslint-disable @typescript-eslint/no-explicit-any -- patches poke at parsed YAML */
function withChange(patch: (config: any) => void): Record<string, unknown> {
  const config = twoTeams();
  patch(config);
  return config;
}

describe("teams config", () => {
  it("accepts two teams sharing a GPU pool, with servings and trainings placed in them", () => {
    const config = parsePlatformConfig(twoTeams());
    expect(config.teams.map((t) => [t.name, t.namespace ?? t.name, t.queue.gpus])).toEqual([
      ["vision", "vision", 4],
      ["search", "search", 4],
    ]);
    expect(config.trainings.map((t) => t.team)).toEqual(["vision", "search"]);
  });

  it("refuses a training that asks for GPUs in a team whose queue has none", () => {
    const problems = problemsOf(withChange((c) => delete c.teams[1].queue));
    expect(problems).toEqual([
      'trainings[1].resources.gpus: asks for GPUs on pool "gpu", but team "search" has no GPU quota there (teams[1].queue.gpus); give the team GPUs on "gpu"',
    ]);
  });

  it("refuses a serving that admits callers from an unknown team, and a team calling itself", () => {
    const problems = problemsOf(withChange((c) => c.teams[0].servingCallers[0].from.push({ team: "ads" }, { team: "vision" })));
    expect(problems).toEqual([
      'teams[0].servingCallers[0].from[1].team: unknown team "ads"; teams has "vision", "search"',
      "teams[0].servingCallers[0].from[2].team: a team's own pods may always call its servings; remove it",
    ]);
  });

  it("refuses callers for a serving that is not the team's", () => {
    expect(problemsOf(withChange((c) => (c.teams[0].servingCallers[0].serving = "ranker")))).toEqual([
      'teams[0].servingCallers[0].serving: "ranker" is not a serving of team "vision"; its servings: "detector"',
    ]);
  });

  it("refuses a training that could never be admitted: more GPUs than the team may ever get", () => {
    const problems = problemsOf(withChange((c) => (c.trainings[0].replicas = undefined, (c.trainings[0].resources.gpus = 8), (c.teams[0].quota.gpus = 6))));
    expect(problems).toEqual([
      'trainings[0].resources.gpus: needs 8 GPU(s) at once, but team "vision" can get at most 6 on pool "gpu" (its queue guarantees 4, it may borrow 2); it would wait in the queue forever: raise teams[0].queue.gpus or teams[0].quota.gpus, or use fewer GPUs',
    ]);
  });

  it("refuses unknown teams, a namespace next to a team, and namespaces teams would share", () => {
    const problems = problemsOf(
      withChange((c) => {
        c.servings[0].team = "vizion";
        c.trainings[1].namespace = "elsewhere";
        c.teams[1].namespace = "vision";
      }),
    );
    expect(problems).toEqual([
      'teams[1].namespace: "vision" is already the namespace of teams[0]; each team needs its own',
      'servings[0].team: unknown team "vizion"; teams has "vision", "search"',
      'trainings[1].namespace: conflicts with team "search", whose namespace "vision" it runs in; remove namespace',
    ]);
    expect(problemsOf(withChange((c) => (c.teams[0].namespace = "ml")))).toEqual([
      'teams[0].namespace: "ml" is also used outside the team (the platform\'s namespace, or a serving, training, mobile export or TensorBoard without a team); give the team its own namespace, or put those workloads in the team',
    ]);
  });

  it("places a team's mobile export in its namespace, refuses an unknown team or a namespace beside it, and a team namespace used by an export without a team", () => {
    const exportOf = (extra: Record<string, unknown>) => ({ name: "detector-mobile", store: "models", model: "detector", version: 1, ...extra });
    const config = parsePlatformConfig(withChange((c) => (c.mobileExports = [exportOf({ team: "vision" })])));
    expect(config.mobileExports.map((m) => m.team)).toEqual(["vision"]);
    expect(problemsOf(withChange((c) => (c.mobileExports = [exportOf({ team: "vizion" }), exportOf({ name: "other", team: "search", namespace: "x" })])))).toEqual([
      'mobileExports[0].team: unknown team "vizion"; teams has "vision", "search"',
      'mobileExports[1].namespace: conflicts with team "search", whose namespace "search" it runs in; remove namespace',
    ]);
    expect(problemsOf(withChange((c) => (c.mobileExports = [exportOf({ namespace: "vision" })])))).toEqual([
      'teams[0].namespace: "vision" is also used outside the team (the platform\'s namespace, or a serving, training, mobile export or TensorBoard without a team); give the team its own namespace, or put those workloads in the team',
    ]);
  });

  it("checks GPU budgets and pools: queue GPUs by pool, servings within the quota", () => {
    expect(problemsOf(withChange((c) => (c.teams[0].queue.gpus = { gpuz: 4 })))).toEqual(
      expect.arrayContaining(['teams[0].queue.gpus.gpuz: unknown GPU pool "gpuz"; gpuPools has "gpu"']),
    );
    expect(
      problemsOf(
        withChange((c) => {
          c.gpuPools.push({ name: "gpu2", type: "existing", nodeLabels: { pool: "2" }, gpusPerNode: 1 });
        }),
      ),
    ).toEqual([
      'teams[0].queue.gpus: a number needs exactly one GPU pool, but gpuPools has "gpu", "gpu2"; give GPUs per pool, e.g. { gpu: 4 }',
      'teams[1].queue.gpus: a number needs exactly one GPU pool, but gpuPools has "gpu", "gpu2"; give GPUs per pool, e.g. { gpu: 4 }',
    ]);
    const servingGpus = problemsOf(withChange((c) => Object.assign(c.servings[0], { gpuPool: "gpu", resources: { gpus: 1 }, replicas: 5 })));
    expect(servingGpus).toEqual([
      "teams[0].quota.gpus: the team's servings run up to 5 GPU(s) and its queue guarantees 4, but the quota allows 8; raise it to at least 9",
    ]);
  });

  it("needs a load balancer's clients listed: the team's default deny would drop them", () => {
    expect(problemsOf(withChange((c) => (c.servings[0].service = { type: "InternalLoadBalancer" })))).toEqual([
      'servings[0].service.type: an InternalLoadBalancer in team "vision" gets no traffic through the team\'s NetworkPolicies; list its clients\' address ranges in teams[0].servingCallers (e.g. { serving: detector, from: [{ cidr: "10.0.0.0/16" }] })',
    ]);
    expect(() =>
      parsePlatformConfig(withChange((c) => ((c.servings[0].service = { type: "InternalLoadBalancer" }), c.teams[0].servingCallers[0].from.push({ cidr: "10.0.0.0/16" })))),
    ).not.toThrow();
  });

  it("names what is wrong with a peer, and applies the Team component's own rules at config paths", () => {
    expect(problemsOf(withChange((c) => (c.teams[0].servingCallers[0].from[0] = { team: "search", cidr: "10.0.0.0/8" })))).toEqual([
      "teams[0].servingCallers[0].from[0]: set exactly one of team, namespace (with podLabels?) or cidr (with except?)",
    ]);
    expect(problemsOf(withChange((c) => ((c.teams[0].groups = ["system:masters"]), (c.teams[0].queue.cpu = "64"))))).toEqual([
      'teams[0].groups[0]: "system:masters" is a Kubernetes system group; name the team\'s own group',
      "teams[0].queue.cpu: 64 is more than quota.cpu (32): pods the queue admits would be refused by the namespace quota",
    ]);
  });

  it("refuses kueue settings without teams, and EKS pools on a local cluster (existing GPU nodes are fine)", () => {
    expect(problemsOf({ cluster: { type: "local" }, kueue: { cohort: "ml" } })).toEqual(["kueue: Kueue is only installed for teams, and teams is empty; add teams or remove kueue"]);
    expect(problemsOf(withChange((c) => (c.gpuPools = [{ name: "gpu", instanceTypes: ["g5.xlarge"], scaling: { min: 0, desired: 0, max: 1 } }])))).toEqual(
      expect.arrayContaining(['gpuPools[0]: GPU node pools of type "eks" are EKS managed node groups; a "local" cluster cannot have them (describe its GPU nodes with type "existing")']),
    );
    expect(problemsOf(withChange((c) => (c.gpuPools[0].nodeLabels = {})))).toEqual(expect.arrayContaining([expect.stringMatching(/^gpuPools\[0\]\.nodeLabels: must select the GPU nodes/)]));
  });
});
