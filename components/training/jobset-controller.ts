import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MANAGED_BY, POD_SECURITY_RESTRICTED_LABELS } from "../common/kubernetes";
import { dnsLabelProblem, IssueCollector } from "../common/validation";

/** Pinned JobSet release (the chart version is the release version without the "v"). */
export const JOBSET_VERSION = "0.12.0";
/** JobSet's Helm chart, published by the Kubernetes project to registry.k8s.io. */
export const JOBSET_CHART = "oci://registry.k8s.io/jobset/charts/jobset";
export const JOBSET_NAMESPACE = "jobset-system";

export interface JobSetControllerArgs {
  /**
   * Where the chart comes from: an OCI or HTTPS chart reference, or the path of a chart folder or `.tgz` on
   * the machine running `pulumi up` (a mirror, for clusters and CI runners without access to registry.k8s.io).
   * A mirrored chart must be JobSet's own chart of `version`.
   * @default JOBSET_CHART (`oci://registry.k8s.io/jobset/charts/jobset`)
   * @example "./vendor/charts/jobset-0.12.0.tgz"
   */
  chart?: string;
  /**
   * Namespace of the controller. The component declares it (with Pod Security "restricted" enforced), so that
   * destroying the component removes it; Helm would leave a namespace it created behind.
   * @default "jobset-system"
   */
  namespace?: string;
  /**
   * Chart version (= JobSet release without "v"). Helm installs the CRD on first install only: when
   * upgrading, apply the new release's CRD first.
   * @default JOBSET_VERSION
   */
  version?: string;
  /** Chart values (see the chart's README). @default the chart's defaults */
  values?: Record<string, unknown>;
}

/** The Helm release arguments (pure). */
export function jobSetReleaseArgs(args: JobSetControllerArgs = {}): k8s.helm.v3.ReleaseArgs & { values: Record<string, unknown> } {
  return {
    name: "jobset",
    chart: args.chart ?? JOBSET_CHART,
    version: args.version ?? JOBSET_VERSION,
    namespace: args.namespace ?? JOBSET_NAMESPACE,
    // Declared by the component (jobSetNamespaceArgs).
    createNamespace: false,
    // The CRD ships in the chart's crds/ directory.
    skipCrds: false,
    // Wait for the controller and its webhook, which must be up before the first JobSet is created.
    skipAwait: false,
    atomic: true,
    timeout: 600,
    values: args.values ?? {},
  };
}

/** The controller's namespace (pure). */
export function jobSetNamespaceArgs(namespace: string): k8s.core.v1.NamespaceArgs {
  return { metadata: { name: namespace, labels: { ...POD_SECURITY_RESTRICTED_LABELS, "app.kubernetes.io/managed-by": MANAGED_BY } } };
}

/**
 * The JobSet controller (kubernetes-sigs/jobset), which runs the distributed TrainingJobs, installed from
 * its Helm chart at a pinned release. Pass it to TrainingJob's `jobSetController` so JobSets are created
 * after it. Use it through a Kubernetes provider for the cluster (`{ providers: { kubernetes } }`).
 */
export class JobSetController extends pulumi.ComponentResource {
  readonly namespaceResource: k8s.core.v1.Namespace;
  readonly release: k8s.helm.v3.Release;
  /** The installed chart version. */
  readonly version: string;
  readonly namespace: string;

  constructor(name: string, args: JobSetControllerArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
    const issues = new IssueCollector();
    const releaseArgs = jobSetReleaseArgs(args);
    if (args.chart !== undefined && (typeof args.chart !== "string" || args.chart.trim() === "")) {
      issues.add("chart", `must be a chart reference (oci://..., https://...) or the path of a chart folder or .tgz (got ${JSON.stringify(args.chart)})`);
    }
    const namespaceProblem = dnsLabelProblem(releaseArgs.namespace as string);
    if (namespaceProblem) issues.add("namespace", namespaceProblem);
    if (!/^\d+\.\d+\.\d+$/.test(String(releaseArgs.version))) issues.add("version", `"${releaseArgs.version}" must be a chart version such as "${JOBSET_VERSION}" (no "v")`);
    issues.throwIfAny(`JobSetController "${name}"`);

    super("ml-platform:training:JobSetController", name, {}, opts);
    this.version = releaseArgs.version as string;
    this.namespace = releaseArgs.namespace as string;
    this.namespaceResource = new k8s.core.v1.Namespace(`${name}`, jobSetNamespaceArgs(this.namespace), { parent: this });
    this.release = new k8s.helm.v3.Release(`${name}`, releaseArgs, { parent: this, dependsOn: [this.namespaceResource] });
    this.registerOutputs({ version: this.version, namespace: this.namespace, status: this.release.status });
  }
}
