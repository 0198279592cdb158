/**
 * docs/client-performance.md against the code: its table of transport defaults is
 * DEFAULT_CHANNEL_OPTIONS, and its TypeScript examples compile.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHANNEL_OPTIONS } from "../../client/client";

const ROOT = path.resolve(__dirname, "../..");
const DOC = readFileSync(path.join(ROOT, "docs/client-performance.md"), "utf8");

describe("docs/client-performance.md", () => {
  it("lists every default channel option with its value", () => {
    const rows = [...DOC.matchAll(/^\| `(grpc[\w.-]+)` \| `(-?\d+)`/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(rows)).toEqual(DEFAULT_CHANNEL_OPTIONS);
  });

  it("has TypeScript examples that compile against the client", () => {
    const blocks = [...DOC.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThan(0);
    const dir = mkdtempSync(path.join(tmpdir(), "doc-examples-"));
    try {
      const files = blocks.map((block, i) => {
        const file = path.join(dir, `example-${i}.ts`);
        // The examples import the client as the README does, from the repository root.
        writeFileSync(file, block.replace(/from "\.\/client"/g, `from ${JSON.stringify(path.join(ROOT, "client"))}`));
        return file;
      });
      const config = ts.parseJsonConfigFileContent(ts.readConfigFile(path.join(ROOT, "tsconfig.json"), ts.sys.readFile).config, ts.sys, ROOT);
      const program = ts.createProgram(files, { ...config.options, noEmit: true, typeRoots: [path.join(ROOT, "node_modules/@types")] });
      const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
