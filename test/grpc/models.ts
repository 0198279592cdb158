/**
 * Ready-made models for the TF Serving double, computing real answers.
 */
import type { Example } from "../../client/messages";
import type { DType } from "../../client/dtypes";
import { tensor, type Tensor } from "../../client/tensor-codec";
import { CLASSIFY_METHOD, REGRESS_METHOD, type ModelDouble, type SignatureDouble } from "./tf-serving-double";

function floatFeature(example: Example, name: string): number {
  const value = example.features?.feature?.[name]?.float_list?.value?.[0];
  return Number(value ?? 0);
}

function mapFloats(input: Tensor, dtype: DType, f: (x: number) => number): Tensor {
  return tensor(dtype, Float32Array.from(input.values as Float32Array, f), input.shape);
}

/** y = 0.5 * x + offset, like TensorFlow Serving's half_plus_two test model (offset 2) and half_plus_three (offset 3). */
function halfPlus(offset: number): Record<string, SignatureDouble> {
  const compute = (x: number) => 0.5 * x + offset;
  return {
    serving_default: {
      inputs: { x: { dtype: "DT_FLOAT", shape: [-1] } },
      outputs: { y: { dtype: "DT_FLOAT", shape: [-1] } },
      predict: ({ x }) => ({ y: mapFloats(x!, "DT_FLOAT", compute) }),
    },
    regress_x_to_y: {
      methodName: REGRESS_METHOD,
      inputs: { inputs: { dtype: "DT_STRING", shape: [-1] } },
      outputs: { outputs: { dtype: "DT_FLOAT", shape: [-1, 1] } },
      regress: (examples) => examples.map((e) => compute(floatFeature(e, "x"))),
    },
    classify_x_to_y: {
      methodName: CLASSIFY_METHOD,
      inputs: { inputs: { dtype: "DT_STRING", shape: [-1] } },
      outputs: { scores: { dtype: "DT_FLOAT", shape: [-1, 1] } },
      classify: (examples) => examples.map((e) => [{ label: "", score: compute(floatFeature(e, "x")) }]),
    },
  };
}

/** half_plus_two: version 1 computes 0.5x + 2, version 2 computes 0.5x + 3; labels stable=1, canary=2. */
export function halfPlusTwoModel(): ModelDouble {
  return {
    name: "half_plus_two",
    versions: [
      { version: 1, signatures: halfPlus(2) },
      { version: 2, signatures: halfPlus(3) },
    ],
    labels: { stable: 1, canary: 2 },
  };
}

/**
 * mixer: several inputs and outputs of different dtypes.
 * ids (int64 [-1, 2]) -> ids_plus_one; scale (double [-1]) -> doubled and positive (bool);
 * label (string [-1]) -> label_upper (string) and label_bytes (the same bytes; "_bytes" outputs are base64 in JSON).
 */
export function mixerModel(): ModelDouble {
  return {
    name: "mixer",
    versions: [
      {
        version: 7,
        signatures: {
          serving_default: {
            inputs: {
              ids: { dtype: "DT_INT64", shape: [-1, 2] },
              scale: { dtype: "DT_DOUBLE", shape: [-1] },
              label: { dtype: "DT_STRING", shape: [-1] },
            },
            outputs: {
              ids_plus_one: { dtype: "DT_INT64", shape: [-1, 2] },
              doubled: { dtype: "DT_DOUBLE", shape: [-1] },
              positive: { dtype: "DT_BOOL", shape: [-1] },
              label_upper: { dtype: "DT_STRING", shape: [-1] },
              label_bytes: { dtype: "DT_STRING", shape: [-1] },
            },
            predict: ({ ids, scale, label }) => {
              const labels = label!.values as Uint8Array[];
              const scales = scale!.values as Float64Array;
              return {
                ids_plus_one: tensor("DT_INT64", BigInt64Array.from(ids!.values as BigInt64Array, (v) => v + 1n), ids!.shape),
                doubled: tensor("DT_DOUBLE", Float64Array.from(scales, (v) => v * 2), scale!.shape),
                positive: tensor("DT_BOOL", Uint8Array.from(scales, (v) => (v > 0 ? 1 : 0)), scale!.shape),
                label_upper: tensor("DT_STRING", labels.map((b) => Buffer.from(b).toString("utf8").toUpperCase())),
                label_bytes: tensor("DT_STRING", labels),
              };
            },
          },
        },
      },
    ],
  };
}

/** pixels: uint8 images of 4 pixels -> their mean brightness (float). */
export function pixelsModel(): ModelDouble {
  return {
    name: "pixels",
    versions: [
      {
        version: 1,
        signatures: {
          serving_default: {
            inputs: { image: { dtype: "DT_UINT8", shape: [-1, 4] } },
            outputs: { brightness: { dtype: "DT_FLOAT", shape: [-1] } },
            predict: ({ image }) => {
              const values = image!.values as Uint8Array;
              const rows = image!.shape[0]!;
              const means = new Float32Array(rows);
              for (let r = 0; r < rows; r++) means[r] = (values[r * 4]! + values[r * 4 + 1]! + values[r * 4 + 2]! + values[r * 4 + 3]!) / 4;
              return { brightness: tensor("DT_FLOAT", means, [rows]) };
            },
          },
        },
      },
    ],
  };
}

export function allTestModels(): ModelDouble[] {
  return [halfPlusTwoModel(), mixerModel(), pixelsModel()];
}
