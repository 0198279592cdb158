/**
 * Files the components ship besides code (container scripts, the example trainer) live in the package's
 * source tree. Their paths are resolved from the package root, so they are the same whether the
 * components run from source (ts-node, tests) or compiled from dist/.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const PACKAGE_NAME = "ml-platform";

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === PACKAGE_NAME) return dir;
    if (dirname(dir) === dir) throw new Error(`${PACKAGE_NAME}: no package.json named "${PACKAGE_NAME}" above ${start}`);
  }
}

/** The root of the ml-platform package (where its package.json is). */
export const PACKAGE_ROOT = findPackageRoot(__dirname);

/** The absolute path of a file or folder of the package, e.g. `packagePath("components", "serving", "scripts")`. */
export function packagePath(...segments: string[]): string {
  return join(PACKAGE_ROOT, ...segments);
}
