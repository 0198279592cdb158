/**
 * Where the local-stack commands work: the project (Pulumi.yaml, stacks/, package.json), the folder that
 * holds the stack's state, the environment the tools get, and where messages go.
 */
import { resolve } from "node:path";
import type { Io } from "./processes";

export interface LocalContext {
  /** The repository: Pulumi.yaml, stacks/Pulumi.local.yaml, package.json. */
  projectDir: string;
  /** The local stack's Pulumi state (a file backend) and the commands' own notes; gitignored. */
  stateDir: string;
  /** Environment for the tools (PATH, KUBECONFIG, ...). */
  env: NodeJS.ProcessEnv;
  io: Io;
}

export const PROJECT_DIR = resolve(__dirname, "..");
/** Default state folder: `.pulumi-local/` in the repository (listed in .gitignore). */
export const DEFAULT_STATE_DIR = resolve(PROJECT_DIR, ".pulumi-local");

export function processContext(): LocalContext {
  return {
    projectDir: PROJECT_DIR,
    stateDir: DEFAULT_STATE_DIR,
    env: process.env,
    io: { stdout: process.stdout, stderr: process.stderr, inheritStdio: true },
  };
}

/** A progress line on stderr (stdout is left to the tools). */
export function say(context: LocalContext, command: string, message: string): void {
  context.io.stderr.write(`local:${command}: ${message}\n`);
}
