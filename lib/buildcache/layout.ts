/**
 * Spack build cache URL layout v3: object keys, media types and file names
 * (build cache format reference §1.1–§1.3, §1.8).
 *
 * @module
 */
import { politeFilename, type SpecNode } from "../spec/spec.ts";

/** The build cache layout version Spackle writes. */
export const LAYOUT_VERSION = 3;
/** Media type of a package tarball blob (gzip tar). */
export const MEDIA_TARBALL = "application/vnd.spack.install.v2.tar+gzip";
/** Media type of a spec metadata blob as Spack 1.x writes and looks it up. */
export const MEDIA_SPEC = "application/vnd.spack.spec.v5+json";
/** Media type of an index blob (Spack database v8). */
export const MEDIA_INDEX = "application/vnd.spack.db.v8+json";
/** Media type of a public key blob. */
export const MEDIA_PGP_KEY = "application/pgp-keys";
/** Media type of the key index blob. */
export const MEDIA_KEY_INDEX = "application/vnd.spack.keyindex.v1+json";

/** Key of the layout descriptor. */
export const LAYOUT_JSON_KEY = "v3/layout.json";
/** Exact bytes Spack writes to `v3/layout.json` (Python `json.dump` defaults, no newline). */
export const LAYOUT_JSON = '{"signing": "gpg"}';
/** Key of the top-level index manifest. */
export const INDEX_MANIFEST_KEY = "v3/manifests/index/index.manifest.json";
/** Directory (key prefix) of the spec manifests. */
export const SPEC_MANIFEST_DIR = "v3/manifests/spec";
/** Suffix of spec manifest keys. */
export const SPEC_MANIFEST_SUFFIX = ".spec.manifest.json";

/**
 * `v3/manifests/spec/<name>/<name>-<version>-<hash>.spec.manifest.json` for `node`.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { specManifestKey } from "@spackle/spackle/buildcache";
 * const specs = await (await openMirror("./cache")).listSpecs();
 * specManifestKey(specs[0].node); // "v3/manifests/spec/zlib-ng/zlib-ng-2.2.4-<hash>.spec.manifest.json"
 * ```
 */
export function specManifestKey(node: SpecNode): string {
  const version = (node.version ?? "").replace(/^=/, "");
  return `${SPEC_MANIFEST_DIR}/${node.name}/${
    politeFilename(`${node.name}-${version}-${node.hash}`)
  }${SPEC_MANIFEST_SUFFIX}`;
}

/**
 * The DAG hash encoded in a spec manifest key: the last `-` token of the file name without
 * {@link SPEC_MANIFEST_SUFFIX} (versions hold dots, so the first `.` is not the end of the hash).
 *
 * @example
 * ```ts
 * import { hashFromManifestKey } from "@spackle/spackle/buildcache";
 * hashFromManifestKey("v3/manifests/spec/zlib/zlib-1.3-abc.spec.manifest.json"); // "abc"
 * ```
 */
export function hashFromManifestKey(key: string): string {
  const file = key.slice(key.lastIndexOf("/") + 1);
  const stem = file.endsWith(SPEC_MANIFEST_SUFFIX)
    ? file.slice(0, -SPEC_MANIFEST_SUFFIX.length)
    : file.slice(0, file.indexOf("."));
  return stem.slice(stem.lastIndexOf("-") + 1);
}

/**
 * `blobs/<algorithm>/<first two hex>/<checksum>`.
 *
 * @example
 * ```ts
 * import { blobKey } from "@spackle/spackle/buildcache";
 * blobKey("sha256", "3c8d8d22"); // "blobs/sha256/3c/3c8d8d22"
 * ```
 */
export function blobKey(algorithm: string, checksum: string): string {
  return `blobs/${algorithm}/${checksum.slice(0, 2)}/${checksum}`;
}
