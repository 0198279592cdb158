/** TrainingJob's arguments. */
import type * as pulumi from "@pulumi/pulumi";
import type { GpuScheduling } from "../compute/gpu-node-pool";
import type { ModelStoreBackend } from "../storage/model-store-backend";
import type { FrameworkSelection } from "./frameworks/registry";

/** Compute for each pod. */
export interface TrainingResources {
  /** CPU request per pod (no CPU limit, so training is never throttled), a Kubernetes quantity. @example "7" */
  cpu?: string;
  /** Memory request and limit per pod, a Kubernetes quantity. @example "28Gi" */
  memory?: string;
  /**
   * NVIDIA GPUs per pod, as the `nvidia.com/gpu` limit. Needs `gpuPool`, and at most its `gpusPerNode`.
   * Only the roles that compute get them (workers; not parameter servers, schedulers or a PS coordinator).
   * @default 0
   */
  gpus?: number;
}

/**
 * Whether `pulumi up` waits for the training to finish. Pulumi's Kubernetes provider waits for a Job to
 * complete (and fails on a failed Job) with a 10-minute limit unless told otherwise; a JobSet is waited
 * for through its `Completed` condition.
 */
export type TrainingWait =
  | {
      /** Wait until the Job or JobSet completed. Exports are then complete before dependents deploy. */
      until: "complete";
      /** Give up (and fail the update) after this long; the training keeps running. @default 10 */
      timeoutMinutes?: number;
    }
  | {
      /** Return as soon as the Job or JobSet is created (`pulumi.com/skipAwait`). */
      until: "created";
    };

export interface CheckpointOptions {
  /**
   * Seconds between uploads of `$CHECKPOINT_DIR` to the store while training runs. A last upload always
   * follows the training command's exit, whether it succeeded or not. Positive integer.
   * @default 60
   */
  saveIntervalSeconds?: number;
}

export interface LogOptions {
  /**
   * Seconds between uploads of `$TENSORBOARD_LOG_DIR` to the store while training runs, which is how far
   * behind the training a TensorBoard may be (plus its own sync interval). A last upload always follows the
   * training command's exit, whether it succeeded or not. Positive integer.
   * @default 30
   */
  uploadIntervalSeconds?: number;
}

/** What TrainingJob needs of a GpuNodePool. */
export interface GpuPoolRef {
  /** GPUs on each node: the most a pod can ask for. */
  readonly gpusPerNode: number;
  /** Node selector and tolerations of the pool. */
  readonly scheduling: pulumi.Input<GpuScheduling>;
}

/** The batch/v1 Job or JobSet object TrainingJob declares, before `transform` (see `buildTrainingWorkload`). */
export interface TrainingWorkloadObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: Record<string, unknown>;
}

export interface TrainingJobCommonArgs {
  /**
   * Container image with the training code and the framework. Needs `/bin/sh`.
   * @example "tensorflow/tensorflow:2.21.0"
   */
  image: pulumi.Input<string>;
  /**
   * The training command (the image's entrypoint is replaced). It runs under the platform's entrypoint
   * wrapper, which sets the cluster environment and, for PyTorch DDP, launches it through `torchrun`
   * (so give the full command, e.g. `["python", "train.py"]`).
   */
  command: string[];
  /** Arguments after `command`. @default [] */
  args?: string[];
  /** CPU, memory and GPUs per pod. @default no requests, no GPUs */
  resources?: TrainingResources;
  /** GPU node pool for pods that request GPUs: its node selector and tolerations are applied to them. */
  gpuPool?: GpuPoolRef;
  /** Model store the export is uploaded to. The job's service account gets write access to `model` only. */
  store: ModelStoreBackend;
  /** Model name: the export lands in `models/<model>/<version>/`. */
  model: string;
  /**
   * Model version, a positive integer. Jobs are immutable, so a new version is a new Job or JobSet (named
   * `<name>-v<version>`), not an in-place update.
   */
  version: number;
  /** EKS cluster name, for the store's EKS Pod Identity association. */
  clusterName: pulumi.Input<string>;
  /**
   * A persistent checkpoint location: `$CHECKPOINT_DIR` in every pod, restored from
   * `checkpoints/<model>/<version>/` before the command starts (also after a restart) and saved there
   * while training runs. `true` uses the defaults.
   * @default no checkpoints
   */
  checkpoints?: true | CheckpointOptions;
  /**
   * TensorBoard logs: every pod gets `$TENSORBOARD_LOG_DIR` (write summaries there, e.g. with
   * `tf.summary.create_file_writer(os.environ["TENSORBOARD_LOG_DIR"])`), restored from and uploaded to
   * `logs/<model>/<version>/<role>-<index>/` in the store, one TensorBoard run per pod, which a restarted pod
   * continues. The job's grant may write there and nowhere else under `logs/`. `false` turns it off.
   * @default true (uploads every 30 s)
   */
  logs?: boolean | LogOptions;
  /**
   * Extra environment for the training container. Names the platform sets (TF_CONFIG, DMLC_*,
   * MODEL_EXPORT_DIR, ...) are rejected.
   * @default {}
   */
  env?: Record<string, pulumi.Input<string>>;
  /** Whether `pulumi up` waits for the training. @default { until: "complete", timeoutMinutes: 10 } */
  wait?: TrainingWait;
  /** Namespace of the job and its service account (must exist). @default "default" */
  namespace?: string;
  /**
   * Retries before the training fails: pod retries of a single-pod Job, whole-set restarts of a JobSet.
   * Node disruptions (spot reclaims, drains) never count. Integer >= 0.
   * @default 3
   */
  backoffLimit?: number;
  /**
   * Seconds a single-pod Job may run in all, or one attempt of a distributed run may take; then it fails
   * without retrying. Positive integer.
   * @default no limit
   */
  activeDeadlineSeconds?: number;
  /**
   * Seconds after finishing before Kubernetes deletes the finished Job or JobSet. Beware: after that,
   * `pulumi refresh` sees it gone and the next `pulumi up` runs the training again (the upload then keeps
   * the complete version already in the store). Integer >= 0.
   * @default kept until the program removes it
   */
  ttlSecondsAfterFinished?: number;
  /** Secrets to pull `image` with. @default [] */
  imagePullSecrets?: string[];
  /**
   * Size limit of the memory-backed `/dev/shm` that PyTorch pods get (counts against the pod's memory).
   * @default no limit beyond the pod's memory
   */
  sharedMemorySize?: string;
  /**
   * Small source files (e.g. a training script) mounted read-only at `/opt/ml-platform/code` from a
   * ConfigMap (at most about 1 MiB in all). Real projects bake their code into the image.
   * @default none
   */
  sourceFiles?: Record<string, string>;
  /**
   * Kueue LocalQueue (in `namespace`) to submit the training to, e.g. a Team's `queueName`. The Job or JobSet is
   * created suspended with the `kueue.x-k8s.io/queue-name` label, and Kueue starts it once the team's quota
   * admits all its pods (and may suspend it again to give a team back its quota; checkpoints make that cheap).
   * Time spent waiting in the queue counts against `wait.timeoutMinutes`. With server-side apply (the provider's
   * default) later updates leave Kueue's `spec.suspend` alone.
   * @default not queued: the pods start at once
   */
  queue?: string;
  /** The JobSet installation distributed jobs need; they depend on it. @default JobSet assumed installed */
  jobSetController?: pulumi.Resource;
  /** Escape hatch: change the rendered Job or JobSet before it is declared. */
  transform?: { workload?: (workload: TrainingWorkloadObject) => TrainingWorkloadObject };
}

/** Arguments of a TrainingJob: the common ones plus a framework, its mode and role counts. */
export type TrainingJobArgs = TrainingJobCommonArgs & FrameworkSelection;
