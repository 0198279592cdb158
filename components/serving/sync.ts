/**
 * The model sync containers' side of TfServing: the script they run (scripts/model-sync.sh), and the
 * manifest that tells it, per store, which models to fetch under which policy. Pure functions.
 *
 * Models may come from several stores, and each store may need different credentials (a grant's env), so
 * there is one init container and one sidecar per distinct store, each with its own manifest.
 */
import { join } from "node:path";
import type { ModelStoreBackend } from "../storage/model-store-backend";
import type { ServedModel, VersionPolicy } from "./types";
import { loadContainerScripts } from "../common/container-scripts";
import { packagePath } from "../common/package-files";
import { storeSyncLibScripts } from "../storage/version-publishing";

export const SCRIPTS_DIR = packagePath("components", "serving", "scripts");
export const MODEL_SYNC_SCRIPT = "model-sync.sh";
/** Absolute path of the sync script in this package. It runs beside its helpers: see `modelSyncScripts`. */
export const MODEL_SYNC_SCRIPT_PATH = join(SCRIPTS_DIR, MODEL_SYNC_SCRIPT);

/** ConfigMap data (file name -> script): model-sync.sh and the helpers it sources. */
export function modelSyncScripts(): Record<string, string> {
  return { ...loadContainerScripts(SCRIPTS_DIR, [MODEL_SYNC_SCRIPT]), ...storeSyncLibScripts() };
}

export interface SyncManifestModel {
  name: string;
  versionPolicy: VersionPolicy;
  /** Versions that must exist (labelled versions); only meaningful with `{ all: true }`. */
  versionLabels?: Record<string, number>;
}

/** One manifest line: `<model> latest <n>`, `<model> all [<v>,...]` or `<model> specific <v>,...`. */
export function syncManifestLine(model: SyncManifestModel): string {
  const policy = model.versionPolicy;
  if ("latest" in policy) return `${model.name} latest ${policy.latest}`;
  if ("specific" in policy) return `${model.name} specific ${[...new Set(policy.specific)].sort((a, b) => a - b).join(",")}`;
  const required = [...new Set(Object.values(model.versionLabels ?? {}))].sort((a, b) => a - b);
  return required.length > 0 ? `${model.name} all ${required.join(",")}` : `${model.name} all`;
}

/** The manifest file of one store's sync containers. */
export function syncManifestText(models: readonly SyncManifestModel[]): string {
  return ["# model-sync.sh manifest rendered by ml-platform TfServing: <model> <policy> [<argument>]", ...models.map(syncManifestLine), ""].join("\n");
}

export interface StoreGroup {
  store: ModelStoreBackend;
  /** Position of the store by first use in `models`; names its containers, grant and manifest. */
  index: number;
  models: ServedModel[];
}

/** Groups models by store (object identity), in order of first use. */
export function groupModelsByStore(models: readonly ServedModel[]): StoreGroup[] {
  const groups = new Map<ModelStoreBackend, StoreGroup>();
  for (const model of models) {
    let group = groups.get(model.store);
    if (!group) {
      group = { store: model.store, index: groups.size, models: [] };
      groups.set(model.store, group);
    }
    group.models.push(model);
  }
  return [...groups.values()];
}

/** File name of store `index`'s manifest in the config ConfigMap. */
export function syncManifestFile(index: number): string {
  return `sync-store-${index}.models`;
}
