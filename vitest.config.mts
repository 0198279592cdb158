import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // test/slow/ runs with `npm run test:slow` (vitest.slow.config.mts), test/e2e/ with `npm run test:e2e`.
    exclude: ["test/slow/**", "test/e2e/**", "node_modules/**"],
    // Pulumi's mock runtime keeps global state per process: one file per worker keeps runs isolated.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
