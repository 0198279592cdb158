import { defineConfig } from "vitest/config";

// Real-deploy suite (`npm run test:e2e`, run by .ci/run; test/e2e/run.sh starts it): the real Pulumi CLI against
// a real Kubernetes API server. One file at a time: each runs a control plane and Pulumi, which fill 2 cores.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 20 * 60_000,
    hookTimeout: 5 * 60_000,
  },
});
