/**
 * A ModelStoreBackend that can be created without the Pulumi runtime, for tests of the pure builders
 * (validation, plan, config files), which only need stores as values to group models by. An S3-compatible
 * store with static credentials in a Secret, like InClusterModelStore; the component tests use the real
 * ModelStore and InClusterModelStore.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { GrantOptions, ModelAccessGrant, ModelAccessGrantArgs, ModelStoreBackend } from "../../components/storage/model-store-backend";

export class StaticCredentialsStore implements ModelStoreBackend {
  readonly bucketName: pulumi.Output<string>;
  readonly region = pulumi.output("us-east-1");
  readonly endpoint: pulumi.Output<string | undefined>;

  constructor(bucket = "in-cluster-models", endpoint = "http://objects.storage.svc.cluster.local:9000") {
    this.bucketName = pulumi.output(bucket);
    this.endpoint = pulumi.output<string | undefined>(endpoint);
  }

  modelUri(model: string, version?: number): pulumi.Output<string> {
    return pulumi.interpolate`s3://${this.bucketName}/models/${model}/${version === undefined ? "" : `${version}/`}`;
  }

  grantAccess(name: string, args: ModelAccessGrantArgs, opts: GrantOptions = {}): ModelAccessGrant {
    const secret = new k8s.core.v1.Secret(
      `${name}-credentials`,
      {
        metadata: { name: `${name}-credentials`, namespace: args.serviceAccount.namespace },
        type: "Opaque",
        stringData: { accessKeyId: `${name}-key`, secretAccessKey: "generated-by-the-store" },
      },
      { parent: opts.parent },
    );
    const fromSecret = (key: string) => ({ secretKeyRef: { name: `${name}-credentials`, key } });
    return {
      env: pulumi.output([
        { name: "AWS_ACCESS_KEY_ID", valueFrom: fromSecret("accessKeyId") },
        { name: "AWS_SECRET_ACCESS_KEY", valueFrom: fromSecret("secretAccessKey") },
        { name: "AWS_REGION", value: "us-east-1" },
      ]),
      resources: [secret],
    };
  }
}
