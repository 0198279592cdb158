/**
 * Files of a pinned Go module (a project's CRDs, Kubernetes' built-in RBAC roles), read in the tests from the
 * module itself: `go mod download` puts it in Go's module cache once (the Go module proxy, which CI has), and
 * every later run reads it from there offline. The tests thus check against the real upstream files of the
 * version the platform pins, and nothing from upstream is copied into this repository.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const dirs = new Map<string, string>();

/** The read-only folder of `module@version` in Go's module cache, downloading it the first time. */
export function goModuleDir(module: string, version: string): string {
  const key = `${module}@${version}`;
  const cached = dirs.get(key);
  if (cached) return cached;
  let output: string;
  try {
    // GOFLAGS=-mod=mod: run outside any Go module of the caller's; only the cache and the proxy matter.
    output = execFileSync("go", ["mod", "download", "-json", key], {
      encoding: "utf8",
      env: { ...process.env, GOFLAGS: "-mod=mod", GO111MODULE: "on" },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 300_000,
      maxBuffer: 16 << 20,
    });
  } catch (error) {
    const err = error as { code?: string; stderr?: string; stdout?: string };
    if (err.code === "ENOENT") throw new Error(`the tests read ${key} from Go's module cache, but Go is not on PATH (install Go: https://go.dev/doc/install)`);
    throw new Error(`go mod download ${key} failed (is the Go module proxy reachable the first time?):\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
  const { Dir, Error: failure } = JSON.parse(output) as { Dir?: string; Error?: string };
  if (failure || !Dir || !existsSync(Dir)) throw new Error(`go mod download ${key} gave no folder${failure ? `: ${failure}` : ""}`);
  dirs.set(key, Dir);
  return Dir;
}
