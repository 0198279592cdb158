import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { standardLabels } from "../common/kubernetes";
import { type ModelAccessGrant, scopeKeyPrefix } from "../storage/model-store-backend";
import type { MobileExportArgs, MobileExportJobObject } from "./args";
import { mobileExportGrant, type MobileExportSpec, planMobileExport } from "./plan";
import { mobileExportScripts } from "./scripts";
import { buildMobileExportJob, type MobileEnvVar } from "./workload";

/** The file an app downloads, inside an export's folder. */
export const MOBILE_MODEL_FILE = "model.tflite";

/**
 * A TensorFlow Lite build of one complete model version, for phones: a batch/v1 Job that waits for
 * `models/<model>/<version>/` to be complete, downloads it verified against its manifest, converts it with
 * TensorFlow's TFLite converter, checks the TFLite interpreter's outputs against the SavedModel's, and publishes
 * `mobile/<model>/<version>/` (`model.tflite`, `signature.json`, `report.json`, `_MANIFEST`, `_SUCCESS` last) to the
 * same store.
 *
 * Declares a ServiceAccount with one store grant (read that model version, write only that mobile prefix), a
 * ConfigMap with the scripts, and the Job named `<name>-v<version>`.
 */
export class MobileExport extends pulumi.ComponentResource {
  /** `s3://<bucket>/mobile/<model>/<version>/`, resolved once the Job is created (and, when waiting, done). */
  readonly exportUri: pulumi.Output<string>;
  /** `s3://<bucket>/mobile/<model>/<version>/model.tflite`: what an app build downloads. */
  readonly modelFileUri: pulumi.Output<string>;
  /** The model version converted. */
  readonly version: pulumi.Output<number>;
  /** Checked arguments with defaults. */
  readonly spec: MobileExportSpec;
  readonly serviceAccount: k8s.core.v1.ServiceAccount;
  readonly grant: ModelAccessGrant;
  readonly scripts: k8s.core.v1.ConfigMap;
  readonly job: k8s.batch.v1.Job;

  constructor(name: string, args: MobileExportArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const spec = planMobileExport(name, args);
    super("ml-platform:mobile:MobileExport", name, {}, opts);
    this.spec = spec;
    const { names, namespace } = spec;
    const labels = standardLabels({ name: "mobile-export", instance: name });

    // First, so that a store rejecting the grant fails before anything else is declared.
    this.grant = args.store.grantAccess(
      names.grant,
      mobileExportGrant(spec, { clusterName: args.clusterName, namespace, name: names.serviceAccount }),
      { parent: this },
    );
    this.serviceAccount = new k8s.core.v1.ServiceAccount(name, { metadata: { name: names.serviceAccount, namespace, labels } }, { parent: this });
    this.scripts = new k8s.core.v1.ConfigMap(
      names.scripts,
      { metadata: { name: names.scripts, namespace, labels }, data: mobileExportScripts(spec.sampleInputs) },
      { parent: this },
    );

    const object: pulumi.Output<MobileExportJobObject> = pulumi
      .all([args.store.bucketName, args.store.endpoint, this.grant.env])
      .apply(([bucket, endpoint, grantEnv]) => {
        const built = buildMobileExportJob({ spec, instance: name, store: { bucket, endpoint, grantEnv: grantEnv as MobileEnvVar[] } });
        return args.transform?.job ? args.transform.job(built) : built;
      });
    // Jobs are immutable and carry a fixed name: a changed spec replaces the Job, deleting the old one first.
    this.job = new k8s.batch.v1.Job(
      names.job,
      { metadata: object.apply((o) => o.metadata), spec: object.apply((o) => o.spec as unknown as k8s.types.input.batch.v1.JobSpec) },
      { parent: this, dependsOn: [this.serviceAccount, this.scripts, ...this.grant.resources], deleteBeforeReplace: true },
    );

    // Resolving through the Job makes dependents wait for it.
    const prefix = scopeKeyPrefix({ area: "mobile", model: spec.model, version: spec.version });
    this.exportUri = pulumi.all([args.store.bucketName, this.job.metadata]).apply(([bucket]) => `s3://${bucket}/${prefix}`);
    this.modelFileUri = this.exportUri.apply((uri) => `${uri}${MOBILE_MODEL_FILE}`);
    this.version = this.job.metadata.apply(() => spec.version);
    this.registerOutputs({ exportUri: this.exportUri, modelFileUri: this.modelFileUri, version: this.version });
  }
}
