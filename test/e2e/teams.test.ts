/**
 * Two teams on one GPU cluster, deployed for real and queued by the real Kueue controller: the stack installs Kueue
 * from its Helm chart (the release's chart as a mirror: no registry here), a flavor for the GPU nodes, and two teams,
 * each with a guarantee of 4 of the node's 8 GPUs in one cohort. The Kueue manager runs as a process outside the
 * cluster (test/e2e/kueue.ts) and does what it does in a cluster: admits the teams' queued Jobs by quota, lends idle
 * quota, preempts to give a team back its guarantee, and admits waiting work when other work finishes.
 *
 * The trainings' pods select GPU nodes (`nvidia.com/gpu.present=true`), which the fake node is not labelled as until
 * the end: admitted Jobs hold their quota with pods pending, as on a cluster whose GPU nodes are still coming up, so
 * each state can be observed. Labelling the node lets the pods run, and kwok completes them.
 *
 * The phases, one `pulumi up` each (trainings are created, not awaited):
 * 1. vision trains on 4 GPUs (its guarantee), search on 2: both admitted.
 * 2. vision adds a 2-GPU training: admitted by borrowing 2 of search's idle GPUs.
 * 3. search adds a 2-GPU training: search is under its guarantee and the cohort is full, so Kueue reclaims: vision's
 *    borrowing training is preempted and waits, suspended, while search's run.
 * 4. The GPU node appears: the running trainings finish, and the waiting one starts and finishes.
 * NetworkPolicies are accepted by the API server but not enforced (no CNI here): test/stacks and test/tenancy
 * evaluate them. Access rights are checked with the API server's own authorizer (`kubectl auth can-i`).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type FakeCluster, NODE_NAME, startFakeCluster } from "./fake-cluster";
import { type CommandResult, commandEnv, copyProject, declaredResources, pulumiSummary, runCommand, scratchDir, stackState, toolsDir } from "./harness";
import { type KueueManager, superviseKueue } from "./kueue";
import { QueueTimeline } from "./queue-timeline";

const MINUTES = 60_000;
const STACK = "e2e-teams";
const PASSPHRASE = "e2e-teams";
const GPU_LABEL = "nvidia.com/gpu.present";

let scratch: string;
let project: string;
let cluster: FakeCluster;
let kueue: KueueManager;
let timeline: QueueTimeline;
let env: NodeJS.ProcessEnv;

const tail = (result: CommandResult) => result.output.trimEnd().split("\n").slice(-40).join("\n");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function training(name: string, team: string, model: string, gpus: number) {
  return {
    name,
    team,
    store: "models",
    model,
    version: 1,
    framework: "tensorflow",
    mode: "single",
    image: "tensorflow/tensorflow:2.21.0-gpu",
    command: ["python", "-m", `${model}.train`],
    gpuPool: "gpu",
    resources: { cpu: "1", memory: "4Gi", gpus },
    wait: { until: "created" },
  };
}

const TRAININGS = [
  training("detector-train", "vision", "detector", 4),
  training("ranker-train", "search", "ranker", 2),
  training("segmenter-train", "vision", "segmenter", 2),
  training("retriever-train", "search", "retriever", 2),
];

/** The stack file with the first `trainings` trainings. */
function writeStack(trainings: number): void {
  const team = (name: string) => ({
    name,
    groups: [`${name}-ml`],
    quota: { cpu: "64", memory: "256Gi", gpus: 8 },
    queue: { cpu: "32", memory: "128Gi", gpus: 4 },
  });
  const config = {
    "ml-platform:cluster": { type: "local" },
    "ml-platform:stores": [{ name: "models", type: "in-cluster", storageSize: "1Gi", models: ["detector", "segmenter", "ranker", "retriever"] }],
    "ml-platform:gpuPools": [{ name: "gpu", type: "existing", nodeLabels: { [GPU_LABEL]: "true" }, gpusPerNode: 8 }],
    "ml-platform:teams": [{ ...team("vision"), servingCallers: [{ serving: "detector", from: [{ team: "search" }] }] }, team("search")],
    "ml-platform:servings": [{ name: "detector", team: "vision", replicas: 1, resources: { cpu: "500m", memory: "1Gi" }, models: [{ name: "detector", store: "models" }] }],
    "ml-platform:trainings": TRAININGS.slice(0, trainings),
    "ml-platform:kueue": { chart: join(toolsDir(), "charts", "kueue") },
  };
  writeFileSync(join(project, "stacks", `Pulumi.${STACK}.yaml`), stringify({ config }));
}

async function up(trainings: number): Promise<CommandResult> {
  writeStack(trainings);
  const result = await runCommand("pulumi", ["up", "--yes", "--stack", STACK], { cwd: project, env, timeoutSeconds: 900, log: join(scratch, `up-${trainings}.log`) });
  timeline.note(`pulumi up with ${trainings} trainings: ${pulumiSummary(result.output).lines.join(", ")}`);
  return result;
}

/** Waits until `check` holds (the cluster and Kueue work asynchronously), else fails with what it saw. */
async function eventually<T>(what: string, read: () => T, check: (value: T) => boolean, seconds = 90): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let value = read();
  while (!check(value)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}; last seen: ${JSON.stringify(value)}\n${timeline.render()}\nKueue:\n${kueue.logTail(15)}`);
    await sleep(1000);
    value = read();
  }
  return value;
}

interface JobState {
  suspended: boolean;
  succeeded: boolean;
}
function jobs(): Record<string, JobState> {
  const list = JSON.parse(cluster.kubectl(["get", "jobs", "-n", "vision", "-o", "json"])).items.concat(JSON.parse(cluster.kubectl(["get", "jobs", "-n", "search", "-o", "json"])).items) as Array<{
    metadata: { name: string; labels?: Record<string, string> };
    spec: { suspend?: boolean };
    status: { succeeded?: number };
  }>;
  return Object.fromEntries(
    list.filter((j) => j.metadata.labels?.["kueue.x-k8s.io/queue-name"]).map((j) => [j.metadata.name.replace(/-v1$/, ""), { suspended: j.spec.suspend === true, succeeded: (j.status.succeeded ?? 0) > 0 }]),
  );
}

/** GPUs a team's ClusterQueue uses and borrows, as Kueue reports them. */
function gpuUsage(team: string): { total: number; borrowed: number } {
  const status = JSON.parse(cluster.kubectl(["get", "clusterqueues.kueue.x-k8s.io", team, "-o", "json"])).status as {
    flavorsUsage?: Array<{ name: string; resources: Array<{ name: string; total?: string; borrowed?: string }> }>;
  };
  const gpu = status.flavorsUsage?.find((f) => f.name === "gpu-gpu")?.resources.find((r) => r.name === "nvidia.com/gpu");
  return { total: Number(gpu?.total ?? 0), borrowed: Number(gpu?.borrowed ?? 0) };
}

/** Waits until the team's ClusterQueue reports this GPU usage. */
async function usage(team: string, expected: { total: number; borrowed: number }): Promise<void> {
  const seen = await eventually(`${team}'s GPU usage ${JSON.stringify(expected)}`, () => gpuUsage(team), (u) => u.total === expected.total && u.borrowed === expected.borrowed, 30);
  expect(seen).toEqual(expected);
}

const admitted = (name: string) => (state: Record<string, JobState>) => state[name] !== undefined && !state[name].suspended;
const canI = (args: string[]) => {
  try {
    return cluster.kubectl(["auth", "can-i", ...args]).trim();
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? "").trim();
  }
};

beforeAll(async () => {
  scratch = scratchDir("teams");
  project = copyProject(scratch);
  cluster = await startFakeCluster({ tools: toolsDir(), dir: join(scratch, "cluster") });
  mkdirSync(join(scratch, "state"));
  env = { ...commandEnv(cluster, project, scratch), PULUMI_BACKEND_URL: `file://${join(scratch, "state")}`, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE };
  kueue = await superviseKueue({ tools: toolsDir(), dir: join(scratch, "kueue"), env: cluster.env });
  timeline = new QueueTimeline(cluster, ["vision", "search"]);
  const init = await runCommand("pulumi", ["stack", "init", STACK, "--secrets-provider", "passphrase", "--no-select"], { cwd: project, env, timeoutSeconds: 120 });
  if (init.code !== 0) throw new Error(`pulumi stack init failed:\n${init.output}`);
}, 5 * MINUTES);

afterAll(async () => {
  timeline?.stop();
  if (timeline) console.log(`Queue timeline (seconds since the first pulumi up):\n${timeline.render()}`);
  await kueue?.stop();
  await cluster?.stop();
});

describe("two teams sharing 8 GPUs through Kueue", () => {
  it("1. pulumi up installs Kueue and both teams; each team's training within its guarantee is admitted", async () => {
    timeline.start();
    const first = await up(2);
    expect(first.code, tail(first)).toBe(0);
    const { resources } = stackState(env, project, STACK);
    expect(pulumiSummary(first.output).counts).toEqual({ created: declaredResources(resources).length + 1 });
    await kueue.ready();
    await eventually("both trainings admitted", jobs, (s) => admitted("detector-train")(s) && admitted("ranker-train")(s));
    // Kueue reports the usage in the ClusterQueues' status, shortly after admitting.
    await usage("vision", { total: 4, borrowed: 0 });
    await usage("search", { total: 2, borrowed: 0 });
    // The namespace quota counts the admitted pods' GPUs (the pods exist, waiting for a GPU node).
    const used = () => (JSON.parse(cluster.kubectl(["get", "resourcequota", "team-quota", "-n", "vision", "-o", "json"])).status?.used ?? {}) as Record<string, string>;
    expect((await eventually("vision's quota to count the GPUs", used, (u) => u["requests.nvidia.com/gpu"] === "4", 30))["requests.nvidia.com/gpu"]).toBe("4");
  }, 20 * MINUTES);

  it("the API server took every team object: restricted namespaces, quotas, policies, queues; the authorizer scopes each group to its namespace", () => {
    expect(cluster.kubectl(["get", "namespace", "vision", "-o", "jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}"])).toBe("restricted");
    expect(cluster.kubectl(["get", "networkpolicies", "-n", "vision", "-o", "name"]).trim().split("\n").sort()).toEqual(
      ["allow-callers-detector", "allow-dns", "allow-model-stores", "allow-within-team", "default-deny"].map((n) => `networkpolicy.networking.k8s.io/${n}`),
    );
    expect(cluster.kubectl(["get", "localqueues.kueue.x-k8s.io", "-A", "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}->{.spec.clusterQueue} {end}"]).trim()).toBe(
      "search/search->search vision/vision->vision",
    );
    const alice = ["--as", "alice", "--as-group", "vision-ml"];
    expect(canI(["create", "jobs.batch", "-n", "vision", ...alice])).toBe("yes");
    expect(canI(["create", "jobs.batch", "-n", "search", ...alice])).toBe("no");
    expect(canI(["list", "workloads.kueue.x-k8s.io", "-n", "vision", ...alice])).toBe("yes");
    expect(canI(["create", "localqueues.kueue.x-k8s.io", "-n", "vision", ...alice])).toBe("no");
    expect(canI(["update", "clusterqueues.kueue.x-k8s.io", ...alice])).toBe("no");
    expect(canI(["update", "resourcequotas", "-n", "vision", ...alice])).toBe("no");
  });

  it("2. a training beyond vision's guarantee borrows search's idle GPUs", async () => {
    const second = await up(3);
    expect(second.code, tail(second)).toBe(0);
    await eventually("segmenter-train admitted by borrowing", jobs, admitted("segmenter-train"));
    await usage("vision", { total: 6, borrowed: 2 });
  }, 20 * MINUTES);

  it("3. search takes back its guarantee: vision's borrowing training is preempted and waits, suspended, while search's run", async () => {
    const third = await up(4);
    expect(third.code, tail(third)).toBe(0);
    const state = await eventually("retriever-train admitted and segmenter-train suspended again", jobs, (s) => admitted("retriever-train")(s) && s["segmenter-train"]?.suspended);
    expect(state).toEqual({
      "detector-train": { suspended: false, succeeded: false },
      "segmenter-train": { suspended: true, succeeded: false },
      "ranker-train": { suspended: false, succeeded: false },
      "retriever-train": { suspended: false, succeeded: false },
    });
    // The timeline polls on its own (once a second), so it may see the preemption a moment after the read above.
    const reclaimed = /^Preempted=True \(InCohortReclamation\)/;
    const conditions = await eventually("the timeline to record segmenter-train's preemption", () => timeline.conditionsOf("segmenter-train"), (c) => c.some((x) => reclaimed.test(x)), 15);
    expect(conditions).toEqual(expect.arrayContaining([expect.stringMatching(reclaimed)]));
    await usage("vision", { total: 4, borrowed: 0 });
    await usage("search", { total: 4, borrowed: 0 });
    // It stays waiting: nothing has finished, and search keeps its guarantee.
    await sleep(10_000);
    expect(jobs()["segmenter-train"]).toEqual({ suspended: true, succeeded: false });
  }, 20 * MINUTES);

  it("4. when the running trainings finish, the waiting one is admitted and finishes too", async () => {
    cluster.kubectl(["label", "node", NODE_NAME, `${GPU_LABEL}=true`]);
    timeline.note(`node ${NODE_NAME} labelled ${GPU_LABEL}=true: GPU pods can run`);
    const done = await eventually("every training to succeed", jobs, (s) => Object.values(s).length === 4 && Object.values(s).every((j) => j.succeeded), 180);
    expect(Object.keys(done).sort()).toEqual(["detector-train", "ranker-train", "retriever-train", "segmenter-train"]);
    // The waiting training was admitted again only after another one had finished and freed its GPUs.
    const readmitted = timeline.lastAdmission("segmenter-train");
    const firstFinish = Math.min(...["detector-train", "ranker-train", "retriever-train"].map((j) => timeline.finishedAt(j)));
    expect(readmitted).toBeGreaterThanOrEqual(firstFinish);
  }, 20 * MINUTES);

  it("pulumi destroy removes the teams, their queues and Kueue", async () => {
    const down = await runCommand("pulumi", ["destroy", "--yes", "--stack", STACK], { cwd: project, env, timeoutSeconds: 900, log: join(scratch, "destroy.log") });
    expect(down.code, tail(down)).toBe(0);
    expect(cluster.kubectl(["get", "namespace", "vision", "search", "kueue-system", "--ignore-not-found", "-o", "name"]).trim()).toBe("");
    expect(cluster.kubectl(["get", "crd", "-o", "name"]).trim().split("\n").filter((crd) => crd.includes("kueue.x-k8s.io"))).toEqual([]);
  }, 20 * MINUTES);
});
