"""Trains the classic two-parameter linear model y = slope * x + intercept and exports it for TF Serving.

The data is synthetic: points on a known line plus a little noise, generated from a fixed seed, so a
restarted run trains on exactly the same data and the learned parameters can be checked against the line.

Environment (all optional except MODEL_EXPORT_DIR for exporting):
  MODEL_EXPORT_DIR     where the SavedModel is written (set by TrainingJob); nothing is exported when unset
  CHECKPOINT_DIR       checkpoints are restored from here at start and saved here while training
  TENSORBOARD_LOG_DIR  TensorBoard summaries are written here (set by TrainingJob): the loss and the learned
                       slope and intercept at every step; nothing is written when unset
  LINEAR_SLOPE       slope of the line the data comes from (default 2.0)
  LINEAR_INTERCEPT   intercept of that line (default 1.0)
  TRAIN_STEPS        total gradient-descent steps, counted across restarts (default 300)
  CHECKPOINT_EVERY   save a checkpoint every this many steps (default 50)
  LEARNING_RATE      step size (default 0.1)
  NOISE              standard deviation of the noise added to y (default 0.01)
  SEED               seed of the data (default 0)
  FAIL_AT_STEP       crash with exit code 3 when this step is reached (to try out resuming)

Prints one JSON line with the first and last step and the learned parameters.
"""

import json
import os
import signal
import sys

import tensorflow as tf

# Summaries reach the event file at least this often, so a TensorBoard watching the run stays current.
SUMMARY_FLUSH_MILLIS = 10_000


def env_float(name, default):
    return float(os.environ.get(name, default))


def env_int(name, default):
    return int(os.environ.get(name, default))


class LinearModel(tf.Module):
    """y = slope * x + intercept, served with a `serving_default` signature: x float32 [-1, 1] -> y."""

    def __init__(self):
        super().__init__()
        self.slope = tf.Variable(0.0, dtype=tf.float32, name="slope")
        self.intercept = tf.Variable(0.0, dtype=tf.float32, name="intercept")

    def __call__(self, x):
        return x * self.slope + self.intercept

    @tf.function(input_signature=[tf.TensorSpec(shape=[None, 1], dtype=tf.float32, name="x")])
    def serve(self, x):
        return {"y": self(x)}


def scalar_summary():
    """`tf.summary.scalar`, or the same summary written through `tf.summary.write` without TensorBoard.

    `tf.summary.scalar` is implemented by the TensorBoard package, which TensorFlow 2.21 no longer installs,
    so images with TensorFlow alone (tensorflow/tensorflow:2.21.0) lack it. The fallback writes what
    TensorBoard's scalar summary writes: a float32 scalar tagged for TensorBoard's scalars plugin.
    """
    try:
        import tensorboard.summary.v2  # noqa: F401  (only to see whether TensorBoard is there)

        return tf.summary.scalar
    except ImportError:
        from tensorflow.core.framework import summary_pb2

        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
            data_class=summary_pb2.DATA_CLASS_SCALAR,
        )

        def scalar(name, data, step):
            return tf.summary.write(name, tf.cast(data, tf.float32), step=step, metadata=metadata)

        return scalar


def make_data(slope, intercept, noise, seed, count=256):
    generator = tf.random.Generator.from_seed(seed)
    x = generator.uniform([count, 1], minval=-1.0, maxval=1.0)
    y = slope * x + intercept + generator.normal([count, 1], stddev=noise)
    return x, y


def main():
    export_dir = os.environ.get("MODEL_EXPORT_DIR")
    checkpoint_dir = os.environ.get("CHECKPOINT_DIR")
    log_dir = os.environ.get("TENSORBOARD_LOG_DIR")
    train_steps = env_int("TRAIN_STEPS", 300)
    checkpoint_every = env_int("CHECKPOINT_EVERY", 50)
    learning_rate = env_float("LEARNING_RATE", 0.1)
    fail_at_step = env_int("FAIL_AT_STEP", 0)

    x, y = make_data(env_float("LINEAR_SLOPE", 2.0), env_float("LINEAR_INTERCEPT", 1.0), env_float("NOISE", 0.01), env_int("SEED", 0))
    model = LinearModel()
    step = tf.Variable(0, dtype=tf.int64, name="step")

    manager = None
    if checkpoint_dir:
        checkpoint = tf.train.Checkpoint(step=step, model=model)
        manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=3)
        if manager.latest_checkpoint:
            checkpoint.restore(manager.latest_checkpoint).assert_consumed()
            print(f"restored {manager.latest_checkpoint} at step {int(step.numpy())}", file=sys.stderr)
    start_step = int(step.numpy())

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grad_slope, grad_intercept = tape.gradient(loss, [model.slope, model.intercept])
        model.slope.assign_sub(learning_rate * grad_slope)
        model.intercept.assign_sub(learning_rate * grad_intercept)
        return loss

    # A restarted run writes a new event file into the same directory: TensorBoard shows one run, continued.
    writer = tf.summary.create_file_writer(log_dir, flush_millis=SUMMARY_FLUSH_MILLIS) if log_dir else tf.summary.create_noop_writer()
    scalar = scalar_summary()
    # SIGTERM (the pod is stopped or preempted) ends the run through the `finally` below, which writes out
    # the summaries still buffered.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    loss = None
    try:
        with writer.as_default():
            while int(step.numpy()) < train_steps:
                loss = train_step()
                step.assign_add(1)
                current = int(step.numpy())
                scalar("loss", loss, step=current)
                scalar("slope", model.slope, step=current)
                scalar("intercept", model.intercept, step=current)
                if fail_at_step and current == fail_at_step:
                    print(f"failing at step {current} as FAIL_AT_STEP asks", file=sys.stderr)
                    sys.exit(3)
                if manager and current % checkpoint_every == 0:
                    manager.save(checkpoint_number=current)
                    writer.flush()
        if manager:
            manager.save(checkpoint_number=int(step.numpy()))
    finally:
        writer.close()

    if export_dir:
        tf.saved_model.save(model, export_dir, signatures={"serving_default": model.serve})

    print(
        json.dumps(
            {
                "start_step": start_step,
                "end_step": int(step.numpy()),
                "slope": float(model.slope.numpy()),
                "intercept": float(model.intercept.numpy()),
                "loss": None if loss is None else float(loss.numpy()),
                "exported_to": export_dir,
                "logged_to": log_dir,
            }
        )
    )


if __name__ == "__main__":
    main()
