"""The official Python client's side of `npm run bench:clients`.

grpcio with the `tensorflow-serving-api` stubs, requests built with tf.make_tensor_proto and outputs
read with tf.make_ndarray, as TF Serving's own examples do. It connects to the server given on the
command line, then runs one measurement per JSON line read on stdin and answers each with one JSON
line on stdout, so the benchmark can interleave it with the Node client in the same run:

  {"op": "small_sequential", "calls": N}              -> {"latencies_us": [...], "wall_s", "cpu_s"}
  {"op": "small_in_flight", "calls": N, "in_flight": K} -> {"wall_s", "cpu_s"}
  {"op": "large", "calls": N, "bytes": B}              -> {"seconds": [...], "cpu_s"}

CPU is the whole process's (time.process_time: every thread, gRPC's included). Every answer is
checked; a wrong one ends the worker with an error. Usage: python python_client.py HOST:PORT
"""

import json
import os
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import grpc  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
TIMEOUT_S = 30.0
SMALL_INPUT = np.array([[1.0], [2.0]], dtype=np.float32)
SMALL_EXPECTED = SMALL_INPUT * 2 + 1


def predict_request(model, values):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(values))
    return request


def check(condition, what):
    if not condition:
        raise RuntimeError(f"wrong answer: {what}")


def small_call(stub):
    response = stub.Predict(predict_request("linear", SMALL_INPUT), timeout=TIMEOUT_S)
    return tf.make_ndarray(response.outputs["y"])


def small_sequential(stub, calls):
    latencies = []
    cpu = time.process_time()
    wall = time.perf_counter()
    for _ in range(calls):
        start = time.perf_counter()
        y = small_call(stub)
        latencies.append((time.perf_counter() - start) * 1e6)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    check(np.array_equal(y, SMALL_EXPECTED), "linear")
    return {"latencies_us": latencies, "wall_s": wall, "cpu_s": cpu}


def small_in_flight(stub, calls, in_flight):
    """Keeps `in_flight` calls outstanding (grpcio futures) until `calls` have completed."""
    slots = threading.Semaphore(in_flight)
    done = threading.Event()
    lock = threading.Lock()
    state = {"completed": 0, "error": None}

    def finished(future):
        try:
            y = tf.make_ndarray(future.result().outputs["y"])
            check(np.array_equal(y, SMALL_EXPECTED), "linear")
        except Exception as error:  # reported to the benchmark below
            state["error"] = error
        with lock:
            state["completed"] += 1
            if state["completed"] == calls:
                done.set()
        slots.release()

    cpu = time.process_time()
    wall = time.perf_counter()
    for _ in range(calls):
        slots.acquire()
        stub.Predict.future(predict_request("linear", SMALL_INPUT), timeout=TIMEOUT_S).add_done_callback(finished)
    done.wait()
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    if state["error"] is not None:
        raise state["error"]
    return {"wall_s": wall, "cpu_s": cpu}


def large(stub, calls, size):
    x = np.arange(size // 4, dtype=np.float32)
    seconds = []
    cpu = time.process_time()
    for _ in range(calls):
        start = time.perf_counter()
        response = stub.Predict(predict_request("identity", x), timeout=TIMEOUT_S)
        y = tf.make_ndarray(response.outputs["y"])
        seconds.append(time.perf_counter() - start)
    cpu = time.process_time() - cpu
    check(np.array_equal(y, x), "identity")
    return {"seconds": seconds, "cpu_s": cpu}


def main():
    endpoint = sys.argv[1]
    channel = grpc.insecure_channel(endpoint, options=UNLIMITED)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    print(json.dumps({"ready": True, "grpcio": grpc.__version__, "tensorflow": tf.__version__}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "small_sequential":
            result = small_sequential(stub, command["calls"])
        elif op == "small_in_flight":
            result = small_in_flight(stub, command["calls"], command["in_flight"])
        elif op == "large":
            result = large(stub, command["calls"], command["bytes"])
        else:
            raise ValueError(f"unknown op {op}")
        print(json.dumps(result), flush=True)
    channel.close()


if __name__ == "__main__":
    main()
