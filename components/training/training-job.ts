import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels } from "../common/kubernetes";
import type { GpuScheduling } from "../compute/gpu-node-pool";
import type { ModelAccessGrant } from "../storage/model-store-backend";
import type { TrainingJobArgs, TrainingWorkloadObject } from "./args";
import type { TrainingPlan } from "./frameworks/types";
import { planTrainingJob, type TrainingJobSpec } from "./plan";
import { trainingScripts } from "./scripts";
import { buildTrainingWorkload, type TrainingEnvVar, JOBSET_API_VERSION } from "./workload";

/**
 * A training run that exports a new model version to a model store: a batch/v1 Job (single pod) or a
 * JobSet (distributed: TensorFlow multi-worker or parameter-server, PyTorch DDP, MXNet dist) whose
 * exporting pod uploads the SavedModel to `models/<model>/<version>/` and writes `_SUCCESS` last.
 * Checkpoints (optional) survive pod and job restarts through the store; every pod's TensorBoard logs go to
 * `logs/<model>/<version>/<role>-<index>/` while it runs.
 *
 * Declares a ServiceAccount with the store's write grant for the model (and this version's logs), a ConfigMap with the container
 * scripts (and one with `sourceFiles`), and the Job or JobSet named `<name>-v<version>`.
 */
export class TrainingJob extends pulumi.ComponentResource {
  /** `s3://<bucket>/models/<model>/<version>/`, resolved once the job is created (and, when waiting, done). */
  readonly exportUri: pulumi.Output<string>;
  /** The model version this job exports, ready for a TfServing `specific` version policy. */
  readonly version: pulumi.Output<number>;
  /** The framework's plan: roles, pods, cluster environment, exporter. */
  readonly plan: TrainingPlan;
  /** Checked arguments with defaults. */
  readonly spec: TrainingJobSpec;
  readonly serviceAccount: k8s.core.v1.ServiceAccount;
  readonly grant: ModelAccessGrant;
  readonly scripts: k8s.core.v1.ConfigMap;
  readonly code?: k8s.core.v1.ConfigMap;
  /** The batch/v1 Job or the JobSet. */
  readonly workload: k8s.batch.v1.Job | k8s.apiextensions.CustomResource;

  constructor(name: string, args: TrainingJobArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const spec = planTrainingJob(name, args);
    super("ml-platform:training:TrainingJob", name, {}, opts);
    this.spec = spec;
    this.plan = spec.plan;
    const { names, namespace } = spec;
    const labels = standardLabels({ name: "training-job", instance: name });

    // First, so that a store rejecting the grant (e.g. a name too long for its objects) fails before
    // anything else is declared.
    this.grant = args.store.grantAccess(
      `${name}-store`,
      {
        access: "write",
        models: [args.model],
        checkpoints: spec.checkpointSaveIntervalSeconds !== undefined,
        // This version's logs only: a job cannot touch another version's runs.
        ...(spec.logUploadIntervalSeconds !== undefined ? { scopes: [{ area: "logs" as const, model: args.model, version: args.version, access: "write" as const }] } : {}),
        serviceAccount: { clusterName: args.clusterName, namespace, name: names.serviceAccount },
      },
      { parent: this },
    );
    this.serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}`,
      { metadata: { name: names.serviceAccount, namespace, labels } },
      { parent: this },
    );
    this.scripts = new k8s.core.v1.ConfigMap(
      `${names.scripts}`,
      { metadata: { name: names.scripts, namespace, labels }, data: trainingScripts() },
      { parent: this },
    );
    const sourceFiles = args.sourceFiles ?? {};
    if (Object.keys(sourceFiles).length > 0) {
      this.code = new k8s.core.v1.ConfigMap(`${names.code}`, { metadata: { name: names.code, namespace, labels }, data: sourceFiles }, { parent: this });
    }

    const scheduling: pulumi.Input<GpuScheduling | undefined> = args.gpuPool?.scheduling;
    const object: pulumi.Output<TrainingWorkloadObject> = pulumi
      .all([args.image, args.store.bucketName, args.store.endpoint, this.grant.env, scheduling, pulumi.output(args.env ?? {})])
      .apply(([image, bucket, endpoint, grantEnv, resolvedScheduling, env]) => {
        const built = buildTrainingWorkload({
          spec,
          instance: name,
          image,
          command: args.command,
          args: args.args ?? [],
          model: args.model,
          version: args.version,
          resources: args.resources ?? {},
          scheduling: resolvedScheduling,
          store: { bucket, endpoint, grantEnv: grantEnv as TrainingEnvVar[] },
          env,
          imagePullSecrets: args.imagePullSecrets ?? [],
          activeDeadlineSeconds: args.activeDeadlineSeconds,
          ttlSecondsAfterFinished: args.ttlSecondsAfterFinished,
          sharedMemorySize: args.sharedMemorySize,
          hasSourceFiles: this.code !== undefined,
        });
        return args.transform?.workload ? args.transform.workload(built) : built;
      });

    const dependsOn: pulumi.Resource[] = [this.serviceAccount, this.scripts, ...(this.code ? [this.code] : []), ...this.grant.resources];
    if (spec.plan.engine === "jobset" && args.jobSetController) dependsOn.push(args.jobSetController);
    // Jobs are immutable and carry a fixed name: a changed spec replaces the job, deleting the old one first.
    // Kueue owns `spec.suspend` of a queued workload once it admits it: an update must not suspend it again.
    const workloadOpts = { parent: this, dependsOn, deleteBeforeReplace: true, ...(spec.queue !== undefined ? { ignoreChanges: ["spec.suspend"] } : {}) };
    const metadata = object.apply((o) => o.metadata);
    if (spec.plan.engine === "job") {
      this.workload = new k8s.batch.v1.Job(
        `${names.workload}`,
        { metadata, spec: object.apply((o) => o.spec as unknown as k8s.types.input.batch.v1.JobSpec) },
        workloadOpts,
      );
    } else {
      this.workload = new k8s.apiextensions.CustomResource(
        `${names.workload}`,
        // The resource type derives from apiVersion and kind, so they are plain values.
        { apiVersion: JOBSET_API_VERSION, kind: "JobSet", metadata, spec: object.apply((o) => o.spec) },
        workloadOpts,
      );
    }

    // Resolving through the workload makes dependents (e.g. a TfServing policy) wait for it.
    this.exportUri = pulumi.all([args.store.modelUri(args.model, args.version), this.workload.metadata]).apply(([uri]) => uri);
    this.version = this.workload.metadata.apply(() => args.version);
    this.registerOutputs({ exportUri: this.exportUri, version: this.version });
  }
}
