/**
 * The local stack's state folder (`.pulumi-local/` by default): Pulumi's file backend keeps the stack in
 * `.pulumi/` inside it; the commands keep a note of what the folder is and the kubeconfig context the
 * stack was deployed with. `local:down` deletes the folder only when the note says the commands made it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const STATE_NOTE = "ABOUT.txt";
const CONTEXT_FILE = "kube-context";

const NOTE = [
  "State of the ml-platform local stack (a Pulumi file backend), made by `npm run local:up`.",
  "`npm run local:down` destroys the stack's resources and then deletes this folder.",
  "Do not keep other Pulumi stacks here.",
  "",
].join("\n");

/** Creates the folder (and its note) if needed. */
export function ensureStateDir(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true });
  const note = join(stateDir, STATE_NOTE);
  if (!existsSync(note)) writeFileSync(note, NOTE);
}

/** Whether the folder exists and was made by these commands. */
export function isLocalStateDir(stateDir: string): boolean {
  return existsSync(join(stateDir, STATE_NOTE));
}

/** The kubeconfig context the stack was deployed with, if recorded. */
export function recordedContext(stateDir: string): string | undefined {
  const file = join(stateDir, CONTEXT_FILE);
  return existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
}

export function recordContext(stateDir: string, context: string): void {
  writeFileSync(join(stateDir, CONTEXT_FILE), `${context}\n`);
}

/** Deletes the folder; refuses one the commands did not make. */
export function removeStateDir(stateDir: string): void {
  if (!isLocalStateDir(stateDir)) throw new Error(`refusing to delete ${stateDir}: it has no ${STATE_NOTE}, so local:up did not make it`);
  rmSync(stateDir, { recursive: true, force: true });
}
