/** A stack config with two teams sharing one GPU pool (raw, as the stack file holds it), for the teams tests. */
export function twoTeams(): Record<string, any> {
  const trainer = { framework: "tensorflow", mode: "single", image: "tensorflow/tensorflow:2.21.0", command: ["python", "train.py"], wait: { until: "created" } };
  return {
    cluster: { type: "local" },
    stores: [{ name: "models", type: "in-cluster", storageSize: "1Gi", models: ["detector", "ranker"] }],
    gpuPools: [{ name: "gpu", type: "existing", nodeLabels: { "nvidia.com/gpu.present": "true" }, gpusPerNode: 8 }],
    teams: [
      {
        name: "vision",
        groups: ["vision-ml"],
        quota: { cpu: "32", memory: "128Gi", gpus: 8 },
        queue: { gpus: 4 },
        servingCallers: [{ serving: "detector", from: [{ team: "search" }] }],
      },
      { name: "search", groups: ["search-ml"], quota: { cpu: "32", memory: "128Gi", gpus: 8 }, queue: { gpus: 4 } },
    ],
    servings: [
      { name: "detector", team: "vision", replicas: 1, resources: { cpu: "1", memory: "2Gi" }, models: [{ name: "detector", store: "models" }] },
      { name: "ranker", team: "search", replicas: 1, resources: { cpu: "1", memory: "2Gi" }, models: [{ name: "ranker", store: "models" }] },
    ],
    trainings: [
      { name: "detector-train", team: "vision", store: "models", model: "detector", version: 1, gpuPool: "gpu", resources: { cpu: "4", memory: "16Gi", gpus: 4 }, ...trainer },
      { name: "ranker-train", team: "search", store: "models", model: "ranker", version: 1, gpuPool: "gpu", resources: { cpu: "4", memory: "16Gi", gpus: 2 }, ...trainer },
    ],
    tensorboards: [{ name: "vision", team: "vision", models: [{ name: "detector", store: "models" }] }],
  };
}
