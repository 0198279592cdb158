/** Custom: any image and command in one pod, with no cluster environment. */
import type { FrameworkModule } from "./types";

export type CustomSelection = { framework: "custom"; mode: "single"; replicas?: undefined };

export const custom: FrameworkModule = {
  name: "custom",
  modes: { single: { engine: "job" } },
  applyPolicy: (plan) => plan,
};
