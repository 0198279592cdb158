/**
 * The Pulumi CLI as the local-stack commands use it: a file backend in the state folder (no Pulumi Cloud
 * account, no `pulumi login`, so the user's own login stays as it is), the passphrase secrets provider
 * with a fixed passphrase, and `--stack local` on every call (no stack is selected).
 *
 * Why a fixed passphrase: the stack's only secrets are the random credentials of the in-cluster store on a
 * throwaway laptop cluster. stacks/Pulumi.local.yaml carries the matching `encryptionsalt`, so
 * `pulumi stack init` uses it instead of writing a new one into the committed file.
 */
import type { LocalContext } from "./context";
import { PrerequisiteError, StepFailedError } from "./errors";
import { capture, stream } from "./processes";
import { LOCAL_STACK } from "./stack-config";

/** The passphrase of the local stack's secrets provider (see above; docs/local-stack.md). */
export const LOCAL_STACK_PASSPHRASE = "ml-platform-local";

/** The environment every pulumi call gets. */
export function pulumiEnv(context: LocalContext): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...context.env,
    PULUMI_BACKEND_URL: `file://${context.stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: LOCAL_STACK_PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  // PULUMI_CONFIG_PASSPHRASE wins over a file anyway; drop the file so nothing reads another stack's.
  delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
  return env;
}

async function pulumi(context: LocalContext, args: string[]) {
  return capture("pulumi", args, { env: pulumiEnv(context), cwd: context.projectDir });
}

function failed(what: string, result: { code: number; stderr: string; stdout: string }): StepFailedError {
  const output = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-10).join("\n");
  return new StepFailedError(`\`${what}\` failed (exit ${result.code}):\n${output}`);
}

/** Checks that the Pulumi CLI is installed and is version 3; returns its version. */
export async function requirePulumi(context: LocalContext): Promise<string> {
  const result = await pulumi(context, ["version"]);
  const version = result.stdout.trim();
  if (result.code !== 0) throw failed("pulumi version", result);
  if (!/^v?3\./.test(version)) throw new PrerequisiteError(`the Pulumi CLI is ${version || "of an unknown version"}; the local stack needs Pulumi CLI 3.x`);
  return version;
}

/** Names of the stacks in the state folder's backend (all projects). */
export async function stacksInBackend(context: LocalContext): Promise<string[]> {
  const result = await pulumi(context, ["stack", "ls", "--all", "--json"]);
  if (result.code !== 0) throw failed("pulumi stack ls --all --json", result);
  const stacks = JSON.parse(result.stdout || "[]") as Array<{ name: string }>;
  return stacks.map((s) => s.name);
}

/** Whether a name from `stack ls` is this project's local stack (DIY backends may qualify it). */
export function isLocalStackName(name: string): boolean {
  return name === LOCAL_STACK || name === `organization/ml-platform/${LOCAL_STACK}`;
}

export async function localStackExists(context: LocalContext): Promise<boolean> {
  return (await stacksInBackend(context)).some(isLocalStackName);
}

/** Creates the local stack with the passphrase provider, without selecting it. */
export async function createLocalStack(context: LocalContext): Promise<void> {
  const result = await pulumi(context, ["stack", "init", LOCAL_STACK, "--secrets-provider", "passphrase", "--no-select"]);
  if (result.code !== 0) throw failed(`pulumi stack init ${LOCAL_STACK}`, result);
}

/** Runs a pulumi command on the local stack with its output shown to the user; returns the exit code. */
export function streamPulumi(context: LocalContext, args: string[]): Promise<number> {
  return stream("pulumi", [...args, "--stack", LOCAL_STACK], { env: pulumiEnv(context), cwd: context.projectDir, io: context.io });
}

/** `pulumi stack output <name> --json` of the local stack. */
export async function stackOutput(context: LocalContext, name: string): Promise<unknown> {
  const result = await pulumi(context, ["stack", "output", name, "--json", "--stack", LOCAL_STACK]);
  if (result.code !== 0) throw failed(`pulumi stack output ${name} --json --stack ${LOCAL_STACK}`, result);
  return JSON.parse(result.stdout);
}

/**
 * Removes the local stack's state. `--preserve-config` keeps the committed stacks/Pulumi.local.yaml
 * (without it, `stack rm` deletes the stack's config file); `--force` is for a stack whose cluster is gone.
 */
export async function removeLocalStack(context: LocalContext, options: { force: boolean }): Promise<void> {
  const args = ["stack", "rm", LOCAL_STACK, "--yes", "--preserve-config", "--remove-backups", ...(options.force ? ["--force"] : [])];
  const result = await pulumi(context, args);
  if (result.code !== 0) throw failed(`pulumi ${args.join(" ")}`, result);
}
