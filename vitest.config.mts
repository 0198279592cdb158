import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The slow suite (real TensorFlow training) has its own config: vitest.slow.config.mts.
    exclude: [...configDefaults.exclude, "test/slow/**"],
    // Pulumi's mock runtime keeps global state per process: one file per worker keeps runs isolated.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
