/* eslint-disable @typescript-eslint/no-explicit-any -- CEL equivalents walk arbitrary JSON */
/**
 * Validators for the Kueue objects the platform renders (ResourceFlavor, ClusterQueue, LocalQueue of
 * `kueue.x-k8s.io/v1beta2`), against the CRDs of the Kueue release the platform pins (KUEUE_VERSION): read from
 * Kueue's Go module (`config/components/crd/bases/`, the CRDs its chart installs), which `go mod download`
 * caches once. Importing this module registers them with the Kubernetes schema harness; validation is strict
 * (unknown fields are errors) and covers the CRDs' CEL rules through the equivalents below.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { KUEUE_API_VERSION, KUEUE_VERSION } from "../../components/queueing/kueue-objects";
import { celHas as has, registerCelRule, type Schema, validateAgainstCrd } from "./crd-schema";
import { goModuleDir } from "./go-modules";
import { registerCustomResourceValidator } from "./kubernetes-schema";
import type { PropertyMap } from "./pulumi-mocks";

export const KUEUE_MODULE = "sigs.k8s.io/kueue";

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema: { openAPIV3Schema: Schema };
}
interface Crd {
  spec: { group: string; scope: "Namespaced" | "Cluster"; names: { kind: string; plural: string }; versions: CrdVersion[] };
}

/** The CRD of a Kueue kind (by its plural) at the pinned version, as Kueue's module ships it. */
export function kueueCrd(plural: string): Crd {
  const dir = goModuleDir(KUEUE_MODULE, `v${KUEUE_VERSION}`);
  return parse(readFileSync(join(dir, "config", "components", "crd", "bases", `kueue.x-k8s.io_${plural}.yaml`), "utf8")) as Crd;
}

// Equivalents of the CEL rules on the parts of these kinds (rule text as in the CRDs). Rules that read oldSelf
// apply to updates only and are skipped.
const all = <T>(list: T[] | undefined, test: (x: T) => boolean) => (list ?? []).every(test);
const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
registerCelRule(
  "!has(self.cohortName) && has(self.resourceGroups) ? self.resourceGroups.all(rg, rg.flavors.all(f, f.resources.all(r, !has(r.borrowingLimit)))) : true",
  (self) => !(!has(self, "cohortName") && has(self, "resourceGroups")) || all(self.resourceGroups, (rg: any) => all(rg.flavors, (f: any) => all(f.resources, (r: any) => !has(r, "borrowingLimit")))),
);
registerCelRule(
  "!has(self.preference) || (self.whenCanBorrow == 'TryNextFlavor' && self.whenCanPreempt == 'TryNextFlavor')",
  (self) => !has(self, "preference") || (self.whenCanBorrow === "TryNextFlavor" && self.whenCanPreempt === "TryNextFlavor"),
);
registerCelRule(
  "!(self.reclaimWithinCohort == 'Never' && has(self.borrowWithinCohort) && self.borrowWithinCohort.policy != 'Never')",
  (self) => !(self.reclaimWithinCohort === "Never" && has(self, "borrowWithinCohort") && self.borrowWithinCohort.policy !== "Never"),
);
registerCelRule("self.flavors.all(x, size(x.resources) == size(self.coveredResources))", (self) => all(self.flavors, (x: any) => (x.resources ?? []).length === (self.coveredResources ?? []).length));
registerCelRule("!has(self.topologyName) || self.nodeLabels.size() >= 1", (self) => !has(self, "topologyName") || Object.keys(self.nodeLabels ?? {}).length >= 1);
registerCelRule("self.all(x, x.effect in ['NoSchedule', 'PreferNoSchedule', 'NoExecute'])", (self) => all(self, (x: any) => TAINT_EFFECTS.includes(x.effect)));
registerCelRule("self.all(x, !has(x.key) ? x.operator == 'Exists' : true)", (self) => all(self, (x: any) => has(x, "key") || x.operator === "Exists"));
registerCelRule("self.all(x, has(x.tolerationSeconds) ? x.effect == 'NoExecute' : true)", (self) => all(self, (x: any) => !has(x, "tolerationSeconds") || x.effect === "NoExecute"));
registerCelRule("self.all(x, !has(x.operator) || x.operator in ['Equal', 'Exists'])", (self) => all(self, (x: any) => !has(x, "operator") || ["Equal", "Exists"].includes(x.operator)));
registerCelRule("self.all(x, has(x.operator) && x.operator == 'Exists' ? !has(x.value) : true)", (self) => all(self, (x: any) => !(has(x, "operator") && x.operator === "Exists") || !has(x, "value")));
registerCelRule("self.all(x, !has(x.effect) || x.effect in ['NoSchedule', 'PreferNoSchedule', 'NoExecute'])", (self) => all(self, (x: any) => !has(x, "effect") || TAINT_EFFECTS.includes(x.effect)));

/** A validator of one Kueue kind, from its CRD's `v1beta2` schema (loaded on first use). */
function kueueValidator(plural: string) {
  let loaded: { schema: Schema; kind: string; namespaced: boolean } | undefined;
  return (object: PropertyMap) => {
    if (!loaded) {
      const crd = kueueCrd(plural);
      const version = crd.spec.versions.find((v) => `${crd.spec.group}/${v.name}` === KUEUE_API_VERSION);
      if (!version?.served) throw new Error(`Kueue v${KUEUE_VERSION}'s ${plural} CRD does not serve ${KUEUE_API_VERSION}`);
      loaded = { schema: version.schema.openAPIV3Schema, kind: crd.spec.names.kind, namespaced: crd.spec.scope === "Namespaced" };
    }
    return validateAgainstCrd(object, loaded.schema, { apiVersion: KUEUE_API_VERSION, kind: loaded.kind, namespaced: loaded.namespaced });
  };
}

export const validateResourceFlavor = kueueValidator("resourceflavors");
export const validateClusterQueue = kueueValidator("clusterqueues");
export const validateLocalQueue = kueueValidator("localqueues");

registerCustomResourceValidator(KUEUE_API_VERSION, "ResourceFlavor", validateResourceFlavor);
registerCustomResourceValidator(KUEUE_API_VERSION, "ClusterQueue", validateClusterQueue);
registerCustomResourceValidator(KUEUE_API_VERSION, "LocalQueue", validateLocalQueue);
