import path from "node:path";
import { defineConfig } from "vitest/config";

// `npm run smoke` (smoke-tests/main.ts) runs every check, then starts vitest with this config and the report
// as provided context; the test file turns each result into a test, so vitest's reporters (JUnit with
// SMOKE_JUNIT=<file>) reflect every check. Paths are relative to the package root.
const junit = process.env["SMOKE_JUNIT"]?.trim() ? path.resolve(process.cwd(), process.env["SMOKE_JUNIT"].trim()) : undefined;

export default defineConfig({
  test: {
    include: ["smoke-tests/**/*.smoke.ts"],
    reporters: junit ? ["default", "junit"] : ["default"],
    ...(junit ? { outputFile: { junit } } : {}),
    // The checks ran before vitest started; the tests only read their results.
    testTimeout: 10_000,
  },
});
