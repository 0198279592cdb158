import { defineConfig } from "vitest/config";

// The slow suite (`npm run test:slow`): runs real training with TensorFlow CPU. Kept out of `npm test`.
export default defineConfig({
  test: {
    include: ["test/slow/**/*.test.ts"],
    pool: "forks",
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
