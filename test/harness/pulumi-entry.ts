/**
 * How `pulumi up` finds and compiles the program of a Node.js project, reproduced step by step from the
 * engine and the Node.js runtime, so that a unit test can see what a real deploy would run:
 *
 * 1. The engine (`pkg/engine/project.go`, getPwdMain, v3.x): `main` from Pulumi.yaml, relative to the
 *    project folder. A directory becomes the working folder with the program ".", a file becomes its folder
 *    plus its base name.
 * 2. The language host passes both to `@pulumi/pulumi/cmd/run/run.js`, which changes into the working folder
 *    and, for the program ".", falls back to package.json `exports["."]`, then `main` (the package's own
 *    entry point, not the program).
 * 3. run.js looks for `tsconfig.json` in the working folder only (or PULUMI_NODEJS_TSCONFIG_PATH, which
 *    older language hosts never set): without one, ts-node type-checks with its defaults. It reads that
 *    file's own `compilerOptions` (not those it `extends`) over its defaults: target ES2020, module and
 *    moduleResolution nodenext.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import ts from "typescript";
import { parse } from "yaml";

export interface EngineEntry {
  /** The folder run.js changes into. */
  pwd: string;
  /** The module run.js requires. */
  program: string;
  /** Where the program came from: Pulumi.yaml `main`, or the package.json fallback for a directory. */
  source: "Pulumi.yaml main" | "package.json exports" | "package.json main" | "default";
  /** The tsconfig.json that ts-node is given, if any. */
  tsconfig: string | undefined;
  /** The compiler options run.js passes to ts-node on top of that tsconfig. */
  overrides: Record<string, unknown>;
}

/** getPwdMain of the engine. */
function pwdAndMain(projectDir: string, main: string | undefined): { pwd: string; main: string } {
  if (!main) return { pwd: projectDir, main: "." };
  const full = isAbsolute(main) ? main : resolve(projectDir, main);
  if (!existsSync(full)) throw new Error(`project 'main' could not be read: ${full}`);
  return statSync(full).isDirectory() ? { pwd: full, main: "." } : { pwd: dirname(full), main: full.slice(dirname(full).length + 1) };
}

/** The nearest folder at or above `dir` with a package.json. */
function packageRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, "package.json"))) return d;
    if (dirname(d) === d) return dir;
  }
}

export function resolveProgramLikeEngine(projectDir: string): EngineEntry {
  const project = parse(readFileSync(join(projectDir, "Pulumi.yaml"), "utf8")) as { main?: string };
  const { pwd, main } = pwdAndMain(projectDir, project.main);

  let program = join(pwd, main);
  let source: EngineEntry["source"] = main === "." ? "default" : "Pulumi.yaml main";
  if (main === ".") {
    const root = packageRoot(program);
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports?: unknown; main?: string };
    const fromExports =
      typeof pkg.exports === "string"
        ? pkg.exports
        : typeof pkg.exports === "object" && pkg.exports !== null
          ? (() => {
              const dot = (pkg.exports as Record<string, unknown>)["."];
              if (typeof dot === "string") return dot;
              if (typeof dot === "object" && dot !== null) {
                const d = dot as Record<string, string | undefined>;
                return d.default ?? d.require ?? d.import;
              }
              return undefined;
            })()
          : undefined;
    if (pkg.exports !== undefined) {
      if (fromExports && existsSync(join(root, fromExports))) {
        program = join(root, fromExports);
        source = "package.json exports";
      }
    } else if (pkg.main && existsSync(join(root, pkg.main))) {
      program = join(root, pkg.main);
      source = "package.json main";
    }
  }

  const tsconfigPath = join(pwd, "tsconfig.json");
  const tsconfig = existsSync(tsconfigPath) ? tsconfigPath : undefined;
  const own = tsconfig ? ((ts.parseConfigFileTextToJson(tsconfig, readFileSync(tsconfig, "utf8")).config as { compilerOptions?: Record<string, unknown> }).compilerOptions ?? {}) : {};
  const overrides = { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...own };
  return { pwd, program, source, tsconfig, overrides };
}

/** The compiler options ts-node ends up with: the tsconfig (with what it extends), then run.js's overrides. */
export function effectiveCompilerOptions(entry: EngineEntry): ts.CompilerOptions {
  const base = entry.tsconfig
    ? ts.parseJsonConfigFileContent(ts.readConfigFile(entry.tsconfig, ts.sys.readFile).config, ts.sys, dirname(entry.tsconfig)).options
    : {};
  const overrides = ts.convertCompilerOptionsFromJson(entry.overrides, entry.pwd).options;
  return { ...base, ...overrides };
}
