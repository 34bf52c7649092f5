/**
 * Spack's build cache formats, without Spack: URL layout v3 object keys and media types, the
 * manifests that list an entry's blobs (clearsigned or not), spec blobs, the cache index
 * (`index.json`), the `.spack/binary_distribution` build info inside a tarball, and the object
 * keys of legacy layout v2 (build cache format reference §1–§3). The public keys a cache
 * publishes are in `@spackle/spackle/signing`.
 *
 * @example
 * ```ts
 * import {
 *   blobKey,
 *   INDEX_MANIFEST_KEY,
 *   parseIndex,
 *   parseManifest,
 * } from "@spackle/spackle/buildcache";
 * const root = "./buildcache";
 * const manifestPath = `${root}/${INDEX_MANIFEST_KEY}`;
 * const [record] = parseManifest(await Deno.readTextFile(manifestPath), manifestPath).data;
 * const indexPath = `${root}/${blobKey(record.checksumAlgorithm, record.checksum)}`;
 * for (const [hash, { node }] of parseIndex(await Deno.readTextFile(indexPath), indexPath)) {
 *   console.log(hash, node.name, node.version);
 * }
 * ```
 *
 * @module
 */
export { type BuildInfo, parseBuildInfo, serializeBuildInfo } from "./buildinfo.ts";
export { buildIndex, IndexBuilder, type IndexRecord, parseIndex } from "./index.ts";
export {
  blobKey,
  hashFromManifestKey,
  INDEX_MANIFEST_KEY,
  LAYOUT_JSON,
  LAYOUT_JSON_KEY,
  LAYOUT_VERSION,
  MEDIA_INDEX,
  MEDIA_KEY_INDEX,
  MEDIA_PGP_KEY,
  MEDIA_SPEC,
  MEDIA_TARBALL,
  SPEC_MANIFEST_DIR,
  SPEC_MANIFEST_SUFFIX,
  specManifestKey,
} from "./layout.ts";
export {
  type BlobRecord,
  type BuildcacheManifest,
  findRecord,
  parseManifest,
  serializeManifest,
  stripClearsign,
} from "./manifest.ts";
export { parseSpecBlob, specBlobJson } from "./spec_blob.ts";
export { checkEntrySpec, type EntryIdentity } from "./identity.ts";
export { V2_INDEX_KEY, v2SpecFileKeys, v2TarballKey } from "./v2.ts";
