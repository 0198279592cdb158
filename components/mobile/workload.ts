/**
 * The one builder that turns a checked MobileExport spec into its batch/v1 Job. Pure: every input is a plain value.
 *
 * The pod runs three containers in order, each with only what it needs:
 * - `fetch-version` (init, store image, the grant's credentials): waits for `models/<model>/<version>/_SUCCESS`,
 *   then downloads exactly the manifest's files, each checked against its size and SHA-256 (model-sync.sh fetch);
 * - `convert` (init, TensorFlow image, no credentials): convert_tflite.py, which writes model.tflite,
 *   signature.json and report.json only when the TFLite interpreter's outputs match the SavedModel's;
 * - `publish` (store image, the grant's credentials): publish-version.sh to `mobile/<model>/<version>/`, `_SUCCESS`
 *   last.
 * A failure in any step stops the pod before the next, so nothing reaches the store unless every step passed.
 */
import { scriptsVolume, scriptsVolumeMount } from "../common/container-scripts";
import { PLATFORM_LABEL_PREFIX, restrictedContainerSecurityContext, restrictedPodSecurityContext, standardLabels } from "../common/kubernetes";
import { AWS_CLI_PATH } from "../serving/images";
import { waitAnnotations } from "../training/workload";
import type { MobileExportJobObject } from "./args";
import type { MobileExportSpec } from "./plan";
import { MOBILE_SCRIPTS, SAMPLE_INPUTS_FILE, mobileScriptPath } from "./scripts";

/** The pod's working volume: the downloaded version and the converter's output. */
export const MOBILE_WORK_PATH = "/var/lib/ml-platform/mobile";
/** Where the version lands: `$MODELS_DIR/<model>/<version>/`. */
export const MOBILE_MODELS_DIR = `${MOBILE_WORK_PATH}/models`;
/** The converter's `--output` (created by it; its parent is the working volume, so the final rename stays on it). */
export const MOBILE_EXPORT_DIR = `${MOBILE_WORK_PATH}/export`;

export const FETCH_CONTAINER = "fetch-version";
export const CONVERT_CONTAINER = "convert";
export const PUBLISH_CONTAINER = "publish";
const MODEL_LABEL = `${PLATFORM_LABEL_PREFIX}/model`;
const MODEL_VERSION_LABEL = `${PLATFORM_LABEL_PREFIX}/model-version`;

/** Resources of the download and upload containers (the AWS CLI). */
const STORE_CONTAINER_RESOURCES = { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } };

/** A container environment variable (plain, as the API server receives it). */
export interface MobileEnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

/** Everything the builder needs, resolved to plain values. */
export interface MobileJobInputs {
  spec: MobileExportSpec;
  /** Component name (`app.kubernetes.io/instance`). */
  instance: string;
  store: {
    bucket: string;
    /** S3 endpoint of non-AWS stores. */
    endpoint?: string;
    /** The grant's environment (region, endpoint, credential references). */
    grantEnv: MobileEnvVar[];
  };
}

/** The converter's command line. */
export function converterCommand(spec: MobileExportSpec): string[] {
  return [
    "python3",
    mobileScriptPath(MOBILE_SCRIPTS.converter),
    "--saved-model",
    `${MOBILE_MODELS_DIR}/${spec.model}/${spec.version}`,
    "--output",
    MOBILE_EXPORT_DIR,
    "--signature",
    spec.signature,
    "--optimize",
    spec.optimize,
    "--max-abs-diff",
    String(spec.maxAbsDiff),
    ...(spec.sampleInputs === undefined ? [] : ["--sample-inputs", mobileScriptPath(SAMPLE_INPUTS_FILE)]),
  ];
}

function labels(inputs: MobileJobInputs): Record<string, string> {
  return {
    ...standardLabels({ name: "mobile-export", instance: inputs.instance }),
    [MODEL_LABEL]: inputs.spec.model,
    [MODEL_VERSION_LABEL]: String(inputs.spec.version),
  };
}

/** Environment of the two containers that talk to the store. */
function storeEnv(inputs: MobileJobInputs): MobileEnvVar[] {
  const env: MobileEnvVar[] = [
    { name: "S3_BUCKET", value: inputs.store.bucket },
    ...(inputs.store.endpoint ? [{ name: "S3_ENDPOINT", value: inputs.store.endpoint }] : []),
    { name: "AWS_CLI", value: AWS_CLI_PATH },
    { name: "MODEL_NAME", value: inputs.spec.model },
    { name: "MODEL_VERSION", value: String(inputs.spec.version) },
    { name: "HOME", value: "/tmp" },
  ];
  const names = new Set(env.map((e) => e.name));
  return [...env, ...inputs.store.grantEnv.filter((e) => !names.has(e.name))];
}

/** Failing fast: exit statuses that say trying again cannot help fail the Job instead of using up retries. */
function podFailurePolicy() {
  const failJobOn = (containerName: string, values: number[]) => ({ action: "FailJob", onExitCodes: { containerName, operator: "In", values } });
  return {
    rules: [
      // Node disruptions (drains, spot reclaims) do not count as retries.
      { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
      // fetch-version.sh: 1 the version is damaged or never completed, 2 bad settings.
      failJobOn(FETCH_CONTAINER, [1, 2]),
      // convert_tflite.py: 1 the conversion failed or the outputs differ too much, 2 not a SavedModel or bad usage.
      failJobOn(CONVERT_CONTAINER, [1, 2]),
      // publish-export.sh: 1 nothing publishable (75, the store failing, is retried).
      failJobOn(PUBLISH_CONTAINER, [1]),
    ],
  };
}

/** The export's batch/v1 Job. */
export function buildMobileExportJob(inputs: MobileJobInputs): MobileExportJobObject {
  const { spec } = inputs;
  const scripts = scriptsVolumeMount("scripts");
  const storeTmp = { name: "store-tmp", mountPath: "/tmp" };
  const fetch = {
    name: FETCH_CONTAINER,
    image: spec.storeImage,
    command: ["/bin/sh", mobileScriptPath(MOBILE_SCRIPTS.fetchVersion)],
    env: [
      ...storeEnv(inputs),
      { name: "MODELS_DIR", value: MOBILE_MODELS_DIR },
      { name: "VERSION_WAIT_SECONDS", value: String(spec.versionWaitMinutes * 60) },
    ],
    resources: STORE_CONTAINER_RESOURCES,
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [scripts, { name: "work", mountPath: MOBILE_WORK_PATH }, storeTmp],
  };
  const convert = {
    name: CONVERT_CONTAINER,
    image: spec.converterImage,
    command: converterCommand(spec),
    // No store credentials: the converter only reads and writes the pod's own volumes.
    env: [
      { name: "HOME", value: "/tmp" },
      { name: "PYTHONUNBUFFERED", value: "1" },
      { name: "TF_CPP_MIN_LOG_LEVEL", value: "2" },
    ],
    resources: { requests: { cpu: spec.resources.cpu, memory: spec.resources.memory }, limits: { memory: spec.resources.memory } },
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [scripts, { name: "work", mountPath: MOBILE_WORK_PATH }, { name: "tmp", mountPath: "/tmp" }],
  };
  const publish = {
    name: PUBLISH_CONTAINER,
    image: spec.storeImage,
    command: ["/bin/sh", mobileScriptPath(MOBILE_SCRIPTS.publishExport)],
    env: [...storeEnv(inputs), { name: "EXPORT_DIR", value: MOBILE_EXPORT_DIR }],
    resources: STORE_CONTAINER_RESOURCES,
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [scripts, { name: "work", mountPath: MOBILE_WORK_PATH, readOnly: true }, storeTmp],
  };

  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: spec.names.job, namespace: spec.namespace, labels: labels(inputs), annotations: waitAnnotations(spec.wait, "job") },
    spec: {
      backoffLimit: spec.backoffLimit,
      ...(spec.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: spec.activeDeadlineSeconds } : {}),
      ...(spec.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished } : {}),
      podFailurePolicy: podFailurePolicy(),
      template: {
        metadata: { labels: labels(inputs) },
        spec: {
          serviceAccountName: spec.names.serviceAccount,
          // No Kubernetes API token: EKS Pod Identity projects its own token into the pods it serves.
          automountServiceAccountToken: false,
          // Every retry is a new pod: the version is downloaded and verified again, nothing stale is reused.
          restartPolicy: "Never",
          securityContext: restrictedPodSecurityContext(),
          ...(spec.imagePullSecrets.length ? { imagePullSecrets: spec.imagePullSecrets.map((name) => ({ name })) } : {}),
          initContainers: [fetch, convert],
          containers: [publish],
          volumes: [scriptsVolume("scripts", spec.names.scripts), { name: "work", emptyDir: {} }, { name: "tmp", emptyDir: {} }, { name: "store-tmp", emptyDir: {} }],
        },
      },
    },
  };
}
