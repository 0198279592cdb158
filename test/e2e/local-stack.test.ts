/**
 * The local stack deployed for real: the real Pulumi CLI and engine run `npm run local:up` / `local:down`
 * (the commands a user runs) against a real Kubernetes API server with simulated nodes (fake-cluster.ts).
 * What mocks cannot show: that `pulumi up` runs the stacks program at all, that the API server accepts every
 * object (schemas, Pod Security admission), that a second `up` changes nothing, that a config change
 * changes only what it should, that `down` leaves nothing behind, and that a cluster that goes away in the
 * middle of an `up` costs nothing but a rerun.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { type MockRun, runInMocks } from "../harness/pulumi-mocks";
import { stackConfig } from "../harness/stack-config";
import { type FakeCluster, startFakeCluster } from "./fake-cluster";
import { type KueueManager, superviseKueue } from "./kueue";
import {
  type CommandResult,
  commandEnv,
  copyProject,
  declaredResources,
  kubectlResource,
  kubernetesObjects,
  localPulumiEnv,
  mismatches,
  previewChanges,
  pulumiSummary,
  type SummaryCounts,
  runCommand,
  removeScratch,
  scratchDir,
  stackState,
  toolsDir,
} from "./harness";

const MINUTES = 60_000;
/** Label the platform puts on everything it manages (namespaces included). */
const MANAGED_BY = "app.kubernetes.io/managed-by=ml-platform";

let scratch: string;
let project: string;
let cluster: FakeCluster;
let kueue: KueueManager;
let env: NodeJS.ProcessEnv;
const logs: string[] = [];

function npmRun(script: string, options: { onOutput?: (output: string) => void; timeoutSeconds?: number } = {}): Promise<CommandResult> {
  const log = join(scratch, `${logs.length}-${script.replace(":", "-")}.log`);
  logs.push(log);
  return runCommand("npm", ["run", "--silent", script], { cwd: project, env, timeoutSeconds: options.timeoutSeconds ?? 900, log, onOutput: options.onOutput });
}

/** A failed command's last output, for assertion messages. */
const tail = (result: CommandResult, lines = 40) => result.output.trimEnd().split("\n").slice(-lines).join("\n");

let underMocks: Promise<string[]> | undefined;
/** The program's resources under mocks, for the local stack's config: (type, name) pairs, without the stack. */
function declaredUnderMocks(): Promise<string[]> {
  underMocks ??= runInMocks(async () => import("../../stacks/index"), { config: stackConfig("local"), stack: "local" }).then((run: MockRun<unknown>) =>
    run.resources.map((r) => `${r.type}::${r.name}`).filter((r) => !r.startsWith("pulumi:pulumi:Stack::")).sort(),
  );
  return underMocks;
}

/** Every object the platform manages that the API server still has (namespaced or not). */
function managedObjectsLeft(): string[] {
  const kinds = "namespaces,deployments,jobs,services,configmaps,secrets,serviceaccounts,persistentvolumeclaims,roles,rolebindings,poddisruptionbudgets";
  const out = cluster.kubectl(["get", kinds, "-A", "-l", MANAGED_BY, "-o", "jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}"]);
  return out.split("\n").filter(Boolean);
}

beforeAll(async () => {
  scratch = scratchDir("local");
  project = copyProject(scratch);
  cluster = await startFakeCluster({ tools: toolsDir(), dir: join(scratch, "cluster") });
  env = commandEnv(cluster, project, scratch);
  // The local stack's team queues its training with Kueue: the chart comes from the suite's mirror (no registry
  // here), and the real Kueue manager runs outside the cluster (the chart's Deployment is only simulated).
  const file = join(project, "stacks", "Pulumi.local.yaml");
  const document = parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> };
  document.config["ml-platform:kueue"] = { chart: join(toolsDir(), "charts", "kueue") };
  writeFileSync(file, stringify(document));
  kueue = await superviseKueue({ tools: toolsDir(), dir: join(scratch, "kueue"), env: cluster.env });
}, 5 * MINUTES);

afterAll(async () => {
  await kueue?.stop();
  await cluster?.stop();
  removeScratch(scratch);
});

/** The counts of Pulumi's summary, also printed: the suite's log shows what each real run did. */
function countsOf(step: string, output: string): SummaryCounts {
  const { counts, lines } = pulumiSummary(output);
  console.log(`[e2e] ${step}: ${lines.join(", ") || "no summary"}`);
  return counts;
}

describe("npm run local:up / local:down on a real API server", () => {
  let firstUp: CommandResult;

  it("local:up deploys the stacks program: every declared resource is created, none rejected", async () => {
    firstUp = await npmRun("local:up");
    expect(firstUp.code, tail(firstUp)).toBe(0);
    const { resources, pendingOperations } = stackState(localPulumiEnv(env, project), project, "local");
    expect(pendingOperations).toEqual([]);
    // The state holds what the program declares (the same list the mocks see), not the component library,
    // and all of it (with the stack itself) was created by this run.
    const declared = declaredResources(resources);
    expect(declared).toEqual(await declaredUnderMocks());
    expect(declared).toContain("ml-platform:serving:TfServing::linear");
    expect(countsOf("local:up", firstUp.output)).toEqual({ created: declared.length + 1 });
  }, 20 * MINUTES);

  it("every Kubernetes object in the state is in the API server with the spec the program rendered", () => {
    const { resources } = stackState(localPulumiEnv(env, project), project, "local");
    const objects = kubernetesObjects(resources);
    expect(objects.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const object of objects) {
      const { apiVersion, kind, metadata } = object.outputs as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
      const args = ["get", kubectlResource(apiVersion, kind), metadata.name, "-o", "json", ...(metadata.namespace ? ["-n", metadata.namespace] : [])];
      const live = JSON.parse(cluster.kubectl(args)) as Record<string, unknown>;
      // A queued Job is declared suspended, and Kueue unsuspends it when it admits it: that field is Kueue's.
      const inputs = object.inputs as { metadata?: { labels?: Record<string, string> }; spec?: Record<string, unknown> };
      if (kind === "Job" && inputs.metadata?.labels?.["kueue.x-k8s.io/queue-name"] && inputs.spec) delete inputs.spec.suspend;
      // A custom resource whose CRD comes in the same update (Kueue's ResourceFlavor) is checked before its kind is
      // known: the provider records the default namespace, then creates it cluster-scoped as its CRD says.
      if ((live.metadata as { namespace?: string } | undefined)?.namespace === undefined && inputs.metadata) delete (inputs.metadata as { namespace?: string }).namespace;
      // A SecretPatch's inputs are a patch of the Secret: what it declares must be in the live Secret.
      for (const problem of mismatches(object.inputs, live)) problems.push(`${kind} ${metadata.namespace ?? ""}/${metadata.name}: ${problem}`);
    }
    expect(problems).toEqual([]);
  });

  it("the cluster ran what was declared: the store's claim bound, Kueue admitted the training and it completed, the serving and TensorBoard are available", () => {
    expect(cluster.kubectl(["get", "pvc", "-n", "ml-platform", "-o", "jsonpath={.items[*].status.phase}"]).trim().split(" ")).toEqual(["Bound"]);
    type Jobs = { items: Array<{ metadata: { name: string; labels?: Record<string, string> }; spec: { suspend?: boolean }; status: { succeeded?: number } }> };
    const jobs = [...(JSON.parse(cluster.kubectl(["get", "jobs", "-n", "ml", "-o", "json"])) as Jobs).items, ...(JSON.parse(cluster.kubectl(["get", "jobs", "-n", "ml-platform", "-o", "json"])) as Jobs).items];
    // The store's bucket Job, the grant checks, the training and the mobile export of linear version 1.
    expect(jobs.map((job) => job.metadata.name)).toEqual(expect.arrayContaining(["models-create-bucket", "linear-train-v1", "linear-mobile-v1"]));
    for (const job of jobs) expect(job.status.succeeded, job.metadata.name).toBe(1);
    // The training went through the team's queue: created suspended, admitted (unsuspended) by Kueue.
    const training = jobs.find((job) => job.metadata.name === "linear-train-v1");
    expect(training?.metadata.labels?.["kueue.x-k8s.io/queue-name"]).toBe("ml");
    expect(training?.spec.suspend).toBe(false);
    expect(cluster.kubectl(["get", "workloads.kueue.x-k8s.io", "-n", "ml", "-o", 'jsonpath={.items[*].status.conditions[?(@.type=="Admitted")].status}'])).toBe("True");
    expect(cluster.kubectl(["get", "deployment", "linear", "-n", "ml", "-o", 'jsonpath={.status.conditions[?(@.type=="Available")].status}'])).toBe("True");
    // The team's TensorBoard: available, behind a ClusterIP Service only.
    expect(cluster.kubectl(["get", "deployment", "linear-tensorboard", "-n", "ml", "-o", 'jsonpath={.status.conditions[?(@.type=="Available")].status}'])).toBe("True");
    expect(cluster.kubectl(["get", "service", "linear-tensorboard", "-n", "ml", "-o", "jsonpath={.spec.type} {.spec.ports[*].port}"])).toBe("ClusterIP 6006");
    // Pod Security "restricted" is enforced on the namespace, and admitted every pod.
    expect(cluster.kubectl(["get", "namespace", "ml", "-o", "jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}"])).toBe("restricted");
  });

  it("a second local:up changes nothing", async () => {
    const again = await npmRun("local:up");
    expect(again.code, tail(again)).toBe(0);
    const { resources } = stackState(localPulumiEnv(env, project), project, "local");
    expect(countsOf("local:up again", again.output)).toEqual({ unchanged: declaredResources(resources).length + 1 });
  }, 20 * MINUTES);

  it("a new model version in the stack config changes only the training and what serves that version", async () => {
    const file = join(project, "stacks", "Pulumi.local.yaml");
    const original = readFileSync(file, "utf8");
    try {
      const document = parse(original) as { config: Record<string, any> };
      document.config["ml-platform:trainings"][0].version = 2;
      document.config["ml-platform:releases"].linear = { versions: [2], labels: { stable: 2 } };
      writeFileSync(file, stringify(document));
      const preview = await runCommand("pulumi", ["preview", "--json", "--stack", "local"], {
        cwd: project,
        env: localPulumiEnv(env, project),
        timeoutSeconds: 600,
        log: join(scratch, "preview-version-2.json"),
      });
      expect(preview.code, preview.stderr).toBe(0);
      // The training's v1 objects give way to v2 ones (Jobs are immutable: a version is a new Job), the
      // serving gets a new models.config naming version 2, which rolls its pods (config changes roll, by
      // design), the training's grant moves to version 2's logs (a training writes its own version's logs only),
      // and nothing else changes: not the store, its data or credentials, the other grants, nor the TensorBoard,
      // which shows every version's runs. Nor the mobile export: it names the version it converts (linear 1, still
      // in the store) in its own config entry, and waiting for the v1 training was an ordering, not an input.
      expect(previewChanges(preview.stdout)).toEqual(
        [
          "create kubernetes:batch/v1:Job::linear-train-v2",
          "create kubernetes:core/v1:ConfigMap::linear-train-v2-code",
          "create kubernetes:core/v1:ConfigMap::linear-train-v2-scripts",
          "delete kubernetes:batch/v1:Job::linear-train-v1",
          "delete kubernetes:core/v1:ConfigMap::linear-train-v1-code",
          "delete kubernetes:core/v1:ConfigMap::linear-train-v1-scripts",
          "replace kubernetes:core/v1:ConfigMap::linear-config",
          "update kubernetes:apps/v1:Deployment::linear",
          "update kubernetes:core/v1:SecretPatch::linear-train-store-store-identity",
        ].sort(),
      );
    } finally {
      writeFileSync(file, original);
    }
  }, 15 * MINUTES);

  it("local:down deletes everything it created and its state folder", async () => {
    const down = await npmRun("local:down");
    expect(down.code, tail(down)).toBe(0);
    const counts = countsOf("local:down", down.output);
    expect(counts.deleted).toBeGreaterThan(20);
    expect(managedObjectsLeft()).toEqual([]);
    expect(cluster.kubectl(["get", "namespace", "ml", "ml-platform", "kueue-system", "--ignore-not-found", "-o", "name"]).trim()).toBe("");
  }, 20 * MINUTES);
});

describe("the API server going away in the middle of local:up", () => {
  it("makes local:up exit 1 with a clear message; the next local:up after a restart converges, nothing lost or duplicated", async () => {
    let stopped: Promise<void> | undefined;
    const interrupted = await npmRun("local:up", {
      // Once Pulumi is creating resources (the namespace exists), the API server crashes.
      onOutput: (output) => {
        if (!stopped && /\+\s+kubernetes:core\/v1:Namespace\s+ml\s+created/.test(output)) stopped = cluster.stopApiServer();
      },
    });
    expect(stopped, tail(interrupted)).toBeDefined();
    expect(interrupted.code, tail(interrupted)).toBe(1);
    expect(interrupted.stderr).toMatch(
      /local:up: error: pulumi up failed \(exit 1\): the cluster of kubeconfig context "fake-cluster" stopped answering during the update \(.*refused.*\)\. Start it again, then run npm run local:up: it continues where it stopped\./,
    );
    const before = countsOf("local:up (API server killed)", interrupted.output);

    await cluster.startApiServer();
    const resumed = await npmRun("local:up");
    expect(resumed.code, tail(resumed)).toBe(0);
    const { resources, pendingOperations } = stackState(localPulumiEnv(env, project), project, "local");
    expect(pendingOperations).toEqual([]);
    // What the interrupted run created is kept; the rest is created now.
    const after = countsOf("local:up (after the restart)", resumed.output);
    expect(after.unchanged).toBeGreaterThanOrEqual(before.created ?? 0);
    expect((after.created ?? 0) + (after.unchanged ?? 0)).toBe(declaredResources(resources).length + 1);
    // Each declared resource once in the state, and once in the cluster.
    const urns = resources.map((r) => r.urn);
    expect(new Set(urns).size).toBe(urns.length);
    expect(declaredResources(resources)).toEqual(await declaredUnderMocks());
    expect(cluster.kubectl(["get", "deployments", "-n", "ml", "-o", "name"]).trim().split("\n")).toEqual(["deployment.apps/linear", "deployment.apps/linear-tensorboard"]);
    expect(cluster.kubectl(["get", "deployments", "-n", "ml-platform", "-o", "name"]).trim().split("\n")).toEqual(["deployment.apps/models"]);
    const again = await npmRun("local:up");
    expect(countsOf("local:up again", again.output)).toEqual({ unchanged: declaredResources(resources).length + 1 });

    const down = await npmRun("local:down");
    expect(down.code, tail(down)).toBe(0);
    expect(managedObjectsLeft()).toEqual([]);
  }, 40 * MINUTES);
});
