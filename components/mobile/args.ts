/** MobileExport's arguments. */
import type * as pulumi from "@pulumi/pulumi";
import type { ModelStoreBackend } from "../storage/model-store-backend";
import type { TrainingWait } from "../training/args";

/** How the converter shrinks the model (`convert_tflite.py --optimize`). */
export const MOBILE_OPTIMIZATIONS = ["none", "float16", "dynamic-range"] as const;
export type MobileOptimization = (typeof MOBILE_OPTIMIZATIONS)[number];

/**
 * The converter's default `--max-abs-diff` per optimization (convert_tflite.py's own defaults; a test keeps them
 * equal): the largest absolute difference allowed between the SavedModel's and the TFLite model's outputs, for
 * outputs of order 1.
 */
export const MOBILE_DEFAULT_MAX_ABS_DIFF: Readonly<Record<MobileOptimization, number>> = { none: 1e-4, float16: 1e-2, "dynamic-range": 5e-2 };

/**
 * Sample inputs the converter compares the two models on: one object of input name to a nested list (one batch),
 * or a list of them. Values must fit the signature's dtypes and shapes.
 * @example { x: [[0], [1], [2]] }
 */
export type MobileSampleInputs = Record<string, unknown> | Array<Record<string, unknown>>;

/** Whether `pulumi up` waits for the export Job to finish (the same choice as a TrainingJob's). */
export type MobileExportWait = TrainingWait;

/** CPU and memory of the converter container. */
export interface MobileExportResources {
  /** CPU request (no limit). @default "1" */
  cpu?: string;
  /** Memory request and limit: TensorFlow holds the SavedModel and the converted model at once. @default "2Gi" */
  memory?: string;
}

/** The batch/v1 Job MobileExport declares, before `transform` (see `buildMobileExportJob`). */
export interface MobileExportJobObject {
  apiVersion: "batch/v1";
  kind: "Job";
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: Record<string, unknown>;
}

export interface MobileExportArgs {
  /** Store holding `models/<model>/<version>/`; the export is published to `mobile/<model>/<version>/` there. */
  store: ModelStoreBackend;
  /** Model name. */
  model: string;
  /** The version to convert, a positive integer. A new version is a new Job (`<name>-v<version>`). */
  version: number;
  /** EKS cluster name, for the store's EKS Pod Identity association (ignored by in-cluster stores). */
  clusterName: pulumi.Input<string>;
  /** Namespace of the Job and its service account (must exist). @default "default" */
  namespace?: string;
  /** The SavedModel signature to convert. @default "serving_default" */
  signature?: string;
  /**
   * `none` keeps float32 weights; `float16` stores weights as float16 (about half the size of large models);
   * `dynamic-range` stores weights as int8 (about a quarter) and quantizes activations on the fly.
   * @default "none"
   */
  optimize?: MobileOptimization;
  /**
   * Largest absolute difference allowed between the SavedModel's and the TFLite model's outputs over the sample
   * inputs; above it the export fails and nothing is published. A finite number >= 0.
   * @default MOBILE_DEFAULT_MAX_ABS_DIFF[optimize]: 1e-4 (none), 1e-2 (float16), 5e-2 (dynamic-range)
   */
  maxAbsDiff?: number;
  /** Sample inputs to compare the models on. @default built from the signature (see docs/mobile.md) */
  sampleInputs?: MobileSampleInputs;
  /**
   * Image with TensorFlow (and its TFLite converter and interpreter) and `python3`. Pinned: a tag other than
   * `latest`, or a digest.
   * @default MOBILE_CONVERTER_IMAGE (`tensorflow/tensorflow:2.21.0`, the example trainer's)
   */
  converterImage?: string;
  /**
   * Image with `/bin/sh`, coreutils and the AWS CLI v2 at `/usr/local/bin/aws`, for the download and the upload.
   * @default the platform's pinned AWS CLI image (the model sync's and the store agent's)
   */
  storeImage?: string;
  /** CPU and memory of the converter. @default { cpu: "1", memory: "2Gi" } */
  resources?: MobileExportResources;
  /**
   * Minutes the Job waits for the version to be complete (`_SUCCESS`) before it fails. Positive integer.
   * @default 1440 (a day: the training that exports it may still be running)
   */
  versionWaitMinutes?: number;
  /** Whether `pulumi up` waits for the export. @default { until: "complete", timeoutMinutes: 10 } */
  wait?: MobileExportWait;
  /**
   * Pod retries. A damaged version, a conversion that fails and outputs that differ too much fail the Job at once
   * (retrying cannot help); retries are for store outages and lost nodes. Integer >= 0.
   * @default 2
   */
  backoffLimit?: number;
  /** Seconds the Job may run in all. Positive integer. @default no limit */
  activeDeadlineSeconds?: number;
  /**
   * Seconds after finishing before Kubernetes deletes the Job. After that, the next `pulumi up` runs it again, which
   * finds the export complete and leaves it as it is. Integer >= 0.
   * @default kept until the program removes it
   */
  ttlSecondsAfterFinished?: number;
  /** Secrets to pull the images with. @default [] */
  imagePullSecrets?: string[];
  /** Escape hatch: change the rendered Job before it is declared. */
  transform?: { job?: (job: MobileExportJobObject) => MobileExportJobObject };
}
