/**
 * The example trainer in examples/linear as TrainingJob arguments: a pinned TensorFlow image runs
 * train.py, shipped through `sourceFiles`. Used by the docs' examples and by stacks that want a model
 * to serve without building an image.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TRAINING_CODE_PATH } from "./workload";
import { packagePath } from "../common/package-files";

/** TensorFlow CPU image that runs examples/linear/train.py (same TensorFlow as its requirements.txt). */
export const LINEAR_EXAMPLE_IMAGE = "tensorflow/tensorflow:2.21.0";
export const LINEAR_EXAMPLE_DIR = packagePath("examples", "linear");

export interface LinearExampleOptions {
  /** The line the synthetic data comes from. @default { slope: 2, intercept: 1 } */
  line?: { slope: number; intercept: number };
  /** Gradient-descent steps. @default 300 */
  trainSteps?: number;
}

/** `image`, `command`, `sourceFiles` and `env` for a TrainingJob (framework "tensorflow", mode "single"). */
export function linearExampleTrainer(options: LinearExampleOptions = {}) {
  const line = options.line ?? { slope: 2, intercept: 1 };
  return {
    framework: "tensorflow" as const,
    mode: "single" as const,
    image: LINEAR_EXAMPLE_IMAGE,
    command: ["python3", `${TRAINING_CODE_PATH}/train.py`],
    sourceFiles: { "train.py": readFileSync(join(LINEAR_EXAMPLE_DIR, "train.py"), "utf8") },
    env: {
      LINEAR_SLOPE: String(line.slope),
      LINEAR_INTERCEPT: String(line.intercept),
      TRAIN_STEPS: String(options.trainSteps ?? 300),
      PYTHONUNBUFFERED: "1",
    },
  };
}
