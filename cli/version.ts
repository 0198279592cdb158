/**
 * The version of the installed ml-platform package, from its package.json: found upwards from this
 * file, so the same code works from the sources (cli/) and compiled (dist/cli/), in this repository
 * and in a consumer's node_modules.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const PACKAGE_NAME = "ml-platform";

export function packageVersion(start: string = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string };
      if (pkg.name === PACKAGE_NAME && pkg.version) return pkg.version;
    }
    if (path.dirname(dir) === dir) throw new Error(`no package.json of ${PACKAGE_NAME} above ${start}`);
  }
}
