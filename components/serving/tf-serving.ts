import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SmokeEndpoint } from "../../contracts/smoke-targets";
import type { ModelAccessGrant } from "../storage/model-store-backend";
import { GRPC_PORT, REST_PORT, type TfServingPlan, tfServingPlan } from "./plan";
import {
  serviceHost,
  tfServingAutoscaler,
  tfServingDisruptionBudget,
  tfServingHeadlessService,
  tfServingService,
  tfServingServiceAccount,
} from "./service";
import { tfServingSmokeTarget } from "./smoke-target";
import { groupModelsByStore, modelSyncScripts } from "./sync";
import type { TfServingArgs } from "./types";
import { rolloutDeadlineSeconds, type TfServingRuntime, tfServingDeployment, tfServingDeploymentMetadata } from "./workload";

/**
 * TensorFlow Serving on Kubernetes, fed from model stores: a Deployment whose pods download the wanted
 * complete model versions (init containers), keep them current (sidecars, hot updates through TF
 * Serving's file system polling), and serve them over gRPC (8500) and REST (8501) behind a Service, with
 * an optional headless Service, autoscaler and disruption budget.
 *
 * Every child is exposed below. To change what this component does not expose as an argument, use
 * Pulumi's `transforms` resource option on the component: it applies to every child.
 */
export class TfServing extends pulumi.ComponentResource {
  /** The resolved, validated plan the resources were built from. */
  readonly plan: TfServingPlan;
  readonly serviceAccount: k8s.core.v1.ServiceAccount;
  /** One read grant per distinct model store. */
  readonly grants: ModelAccessGrant[];
  /** models.config, batching and monitoring configs, sync manifests. Replaced on change (rolls the pods). */
  readonly configMap: k8s.core.v1.ConfigMap;
  /** The model sync script. Replaced on change (rolls the pods). */
  readonly scriptsConfigMap: k8s.core.v1.ConfigMap;
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  readonly headlessService?: k8s.core.v1.Service;
  readonly autoscaler?: k8s.autoscaling.v2.HorizontalPodAutoscaler;
  readonly disruptionBudget?: k8s.policy.v1.PodDisruptionBudget;
  /** Name of the main Service. */
  readonly serviceName: pulumi.Output<string>;
  /** Name of the headless Service, when there is one. */
  readonly headlessServiceName: pulumi.Output<string | undefined>;
  /** `<service>.<namespace>.svc.cluster.local:8500`, the gRPC target for clients in the cluster. */
  readonly grpcEndpoint: pulumi.Output<string>;
  /** `http://<service>.<namespace>.svc.cluster.local:8501`, the REST base URL. */
  readonly restEndpoint: pulumi.Output<string>;
  /** This server's entry for the smoke suite's targets file. */
  readonly smokeTarget: pulumi.Output<SmokeEndpoint>;

  constructor(name: string, args: TfServingArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const plan = tfServingPlan(name, args);
    super("ml-platform:serving:TfServing", name, {}, opts);
    this.plan = plan;
    const parent = { parent: this };

    this.serviceAccount = new k8s.core.v1.ServiceAccount(`${name}`, tfServingServiceAccount(plan), parent);

    const groups = groupModelsByStore(args.models);
    this.grants = groups.map((group) =>
      group.store.grantAccess(
        `${name}-store-${group.index}`,
        {
          access: "read",
          models: group.models.map((m) => m.name),
          serviceAccount: { clusterName: args.clusterName, namespace: plan.namespace, name: plan.serviceAccountName },
        },
        parent,
      ),
    );

    // Auto-named and immutable: a change creates a new ConfigMap, which changes the pod template and
    // rolls the pods (with the same probes and zero unavailability as any rollout).
    const configMapMetadata = { namespace: plan.namespace, labels: plan.labels };
    this.configMap = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: configMapMetadata, immutable: true, data: plan.configFiles }, parent);
    this.scriptsConfigMap = new k8s.core.v1.ConfigMap(
      `${name}-scripts`,
      { metadata: configMapMetadata, immutable: true, data: modelSyncScripts() },
      parent,
    );

    const stores = pulumi.all(groups.map((group, i) => pulumi.all([group.store.bucketName, group.store.endpoint, this.grants[i].env])));
    const runtime: pulumi.Output<TfServingRuntime> = pulumi
      .all([this.configMap.metadata.name, this.scriptsConfigMap.metadata.name, stores, args.gpuPool?.scheduling])
      .apply(([configMapName, scriptsConfigMapName, resolvedStores, gpuScheduling]) => ({
        configMapName,
        scriptsConfigMapName,
        stores: resolvedStores.map(([bucketName, endpoint, env]) => ({ bucketName, endpoint, env })),
        gpuScheduling: plan.resources.gpus > 0 ? gpuScheduling : undefined,
      }));
    const rolloutMinutes = Math.ceil(rolloutDeadlineSeconds(plan) / 60) + 5;
    this.deployment = new k8s.apps.v1.Deployment(
      `${name}`,
      { metadata: tfServingDeploymentMetadata(plan), spec: runtime.apply((rt) => tfServingDeployment(plan, rt).spec) },
      {
        parent: this,
        // The pods may only start once their service account can read the stores.
        dependsOn: [this.serviceAccount, ...this.grants.flatMap((grant) => grant.resources)],
        // Pulumi waits for the rollout; a pod may take the whole startup timeout to load its models.
        customTimeouts: { create: `${rolloutMinutes}m`, update: `${rolloutMinutes}m` },
      },
    );

    this.service = new k8s.core.v1.Service(`${name}`, tfServingService(plan), parent);
    const headless = tfServingHeadlessService(plan);
    if (headless) this.headlessService = new k8s.core.v1.Service(`${name}-headless`, headless, parent);
    const autoscaler = tfServingAutoscaler(plan);
    if (autoscaler) this.autoscaler = new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}`, autoscaler, { parent: this, dependsOn: [this.deployment] });
    const budget = tfServingDisruptionBudget(plan);
    if (budget) this.disruptionBudget = new k8s.policy.v1.PodDisruptionBudget(`${name}`, budget, parent);

    this.serviceName = this.service.metadata.name;
    this.headlessServiceName = this.headlessService ? this.headlessService.metadata.name : pulumi.output(undefined as string | undefined);
    this.grpcEndpoint = pulumi.interpolate`${this.serviceName.apply((s) => serviceHost(s, plan.namespace))}:${GRPC_PORT}`;
    this.restEndpoint = pulumi.interpolate`http://${this.serviceName.apply((s) => serviceHost(s, plan.namespace))}:${REST_PORT}`;
    // Resolves once the Services and the Deployment exist, so nobody smoke-tests a server that is not there.
    this.smokeTarget = pulumi
      .all([this.serviceName, this.headlessServiceName, this.deployment.metadata.name])
      .apply(() => tfServingSmokeTarget(plan));

    this.registerOutputs({
      serviceName: this.serviceName,
      headlessServiceName: this.headlessServiceName,
      grpcEndpoint: this.grpcEndpoint,
      restEndpoint: this.restEndpoint,
      smokeTarget: this.smokeTarget,
    });
  }
}
