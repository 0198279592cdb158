/**
 * The StackWorkspace of a real promotion: Pulumi's Automation API (`@pulumi/pulumi/automation`) over
 * this repository's project (Pulumi.yaml: `main: stacks/index.ts`, `stackConfigDir: stacks`), so a stack's
 * config is `stacks/Pulumi.<stack>.yaml` and its state is in the logged-in backend.
 *
 * - read:  `pulumi config --show-secrets --json` (the whole map, so a missing key is an absent value,
 *          not an error to interpret) and `pulumi stack output --json --show-secrets`;
 * - write: `pulumi config set-all --json` with the key's `objectValue`, which stores the object exactly
 *          as given (numbers stay numbers, numeric strings stay strings); `pulumi config rm` when the
 *          previous value was "absent";
 * - `pulumi preview --diff` and `pulumi up --yes --skip-preview`, streamed, without colour.
 *
 * It needs the Pulumi CLI (>= 3.214, for `config set-all --json`; CI installs the version of
 * @pulumi/pulumi in package-lock.json). The module is loaded only when a real promotion starts.
 */
import type { ConfigValue, OutputMap, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { ConfigError } from "./errors";
import { RELEASES_KEY } from "./releases";
import type { ChangeSummary, StackWorkspace } from "./workspace";

export interface AutomationWorkspaceOptions {
  /** The Pulumi project directory (where Pulumi.yaml is). */
  workDir: string;
  /** The Pulumi CLI to run. @default the `pulumi` on PATH */
  pulumiCommand?: PulumiCommand;
  /** Extra environment variables for every CLI call. */
  envVars?: Record<string, string>;
  /** The message recorded with each update. */
  message?: string;
}

/** `pulumi config set-all --json` input that sets `ml-platform:releases` to exactly `value`. */
export function releasesConfigJson(value: unknown): string {
  return JSON.stringify({ [RELEASES_KEY]: { value: JSON.stringify(value), objectValue: value, secret: false } });
}

/** A `pulumi config --json` entry as a plain value: its `objectValue` for objects, else its JSON or text. */
export function configEntryValue(entry: ConfigValue & { objectValue?: unknown }): unknown {
  if (entry.secret) throw new ConfigError(`${RELEASES_KEY} is a secret; the promotion path must be plain config`);
  if (entry.objectValue !== undefined) return entry.objectValue;
  try {
    return JSON.parse(entry.value);
  } catch {
    return entry.value;
  }
}

export function plainOutputs(outputs: OutputMap): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).map(([name, output]) => [name, output.value as unknown]));
}

interface CommandFailure {
  commandResult?: {
    stdout?: string;
    stderr?: string;
    code?: number;
    /** The process error (execa's): `code` ENOENT when the CLI is missing, else its exit code and output. */
    err?: { code?: unknown; exitCode?: number; stdout?: string; stderr?: string };
  };
}

/** What to do when the Pulumi CLI is not there: the command needs 3.214 or later (`config set-all --json`). */
export const PULUMI_CLI_MISSING =
  "the pulumi CLI was not found on PATH. Install the Pulumi CLI 3.214 or later: https://www.pulumi.com/docs/iac/download-install/ " +
  "(e.g. `curl -fsSL https://get.pulumi.com | sh`, then add ~/.pulumi/bin to PATH; in GitHub Actions, .github/actions/setup installs " +
  "the version of @pulumi/pulumi in package-lock.json)";

/**
 * A failed Pulumi CLI call as one readable message. The Automation API's CommandError keeps the call's
 * result in `commandResult` (its message is that result's dump); the process error inside it has the
 * CLI's exit code and output.
 */
export function describePulumiFailure(error: unknown): string {
  const result = (error as CommandFailure | null)?.commandResult;
  if (!result) return error instanceof Error ? error.message : String(error);
  const failure = result.err;
  if (failure?.code === "ENOENT") return PULUMI_CLI_MISSING;
  const output = (failure?.stderr ?? result.stderr ?? "").trim() || (failure?.stdout ?? result.stdout ?? "").trim() || "no output";
  return `exit ${String(failure?.exitCode ?? result.code)}: ${output.split("\n").slice(-20).join("\n")}`;
}

/** Runs a CLI operation, turning a failure into an Error that says which operation and why. */
async function pulumi<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new Error(`${operation} failed: ${describePulumiFailure(error)}`, { cause: error });
  }
}

function counts(map: Partial<Record<string, number>> | undefined): ChangeSummary {
  return Object.fromEntries(Object.entries(map ?? {}).filter((entry): entry is [string, number] => typeof entry[1] === "number"));
}

export async function automationWorkspace(options: AutomationWorkspaceOptions): Promise<StackWorkspace> {
  const automation = await import("@pulumi/pulumi/automation");
  const workspace = await pulumi(`opening the Pulumi project in ${options.workDir}`, () =>
    automation.LocalWorkspace.create({
      workDir: options.workDir,
      ...(options.pulumiCommand ? { pulumiCommand: options.pulumiCommand } : {}),
      ...(options.envVars ? { envVars: options.envVars } : {}),
    }),
  );
  const selected = new Map<string, Promise<Stack>>();
  const stack = (name: string): Promise<Stack> => {
    let found = selected.get(name);
    if (!found) {
      found = pulumi(`selecting stack ${name}`, () => automation.Stack.select(name, workspace));
      selected.set(name, found);
    }
    return found;
  };
  const entryOf = async (name: string) => {
    const target = await stack(name);
    const config = (await pulumi(`reading ${name}'s config`, () => target.getAllConfig())) as Record<string, ConfigValue & { objectValue?: unknown }>;
    return config[RELEASES_KEY];
  };
  const extra = options.message ? { message: options.message } : {};

  return {
    async outputs(name) {
      const target = await stack(name);
      return plainOutputs(await pulumi(`reading ${name}'s outputs`, () => target.outputs()));
    },
    async readReleases(name) {
      const entry = await entryOf(name);
      return entry === undefined ? undefined : configEntryValue(entry);
    },
    async writeReleases(name, value) {
      const target = await stack(name);
      if (value !== undefined) {
        await pulumi(`setting ${name}'s ${RELEASES_KEY}`, () => target.setAllConfigJson(releasesConfigJson(value)));
      } else if ((await entryOf(name)) !== undefined) {
        await pulumi(`removing ${name}'s ${RELEASES_KEY}`, () => target.removeConfig(RELEASES_KEY));
      }
    },
    async preview(name, output) {
      const target = await stack(name);
      const result = await pulumi(`pulumi preview --stack ${name}`, () => target.preview({ diff: true, color: "never", onOutput: output, onError: output, ...extra }));
      return { changeSummary: counts(result.changeSummary) };
    },
    async up(name, output) {
      const target = await stack(name);
      const result = await pulumi(`pulumi up --stack ${name}`, () => target.up({ color: "never", onOutput: output, onError: output, ...extra }));
      return { outputs: plainOutputs(result.outputs), changeSummary: counts(result.summary?.resourceChanges) };
    },
  };
}
