"""A TF-Serving-compatible gRPC server for `npm run bench:clients`.

It serves tensorflow.serving.PredictionService/Predict on 127.0.0.1 with the official
`tensorflow-serving-api` stubs and runs real SavedModels with TensorFlow, answering like TF Serving
does: outputs in tensor_content, the model spec it used echoed back. Two models, exported to a
temporary directory at start and loaded back with tf.saved_model.load:

  linear    y = 2x + 1, signature serving_default: x float32 [-1, 1] -> y   (the small calls)
  identity  y = x,      signature serving_default: x float32 [-1] -> y      (the 16 MiB calls)

Prints one line "READY <port>" on stdout once it listens, then serves until stdin closes or it is
terminated. Usage: python server.py [--workers N]
"""

import argparse
import os
import sys
import tempfile
import threading
from concurrent import futures

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import grpc  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

MODEL_VERSION = 1
# TF Serving accepts messages up to 2 GiB - 1; gRPC's default receive limit is 4 MiB.
UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


class Linear(tf.Module):
    def __init__(self):
        super().__init__()
        self.slope = tf.Variable(2.0, dtype=tf.float32)
        self.intercept = tf.Variable(1.0, dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec(shape=[None, 1], dtype=tf.float32, name="x")])
    def serve(self, x):
        return {"y": x * self.slope + self.intercept}


class Identity(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.float32, name="x")])
    def serve(self, x):
        return {"y": tf.identity(x)}


def export_and_load(directory):
    """Exports each model as a SavedModel and loads it back: the server runs what TF Serving would."""
    models = {}
    for name, module in (("linear", Linear()), ("identity", Identity())):
        path = os.path.join(directory, name, str(MODEL_VERSION))
        tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
        models[name] = tf.saved_model.load(path)
    return models


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, models):
        self.models = models

    def Predict(self, request, context):
        spec = request.model_spec
        model = self.models.get(spec.name)
        if model is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: Latest({spec.name})")
        signature_name = spec.signature_name or "serving_default"
        signature = model.signatures.get(signature_name)
        if signature is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f'Serving signature key "{signature_name}" not found.')
        try:
            inputs = {alias: tf.constant(tf.make_ndarray(proto)) for alias, proto in request.inputs.items()}
            outputs = signature(**inputs)
        except (TypeError, ValueError, tf.errors.InvalidArgumentError) as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        response = predict_pb2.PredictResponse()
        response.model_spec.name = spec.name
        response.model_spec.version.value = MODEL_VERSION
        response.model_spec.signature_name = signature_name
        wanted = set(request.output_filter)
        for alias, value in outputs.items():
            if not wanted or alias in wanted:
                response.outputs[alias].CopyFrom(tf.make_tensor_proto(value.numpy()))
        return response


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=16, help="server threads (default 16)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-models-") as directory:
        models = export_and_load(directory)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers), options=UNLIMITED)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(models), server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        print(f"READY {port}", flush=True)
        # Stops when the parent closes stdin (or dies), so no server outlives its benchmark.
        threading.Thread(target=lambda: (sys.stdin.read(), server.stop(grace=None)), daemon=True).start()
        server.wait_for_termination()


if __name__ == "__main__":
    main()
