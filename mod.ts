/**
 * Spackle: Spack binary build caches from Deno and TypeScript, without Spack.
 *
 * Open a build cache with {@link openMirror}, an install tree with {@link openStore}; push with
 * {@link pushSpecs}; install (download, verify, extract, relocate) with {@link installSpecs}.
 * The building blocks are exported too: the relocation engine ({@link relocate}), the tarball
 * writer and safe extractor, the build cache formats and an OCI registry client.
 *
 * @example
 * ```ts
 * import { installSpecs, openMirror } from "@spackle/spackle";
 * const mirror = await openMirror("./buildcache");
 * const specs = await mirror.listSpecs();
 * await installSpecs(mirror, specs, { root: "/opt/sw", checkSignature: false });
 * ```
 *
 * @module
 */
export * from "./lib/errors.ts";
export * from "./lib/events.ts";
export { openMirror, type OpenMirrorOptions } from "./lib/mirror/open.ts";
export type {
  CacheEntry,
  Mirror,
  PushedTarball,
  PushReceipt,
  TarballRef,
} from "./lib/mirror/types.ts";
export { UrlMirror, type UrlMirrorOptions } from "./lib/mirror/url.ts";
export { OciMirror, type OciMirrorOptions } from "./lib/mirror/oci.ts";
export * from "./lib/registry/mod.ts";
export * from "./lib/oci/mod.ts";
export * from "./lib/image/mod.ts";
export * from "./lib/signing/mod.ts";
export { FsStore, localPath } from "./lib/storage/fs.ts";
export * from "./lib/storage/http.ts";
export * from "./lib/storage/s3.ts";
export type { ObjectStore } from "./lib/storage/types.ts";
export { PushError, type PushOptions, type PushResult, pushSpecs } from "./lib/push/push.ts";
export { createSpecTarball, type SpecTarball, type TarballBuildInfo } from "./lib/push/tarball.ts";
export * from "./lib/copy/mod.ts";
export * from "./lib/config/mod.ts";
export { type InstallOptions, type InstallResult, installSpecs } from "./lib/install/install.ts";
export { buildPrefixMap, type InstallLayout } from "./lib/install/prefix_map.ts";
export { relocatePrefix, type RelocationSummary } from "./lib/install/relocate_prefix.ts";
export * from "./lib/relocate/mod.ts";
export * from "./lib/relocate/elf.ts";
export * from "./lib/relocate/links.ts";
export * from "./lib/relocate/sbang.ts";
export * from "./lib/tar/mod.ts";
export * from "./lib/store/mod.ts";
export * from "./lib/spec/spec.ts";
export * from "./lib/spec/select.ts";
export { base32, dagHash } from "./lib/spec/hash.ts";
export { compactJson, indent0Json } from "./lib/spec/json.ts";
export * from "./lib/buildcache/layout.ts";
export * from "./lib/buildcache/manifest.ts";
export * from "./lib/buildcache/index.ts";
export * from "./lib/buildcache/spec_blob.ts";
export * from "./lib/buildcache/buildinfo.ts";
export {
  type HashTap,
  hashTap,
  sha256Hex,
  type StreamDigest,
  verifySha256,
} from "./lib/stream/digest.ts";
export { gunzipStream, gzipStream } from "./lib/stream/gzip.ts";
