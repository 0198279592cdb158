/**
 * `npm run local:up`, `local:smoke` and `local:down` (local/main.ts, in-process) with fake pulumi and
 * kubectl that record their arguments: the happy paths, an existing stack, missing prerequisites, and
 * failures that must keep the state. `local:smoke` runs the real smoke suite (`npm run smoke`) against a
 * TF Serving double standing in for the port-forwarded Service, with the local stack's real smokeTargets.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SmokeTargets } from "../../contracts/smoke-targets";
import { LOCAL_STACK_PASSPHRASE } from "../../local/pulumi";
import { STATE_NOTE } from "../../local/state";
import { startTfServingDouble, type TfServingDouble } from "../grpc/tf-serving-double";
import { runInMocks, unwrap } from "../harness/pulumi-mocks";
import { stackConfig } from "../harness/stack-config";
import { linearModel } from "../smoke/smoke-doubles";
import { type Sandbox, sandbox } from "./local-tools";

let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

const NODES = "kubectl --context kind-ml --request-timeout=20s get nodes -o jsonpath={.items[*].status.nodeInfo.architecture}";
const PREFLIGHT = ["pulumi version", "kubectl config current-context", NODES];

describe("local:up", () => {
  it("creates the local stack in a file backend with the passphrase provider, then runs pulumi up", async () => {
    const result = await box.run(["up"]);
    expect(result.code, result.stderr).toBe(0);
    expect(box.calls()).toEqual([
      ...PREFLIGHT,
      "pulumi stack ls --all --json",
      "pulumi stack init local --secrets-provider passphrase --no-select",
      "pulumi up --yes --stack local",
    ]);
    // Every pulumi call: the state folder as a file backend (no Pulumi Cloud), the documented passphrase.
    expect(new Set(box.pulumiEnvs())).toEqual(new Set([`env PULUMI_BACKEND_URL=file://${box.stateDir} PULUMI_CONFIG_PASSPHRASE=${LOCAL_STACK_PASSPHRASE}`]));
    expect(result.stderr).toMatch(/local:up: kubeconfig context "kind-ml" \(nodes: amd64\)/);
    expect(result.stderr).toMatch(/created the stack "local" in .*\.pulumi-local \(file backend, passphrase secrets provider\)/);
    expect(result.stdout).toContain("Updating (local)");
    expect(existsSync(join(box.stateDir, STATE_NOTE))).toBe(true);
    expect(readFileSync(join(box.stateDir, "kube-context"), "utf8")).toBe("kind-ml\n");
  });

  it("reuses an existing stack and passes extra arguments on to pulumi up", async () => {
    expect((await box.run(["up"])).code).toBe(0);
    const before = box.calls().length;
    const again = await box.run(["up", "--refresh", "--diff"]);
    expect(again.code, again.stderr).toBe(0);
    expect(box.calls().slice(before)).toEqual([...PREFLIGHT, "pulumi stack ls --all --json", "pulumi up --yes --refresh --diff --stack local"]);
    expect(again.stderr).toMatch(/using the existing stack "local"/);
  });

  it("stops with install instructions when the Pulumi CLI is missing, before touching anything", async () => {
    box.tools(["kubectl"]);
    const result = await box.run(["up"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/local:up: error: pulumi was not found on PATH\. Install the Pulumi CLI 3\.x \(https:\/\/www\.pulumi\.com/);
    expect(box.calls().filter((call) => call.startsWith("pulumi"))).toEqual([]);
    expect(existsSync(box.stateDir)).toBe(false);
  });

  it("names every missing prerequisite at once, each with how to get it", async () => {
    box.tools([]);
    const result = await box.run(["up"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      /^local:up: error: 2 prerequisites are missing:\n {2}- pulumi was not found on PATH\. Install the Pulumi CLI 3\.x \(https:\/\/www\.pulumi\.com\/docs\/iac\/download-install\/[^\n]*\n {2}- kubectl was not found on PATH\. Install kubectl \(https:\/\/kubernetes\.io\/docs\/tasks\/tools\/\)[^\n]*\n$/,
    );
    // with the tools there, the cluster's problems are listed together with a wrong Pulumi CLI
    box.tools(["pulumi", "kubectl"]);
    box.env.FAKE_PULUMI_VERSION = "v2.25.2";
    box.env.FAKE_KUBE_CONTEXT = "";
    const both = await box.run(["up"]);
    expect(both.code).toBe(3);
    expect(both.stderr).toMatch(/2 prerequisites are missing:\n {2}- the Pulumi CLI is v2\.25\.2; the local stack needs Pulumi CLI 3\.x\n {2}- kubectl has no current context: start a local cluster first/);
    expect(existsSync(box.stateDir)).toBe(false);
  });

  it("-- --help shows local:up's own help, without running anything", async () => {
    const result = await box.run(["up", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm run local:up \[-- <pulumi up flags>\]\n/);
    expect(result.stdout).toContain("Arguments after -- other than --help go to pulumi up");
    expect(box.calls()).toEqual([]);
  });

  it("stops when kubectl is missing", async () => {
    box.tools(["pulumi"]);
    const result = await box.run(["up"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/kubectl was not found on PATH\. Install kubectl \(https:\/\/kubernetes\.io\/docs\/tasks\/tools\/\)/);
    expect(box.calls()).toEqual(["pulumi version"]);
  });

  it("rejects a Pulumi CLI older than 3", async () => {
    box.env.FAKE_PULUMI_VERSION = "v2.25.2";
    const result = await box.run(["up"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/the Pulumi CLI is v2\.25\.2; the local stack needs Pulumi CLI 3\.x/);
  });

  it("stops when kubectl has no current context, saying how to make a cluster", async () => {
    box.env.FAKE_KUBE_CONTEXT = "";
    const result = await box.run(["up"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/kubectl has no current context: start a local cluster first \(e\.g\. `kind create cluster`/);
    expect(result.stderr).toMatch(/ml-platform:cluster\.context/);
    expect(existsSync(box.stateDir)).toBe(false);
  });

  it("stops when the cluster does not answer, with kubectl's reason", async () => {
    box.env.FAKE_KUBE_UNREACHABLE = "1";
    const result = await box.run(["up"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/cannot reach the cluster of kubeconfig context "kind-ml": The connection to the server 127\.0\.0\.1:6443 was refused/);
    expect(box.calls().some((c) => c.startsWith("pulumi stack"))).toBe(false);
    expect(existsSync(box.stateDir)).toBe(false);
  });

  it("refuses a cluster without an amd64 node, naming the amd64-only images", async () => {
    box.env.FAKE_NODE_ARCHS = "arm64 arm64";
    const result = await box.run(["up"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/the cluster has no amd64 node \(its nodes: arm64\), but serving "linear" \(tensorflow\/serving:[\d.]+\), training "linear-train" \(tensorflow\/tensorflow:[\d.]+\) and mobile export "linear-mobile" \(tensorflow\/tensorflow:[\d.]+\) run images published for linux\/amd64 only/);
    expect(box.calls().some((c) => c.startsWith("pulumi stack") || c.startsWith("pulumi up"))).toBe(false);
  });

  it("refuses to deploy the stack into another cluster than the one that holds it", async () => {
    expect((await box.run(["up"])).code).toBe(0);
    box.env.FAKE_KUBE_CONTEXT = "prod-eks";
    const before = box.calls().length;
    const result = await box.run(["up"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/deployed with kubeconfig context "kind-ml", but the commands would now use "prod-eks"\. Switch back with `kubectl config use-context kind-ml`/);
    expect(box.calls().slice(before)).not.toContain("pulumi up --yes --stack local");
  });

  it("fails with pulumi up's exit status and keeps the state, so running it again continues", async () => {
    box.env.FAKE_PULUMI_UP_EXIT = "255";
    const result = await box.run(["up"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/pulumi up failed \(exit 255\); see its output above/);
    expect(readFileSync(join(box.stateDir, "kube-context"), "utf8")).toBe("kind-ml\n");
    delete box.env.FAKE_PULUMI_UP_EXIT;
    expect((await box.run(["up"])).code).toBe(0);
  });

  it("says when the cluster stopped answering during the update, and that rerunning continues", async () => {
    box.env.FAKE_PULUMI_UP_EXIT = "255";
    box.env.FAKE_KUBE_GONE_AFTER_PREFLIGHT = "1";
    const result = await box.run(["up"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /local:up: error: pulumi up failed \(exit 255\): the cluster of kubeconfig context "kind-ml" stopped answering during the update \(The connection to the server 127\.0\.0\.1:6443 was refused.*\)\. Start it again, then run npm run local:up: it continues where it stopped\./,
    );
    expect(box.calls().at(-1)).toBe("kubectl --context kind-ml --request-timeout=10s get --raw /readyz");
  });
});

describe("local:down", () => {
  it("destroys the stack, then deletes the state folder that holds only it, keeping stacks/Pulumi.local.yaml", async () => {
    expect((await box.run(["up"])).code).toBe(0);
    const before = box.calls().length;
    const result = await box.run(["down"]);
    expect(result.code, result.stderr).toBe(0);
    // No `pulumi stack rm`: it would also clear the project's selected stack in the user's Pulumi workspace.
    expect(box.calls().slice(before)).toEqual(["pulumi version", "pulumi stack ls --all --json", ...PREFLIGHT, "pulumi destroy --yes --stack local"]);
    expect(existsSync(box.stateDir)).toBe(false);
    expect(result.stderr).toMatch(/removed the stack "local" and deleted .*\.pulumi-local \(stacks\/Pulumi\.local\.yaml is kept\)/);
  });

  it("keeps the stack and its state when the destroy fails", async () => {
    expect((await box.run(["up"])).code).toBe(0);
    box.env.FAKE_PULUMI_DESTROY_EXIT = "1";
    const result = await box.run(["down"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/pulumi destroy failed \(exit 1\); the stack and its state are kept/);
    expect(existsSync(join(box.stateDir, STATE_NOTE))).toBe(true);
    expect(existsSync(join(box.env.FAKE_STATE!, "stacks", "local"))).toBe(true);
  });

  it("has nothing to do without state, and deletes a state folder whose stack was never created", async () => {
    const none = await box.run(["down"]);
    expect(none.code).toBe(0);
    expect(none.stderr).toMatch(/nothing to remove: there is no local stack state in/);
    expect(box.calls()).toEqual([]);

    box.env.FAKE_KUBE_UNREACHABLE = "1";
    expect((await box.run(["up"])).code).toBe(3);
    mkdirSync(box.stateDir, { recursive: true });
    writeFileSync(join(box.stateDir, STATE_NOTE), "");
    const empty = await box.run(["down"]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(existsSync(box.stateDir)).toBe(false);
  });

  it("suggests --forget when the cluster is gone, and --forget removes the state without destroying", async () => {
    expect((await box.run(["up"])).code).toBe(0);
    box.env.FAKE_KUBE_UNREACHABLE = "1";
    const refused = await box.run(["down"]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/cannot reach the cluster[^]*`npm run local:down -- --forget` removes the stack's state without destroying anything/);
    expect(existsSync(join(box.stateDir, STATE_NOTE))).toBe(true);

    const before = box.calls().length;
    const forgot = await box.run(["down", "--forget"]);
    expect(forgot.code, forgot.stderr).toBe(0);
    expect(box.calls().slice(before)).toEqual(["pulumi version", "pulumi stack ls --all --json"]);
    expect(forgot.stderr).toMatch(/forgetting the stack without destroying its resources/);
    expect(existsSync(box.stateDir)).toBe(false);
  });

  it("removes only its stack from a state folder that holds others, and never deletes a folder local:up did not make", async () => {
    expect((await box.run(["up"])).code).toBe(0);
    writeFileSync(join(box.env.FAKE_STATE!, "stacks", "scratch"), "");
    const before = box.calls().length;
    const kept = await box.run(["down"]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(box.calls().slice(before).at(-1)).toBe("pulumi stack rm local --yes --preserve-config --remove-backups");
    expect(kept.stderr).toMatch(/removed the stack "local"; kept .*\.pulumi-local: it also holds scratch/);
    expect(existsSync(box.stateDir)).toBe(true);

    const stranger = sandbox();
    try {
      writeFileSync(join(stranger.dir, "marker"), "");
      stranger.stateDir = stranger.dir;
      const refused = await stranger.run(["down"]);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(/exists but local:up did not make it \(no ABOUT\.txt\); not touching it/);
      expect(existsSync(join(stranger.dir, "marker"))).toBe(true);
    } finally {
      stranger.cleanup();
    }
  });
});

describe("usage", () => {
  it("names the commands and rejects unknown commands and flags", async () => {
    const help = await box.run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/npm run local:up \[-- <pulumi up flags>\][^]*npm run local:smoke[^]*npm run local:down \[-- --forget\]/);
    expect((await box.run([])).code).toBe(2);
    const unknown = await box.run(["deploy"]);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('local: unknown command "deploy"')]);
    const flag = await box.run(["down", "--bogus"]);
    // the command is named once, with what it takes
    expect([flag.code, flag.stderr]).toEqual([2, "local:down: error: unknown option --bogus; it takes --forget (npm run local:down [-- --forget])\n"]);
    const smoke = await box.run(["smoke", "--fast"]);
    expect([smoke.code, smoke.stderr]).toEqual([2, "local:smoke: error: unknown option --fast; it takes no options (npm run local:smoke)\n"]);
    expect(box.calls()).toEqual([]);
  });
});

/** The local stack's smokeTargets output, from the real program under mocks. */
async function localSmokeTargets(): Promise<SmokeTargets> {
  vi.resetModules();
  const run = await runInMocks(async () => (await import("../../stacks/index")) as unknown as { smokeTargets: SmokeTargets }, {
    config: stackConfig("local"),
    stack: "local",
  });
  return unwrap(run.result.smokeTargets);
}

describe("local:smoke", () => {
  let server: TfServingDouble | undefined;
  afterEach(async () => server?.close());

  it("port-forwards the serving Service and runs the smoke suite against the stack's smokeTargets", async () => {
    const targets = await localSmokeTargets();
    expect(targets.endpoints.map((e) => [e.name, e.grpc])).toEqual([["linear", "linear.ml.svc.cluster.local:8500"]]);
    // The Service's pod: the example model, version 1 labelled stable, as the local stack serves it.
    server = await startTfServingDouble({ models: [linearModel({ versions: [{ version: 1 }], labels: { stable: 1 } })] });
    const targetsFile = join(box.dir, "targets.json");
    writeFileSync(targetsFile, JSON.stringify(targets));
    const report = join(box.dir, "report.json");
    Object.assign(box.env, {
      FAKE_SMOKE_TARGETS: targetsFile,
      FAKE_FORWARD_PORT: String(server.port),
      FAKE_FORWARD_PIDS: join(box.dir, "forward-pids"),
      SMOKE_REPORT: report,
      SMOKE_LATENCY_SAMPLES: "3",
    });
    box.withRealPath();
    expect((await box.run(["up"])).code).toBe(0);
    const before = box.calls().length;

    const result = await box.run(["smoke"]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(box.calls().slice(before)).toEqual([
      ...PREFLIGHT,
      "pulumi stack ls --all --json",
      "pulumi stack output smokeTargets --json --stack local",
      "kubectl --context kind-ml --namespace ml port-forward --address 127.0.0.1 service/linear :8500",
      // the smoke suite reads the targets itself (SMOKE_STACK=local), through the same backend
      "pulumi stack output smokeTargets --json --stack local",
    ]);
    expect(result.stderr).toContain(`endpoint "linear" (linear.ml.svc.cluster.local:8500) is forwarded to 127.0.0.1:${server.port}`);
    const written = JSON.parse(readFileSync(report, "utf8")) as { ok: boolean; source: string; endpoints: Array<{ name: string; address: string }>; results: Array<{ check: string; outcome: string }> };
    expect(written.ok).toBe(true);
    expect(written.endpoints).toEqual([expect.objectContaining({ name: "linear", address: `127.0.0.1:${server.port}` })]);
    expect(written.results.filter((r) => r.outcome === "passed").map((r) => r.check)).toEqual(expect.arrayContaining(["status", "label", "metadata", "predict", "latency"]));
    // The suite really asked the model through the forwarded address.
    expect(server.calls.filter((c) => c.method === "Predict").length).toBeGreaterThan(0);
    // The port-forward is stopped once the suite is done.
    const pids = readFileSync(join(box.dir, "forward-pids"), "utf8").trim().split("\n").map(Number);
    expect(pids).toHaveLength(1);
    expect(() => process.kill(pids[0]!, 0)).toThrow(/ESRCH/);
  }, 120_000);

  it("fails with the suite's verdict when a check fails", async () => {
    const targets = await localSmokeTargets();
    server = await startTfServingDouble({ models: [linearModel({ versions: [{ version: 1, slope: 3 }], labels: { stable: 1 } })] });
    const targetsFile = join(box.dir, "targets.json");
    writeFileSync(targetsFile, JSON.stringify(targets));
    Object.assign(box.env, { FAKE_SMOKE_TARGETS: targetsFile, FAKE_FORWARD_PORT: String(server.port), SMOKE_LATENCY_SAMPLES: "0" });
    box.withRealPath();
    expect((await box.run(["up"])).code).toBe(0);
    const result = await box.run(["smoke"]);
    expect(result.code).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toMatch(/predict failed: expected y = /);
    expect(result.stderr).toMatch(/local:smoke: error: the smoke suite failed \(exit 1\); its report above names every failed check/);
  }, 120_000);

  it("needs a deployed stack, and reports a port-forward that cannot start", async () => {
    const none = await box.run(["smoke"]);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/there is no local stack to check: run npm run local:up first/);
    expect(box.calls()).toEqual([]);

    const targetsFile = join(box.dir, "targets.json");
    writeFileSync(targetsFile, JSON.stringify(await localSmokeTargets()));
    Object.assign(box.env, { FAKE_SMOKE_TARGETS: targetsFile, FAKE_FORWARD_FAIL: "1" });
    expect((await box.run(["up"])).code).toBe(0);
    const result = await box.run(["smoke"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/kubectl port-forward to service\/linear in namespace ml \(endpoint "linear"\) did not start:\nerror: services "linear" not found/);
  }, 60_000);
});
