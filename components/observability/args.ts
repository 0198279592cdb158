/** Arguments of the TensorBoard component. */
import type * as pulumi from "@pulumi/pulumi";
import type { ModelStoreBackend } from "../storage/model-store-backend";

export interface TensorBoardModel {
  /**
   * A model whose trainings' logs to show: every version's runs under `logs/<name>/` in its store (what
   * TrainingJob uploads), shown as runs named `<name>/<version>/<role>-<index>`. 1-63 lowercase letters,
   * digits, "-" or "_"; each model once per TensorBoard.
   * @example "linear"
   */
  name: string;
  /** The store the model's trainings write their logs to. Models of one TensorBoard may come from different stores. */
  store: ModelStoreBackend;
}

export interface TensorBoardResources {
  /**
   * CPU request of the TensorBoard container (no limit).
   * @default "100m"
   */
  cpu?: string;
  /**
   * Memory request and limit of the TensorBoard container. It holds the scalars it has read in memory (up
   * to 1,000 points per series by default), plus about 600 MiB for TensorFlow itself.
   * @default "1Gi"
   */
  memory?: string;
}

export interface TensorBoardArgs {
  /** The models whose training logs this TensorBoard shows, each from its store. At least one. */
  models: TensorBoardModel[];
  /** EKS cluster name, for the stores' EKS Pod Identity associations. */
  clusterName: pulumi.Input<string>;
  /** Namespace of the Deployment, Service and service account (must exist). @default "default" */
  namespace?: string;
  /**
   * Image with TensorBoard and TensorFlow (which TensorBoard needs to notice replaced files), pinned by tag
   * (not `latest`) or digest, run as `python3 -m tensorboard.main`.
   * @default "tensorflow/tensorflow:2.20.0" (TensorBoard 2.20; see docs/tensorboard.md for why)
   */
  image?: string;
  /** CPU and memory of the TensorBoard container. @default { cpu: "100m", memory: "1Gi" } */
  resources?: TensorBoardResources;
  /**
   * Seconds between two passes of the log sync over the store. With the trainings' upload interval, how far
   * behind the training TensorBoard may be. Positive integer.
   * @default 30
   */
  syncIntervalSeconds?: number;
  /**
   * Size limit of the volume the logs are copied to; the pod is evicted beyond it.
   * @default "10Gi"
   */
  logsVolumeSizeLimit?: string;
  /**
   * Serve TensorBoard under this path (TensorBoard's `--path_prefix`), for a proxy that routes a path of a
   * shared host to it. Starts with "/", does not end with one.
   * @default served at "/"
   * @example "/tensorboard/linear"
   */
  pathPrefix?: string;
}
