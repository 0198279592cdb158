/**
 * Runs the real `mlp` executable (dist/cli/bin.js, compiled from cli/) as a subprocess.
 */
import { execFileSync } from "node:child_process";
import { chmodSync } from "node:fs";
import path from "node:path";
import { run, type CommandResult } from "../harness/s3-server";

export const REPO_ROOT = path.resolve(__dirname, "../..");
export const MLP_BIN = path.join(REPO_ROOT, "dist", "cli", "bin.js");

/** Compiles the package into dist/ as `npm run build` does (incremental: fast when up to date). */
export function buildDist(): void {
  const tsc = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", path.join(REPO_ROOT, "tsconfig.build.json")], { cwd: REPO_ROOT, stdio: "pipe" });
  chmodSync(MLP_BIN, 0o755);
}

/** `mlp <args>` with optional stdin; never rejects on a non-zero exit. */
export function mlp(args: string[], options: { input?: string; cwd?: string } = {}): Promise<CommandResult> {
  return run(process.execPath, [MLP_BIN, ...args], { input: options.input, cwd: options.cwd ?? REPO_ROOT, timeoutMs: 30_000 });
}
