/**
 * The store's version contract (docs/model-delivery.md): a version is `<prefix>/<name>/<version>/` with its
 * files, a `_MANIFEST` listing every file with its size and SHA-256, and `_SUCCESS` written last, naming the
 * manifest's SHA-256. `publish-version.sh` (a real file next to this module) is the one uploader that writes
 * it; components that upload versions ship it in their scripts ConfigMap and call it from their own scripts.
 */
import { join } from "node:path";
import { loadContainerScripts } from "../common/container-scripts";
import { packagePath } from "../common/package-files";

/** Directory of the store's container scripts in this package. */
export const STORE_SCRIPTS_DIR = packagePath("components", "storage", "scripts");

/**
 * `publish-version.sh SOURCE_DIR s3://BUCKET/PREFIX/NAME/VERSION/`: uploads the files, then `_MANIFEST`,
 * then `_SUCCESS`. Exit status 0 complete (or already complete, left untouched), 1 bad arguments or nothing
 * publishable, 75 the store failed (worth retrying). Needs `/bin/sh`, coreutils, `find` and the AWS CLI v2.
 */
export const PUBLISH_VERSION_SCRIPT = "publish-version.sh";
/** Absolute path of the uploader in this package (tests run it from here). */
export const PUBLISH_VERSION_SCRIPT_PATH = join(STORE_SCRIPTS_DIR, PUBLISH_VERSION_SCRIPT);

/** File names of the contract, inside each version's folder. */
export const VERSION_MANIFEST_FILE = "_MANIFEST";
export const VERSION_MARKER_FILE = "_SUCCESS";
/** First line of a version manifest in format 1. */
export const VERSION_MANIFEST_HEADER = "ml-platform-manifest v1";
/** The largest version number TF Serving can load (int64). */
export const MAX_VERSION_NUMBER = "9223372036854775807";

/**
 * Shell helpers (log, aws_store, is_version, ...) that the scripts copying from the store source: model-sync.sh
 * and log-sync.sh. Whoever ships one of them ships this beside it (`storeSyncLibScripts`).
 */
export const STORE_SYNC_LIB = "store-sync-lib.sh";

/** ConfigMap data (file name -> script) with the store sync helpers, for a scripts ConfigMap. */
export function storeSyncLibScripts(): Record<string, string> {
  return loadContainerScripts(STORE_SCRIPTS_DIR, [STORE_SYNC_LIB]);
}

/** ConfigMap data (file name -> script) with the uploader, for a component's scripts ConfigMap. */
export function publishVersionScripts(): Record<string, string> {
  return loadContainerScripts(STORE_SCRIPTS_DIR, [PUBLISH_VERSION_SCRIPT]);
}
