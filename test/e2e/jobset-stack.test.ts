/**
 * Distributed trainings deployed for real: a second stack config with a PyTorch DDP and a TensorFlow
 * parameter-server training, which the platform runs as JobSets. The program installs the JobSet controller
 * from its Helm chart (here the release's chart from the JobSet Go module, as a mirror: the suite has no
 * registry access), and the API server validates every JobSet the components render against the CRD that
 * chart installed. The controller itself does not run (no container does), so the JobSets stay as created.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { JOBSET_VERSION } from "../../components/training/jobset-controller";
import { type FakeCluster, startFakeCluster } from "./fake-cluster";
import { type CommandResult, commandEnv, copyProject, declaredResources, kubernetesObjects, mismatches, pulumiSummary, runCommand, removeScratch, scratchDir, stackState, toolsDir } from "./harness";

const MINUTES = 60_000;
const STACK = "e2e-jobset";
const PASSPHRASE = "e2e-jobset";

let scratch: string;
let project: string;
let cluster: FakeCluster;
let env: NodeJS.ProcessEnv;

function pulumi(args: string[], timeoutSeconds = 900): Promise<CommandResult> {
  return runCommand("pulumi", [...args, "--stack", STACK], { cwd: project, env, timeoutSeconds, log: join(scratch, `${args[0]}.log`) });
}

const tail = (result: CommandResult) => result.output.trimEnd().split("\n").slice(-40).join("\n");

// No GPUs: GPU trainings need a gpuPool (an EKS node group), which a local cluster cannot have.
const TRAINING_COMMON = { store: "models", version: 1, resources: { cpu: "1", memory: "2Gi" }, wait: { until: "created" } };

beforeAll(async () => {
  scratch = scratchDir("jobset");
  project = copyProject(scratch);
  cluster = await startFakeCluster({ tools: toolsDir(), dir: join(scratch, "cluster") });
  mkdirSync(join(scratch, "state"));
  env = {
    ...commandEnv(cluster, project, scratch),
    PULUMI_BACKEND_URL: `file://${join(scratch, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
  };
  const config = {
    config: {
      "ml-platform:cluster": { type: "local" },
      "ml-platform:stores": [{ name: "models", type: "in-cluster", storageSize: "1Gi", models: ["ranker", "recommender"] }],
      "ml-platform:trainings": [
        {
          name: "ranker-ddp",
          model: "ranker",
          framework: "pytorch",
          mode: "ddp",
          replicas: { worker: 2 },
          image: "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime",
          command: ["python", "-m", "ranker.train"],
          ...TRAINING_COMMON,
        },
        {
          name: "recommender-ps",
          model: "recommender",
          framework: "tensorflow",
          mode: "parameter-server",
          replicas: { chief: 1, worker: 2, ps: 1 },
          image: "tensorflow/tensorflow:2.21.0",
          command: ["python", "-m", "recommender.train"],
          checkpoints: true,
          ...TRAINING_COMMON,
        },
      ],
      "ml-platform:jobSet": {
        chart: join(toolsDir(), "charts", "jobset"),
        values: { image: { repository: "registry.k8s.io/jobset/jobset", tag: `v${JOBSET_VERSION}`, pullPolicy: "IfNotPresent" } },
      },
    },
  };
  writeFileSync(join(project, "stacks", `Pulumi.${STACK}.yaml`), stringify(config));
  const init = await runCommand("pulumi", ["stack", "init", STACK, "--secrets-provider", "passphrase", "--no-select"], {
    cwd: project,
    env,
    timeoutSeconds: 120,
  });
  if (init.code !== 0) throw new Error(`pulumi stack init failed:\n${init.output}`);
}, 5 * MINUTES);

afterAll(async () => {
  await cluster?.stop();
  removeScratch(scratch);
});

describe("a stack with distributed trainings (JobSets)", () => {
  it("pulumi up installs the JobSet controller and creates both JobSets, which the API server validated", async () => {
    const up = await pulumi(["up", "--yes"]);
    expect(up.code, tail(up)).toBe(0);
    const { resources } = stackState(env, project, STACK);
    expect(pulumiSummary(up.output).counts).toEqual({ created: declaredResources(resources).length + 1 });

    const jobSets = kubernetesObjects(resources).filter((r) => r.outputs.kind === "JobSet");
    expect(jobSets.map((r) => (r.outputs.metadata as { name: string }).name).sort()).toEqual(["ranker-ddp-v1", "recommender-ps-v1"]);
    for (const jobSet of jobSets) {
      const { name, namespace } = jobSet.outputs.metadata as { name: string; namespace: string };
      const live = JSON.parse(cluster.kubectl(["get", "jobsets.jobset.x-k8s.io", name, "-n", namespace, "-o", "json"]));
      expect(mismatches(jobSet.inputs, live), name).toEqual([]);
    }
    // The CRD came with the chart the program installed (the suite installs none of its own).
    const crd = JSON.parse(cluster.kubectl(["get", "crd", "jobsets.jobset.x-k8s.io", "-o", "json"])) as { spec: { versions: Array<{ name: string; served: boolean }> } };
    expect(crd.spec.versions.filter((v) => v.served).map((v) => v.name)).toContain("v1alpha2");
    expect(cluster.kubectl(["get", "deployments", "-n", "jobset-system", "-o", "name"])).toMatch(/jobset-controller/);
  });

  it("the installed CRD really validates: a JobSet that breaks its schema is refused", () => {
    const broken = {
      apiVersion: "jobset.x-k8s.io/v1alpha2",
      kind: "JobSet",
      metadata: { name: "broken", namespace: "ml" },
      spec: { replicatedJobs: [{ name: "workers", replicas: "two", template: { spec: { template: { spec: { containers: [] } } } } }] },
    };
    expect(() => cluster.kubectl(["create", "-f", "-"], { input: JSON.stringify(broken) })).toThrow(/spec\.replicatedJobs\[0\]\.replicas: Invalid value: "string"/);
  });

  it("pulumi destroy removes everything it made, but the CRD (Helm keeps CRDs, so that no JobSet is lost)", async () => {
    const down = await pulumi(["destroy", "--yes"]);
    expect(down.code, tail(down)).toBe(0);
    expect(pulumiSummary(down.output).counts.deleted).toBeGreaterThan(10);
    expect(cluster.kubectl(["get", "jobsets.jobset.x-k8s.io", "-A", "-o", "name"]).trim()).toBe("");
    expect(cluster.kubectl(["get", "namespace", "ml", "jobset-system", "--ignore-not-found", "-o", "name"]).trim()).toBe("");
    expect(cluster.kubectl(["get", "crd", "jobsets.jobset.x-k8s.io", "-o", "name"]).trim()).toBe("customresourcedefinition.apiextensions.k8s.io/jobsets.jobset.x-k8s.io");
  });
});
