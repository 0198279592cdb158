/**
 * The container scripts MobileExport ships to its pod (real files; see scripts/), with the two it reuses: the serving
 * sync's model-sync.sh (its `fetch` mode downloads and verifies one version) and the store's publish-version.sh.
 */
import { SCRIPTS_MOUNT_PATH, loadContainerScripts } from "../common/container-scripts";
import { packagePath } from "../common/package-files";
import { modelSyncScripts } from "../serving/sync";
import { publishVersionScripts } from "../storage/version-publishing";
import type { MobileSampleInputs } from "./args";

/** Directory of the scripts in this package. */
export const MOBILE_SCRIPTS_DIR = packagePath("components", "mobile", "scripts");

export const MOBILE_SCRIPTS = {
  /** Waits for the version and downloads it, verified (store image). */
  fetchVersion: "fetch-version.sh",
  /** SavedModel to model.tflite, signature.json and report.json, verified with the TFLite interpreter (TensorFlow image). */
  converter: "convert_tflite.py",
  /** Publishes the converter's output to `mobile/<model>/<version>/` (store image). */
  publishExport: "publish-export.sh",
} as const;

/** File name of the sample inputs in the scripts ConfigMap, when given. */
export const SAMPLE_INPUTS_FILE = "sample-inputs.json";

/** ConfigMap data: file name -> content. The scripts, the reused ones (with their helpers), and the sample inputs when given. */
export function mobileExportScripts(sampleInputs?: MobileSampleInputs): Record<string, string> {
  return {
    ...loadContainerScripts(MOBILE_SCRIPTS_DIR, Object.values(MOBILE_SCRIPTS)),
    ...modelSyncScripts(),
    ...publishVersionScripts(),
    ...(sampleInputs === undefined ? {} : { [SAMPLE_INPUTS_FILE]: `${JSON.stringify(sampleInputs)}\n` }),
  };
}

/** Path of a file of the scripts ConfigMap inside the containers. */
export function mobileScriptPath(file: string): string {
  return `${SCRIPTS_MOUNT_PATH}/${file}`;
}
