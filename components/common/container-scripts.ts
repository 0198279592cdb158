/**
 * Scripts that run inside containers (model sync, upload, entrypoint wrappers) are real files next to the
 * component that ships them, tested as files, and mounted into pods from a ConfigMap. Never build shell
 * code in TypeScript strings.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as pulumi from "@pulumi/pulumi";

/** Where script ConfigMaps are mounted in containers. */
export const SCRIPTS_MOUNT_PATH = "/opt/ml-platform/bin";

/** Reads script files from `<dir>/<file>` into ConfigMap data (file name -> content). */
export function loadContainerScripts(dir: string, files: readonly string[]): Record<string, string> {
  return Object.fromEntries(files.map((file) => [file, readFileSync(join(dir, file), "utf8")]));
}

/** A pod volume that mounts a scripts ConfigMap with every file executable (0555). */
export function scriptsVolume(volumeName: string, configMapName: pulumi.Input<string>) {
  return { name: volumeName, configMap: { name: configMapName, defaultMode: 0o555 } };
}

/** The matching read-only volume mount at `SCRIPTS_MOUNT_PATH`. */
export function scriptsVolumeMount(volumeName: string) {
  return { name: volumeName, mountPath: SCRIPTS_MOUNT_PATH, readOnly: true };
}
