import { describe, expect, it } from "vitest";
import { InconsistentInstancesError, RequestError, ResponseError, TensorValueError } from "../../client/errors";
import { columnsToTensors, instancesToTensors, outputsToColumns, outputsToRows } from "../../client/json-requests";
import { parseColumnarRequest } from "../../client/predict-json";
import { selectSignature, type Signature } from "../../client/signatures";
import { tensor, tensorToJson } from "../../client/tensor-codec";

const single: Signature = {
  name: "serving_default",
  methodName: "tensorflow/serving/predict",
  inputs: { x: { dtype: "DT_FLOAT", shape: [-1, 2], encoding: "dense" } },
  outputs: {},
  inputsWithDefaults: [],
};
const pair: Signature = {
  ...single,
  inputs: { a: { dtype: "DT_INT64", shape: [-1], encoding: "dense" }, b: { dtype: "DT_STRING", shape: null, encoding: "dense" } },
  inputsWithDefaults: ["b"],
};

describe("instancesToTensors (row format)", () => {
  it("stacks instances along a new first dimension, typed by the signature", () => {
    const inputs = instancesToTensors(single, [[1, 2], [3, 4], [5, 6]]);
    expect(inputs["x"]!.dtype).toBe("DT_FLOAT");
    expect(inputs["x"]!.shape).toEqual([3, 2]);
    expect(tensorToJson(inputs["x"]!)).toEqual([[1, 2], [3, 4], [5, 6]]);
    const named = instancesToTensors(pair, [{ a: "9007199254740993", b: "p" }, { a: 2, b: "q" }]);
    expect(tensorToJson(named["a"]!)).toEqual([9007199254740993n, 2n]);
    expect(tensorToJson(named["b"]!)).toEqual(["p", "q"]);
  });

  it("lets inputs with defaults be left out", () => {
    expect(Object.keys(instancesToTensors(pair, [{ a: 1 }]))).toEqual(["a"]);
  });

  it("names the instance and input of every problem", () => {
    expect(() => instancesToTensors(single, [[1, 2], [1, 2, 3]])).toThrow(InconsistentInstancesError);
    expect(() => instancesToTensors(single, [[1, 2], [1, 2, 3]])).toThrow('instance 1: input "x" has shape [3], but instance 0 has [2]');
    expect(() => instancesToTensors(pair, [{ a: 1, b: "x" }, { a: 1 }])).toThrow("instance 1: gives inputs a, but instance 0 gives a, b");
    expect(() => instancesToTensors(pair, [{ c: 1 }])).toThrow(RequestError);
    expect(() => instancesToTensors(pair, [{ c: 1 }])).toThrow('instance 0: unknown input "c"; signature "serving_default" has inputs: a, b');
    expect(() => instancesToTensors(pair, [{ b: "x" }])).toThrow('instance 0: missing input "a"');
    expect(() => instancesToTensors(pair, [1])).toThrow(/instance 0: a bare value needs a signature with exactly one input/);
    let value: unknown;
    try {
      instancesToTensors(single, [[1, 2], [1, "two"]]);
    } catch (error) {
      value = error;
    }
    expect(value).toBeInstanceOf(TensorValueError);
    expect(value).toMatchObject({ instance: 1, input: "x", path: [1] });
    expect(() => instancesToTensors(single, [[1, 2, 3]])).toThrow('input "x" has shape [1, 3], but signature "serving_default" expects [-1, 2] (-1: any size)');
    expect(() => instancesToTensors(single, [])).toThrow("no instances");
  });
});

describe("columnsToTensors (columnar format)", () => {
  it("takes named inputs or a bare value for a single input", () => {
    expect(columnsToTensors(single, [[1, 2]])["x"]!.shape).toEqual([1, 2]);
    expect(Object.keys(columnsToTensors(pair, { a: [1] }))).toEqual(["a"]);
    expect(() => columnsToTensors(pair, [1])).toThrow(/"inputs" is a bare value, but signature "serving_default" has 2 inputs/);
  });

  it("checks the request document", () => {
    expect(parseColumnarRequest({ inputs: [1], signature_name: "s" })).toEqual({ inputs: [1], signature_name: "s" });
    expect(() => parseColumnarRequest([1])).toThrow(/a columnar request is an object/);
    expect(() => parseColumnarRequest({ signature_name: "s" })).toThrow('a columnar request needs "inputs"');
    expect(() => parseColumnarRequest({ inputs: 1, signature_name: 3 })).toThrow('"signature_name" must be a non-empty string');
  });
});

describe("outputs as JSON", () => {
  const y = tensor("DT_FLOAT", [[1], [2]]);
  const z = tensor("DT_STRING", ["a", "b"]);

  it("rows: the output's rows, or per instance an object of outputs", () => {
    expect(outputsToRows({ y }, 2)).toEqual([[1], [2]]);
    expect(outputsToRows({ y, z }, 2)).toEqual([
      { y: [1], z: "a" },
      { y: [2], z: "b" },
    ]);
    expect(outputsToRows({ raw_bytes: z }, 2)).toEqual([{ b64: "YQ==" }, { b64: "Yg==" }]);
    expect(() => outputsToRows({ y, s: tensor("DT_FLOAT", 1) }, 2)).toThrow(ResponseError);
    expect(() => outputsToRows({ y }, 3)).toThrow('output "y" has shape [2, 1], which does not split into 3 instance rows');
  });

  it("columns: the output's value, or an object of outputs", () => {
    expect(outputsToColumns({ y })).toEqual([[1], [2]]);
    expect(outputsToColumns({ y, z })).toEqual({ y: [[1], [2]], z: ["a", "b"] });
  });
});

it("selectSignature names the signatures there are", () => {
  expect(selectSignature({ serving_default: single }).name).toBe("serving_default");
  expect(() => selectSignature({ b: single, a: single }, "c")).toThrow('signature "c" not found; the model has: a, b');
});
