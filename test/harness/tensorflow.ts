/**
 * The slow suite's TensorFlow CPU: the python of the virtualenv at .venv (or ML_PLATFORM_PYTHON), with
 * examples/linear/requirements.txt installed. Missing, it fails the suite with the fix, never skips it.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { run } from "./s3-server";

export const PYTHON = resolve(process.env.ML_PLATFORM_PYTHON ?? join(__dirname, "../../.venv/bin/python"));
/** Keeps TensorFlow's C++ logging and Python buffering out of the way. */
export const QUIET_TENSORFLOW = { TF_CPP_MIN_LOG_LEVEL: "2", PYTHONUNBUFFERED: "1" };

export async function requireTensorflow(): Promise<void> {
  if (!existsSync(PYTHON)) {
    throw new Error(
      `${PYTHON} not found. The slow suite runs the example trainer with TensorFlow CPU from a virtualenv: ` +
        "create it with `python3 -m venv .venv && .venv/bin/pip install -r examples/linear/requirements.txt` (.ci/run does this), " +
        "or set ML_PLATFORM_PYTHON to a python that has tensorflow-cpu installed.",
    );
  }
  const probe = await run(PYTHON, ["-c", "import tensorflow as tf; print(tf.__version__)"], { env: { ...process.env, ...QUIET_TENSORFLOW }, timeoutMs: 120_000 });
  if (probe.code !== 0) {
    throw new Error(`${PYTHON} cannot import tensorflow: install examples/linear/requirements.txt into its environment.\n${probe.stderr}`);
  }
}

/** TensorBoard (its own package since TensorFlow 2.21) in the same environment; missing, it fails with the fix. */
export async function requireTensorboard(): Promise<void> {
  await requireTensorflow();
  const probe = await run(PYTHON, ["-c", "import tensorboard; print(tensorboard.__version__)"], { env: { ...process.env, ...QUIET_TENSORFLOW }, timeoutMs: 60_000 });
  if (probe.code !== 0) {
    throw new Error(`${PYTHON} cannot import tensorboard: install examples/linear/requirements.txt (it pins tensorboard) into its environment.\n${probe.stderr}`);
  }
}
