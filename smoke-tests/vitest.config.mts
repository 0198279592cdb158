import path from "node:path";
import { defineConfig } from "vitest/config";

// `npm run smoke`: the smoke suite against deployed endpoints (smoke-tests/README.md). The global setup
// runs every check; the test file turns each result into a test, so vitest's reporters (JUnit with
// SMOKE_JUNIT=<file>) and its exit status reflect every check. Paths are relative to the package root, where
// `npm run smoke` runs.
const junit = process.env["SMOKE_JUNIT"]?.trim() ? path.resolve(process.cwd(), process.env["SMOKE_JUNIT"].trim()) : undefined;

export default defineConfig({
  test: {
    include: ["smoke-tests/**/*.smoke.ts"],
    globalSetup: ["smoke-tests/global-setup.ts"],
    reporters: junit ? ["default", "junit"] : ["default"],
    ...(junit ? { outputFile: { junit } } : {}),
    // The run happens in the global setup, which has no timeout; the tests only read its results.
    testTimeout: 10_000,
  },
});
