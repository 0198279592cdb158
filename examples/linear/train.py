"""Trains the classic two-parameter linear model y = slope * x + intercept and exports it for TF Serving.

The data is synthetic: points on a known line plus a little noise, generated from a fixed seed, so a
restarted run trains on exactly the same data and the learned parameters can be checked against the line.

Environment (all optional except MODEL_EXPORT_DIR for exporting):
  MODEL_EXPORT_DIR   where the SavedModel is written (set by TrainingJob); nothing is exported when unset
  CHECKPOINT_DIR     checkpoints are restored from here at start and saved here while training
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
import sys

import tensorflow as tf


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


def make_data(slope, intercept, noise, seed, count=256):
    generator = tf.random.Generator.from_seed(seed)
    x = generator.uniform([count, 1], minval=-1.0, maxval=1.0)
    y = slope * x + intercept + generator.normal([count, 1], stddev=noise)
    return x, y


def main():
    export_dir = os.environ.get("MODEL_EXPORT_DIR")
    checkpoint_dir = os.environ.get("CHECKPOINT_DIR")
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

    loss = None
    while int(step.numpy()) < train_steps:
        loss = train_step()
        step.assign_add(1)
        current = int(step.numpy())
        if fail_at_step and current == fail_at_step:
            print(f"failing at step {current} as FAIL_AT_STEP asks", file=sys.stderr)
            sys.exit(3)
        if manager and current % checkpoint_every == 0:
            manager.save(checkpoint_number=current)
    if manager:
        manager.save(checkpoint_number=int(step.numpy()))

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
            }
        )
    )


if __name__ == "__main__":
    main()
