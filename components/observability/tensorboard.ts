import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ModelAccessGrant } from "../storage/model-store-backend";
import type { TensorBoardArgs } from "./args";
import { logSyncScripts, tensorBoardGrantName, type TensorBoardPlan, tensorBoardPlan } from "./plan";
import {
  tensorBoardDeployment,
  tensorBoardDeploymentMetadata,
  tensorBoardLocalUrl,
  tensorBoardPortForwardCommand,
  type TensorBoardRuntime,
  tensorBoardService,
  tensorBoardServiceAccount,
  tensorBoardUrl,
} from "./workload";

/**
 * TensorBoard for the training runs of some models: a Deployment whose log sync sidecars (one per store) copy
 * `logs/<model>/` from the stores, where TrainingJob's pods upload them, into TensorBoard's log directory, and
 * a ClusterIP Service on port 6006. TensorBoard has no authentication, so nothing here exposes it outside the
 * cluster: reach it with `kubectl port-forward` (the `portForwardCommand` output), or put an authenticating
 * proxy in front of the Service (docs/tensorboard.md).
 *
 * Declares a ServiceAccount `<name>-tensorboard` with a read grant for the models' logs (and nothing else) in
 * each store, a ConfigMap with the log sync script, the Deployment and the Service `<name>-tensorboard`.
 */
export class TensorBoard extends pulumi.ComponentResource {
  /** The resolved, validated plan the resources were built from. */
  readonly plan: TensorBoardPlan;
  readonly serviceAccount: k8s.core.v1.ServiceAccount;
  /** One read grant per distinct store: `logs/<model>/` of its models only. */
  readonly grants: ModelAccessGrant[];
  /** The log sync script. Replaced on change (rolls the pod). */
  readonly scriptsConfigMap: k8s.core.v1.ConfigMap;
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  /** Name of the Service. */
  readonly serviceName: pulumi.Output<string>;
  /** `http://<service>.<namespace>.svc.cluster.local:6006/` (with `pathPrefix`), for clients and proxies in the cluster. */
  readonly url: pulumi.Output<string>;
  /** `kubectl port-forward --namespace <namespace> service/<service> 6006:6006`: then open `localUrl`. */
  readonly portForwardCommand: pulumi.Output<string>;
  /** `http://127.0.0.1:6006/` (with `pathPrefix`): where TensorBoard answers while the port-forward runs. */
  readonly localUrl: pulumi.Output<string>;

  constructor(name: string, args: TensorBoardArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const plan = tensorBoardPlan(name, args);
    super("ml-platform:observability:TensorBoard", name, {}, opts);
    this.plan = plan;
    const parent = { parent: this };

    this.serviceAccount = new k8s.core.v1.ServiceAccount(plan.objectName, tensorBoardServiceAccount(plan), parent);
    // Read access to the models' logs only: never their versions, checkpoints or other models.
    this.grants = plan.stores.map((group) =>
      group.store.grantAccess(
        tensorBoardGrantName(name, group.index),
        {
          access: "read",
          models: [],
          scopes: group.models.map((model) => ({ area: "logs" as const, model, access: "read" as const })),
          serviceAccount: { clusterName: args.clusterName, namespace: plan.namespace, name: plan.objectName },
        },
        parent,
      ),
    );
    // Auto-named and immutable: a new script creates a new ConfigMap, which rolls the pod.
    this.scriptsConfigMap = new k8s.core.v1.ConfigMap(
      `${plan.objectName}-scripts`,
      { metadata: { namespace: plan.namespace, labels: plan.labels }, immutable: true, data: logSyncScripts() },
      parent,
    );

    const stores = pulumi.all(plan.stores.map((group, i) => pulumi.all([group.store.bucketName, group.store.endpoint, this.grants[i]!.env])));
    const runtime: pulumi.Output<TensorBoardRuntime> = pulumi.all([this.scriptsConfigMap.metadata.name, stores]).apply(([scriptsConfigMapName, resolved]) => ({
      scriptsConfigMapName,
      stores: resolved.map(([bucketName, endpoint, env]) => ({ bucketName, endpoint, env })),
    }));
    this.deployment = new k8s.apps.v1.Deployment(
      plan.objectName,
      { metadata: tensorBoardDeploymentMetadata(plan), spec: runtime.apply((rt) => tensorBoardDeployment(plan, rt).spec) },
      {
        parent: this,
        // The pod may only start once its service account can read the stores.
        dependsOn: [this.serviceAccount, ...this.grants.flatMap((grant) => grant.resources)],
        // Pulling the TensorFlow image the first time can take minutes.
        customTimeouts: { create: "20m", update: "20m" },
      },
    );
    this.service = new k8s.core.v1.Service(plan.objectName, tensorBoardService(plan), parent);

    this.serviceName = this.service.metadata.name;
    // Resolve once the Deployment and Service exist, so nobody is pointed at a TensorBoard that is not there.
    const ready = pulumi.all([this.serviceName, this.deployment.metadata.name]);
    this.url = ready.apply(() => tensorBoardUrl(plan));
    this.portForwardCommand = ready.apply(() => tensorBoardPortForwardCommand(plan));
    this.localUrl = ready.apply(() => tensorBoardLocalUrl(plan));
    this.registerOutputs({ serviceName: this.serviceName, url: this.url, portForwardCommand: this.portForwardCommand, localUrl: this.localUrl });
  }
}
