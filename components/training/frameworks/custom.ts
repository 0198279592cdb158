/** Custom: any image and command in one pod, with no cluster environment. */
import type { FrameworkModule } from "./types";

export type CustomSelection = {
  /** Framework: custom. */
  framework: "custom";
  /** One pod running any command. */
  mode: "single";
  /** Not used: one pod. */
  replicas?: undefined;
};

export const custom: FrameworkModule = {
  name: "custom",
  modes: { single: { engine: "job" } },
  applyPolicy: (plan) => plan,
};
