import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MANAGED_BY, POD_SECURITY_RESTRICTED_LABELS } from "../common/kubernetes";
import { dnsLabelProblem, IssueCollector } from "../common/validation";
import type { GpuScheduling } from "../compute/gpu-node-pool";
import { DEFAULT_FLAVOR, flavorNodesOf, gpuFlavorName, KUEUE_API_VERSION, KUEUE_VERSION, type KueueObject, resourceFlavor } from "./kueue-objects";

/** Kueue's Helm chart, published by the Kubernetes project to registry.k8s.io. */
export const KUEUE_CHART = "oci://registry.k8s.io/kueue/charts/kueue";
export const KUEUE_NAMESPACE = "kueue-system";
/**
 * The release name. Kueue's chart names its objects after it (`kueue-controller-manager`,
 * `kueue-webhook-service`, ...), and its aggregated ClusterRole for batch users is `kueue-batch-user-role`.
 */
export const KUEUE_RELEASE = "kueue";
export const KUEUE_BATCH_USER_ROLE = `${KUEUE_RELEASE}-batch-user-role`;
/** The controller image of the pinned release, as the published chart sets it. */
export const KUEUE_IMAGE = { repository: "registry.k8s.io/kueue/kueue", tag: `v${KUEUE_VERSION}`, pullPolicy: "IfNotPresent" };

export interface KueueControllerArgs {
  /**
   * Where the chart comes from: an OCI or HTTPS chart reference, or the path of a chart folder or `.tgz` on the
   * machine running `pulumi up` (a mirror, for clusters and CI runners without access to registry.k8s.io). A
   * mirrored chart must be Kueue's own chart of `version`.
   * @default KUEUE_CHART (`oci://registry.k8s.io/kueue/charts/kueue`)
   * @example "./vendor/charts/kueue-0.17.0.tgz"
   */
  chart?: string;
  /**
   * Chart version (= Kueue release without "v"). The chart carries Kueue's CRDs among its templates, so Helm
   * upgrades them with the release.
   * @default KUEUE_VERSION
   */
  version?: string;
  /**
   * Namespace of the controller. The component declares it (with Pod Security "restricted" enforced, which Kueue's
   * pods meet), so that destroying the component removes it; Helm would leave a namespace it created behind.
   * @default "kueue-system"
   */
  namespace?: string;
  /**
   * Chart values, merged over the platform's (the pinned controller image of `version`, pulled
   * `IfNotPresent`). See the chart's README for the rest (`managerConfig`, feature gates, ...).
   * @default the chart's defaults, with the pinned image
   */
  values?: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `override` over `base`, recursively for objects (arrays and values are replaced), as Helm merges values. */
export function mergeValues(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    merged[key] = isRecord(value) && isRecord(merged[key]) ? mergeValues(merged[key] as Record<string, unknown>, value) : value;
  }
  return merged;
}

/** The Helm release arguments (pure). */
export function kueueReleaseArgs(args: KueueControllerArgs = {}): k8s.helm.v3.ReleaseArgs & { values: Record<string, unknown> } {
  const version = args.version ?? KUEUE_VERSION;
  const image = { ...KUEUE_IMAGE, tag: `v${version}` };
  return {
    name: KUEUE_RELEASE,
    chart: args.chart ?? KUEUE_CHART,
    version,
    namespace: args.namespace ?? KUEUE_NAMESPACE,
    // Declared by the component (kueueNamespaceArgs).
    createNamespace: false,
    // Kueue's CRDs are templates of its chart (not in crds/), installed and upgraded with the release.
    skipCrds: false,
    // Wait for the controller: its webhooks must answer before the first Job is created.
    skipAwait: false,
    atomic: true,
    timeout: 600,
    values: mergeValues({ controllerManager: { manager: { image } } }, args.values ?? {}),
  };
}

/** The controller's namespace (pure). */
export function kueueNamespaceArgs(namespace: string): k8s.core.v1.NamespaceArgs {
  return { metadata: { name: namespace, labels: { ...POD_SECURITY_RESTRICTED_LABELS, "app.kubernetes.io/managed-by": MANAGED_BY } } };
}

/** A ResourceFlavor the platform declared, to give a team's queue quota in. */
export interface QueueFlavor {
  /** The ResourceFlavor's name. */
  readonly name: string;
  readonly resource: k8s.apiextensions.CustomResource;
}

function declareFlavor(parent: pulumi.Resource, object: pulumi.Input<KueueObject>, name: string, dependsOn: pulumi.Resource[]): QueueFlavor {
  const spec = pulumi.output(object).apply((o) => o.spec);
  const resource = new k8s.apiextensions.CustomResource(
    `${name}`,
    { apiVersion: KUEUE_API_VERSION, kind: "ResourceFlavor", metadata: pulumi.output(object).apply((o) => o.metadata), spec },
    { parent, dependsOn },
  );
  return { name, resource };
}

/**
 * Kueue (kubernetes-sigs/kueue), the batch queueing system that admits the teams' trainings when their quota
 * allows, installed from its Helm chart at a pinned release, with the CPU flavor every team's queue uses
 * (`default`: CPU and memory on any node). `gpuFlavor(pool)` declares the flavor of a GPU pool. Use it through a
 * Kubernetes provider for the cluster (`{ providers: { kubernetes } }`).
 */
export class KueueController extends pulumi.ComponentResource {
  readonly namespaceResource: k8s.core.v1.Namespace;
  readonly release: k8s.helm.v3.Release;
  /** The installed chart version. */
  readonly version: string;
  readonly namespace: string;
  /** The ResourceFlavor of CPU and memory on any node. */
  readonly defaultFlavor: QueueFlavor;
  private readonly flavors = new Map<string, QueueFlavor>();
  private readonly label: string;

  constructor(name: string, args: KueueControllerArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
    const issues = new IssueCollector();
    const releaseArgs = kueueReleaseArgs(args);
    if (args.chart !== undefined && (typeof args.chart !== "string" || args.chart.trim() === "")) {
      issues.add("chart", `must be a chart reference (oci://..., https://...) or the path of a chart folder or .tgz (got ${JSON.stringify(args.chart)})`);
    }
    const namespaceProblem = dnsLabelProblem(releaseArgs.namespace as string);
    if (namespaceProblem) issues.add("namespace", namespaceProblem);
    if (!/^\d+\.\d+\.\d+$/.test(String(releaseArgs.version))) issues.add("version", `"${releaseArgs.version}" must be a chart version such as "${KUEUE_VERSION}" (no "v")`);
    if (args.values !== undefined && !isRecord(args.values)) issues.add("values", "must be an object of chart values");
    issues.throwIfAny(`KueueController "${name}"`);

    super("ml-platform:queueing:KueueController", name, {}, opts);
    this.label = `KueueController "${name}"`;
    this.version = releaseArgs.version as string;
    this.namespace = releaseArgs.namespace as string;
    this.namespaceResource = new k8s.core.v1.Namespace(`${name}`, kueueNamespaceArgs(this.namespace), { parent: this });
    this.release = new k8s.helm.v3.Release(`${name}`, releaseArgs, { parent: this, dependsOn: [this.namespaceResource] });
    this.defaultFlavor = declareFlavor(this, resourceFlavor(DEFAULT_FLAVOR, { nodeLabels: {}, nodeTaints: [] }, { "app.kubernetes.io/managed-by": MANAGED_BY }), DEFAULT_FLAVOR, [this.release]);
    this.registerOutputs({ version: this.version, namespace: this.namespace, status: this.release.status });
  }

  /**
   * The ResourceFlavor of a GPU pool (`gpu-<pool>`): the pool's node selector as node labels and its taint, so
   * Kueue admits GPU work against that pool's quota only when the pods select and tolerate its nodes. Declared
   * once per pool; asking again returns the same flavor.
   */
  gpuFlavor(pool: string, nodes: { scheduling: pulumi.Input<GpuScheduling> }): QueueFlavor {
    const name = gpuFlavorName(pool);
    const existing = this.flavors.get(name);
    if (existing) return existing;
    const problem = dnsLabelProblem(name);
    if (problem) throw new Error(`${this.label}.gpuFlavor: the flavor "${name}" of pool "${pool}" is not a valid name: ${problem}`);
    // The pool validated its node selector and taint; the flavor mirrors them.
    const object = pulumi.output(nodes.scheduling).apply((scheduling) => resourceFlavor(name, flavorNodesOf(scheduling), { "app.kubernetes.io/managed-by": MANAGED_BY }));
    const flavor = declareFlavor(this, object, name, [this.release]);
    this.flavors.set(name, flavor);
    return flavor;
  }
}
