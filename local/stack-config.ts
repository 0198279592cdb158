/**
 * What the local-stack commands need to know of `stacks/Pulumi.local.yaml` before Pulumi runs: the
 * kubeconfig context the program will use, and which workloads run images published for linux/amd64
 * only (so the cluster needs an amd64 node). The program itself validates the whole config.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { MOBILE_CONVERTER_IMAGE } from "../components/mobile/plan";
import { TF_SERVING_IMAGE } from "../components/serving/images";
import { LINEAR_EXAMPLE_IMAGE } from "../components/training/linear-example";

export const LOCAL_STACK = "local";

/** The file Pulumi reads the local stack's config from (Pulumi.yaml: `stackConfigDir: stacks`). */
export function localStackConfigPath(projectDir: string): string {
  return join(projectDir, "stacks", `Pulumi.${LOCAL_STACK}.yaml`);
}

export interface LocalStackConfig {
  /** `ml-platform:cluster.context`: the kubeconfig context the program uses; unset = the current one. */
  context?: string;
  /** Workloads whose images exist for linux/amd64 only, e.g. `serving "linear" (tensorflow/serving:2.19.1)`. */
  amd64OnlyWorkloads: string[];
}

type Entry = Record<string, unknown>;
const entries = (value: unknown): Entry[] => (Array.isArray(value) ? value.filter((e): e is Entry => typeof e === "object" && e !== null) : []);

/** Pure: the facts above from the stack file's `config:` map. */
export function localStackFacts(config: Record<string, unknown>): LocalStackConfig {
  const cluster = (config["ml-platform:cluster"] ?? {}) as Entry;
  const context = typeof cluster.context === "string" && cluster.context !== "" ? cluster.context : undefined;
  const amd64OnlyWorkloads = [
    // TfServing's default image is amd64-only, and its pods select amd64 nodes; an own `image` lifts both.
    ...entries(config["ml-platform:servings"]).filter((s) => s.image === undefined).map((s) => `serving "${String(s.name)}" (${TF_SERVING_IMAGE})`),
    // The example trainer runs in the official TensorFlow image, also published for amd64 only.
    ...entries(config["ml-platform:trainings"]).filter((t) => t.example !== undefined).map((t) => `training "${String(t.name)}" (${LINEAR_EXAMPLE_IMAGE})`),
    // Mobile exports convert in that TensorFlow image too, unless given their own `converterImage`.
    ...entries(config["ml-platform:mobileExports"]).filter((m) => m.converterImage === undefined).map((m) => `mobile export "${String(m.name)}" (${MOBILE_CONVERTER_IMAGE})`),
  ];
  return { ...(context ? { context } : {}), amd64OnlyWorkloads };
}

/** Reads `stacks/Pulumi.local.yaml`. */
export function readLocalStackConfig(projectDir: string): LocalStackConfig {
  const document = parse(readFileSync(localStackConfigPath(projectDir), "utf8")) as { config?: Record<string, unknown> } | null;
  return localStackFacts(document?.config ?? {});
}
