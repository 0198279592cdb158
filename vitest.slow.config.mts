import { defineConfig } from "vitest/config";

// Slow suite (`npm run test:slow`, run by .ci/run): tests that build or start real servers, or train a
// real model with TensorFlow CPU.
export default defineConfig({
  test: {
    include: ["test/slow/**/*.test.ts"],
    pool: "forks",
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
