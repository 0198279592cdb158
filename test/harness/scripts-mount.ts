/**
 * Scripts as pods run them: a scripts ConfigMap's files written into one folder, executable, as its
 * mount shows them (SCRIPTS_MOUNT_PATH), so a script finds the siblings it calls or sources beside it.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Writes `files` (ConfigMap data: file name -> content) into a new folder and returns it. */
export function writeScriptsMount(files: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), "scripts-mount-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content, { mode: 0o555 });
  return dir;
}

const mounts = new Map<string, string>();
/** The path of `script` in the bundle `files`, written out once per test process under `bundle`. */
export function mountedScript(bundle: string, files: () => Readonly<Record<string, string>>, script: string): string {
  let dir = mounts.get(bundle);
  if (!dir) mounts.set(bundle, (dir = writeScriptsMount(files())));
  return join(dir, script);
}
