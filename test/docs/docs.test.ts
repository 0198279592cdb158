/**
 * README.md and docs/: short README, every TypeScript example compiled (by `npm run typecheck`, which writes them to
 * test/docs/examples/ first), few and marked fragments, the config reference equal to the config schema, stack
 * files in the docs accepted by the program's validator, and relative links that resolve.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CONFIG_KEYS, parsePlatformConfig } from "../../stacks/config";
import { configKeyPaths } from "./config-keys";
import { allExamples, docFiles, exampleFileName, extractBlocks, GENERATED_DIR, REPO_ROOT, writeExamples } from "./examples";

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), "utf8");

describe("README.md", () => {
  const readme = read("README.md");

  it("is short: under 15 KB", () => {
    expect(Buffer.byteLength(readme)).toBeLessThan(15 * 1024);
  });

  it("starts with the two commands, and pictures the architecture in Mermaid", () => {
    const top = readme.split("\n").slice(0, 5).join("\n");
    expect(top).toContain("`npm ci && npm run local:up`");
    expect(top).toContain("`npm ci && npm test`");
    expect(extractBlocks(readme, "README.md").some((block) => block.lang === "mermaid")).toBe(true);
  });
});

describe("TypeScript examples", () => {
  const examples = allExamples();

  it("are compiled by npm run typecheck: test/docs/examples/ holds exactly the current ones", () => {
    const compiled = examples.filter((example) => !example.fragment);
    expect(compiled.length).toBeGreaterThanOrEqual(10);
    const fresh = writeExamples(path.join(tmpdir(), `docs-examples-${process.pid}`), examples);
    const expected = fresh.map((file) => path.basename(file)).sort();
    const generated = existsSync(GENERATED_DIR) ? readdirSync(GENERATED_DIR).sort() : [];
    expect(generated, "stale: run npm run typecheck (it regenerates and compiles the docs' examples)").toEqual(expected);
    for (const file of fresh) {
      expect(readFileSync(path.join(GENERATED_DIR, path.basename(file)), "utf8"), path.basename(file)).toBe(readFileSync(file, "utf8"));
    }
    // tsconfig.json compiles test/ (so test/docs/examples/) with "ml-platform" mapped to the sources
    const tsconfig = ts.readConfigFile(path.join(REPO_ROOT, "tsconfig.json"), ts.sys.readFile).config as { include: string[]; compilerOptions: { paths: Record<string, string[]> } };
    expect(tsconfig.include).toContain("test");
    expect(tsconfig.compilerOptions.paths["ml-platform"]).toEqual(["./components/index.ts"]);
  });

  it("fragments are marked (```ts fragment) and few", () => {
    const fragments = examples.filter((example) => example.fragment);
    expect(fragments.length).toBeLessThanOrEqual(Math.floor(examples.length / 10));
  });

  it("a wrong example fails the check (the mapping of ml-platform to the sources is what compiles them)", () => {
    const dir = path.join(tmpdir(), `docs-examples-teeth-${process.pid}`);
    const [file] = writeExamples(dir, [
      { file: "docs/broken.md", line: 1, fragment: false, code: 'import { parseSmokeTargets } from "ml-platform/contracts";\nexport const n: number = parseSmokeTargets({ endpoints: [] });' },
    ]);
    const parsed = ts.getParsedCommandLineOfConfigFile(path.join(REPO_ROOT, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
    const program = ts.createProgram([file!], { ...parsed!.options, noEmit: true });
    const messages = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(messages).toEqual([expect.stringMatching(/^Type '\{ endpoints: [\s\S]*' is not assignable to type 'number'\.$/)]);
    expect(exampleFileName({ file: "docs/broken.md", line: 1, fragment: false, code: "" })).toBe(path.basename(file!));
  }, 60_000);
});

describe("docs/stack-config.md", () => {
  const doc = read("docs/stack-config.md");
  const topLevel = CONFIG_KEYS as readonly string[];
  const documented = new Set([...doc.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]!).filter((key) => topLevel.includes(key.split(/[.[]/)[0]!)));

  it("lists every key of the config schema, each top-level key with a section", () => {
    for (const key of topLevel) expect(doc, key).toMatch(new RegExp(`^### ${key}$`, "m"));
    const missing = configKeyPaths().filter((key) => !documented.has(key) && !topLevel.includes(key));
    expect(missing).toEqual([]);
  });

  it("lists no key the schema does not have", () => {
    const keys = new Set(configKeyPaths());
    expect([...documented].filter((key) => !keys.has(key))).toEqual([]);
  });
});

describe("stack files in the docs", () => {
  const blocks = docFiles().flatMap((file) => extractBlocks(read(file), file)).filter((block) => block.lang === "yaml" && /\bstack-config\b/.test(block.info));

  it("exist, and the program's validator accepts them", () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const config = (parseYaml(block.code) as { config: Record<string, unknown> }).config;
      const raw = Object.fromEntries(Object.entries(config).filter(([key]) => key.startsWith("ml-platform:")).map(([key, value]) => [key.slice("ml-platform:".length), value]));
      expect(() => parsePlatformConfig(raw), `${block.file}:${block.line}`).not.toThrow();
    }
  });
});

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const outside = markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1\s*$/gm, "");
  return new Set(
    [...outside.matchAll(/^#{1,6}\s+(.+)$/gm)].map((match) =>
      match[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-"),
    ),
  );
}

describe("links", () => {
  it("every relative link in README.md and docs/ points at a file (and heading) that exists", () => {
    const broken: string[] = [];
    for (const file of docFiles()) {
      const text = read(file).replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1\s*$/gm, "");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [pathPart, anchor] = target!.split("#");
        const resolved = pathPart ? path.join(path.dirname(path.join(REPO_ROOT, file)), pathPart) : path.join(REPO_ROOT, file);
        if (!existsSync(resolved)) {
          broken.push(`${file}: ${target}`);
          continue;
        }
        if (anchor && resolved.endsWith(".md") && !anchors(readFileSync(resolved, "utf8")).has(anchor)) broken.push(`${file}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
