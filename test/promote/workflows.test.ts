/**
 * The deploy and promote workflows' safety properties (actionlint, run by .ci/run, checks their syntax
 * and expressions): actions pinned to commits, no permissions unless a job asks, OIDC instead of keys,
 * timeouts everywhere, prod behind its environment, promotions in one concurrency group.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "../..");

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  environment?: string;
  permissions?: Record<string, string>;
  "timeout-minutes"?: number;
  steps: Step[];
  outputs?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean | string };
  jobs: Record<string, Job>;
}

const load = <T>(file: string): T => parse(readFileSync(path.join(ROOT, file), "utf8")) as T;
const deploy = load<Workflow>(".github/workflows/deploy.yml");
const promote = load<Workflow>(".github/workflows/promote.yml");
const setup = load<{ runs: { steps: Step[] } }>(".github/actions/setup/action.yml");

const workflows = { deploy, promote };
const allSteps = [...Object.values(workflows).flatMap((w) => Object.values(w.jobs).flatMap((j) => j.steps)), ...setup.runs.steps];

describe("deploy.yml and promote.yml", () => {
  it("pin every action to a commit, with its version beside it", () => {
    const remote = allSteps.map((s) => s.uses).filter((u): u is string => u !== undefined && !u.startsWith("./"));
    expect(remote.length).toBeGreaterThan(5);
    for (const uses of remote) expect(uses).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    const text = ["deploy.yml", "promote.yml"].map((f) => readFileSync(path.join(ROOT, ".github/workflows", f), "utf8")).join("\n");
    for (const line of text.split("\n").filter((l) => /uses: [\w.-]+\/[\w.-]+@/.test(l))) expect(line).toMatch(/ # v\d+\.\d+\.\d+$/);
  });

  it("grant nothing by default; id-token only to jobs that assume an AWS role; every job has a timeout", () => {
    for (const [name, workflow] of Object.entries(workflows)) {
      expect(workflow.permissions, name).toEqual({});
      for (const [jobName, job] of Object.entries(workflow.jobs)) {
        expect(job["timeout-minutes"], `${name}.${jobName}`).toBeGreaterThan(0);
        const assumesRole = job.steps.some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        expect(job.permissions?.["id-token"] === "write", `${name}.${jobName}`).toBe(assumesRole);
      }
    }
  });

  it("get AWS credentials only through OIDC roles, never keys", () => {
    const aws = allSteps.filter((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
    expect(aws.length).toBe(4);
    for (const step of aws) {
      expect(Object.keys(step.with ?? {}).sort()).toEqual(["aws-region", "role-to-assume"]);
      expect(step.with!["role-to-assume"]).toMatch(/^\$\{\{ vars\.AWS_(PREVIEW_)?ROLE_ARN \}\}$/);
    }
    const text = JSON.stringify(workflows);
    expect(text).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY|PULUMI_ACCESS_TOKEN|PULUMI_CONFIG_PASSPHRASE/);
  });

  it("deploy: previews every stack on pull requests, deploys and smokes dev then staging on main", () => {
    expect(Object.keys(deploy.on).sort()).toEqual(["pull_request", "push"]);
    expect(deploy.on["push"]).toEqual({ branches: ["main"] });
    const preview = deploy.jobs["preview"]!;
    expect(preview.if).toBe("github.event_name == 'pull_request'");
    expect((preview as Job & { strategy: { matrix: { stack: string[] } } }).strategy.matrix.stack).toEqual(["dev", "staging", "prod"]);
    expect(preview.steps.find((s) => s.run?.includes("pulumi preview"))!.run).toMatch(/pulumi preview --stack "\$STACK" --diff[\s\S]*>> "\$GITHUB_STEP_SUMMARY"/);
    expect(deploy.jobs["dev"]).toMatchObject({ if: "github.event_name == 'push'", environment: "dev" });
    expect(deploy.jobs["dev"]!.steps.map((s) => s.run ?? s.uses).filter((r) => r?.includes("--stack dev"))).toEqual([
      "pulumi up --stack dev --yes --skip-preview --color never --non-interactive",
      'aws eks update-kubeconfig --name "$(pulumi config get --stack dev --path ml-platform:cluster.name)" --alias dev',
      "npm run --silent smoke:stack -- --stack dev --port-forward --report smoke-dev.json",
    ]);
    expect(deploy.jobs["staging"]).toMatchObject({ needs: "dev", environment: "staging" });
  });

  it("promote: by hand and after main's deployments, behind the prod environment, one at a time", () => {
    expect(Object.keys(promote.on).sort()).toEqual(["workflow_dispatch", "workflow_run"]);
    expect(Object.keys((promote.on["workflow_dispatch"] as { inputs: object }).inputs)).toEqual(["model", "version", "canary", "dry_run"]);
    expect(promote.on["workflow_run"]).toEqual({ workflows: ["deploy"], types: ["completed"], branches: ["main"] });
    expect(promote.concurrency).toEqual({ group: "promote-prod", "cancel-in-progress": false });
    const job = promote.jobs["promote"]!;
    expect(job.environment).toBe("prod");
    const run = job.steps.find((s) => s.run?.includes("npm run --silent promote"))!;
    expect(run.run).toContain("args=(--from staging --to prod --port-forward --report promotion-report.json)");
    // inputs reach the script through the environment, never pasted into it
    expect(run.run).not.toContain("${{");
    const upload = job.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
    expect(upload).toMatchObject({ if: "always()", with: { path: "promotion-report.json\nstacks/Pulumi.prod.yaml\n" } });
    expect(promote.jobs["record"]).toMatchObject({ needs: "promote", if: "needs.promote.outputs.exit-code == '0'", permissions: { contents: "write", "pull-requests": "write" } });
  });
});
