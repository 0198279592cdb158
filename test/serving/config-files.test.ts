/**
 * TF Serving's config files as TfServing renders them, parsed by `protoc --encode` against the project's
 * protos (what TF Serving's own text-format parser accepts), then decoded again to check the meaning.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { batchingParametersText, modelServerConfigText, monitoringConfigText } from "../../components/serving/model-server-config";
import { BATCHING_CONFIG_FILE, MODELS_CONFIG_FILE, MONITORING_CONFIG_FILE, tfServingPlan } from "../../components/serving/plan";
import { syncManifestLine, syncManifestText } from "../../components/serving/sync";
import { StaticCredentialsStore } from "./stores";

const PROTOS = join(__dirname, "..", "..", "protos");
const SCHEMAS = {
  "tensorflow.serving.ModelServerConfig": "tensorflow_serving/config/model_server_config.proto",
  "tensorflow.serving.BatchingParameters": "tensorflow_serving/servables/tensorflow/session_bundle_config.proto",
  "tensorflow.serving.MonitoringConfig": "tensorflow_serving/config/monitoring_config.proto",
} as const;
type MessageType = keyof typeof SCHEMAS;

/** `protoc --encode`, then `--decode` of the bytes: protoc's canonical text of what the file means. */
function roundTrip(type: MessageType, text: string): string {
  const encoded = spawnSync("protoc", [`--encode=${type}`, "-I", PROTOS, SCHEMAS[type]], { cwd: PROTOS, input: text });
  if (encoded.error) throw encoded.error;
  if (encoded.status !== 0) throw new Error(`protoc --encode=${type} rejected the file: ${encoded.stderr.toString()}\n${text}`);
  const decoded = spawnSync("protoc", [`--decode=${type}`, "-I", PROTOS, SCHEMAS[type]], { cwd: PROTOS, input: encoded.stdout });
  if (decoded.status !== 0) throw new Error(`protoc --decode=${type} failed: ${decoded.stderr.toString()}`);
  return decoded.stdout.toString();
}

const store = new StaticCredentialsStore();

describe("TF Serving config files parse against the project's protos", () => {
  it("models.config with every version policy and labels", () => {
    const plan = tfServingPlan("serving", {
      clusterName: "ml",
      models: [
        { name: "linear", store },
        { name: "vision", store, versionPolicy: { latest: 2 } },
        { name: "text", store, versionPolicy: { all: true }, versionLabels: { stable: 7 } },
        { name: "ranker", store, versionPolicy: { specific: [3, 4] }, versionLabels: { stable: 3, canary: 4 } },
      ],
    });
    const decoded = roundTrip("tensorflow.serving.ModelServerConfig", plan.configFiles[MODELS_CONFIG_FILE]);
    const configs = decoded.split(/^ {2}config \{$/m).slice(1);
    expect(configs).toHaveLength(4);
    expect(configs[0]).toMatch(/name: "linear"\n\s+base_path: "\/models\/linear"\n\s+model_platform: "tensorflow"\n\s+model_version_policy \{\n\s+latest \{\n\s+num_versions: 1\n/);
    expect(configs[1]).toMatch(/name: "vision"[\s\S]*latest \{\n\s+num_versions: 2\n/);
    expect(configs[2]).toMatch(/name: "text"[\s\S]*model_version_policy \{\n\s+all \{\n\s+\}\n\s+\}\n\s+version_labels \{\n\s+key: "stable"\n\s+value: 7\n/);
    expect(configs[3]).toMatch(/specific \{\n\s+versions: 3\n\s+versions: 4\n\s+\}/);
    expect(configs[3]).toMatch(/key: "canary"\n\s+value: 4/);
  });

  it("BatchingParameters, with all fields and with the required ones only", () => {
    const full = roundTrip("tensorflow.serving.BatchingParameters", batchingParametersText({ maxBatchSize: 128, batchTimeoutMicros: 5000, numBatchThreads: 8, maxEnqueuedBatches: 64 }));
    expect(full).toBe(
      ["max_batch_size {", "  value: 128", "}", "batch_timeout_micros {", "  value: 5000", "}", "max_enqueued_batches {", "  value: 64", "}", "num_batch_threads {", "  value: 8", "}", ""].join("\n"),
    );
    const minimal = roundTrip("tensorflow.serving.BatchingParameters", batchingParametersText({ maxBatchSize: 16, batchTimeoutMicros: 0 }));
    expect(minimal).toBe(["max_batch_size {", "  value: 16", "}", "batch_timeout_micros {", "}", ""].join("\n"));
  });

  it("MonitoringConfig for Prometheus", () => {
    expect(roundTrip("tensorflow.serving.MonitoringConfig", monitoringConfigText())).toBe(
      ["prometheus_config {", "  enable: true", '  path: "/monitoring/prometheus/metrics"', "}", ""].join("\n"),
    );
  });

  it("the files the plan ships are exactly these renderings", () => {
    const plan = tfServingPlan("serving", { clusterName: "ml", models: [{ name: "linear", store }], batching: { maxBatchSize: 8, batchTimeoutMicros: 100 }, monitoring: true });
    expect(plan.configFiles[BATCHING_CONFIG_FILE]).toBe(batchingParametersText({ maxBatchSize: 8, batchTimeoutMicros: 100 }));
    expect(plan.configFiles[MONITORING_CONFIG_FILE]).toBe(monitoringConfigText());
    roundTrip("tensorflow.serving.BatchingParameters", plan.configFiles[BATCHING_CONFIG_FILE]);
    roundTrip("tensorflow.serving.MonitoringConfig", plan.configFiles[MONITORING_CONFIG_FILE]);
  });

  it("protoc does reject a misspelt field (the check has teeth)", () => {
    const broken = modelServerConfigText([{ name: "linear", basePath: "/models/linear", versionPolicy: { latest: 1 }, versionLabels: {} }]).replace("num_versions", "num_version");
    expect(() => roundTrip("tensorflow.serving.ModelServerConfig", broken)).toThrow(/rejected the file: .*num_version/);
  });

  it("quotes strings so that unusual characters stay inside them", () => {
    const text = modelServerConfigText([{ name: 'a"b\\c', basePath: "/models/x", versionPolicy: { all: true }, versionLabels: {} }]);
    expect(roundTrip("tensorflow.serving.ModelServerConfig", text)).toContain('name: "a\\"b\\\\c"');
  });
});

describe("sync manifests", () => {
  it("one line per model, in the format model-sync.sh reads", () => {
    expect(syncManifestLine({ name: "linear", versionPolicy: { latest: 3 } })).toBe("linear latest 3");
    expect(syncManifestLine({ name: "linear", versionPolicy: { specific: [5, 3, 5] } })).toBe("linear specific 3,5");
    expect(syncManifestLine({ name: "linear", versionPolicy: { all: true } })).toBe("linear all");
    // Under { all: true }, labelled versions must exist before the pod starts.
    expect(syncManifestLine({ name: "linear", versionPolicy: { all: true }, versionLabels: { canary: 9, stable: 3, old: 3 } })).toBe("linear all 3,9");
    expect(syncManifestText([{ name: "a", versionPolicy: { latest: 1 } }, { name: "b", versionPolicy: { all: true } }]).split("\n").slice(1)).toEqual(["a latest 1", "b all", ""]);
  });
});
