/**
 * TF Serving's configuration files in protobuf text format: the ModelServerConfig (`--model_config_file`),
 * BatchingParameters (`--batching_parameters_file`) and MonitoringConfig (`--monitoring_config_file`).
 * Pure functions; the tests parse their output with `protoc --encode` against the project's protos.
 */
import type { BatchingArgs, VersionPolicy } from "./types";

/** Where the sync containers put models and TF Serving reads them: `<MODELS_DIR>/<model>/<version>/`. */
export const MODELS_DIR = "/models";
/** Path of Prometheus metrics on the REST port. */
export const PROMETHEUS_METRICS_PATH = "/monitoring/prometheus/metrics";

export interface ModelConfigEntry {
  name: string;
  /** Directory holding the numbered version directories. */
  basePath: string;
  versionPolicy: VersionPolicy;
  versionLabels: Record<string, number>;
}

/** A protobuf text-format string literal. */
function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** Renders nested text-format lines with two-space indentation. */
type Node = string | [string, Node[]];
function render(nodes: Node[], depth = 0): string[] {
  const pad = "  ".repeat(depth);
  return nodes.flatMap((node) =>
    typeof node === "string" ? [`${pad}${node}`] : [`${pad}${node[0]} {`, ...render(node[1], depth + 1), `${pad}}`],
  );
}

function versionPolicyNodes(policy: VersionPolicy): Node[] {
  if ("latest" in policy) return [["latest", [`num_versions: ${policy.latest}`]]];
  if ("all" in policy) return [["all", []]];
  return [["specific", policy.specific.map((v) => `versions: ${v}`)]];
}

/** The ModelServerConfig listing every model, its version policy and its version labels. */
export function modelServerConfigText(models: readonly ModelConfigEntry[]): string {
  const configs: Node[] = models.map((model) => [
    "config",
    [
      `name: ${quote(model.name)}`,
      `base_path: ${quote(model.basePath)}`,
      `model_platform: "tensorflow"`,
      ["model_version_policy", versionPolicyNodes(model.versionPolicy)],
      ...Object.entries(model.versionLabels).map(([label, version]): Node => ["version_labels", [`key: ${quote(label)}`, `value: ${version}`]]),
    ],
  ]);
  return ["# ModelServerConfig rendered by ml-platform TfServing.", ...render([["model_config_list", configs]]), ""].join("\n");
}

/** The BatchingParameters file; unset optional fields keep TF Serving's defaults. */
export function batchingParametersText(batching: BatchingArgs): string {
  const fields: Array<[string, number | undefined]> = [
    ["max_batch_size", batching.maxBatchSize],
    ["batch_timeout_micros", batching.batchTimeoutMicros],
    ["max_enqueued_batches", batching.maxEnqueuedBatches],
    ["num_batch_threads", batching.numBatchThreads],
  ];
  const nodes: Node[] = fields.filter(([, value]) => value !== undefined).map(([field, value]) => [field, [`value: ${value}`]]);
  return ["# BatchingParameters rendered by ml-platform TfServing.", ...render(nodes), ""].join("\n");
}

/** The MonitoringConfig that exposes Prometheus metrics on the REST port. */
export function monitoringConfigText(path = PROMETHEUS_METRICS_PATH): string {
  return ["# MonitoringConfig rendered by ml-platform TfServing.", ...render([["prometheus_config", ["enable: true", `path: ${quote(path)}`]]]), ""].join("\n");
}
