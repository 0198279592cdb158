/** The container scripts TrainingJob ships to its pods (real files next to this module; see scripts/). */
import { loadContainerScripts, SCRIPTS_MOUNT_PATH } from "../common/container-scripts";
import { packagePath } from "../common/package-files";
import { publishVersionScripts } from "../storage/version-publishing";

/** Directory of the scripts in this package. */
export const TRAINING_SCRIPTS_DIR = packagePath("components", "training", "scripts");

export const TRAINING_SCRIPTS = {
  /** Wrapper of the training command (training image). */
  entrypoint: "entrypoint.sh",
  /** Sidecar that uploads logs, saves checkpoints and uploads the export (AWS CLI image). */
  storeAgent: "store-agent.sh",
  /** `restore` / `save` of $CHECKPOINT_DIR (AWS CLI image). */
  checkpoints: "checkpoints.sh",
  /** `restore` / `upload` / `final` of $TENSORBOARD_LOG_DIR (AWS CLI image). */
  logs: "logs.sh",
  /** Upload of $MODEL_EXPORT_DIR as a model version, through the store's `publish-version.sh` (AWS CLI image). */
  uploadModel: "upload-model.sh",
} as const;

/**
 * ConfigMap data: file name -> script. The training scripts, plus the store's uploader
 * (`PUBLISH_VERSION_SCRIPT`, from components/storage/scripts) that upload-model.sh calls beside itself.
 */
export function trainingScripts(): Record<string, string> {
  return { ...loadContainerScripts(TRAINING_SCRIPTS_DIR, Object.values(TRAINING_SCRIPTS)), ...publishVersionScripts() };
}

/** Path of a script inside the containers. */
export function trainingScriptPath(file: string): string {
  return `${SCRIPTS_MOUNT_PATH}/${file}`;
}
