import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface EksKubeconfigArgs {
  clusterName: string;
  endpoint: string;
  /** Base64 PEM of the cluster CA, as EKS returns it. */
  certificateAuthorityData: string;
  /** Region of the cluster, passed to `aws eks get-token`. */
  region?: string;
  /** AWS CLI profile for `aws eks get-token`. @default the ambient credentials */
  profile?: string;
}

/**
 * A kubeconfig that authenticates with short-lived tokens from `aws eks get-token` (exec credentials), so
 * no static token is ever stored in state. Pure; JSON is valid kubeconfig YAML.
 */
export function eksKubeconfig(args: EksKubeconfigArgs): string {
  const tokenArgs = ["eks", "get-token", "--cluster-name", args.clusterName, "--output", "json"];
  if (args.region) tokenArgs.push("--region", args.region);
  const env = args.profile ? [{ name: "AWS_PROFILE", value: args.profile }] : undefined;
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: args.clusterName, cluster: { server: args.endpoint, "certificate-authority-data": args.certificateAuthorityData } }],
    contexts: [{ name: args.clusterName, context: { cluster: args.clusterName, user: args.clusterName } }],
    "current-context": args.clusterName,
    users: [
      {
        name: args.clusterName,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "aws",
            args: tokenArgs,
            ...(env ? { env } : {}),
            interactiveMode: "Never",
          },
        },
      },
    ],
  });
}

export interface EksClusterConnection {
  /** What `aws.eks.getCluster` returned. */
  cluster: pulumi.Output<aws.eks.GetClusterResult>;
  /** Kubernetes provider for the cluster, authenticating through `aws eks get-token`. */
  provider: k8s.Provider;
}

/**
 * Looks up an existing EKS cluster and builds a Kubernetes provider for it. The provider is declared with
 * `opts` (so it can be parented); its name is `name`.
 */
export function connectToEksCluster(name: string, clusterName: string, opts: pulumi.CustomResourceOptions = {}): EksClusterConnection {
  const cluster = aws.eks.getClusterOutput({ name: clusterName }, { parent: opts.parent });
  const region = aws.getRegionOutput({}, { parent: opts.parent }).region;
  const kubeconfig = pulumi
    .all([cluster, region])
    .apply(([c, r]) => eksKubeconfig({ clusterName, endpoint: c.endpoint, certificateAuthorityData: c.certificateAuthorities[0].data, region: r }));
  const provider = new k8s.Provider(name, { kubeconfig, enableServerSideApply: true }, opts);
  return { cluster, provider };
}
