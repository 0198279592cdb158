#!/usr/bin/env python3
"""Converts a TensorFlow SavedModel to TensorFlow Lite and checks that the result predicts what the SavedModel does.

Usage:
  python3 convert_tflite.py --saved-model DIR --output DIR [--signature serving_default]
                            [--optimize none|float16|dynamic-range] [--max-abs-diff X] [--sample-inputs FILE]

Writes into --output (which must not exist, or be an empty directory, and whose parent must exist):
  model.tflite     the converted signature, by TensorFlow's own TFLite converter
  signature.json   the signature key and, per input and output: name, dtype, shape (-1 for a dimension of any
                   size) and index (its position among the interpreter's inputs or outputs)
  report.json      sizes of the SavedModel and of model.tflite, the optimization, and the largest absolute
                   difference between the SavedModel's and the TFLite interpreter's outputs over the sample inputs

Sample inputs are built from the signature (a fixed seed; floats uniform in [-1, 1], integers in [0, 10), booleans;
a dimension of any size is 1 in the first batch and 16 in the second for the first dimension, 4 for the others) or
read from --sample-inputs: a JSON file holding one object {"<input>": <nested list>, ...} or a list of them.

--max-abs-diff defaults (outputs of order 1; set it for the scale of yours):
  none: 1e-4   float16: 1e-2   dynamic-range: 5e-2

Exit status: 0 converted and verified; 1 the conversion failed, or the TFLite model's outputs differ from the
SavedModel's by more than --max-abs-diff; 2 bad usage, or --saved-model is not a SavedModel (missing, unreadable,
no such signature). Nothing is written into --output unless the status is 0: the files are written into a
temporary directory beside it, which is renamed to --output at the end. On success, report.json is also printed on
stdout; messages go to stderr.

Arguments and paths are checked before TensorFlow is imported, so bad usage fails in a moment.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import warnings

OPTIMIZATIONS = ("none", "float16", "dynamic-range")
DEFAULT_MAX_ABS_DIFF = {"none": 1e-4, "float16": 1e-2, "dynamic-range": 5e-2}
# Files of the store's version contract that come with a downloaded version; not part of the model.
VERSION_MARKER_FILES = ("_MANIFEST", "_SUCCESS")
SAMPLE_SEED = 0
# Sizes a dimension of any size takes in the generated sample batches: the first dimension (the batch) takes
# each of SAMPLE_BATCH_SIZES in turn, the others OTHER_DYNAMIC_SIZE.
SAMPLE_BATCH_SIZES = (1, 16)
OTHER_DYNAMIC_SIZE = 4
REPORT_FORMAT = "ml-platform-tflite-report v1"


class Failure(Exception):
    """A failure with its exit status (1: conversion or verification, 2: usage or input)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def usage_error(message):
    return Failure(2, message)


def log(message):
    print(f"convert_tflite: {message}", file=sys.stderr, flush=True)


# ---- arguments and paths (no TensorFlow) -------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise usage_error(f"{message} (see --help)")


def parse_args(argv):
    parser = Parser(
        prog="convert_tflite.py",
        description="Convert a SavedModel signature to TensorFlow Lite and verify its predictions.",
        epilog="--max-abs-diff defaults: " + ", ".join(f"{k}: {v:g}" for k, v in DEFAULT_MAX_ABS_DIFF.items()),
    )
    parser.add_argument("--saved-model", required=True, metavar="DIR", help="the SavedModel directory (saved_model.pb, variables/)")
    parser.add_argument("--output", required=True, metavar="DIR", help="where model.tflite, signature.json and report.json go (must not exist, or be empty)")
    parser.add_argument("--signature", default="serving_default", metavar="KEY", help="the signature to convert (default: serving_default)")
    parser.add_argument("--optimize", default="none", choices=OPTIMIZATIONS, help="none (float32), float16 (float16 weights) or dynamic-range (int8 weights); default: none")
    parser.add_argument("--max-abs-diff", type=float, metavar="X", help="largest allowed absolute difference between SavedModel and TFLite outputs (default: per --optimize, see below)")
    parser.add_argument("--sample-inputs", metavar="FILE", help="JSON file of sample inputs: {input: nested list} or a list of such objects (default: built from the signature)")
    args = parser.parse_args(argv)
    if args.max_abs_diff is None:
        args.max_abs_diff = DEFAULT_MAX_ABS_DIFF[args.optimize]
    elif not (args.max_abs_diff >= 0 and args.max_abs_diff != float("inf")):
        raise usage_error(f"--max-abs-diff must be a finite number >= 0 (got {args.max_abs_diff})")
    return args


def check_paths(args):
    saved_model = args.saved_model
    if not os.path.isdir(saved_model):
        raise usage_error(f"--saved-model {saved_model} is not a directory")
    if not any(os.path.isfile(os.path.join(saved_model, f)) for f in ("saved_model.pb", "saved_model.pbtxt")):
        raise usage_error(f"--saved-model {saved_model} is not a SavedModel: it has no saved_model.pb")
    output = os.path.abspath(args.output)
    parent = os.path.dirname(output)
    if not os.path.isdir(parent):
        raise usage_error(f"--output {args.output}: its parent directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise usage_error(f"--output {args.output}: cannot write in its parent directory {parent}")
    if os.path.lexists(output) and not (os.path.isdir(output) and not os.path.islink(output) and not os.listdir(output)):
        raise usage_error(f"--output {args.output} already exists and is not an empty directory; choose a new one")
    if args.sample_inputs is not None and not os.path.isfile(args.sample_inputs):
        raise usage_error(f"--sample-inputs {args.sample_inputs} is not a file")
    return output


def saved_model_bytes(directory):
    """Bytes of every file of the SavedModel (the store's marker files of a downloaded version left out)."""
    total = 0
    for root, _dirs, files in os.walk(directory):
        for name in files:
            if root == directory and name in VERSION_MARKER_FILES:
                continue
            total += os.path.getsize(os.path.join(root, name))
    return total


# ---- conversion and verification (TensorFlow) --------------------------------------------------------------------


def load_signature(tf, directory, key):
    try:
        loaded = tf.saved_model.load(directory)
    except Exception as err:  # TensorFlow raises several types for a damaged or foreign directory
        raise usage_error(f"--saved-model {directory} is not a SavedModel TensorFlow can load: {one_line(err)}")
    if key not in loaded.signatures:
        available = ", ".join(sorted(loaded.signatures.keys())) or "none"
        raise usage_error(f"--saved-model {directory} has no signature {key!r} (its signatures: {available})")
    return loaded, loaded.signatures[key]


def one_line(err):
    text = " ".join(str(err).split())
    return text if len(text) <= 2000 else text[:2000] + " ..."


def convert(tf, directory, key, optimize):
    converter = tf.lite.TFLiteConverter.from_saved_model(directory, signature_keys=[key])
    if optimize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif optimize == "dynamic-range":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        return converter.convert()
    except Exception as err:
        raise Failure(1, f"the TFLite converter failed on signature {key!r}: {one_line(err)}")


def interpreter_for(tf, model_path):
    # TensorFlow 2.21 still ships tf.lite.Interpreter (deprecated in favour of the ai-edge-litert package, with a
    # warning on every construction): it is the runtime of the same release as the converter, so use it quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tf.lite.Interpreter(model_path=model_path)


def tensor_entries(details_by_name, positions):
    entries = []
    for name, detail in sorted(details_by_name.items(), key=lambda item: positions[item[1]["index"]]):
        entries.append(
            {
                "name": name,
                "dtype": detail["dtype"].__name__ if hasattr(detail["dtype"], "__name__") else str(detail["dtype"]),
                "shape": [int(d) for d in detail["shape_signature"]],
                "index": positions[detail["index"]],
            }
        )
    return entries


def signature_document(interpreter, key):
    runner = interpreter.get_signature_runner(key)
    input_positions = {d["index"]: i for i, d in enumerate(interpreter.get_input_details())}
    output_positions = {d["index"]: i for i, d in enumerate(interpreter.get_output_details())}
    return {
        "signature_key": key,
        "inputs": tensor_entries(runner.get_input_details(), input_positions),
        "outputs": tensor_entries(runner.get_output_details(), output_positions),
    }


def check_numeric(np, what, name, dtype):
    if not (np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.bool_)):
        raise usage_error(f"{what} {name!r} has dtype {np.dtype(dtype).name}: only numeric and boolean tensors can be compared")


def generated_samples(np, specs):
    """Sample batches from the signature's input specs (name -> (numpy dtype, shape with None))."""
    rng = np.random.default_rng(SAMPLE_SEED)
    batches = []
    for batch_size in SAMPLE_BATCH_SIZES:
        batch = {}
        for name, (dtype, shape) in sorted(specs.items()):
            dims = [d if d is not None else (batch_size if i == 0 else OTHER_DYNAMIC_SIZE) for i, d in enumerate(shape)]
            if np.issubdtype(dtype, np.floating):
                value = rng.uniform(-1.0, 1.0, size=dims)
            elif np.issubdtype(dtype, np.bool_):
                value = rng.integers(0, 2, size=dims) == 1
            else:
                value = rng.integers(0, 10, size=dims)
            batch[name] = np.asarray(value, dtype=dtype)
        batches.append(batch)
    return batches


def file_samples(np, path, specs):
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as err:
        raise usage_error(f"--sample-inputs {path} is not readable JSON: {err}")
    samples = document if isinstance(document, list) else [document]
    if not samples or not all(isinstance(s, dict) for s in samples):
        raise usage_error(f"--sample-inputs {path} must hold an object {{input: nested list}} or a non-empty list of them")
    batches = []
    for i, sample in enumerate(samples):
        missing = sorted(set(specs) - set(sample))
        unknown = sorted(set(sample) - set(specs))
        if missing or unknown:
            raise usage_error(f"--sample-inputs {path} sample {i}: inputs must be exactly {sorted(specs)} (missing {missing}, unknown {unknown})")
        batch = {}
        for name, (dtype, shape) in specs.items():
            try:
                value = np.asarray(sample[name], dtype=dtype)
            except (TypeError, ValueError) as err:
                raise usage_error(f"--sample-inputs {path} sample {i} input {name!r}: not a {np.dtype(dtype).name} tensor: {err}")
            fits = value.ndim == len(shape) and all(want is None or want == got for want, got in zip(shape, value.shape))
            if not fits:
                wanted = [-1 if d is None else d for d in shape]
                raise usage_error(f"--sample-inputs {path} sample {i} input {name!r}: shape {list(value.shape)} does not fit the signature's {wanted}")
            batch[name] = value
        batches.append(batch)
    return batches


def largest_differences(np, tf, saved_fn, runner, batches):
    """The largest absolute difference per output over all batches (NaN in one model only counts as infinite)."""
    worst = {}
    for batch in batches:
        expected = saved_fn(**{name: tf.constant(value) for name, value in batch.items()})
        actual = runner(**batch)
        if set(expected) != set(actual):
            raise Failure(1, f"the TFLite model's outputs {sorted(actual)} are not the SavedModel's {sorted(expected)}")
        for name, tensor in expected.items():
            want = np.asarray(tensor.numpy(), dtype=np.float64)
            got = np.asarray(actual[name], dtype=np.float64)
            if want.shape != got.shape:
                raise Failure(1, f"output {name!r}: the TFLite model gives shape {list(got.shape)}, the SavedModel {list(want.shape)}")
            diff = np.abs(want - got)
            both_nan = np.isnan(want) & np.isnan(got)
            diff = np.where(both_nan, 0.0, np.where(np.isnan(diff), np.inf, diff))
            worst[name] = max(worst.get(name, 0.0), float(diff.max()) if diff.size else 0.0)
    return worst


def run(args):
    output = check_paths(args)
    log(f"converting signature {args.signature!r} of {args.saved_model} (optimize: {args.optimize}, max abs diff: {args.max_abs_diff:g})")

    import numpy as np
    import tensorflow as tf

    _loaded, saved_fn = load_signature(tf, args.saved_model, args.signature)
    specs = {}
    for name, spec in saved_fn.structured_input_signature[1].items():
        check_numeric(np, "input", name, spec.dtype.as_numpy_dtype)
        specs[name] = (spec.dtype.as_numpy_dtype, spec.shape.as_list())
    for name, spec in saved_fn.structured_outputs.items():
        check_numeric(np, "output", name, spec.dtype.as_numpy_dtype)
    batches = generated_samples(np, specs) if args.sample_inputs is None else file_samples(np, args.sample_inputs, specs)

    flatbuffer = convert(tf, args.saved_model, args.signature, args.optimize)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(output)}.partial-", dir=os.path.dirname(output))
    try:
        model_path = os.path.join(staging, "model.tflite")
        with open(model_path, "wb") as handle:
            handle.write(flatbuffer)
        try:
            interpreter = interpreter_for(tf, model_path)
            signature = signature_document(interpreter, args.signature)
            differences = largest_differences(np, tf, saved_fn, interpreter.get_signature_runner(args.signature), batches)
        except Failure:
            raise
        except Exception as err:
            raise Failure(1, f"the TFLite interpreter could not run the converted model: {one_line(err)}")
        max_abs_diff = max(differences.values(), default=0.0)
        if not max_abs_diff <= args.max_abs_diff:
            worst = max(differences, key=differences.get)
            raise Failure(
                1,
                f"the TFLite model's output {worst!r} differs from the SavedModel's by up to {max_abs_diff:.6g}, "
                f"more than --max-abs-diff {args.max_abs_diff:g} (optimize: {args.optimize}); nothing was written",
            )
        report = {
            "format": REPORT_FORMAT,
            "signature_key": args.signature,
            "optimization": args.optimize,
            "saved_model_bytes": saved_model_bytes(args.saved_model),
            "tflite_bytes": len(flatbuffer),
            "max_abs_diff": max_abs_diff,
            "max_abs_diff_threshold": args.max_abs_diff,
            "outputs_max_abs_diff": differences,
            "sample_inputs": {
                "source": "generated" if args.sample_inputs is None else "file",
                "batches": len(batches),
                "batch_shapes": [{name: list(value.shape) for name, value in sorted(batch.items())} for batch in batches],
            },
            "tensorflow_version": tf.__version__,
        }
        write_json(os.path.join(staging, "signature.json"), signature)
        write_json(os.path.join(staging, "report.json"), report)
        os.chmod(staging, 0o755)
        if os.path.isdir(output):
            os.rmdir(output)  # empty (checked above): rename(2) cannot replace it on every filesystem
        os.rename(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def write_json(path, document):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")


def main(argv=None):
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except Failure as failure:
        log(f"error: {failure}")
        return failure.status
    # TensorFlow and its C++ libraries print to stdout now and then; keep stdout for the report alone.
    sys.stdout.flush()
    stdout = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        report = run(args)
    except Failure as failure:
        log(f"error: {failure}")
        return failure.status
    log(f"wrote {args.output}: model.tflite ({report['tflite_bytes']} bytes), max abs diff {report['max_abs_diff']:.6g} <= {report['max_abs_diff_threshold']:g}")
    stdout.write(json.dumps(report, indent=2, sort_keys=True) + "\n")
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
