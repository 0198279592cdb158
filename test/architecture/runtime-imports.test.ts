/**
 * The runtime side (the client library, the mlp CLI, the smoke suite, the smoke-targets contract, the
 * proto loader and the benchmark) must never import @pulumi/*, directly or through the IaC code, nor
 * the tests' code (test doubles are not shipped).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const RUNTIME_DIRS = ["client", "cli", "contracts", "bench", "smoke-tests"];
const IAC_DIRS = ["components", "stacks"];
const TEST_DIRS = ["test"];

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.(ts|mts|cts|js)$/.test(entry) && !entry.endsWith(".d.ts") ? [full] : [];
  });
}

/** Every module specifier in import/export-from, dynamic import() and require() calls. */
function specifiers(source: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm;
  return [...source.matchAll(pattern)].map((match) => match[1]!);
}

describe("runtime side imports", () => {
  const files = RUNTIME_DIRS.flatMap((dir) => sourceFiles(path.join(ROOT, dir)));

  it("finds the runtime sources", () => {
    expect(files.some((f) => f.endsWith(path.join("client", "client.ts")))).toBe(true);
    expect(files.some((f) => f.endsWith(path.join("cli", "main.ts")))).toBe(true);
    expect(files.some((f) => f.endsWith(path.join("contracts", "smoke-targets.ts")))).toBe(true);
    for (const file of ["smoke-tests/lib/run.ts", "smoke-tests/lib/targets.ts", "smoke-tests/main.ts", "smoke-tests/endpoints.smoke.ts", "smoke-tests/vitest.config.mts"]) {
      expect(files).toContain(path.join(ROOT, file));
    }
  });

  it("no runtime file imports @pulumi/* or the IaC folders", () => {
    const offences: string[] = [];
    for (const file of files) {
      for (const spec of specifiers(readFileSync(file, "utf8"))) {
        const resolved = spec.startsWith(".") ? path.relative(ROOT, path.resolve(path.dirname(file), spec)) : spec;
        const inside = (dirs: string[]) => dirs.some((dir) => resolved === dir || resolved.startsWith(dir + path.sep));
        if (spec.startsWith("@pulumi/") || inside(IAC_DIRS) || inside(TEST_DIRS)) {
          offences.push(`${path.relative(ROOT, file)} imports ${spec}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });

  it("the check itself sees the import forms it guards against", () => {
    expect(specifiers('import * as pulumi from "@pulumi/pulumi";\nconst a = require("@pulumi/aws");\nexport { x } from "../components/x";\nawait import("@pulumi/kubernetes");\nimport "@pulumi/side-effect";')).toEqual([
      "@pulumi/pulumi",
      "@pulumi/aws",
      "../components/x",
      "@pulumi/kubernetes",
      "@pulumi/side-effect",
    ]);
  });
});
