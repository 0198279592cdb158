/**
 * The store's version contract (docs/model-delivery.md) written independently of publish-version.sh, so
 * tests can lay out many versions quickly and craft damaged ones; a test checks that the script writes the
 * same bytes.
 */
import { createHash } from "node:crypto";

export type FileContents = Record<string, string | Buffer>;

export const MANIFEST_HEADER = "ml-platform-manifest v1";

export const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** `_MANIFEST` for these files: the header, then `<sha256> <size> <path>` per file, in byte order of path. */
export function manifestText(files: FileContents): string {
  const paths = Object.keys(files).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const lines = paths.map((path) => {
    const body = Buffer.from(files[path]!);
    return `${sha256(body)} ${body.length} ${path}`;
  });
  return [MANIFEST_HEADER, ...lines, ""].join("\n");
}

/** `_SUCCESS` naming a manifest: `<sha256 of _MANIFEST>  _MANIFEST`. */
export function successMarker(manifest: string): string {
  return `${sha256(manifest)}  _MANIFEST\n`;
}

/** The objects of one published version, relative to its folder: the files, `_MANIFEST` and `_SUCCESS`. */
export function publishedVersion(files: FileContents): FileContents {
  const manifest = manifestText(files);
  return { ...files, _MANIFEST: manifest, _SUCCESS: successMarker(manifest) };
}

/** Prefixes every path with `<folder>/`. */
export function under(folder: string, files: FileContents): FileContents {
  return Object.fromEntries(Object.entries(files).map(([path, body]) => [`${folder}/${path}`, body]));
}
