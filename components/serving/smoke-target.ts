/** What the smoke suite should check on a TfServing (contracts/smoke-targets.ts). Pure. */
import type { SmokeEndpoint, SmokeModelTarget } from "../../contracts/smoke-targets";
import { GRPC_PORT, type TfServingPlan } from "./plan";
import { serviceHost } from "./service";

/**
 * The smoke target of a TfServing: its gRPC Service, its pods (through the headless Service), and per
 * model what must be served: each labelled version under its label, each other `specific` version, or
 * (for `latest` and `all`) any available version.
 */
export function tfServingSmokeTarget(plan: TfServingPlan): SmokeEndpoint {
  const models: SmokeModelTarget[] = plan.models.flatMap((model) => {
    const targets: SmokeModelTarget[] = Object.entries(model.versionLabels).map(([label, version]) => ({ name: model.name, version, label }));
    const labelled = new Set(Object.values(model.versionLabels));
    if ("specific" in model.versionPolicy) {
      for (const version of model.versionPolicy.specific) if (!labelled.has(version)) targets.push({ name: model.name, version });
    }
    return targets.length > 0 ? targets : [{ name: model.name }];
  });
  return {
    name: plan.name,
    grpc: `${serviceHost(plan.serviceName, plan.namespace)}:${GRPC_PORT}`,
    ...(plan.headlessServiceName ? { pods: { dns: `${serviceHost(plan.headlessServiceName, plan.namespace)}:${GRPC_PORT}` } } : {}),
    models,
  };
}
