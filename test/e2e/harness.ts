/**
 * What the real-deploy suite drives: a scratch copy of the project (so the suite can edit its stack files
 * and keep its state apart from a developer's own local stack), the real commands run in it with the tools
 * of install-tools.sh, and readers for what they left behind (Pulumi's summary and state, the live objects).
 */
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCAL_STACK_PASSPHRASE } from "../../local/pulumi";
import type { FakeCluster } from "./fake-cluster";

export const REPO = join(__dirname, "..", "..");

/** The folder of install-tools.sh's tools; `npm run test:e2e` (test/e2e/run.sh) sets it. */
export function toolsDir(): string {
  const dir = process.env.ML_PLATFORM_E2E_TOOLS;
  if (!dir || !existsSync(join(dir, "bin", "pulumi"))) {
    throw new Error("ML_PLATFORM_E2E_TOOLS does not name the tools folder: run the suite with `npm run test:e2e`, which builds the tools (test/e2e/install-tools.sh)");
  }
  return dir;
}

/** A scratch folder for one test file (under ML_PLATFORM_E2E_SCRATCH if set, else the temp folder). */
export function scratchDir(name: string): string {
  return mkdtempSync(join(process.env.ML_PLATFORM_E2E_SCRATCH ?? tmpdir(), `ml-platform-e2e-${name}-`));
}

/** Removes a scratch folder (its logs, state and cluster data), unless ML_PLATFORM_E2E_KEEP=1 asks to keep it. */
export function removeScratch(dir: string | undefined): void {
  if (!dir) return;
  if (process.env.ML_PLATFORM_E2E_KEEP === "1") {
    process.stderr.write(`e2e: kept ${dir}\n`);
    return;
  }
  // Not followed: the project copy's node_modules is a link to the repository's.
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A copy of the project's files (those git tracks, plus new ones not ignored) with the project's
 * node_modules linked in: what a user's clone looks like after `npm ci`.
 */
export function copyProject(into: string): string {
  const project = join(into, "project");
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO, encoding: "utf8" })
    .split("\0")
    .filter((f) => f && existsSync(join(REPO, f)));
  for (const file of files) cpSync(join(REPO, file), join(project, file), { recursive: false, force: true });
  symlinkSync(join(REPO, "node_modules"), join(project, "node_modules"), "dir");
  return project;
}

/** The environment the commands get: the tools first on PATH, Node 22 from the project, its own Pulumi home. */
export function commandEnv(cluster: FakeCluster, project: string, scratch: string): NodeJS.ProcessEnv {
  return {
    ...cluster.env,
    PATH: `${join(toolsDir(), "bin")}:${join(project, "node_modules", ".bin")}:${process.env.PATH}`,
    PULUMI_HOME: join(scratch, "pulumi-home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    // Nothing may be downloaded: a missing plugin must fail, not be fetched.
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // The plugins the suite built, found on PATH: say so once, quietly.
    PULUMI_IGNORE_AMBIENT_PLUGINS: "false",
    CI: "true",
    NO_COLOR: "1",
    npm_config_update_notifier: "false",
    npm_config_fund: "false",
    npm_config_audit: "false",
  };
}

/** The environment of direct `pulumi` calls on the local stack: what local/pulumi.ts gives its own calls. */
export function localPulumiEnv(env: NodeJS.ProcessEnv, project: string): NodeJS.ProcessEnv {
  return { ...env, PULUMI_BACKEND_URL: `file://${join(project, ".pulumi-local")}`, PULUMI_CONFIG_PASSPHRASE: LOCAL_STACK_PASSPHRASE };
}

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they came. */
  output: string;
  seconds: number;
}

/**
 * Runs a command to its end (or `timeoutSeconds`), keeping its output; `onOutput` sees the output so far
 * each time more arrives (to act in the middle of a run). The output is also written to `<log>` if given.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutSeconds: number; log?: string; onOutput?: (output: string) => void },
): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let output = "";
    const take = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      if (stream === "stdout") stdout += text;
      else stderr += text;
      output += text;
      options.onOutput?.(output);
    };
    child.stdout.on("data", take("stdout"));
    child.stderr.on("data", take("stderr"));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutSeconds * 1000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (options.log) writeFileSync(options.log, output);
      resolve({ code, signal, stdout, stderr, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

export type SummaryCounts = Partial<Record<"created" | "updated" | "deleted" | "replaced" | "unchanged" | "failed", number>>;

/** Pulumi's closing summary (`Resources:` then lines like `+ 36 created`), as counts. */
export function pulumiSummary(output: string): { counts: SummaryCounts; lines: string[] } {
  const at = output.lastIndexOf("Resources:");
  if (at < 0) return { counts: {}, lines: [] };
  const lines: string[] = [];
  const counts: SummaryCounts = {};
  for (const line of output.slice(at).split("\n").slice(1)) {
    const match = /^\s+(?:[-+~]|\+-)?\s*(\d+) (created|updated|deleted|replaced|unchanged|failed)\b/.exec(line);
    if (!match) {
      if (line.trim() === "") continue;
      break;
    }
    lines.push(line.trim());
    counts[match[2] as keyof SummaryCounts] = Number(match[1]);
  }
  return { counts, lines };
}

export interface StateResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  id?: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

// How a checkpoint marks a secret value (`pulumi stack export --show-secrets` leaves it as plaintext JSON).
const SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

function revealSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revealSecrets);
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  if (record[SECRET_SIGNATURE_KEY] === SECRET_SIGNATURE && typeof record.plaintext === "string") return revealSecrets(JSON.parse(record.plaintext));
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, revealSecrets(v)]));
}

/** The stack's resources from `pulumi stack export --show-secrets`, secrets revealed. */
export function stackState(env: NodeJS.ProcessEnv, cwd: string, stack: string): { resources: StateResource[]; pendingOperations: unknown[] } {
  const raw = execFileSync("pulumi", ["stack", "export", "--show-secrets", "--stack", stack], { cwd, env, encoding: "utf8", maxBuffer: 64 << 20 });
  const deployment = (JSON.parse(raw) as { deployment: { resources?: StateResource[]; pending_operations?: unknown[] } }).deployment;
  const resources = (deployment.resources ?? []).map((r) => revealSecrets({ ...r, name: r.urn.split("::").pop() as string }) as StateResource);
  return { resources, pendingOperations: deployment.pending_operations ?? [] };
}

/**
 * `type::name` of what the program declared: the state without the stack itself and the default providers
 * the engine adds (which Pulumi's summary does not count either).
 */
export function declaredResources(resources: readonly StateResource[]): string[] {
  return resources
    .filter((r) => r.type !== "pulumi:pulumi:Stack" && !(r.type.startsWith("pulumi:providers:") && r.name.startsWith("default")))
    .map((r) => `${r.type}::${r.name}`)
    .sort();
}

/** A preview's changes as `<op> <type>::<name>` (the type without its parents), `same` left out. */
export function previewChanges(previewJson: string): string[] {
  const { steps } = JSON.parse(previewJson) as { steps: Array<{ op: string; urn: string }> };
  return steps
    .filter((s) => s.op !== "same")
    .map((s) => {
      const [type, name] = s.urn.split("::").slice(-2);
      return `${s.op} ${type.split("$").pop()}::${name}`;
    })
    .sort();
}

/** Kubernetes objects the state holds (not providers, components or Helm releases). */
export function kubernetesObjects(resources: readonly StateResource[]): StateResource[] {
  return resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/") && typeof r.outputs.kind === "string");
}

/** `kind.group` for kubectl, e.g. `deployments.apps`. */
export function kubectlResource(apiVersion: string, kind: string): string {
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  return group ? `${kind}.${group}` : kind;
}

/**
 * Where `declared` (what the program sent) differs from `live` (what the API server holds): every declared
 * field must be there with the same value; the server may add fields (defaults, status, metadata).
 */
export function mismatches(declared: unknown, live: unknown, path = ""): string[] {
  if (declared === null || typeof declared !== "object") {
    return declared === live ? [] : [`${path || "(root)"}: declared ${JSON.stringify(declared)}, live ${JSON.stringify(live)}`];
  }
  if (Array.isArray(declared)) {
    if (!Array.isArray(live) || live.length !== declared.length) return [`${path}: declared ${declared.length} items, live ${JSON.stringify(live)?.slice(0, 200)}`];
    return declared.flatMap((item, i) => mismatches(item, live[i], `${path}[${i}]`));
  }
  if (live === null || typeof live !== "object" || Array.isArray(live)) return [`${path}: declared an object, live ${JSON.stringify(live)}`];
  return Object.entries(declared).flatMap(([key, value]) => mismatches(value, (live as Record<string, unknown>)[key], path ? `${path}.${key}` : key));
}
