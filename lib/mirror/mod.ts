/**
 * Build caches ("binary mirrors") behind one {@link Mirror} interface, whatever the backend:
 * {@link openMirror} picks it from a URL (a directory or `file://`, `http(s)://`, `s3://`,
 * `oci://`, `oci+http://`, `oci-layout:`); {@link UrlMirror} serves Spack's URL layout over any
 * object store and {@link OciMirror} Spack's OCI layout over a registry or an image-layout
 * directory; {@link fetchBlob} streams one blob by digest, verified.
 *
 * @example
 * ```ts
 * import { UrlMirror } from "@spackle/spackle/mirror";
 * import { HttpStore } from "@spackle/spackle/storage";
 * const mirror = new UrlMirror(new HttpStore("https://cache.example.org/buildcache"));
 * for (const spec of await mirror.listSpecs()) console.log(spec.node.name, spec.node.hash);
 * ```
 *
 * @module
 */
export { defaultLocalCacheDir } from "./_local_cache.ts";
export { fetchBlob, type FetchBlobOptions } from "./fetch_blob.ts";
export { MirrorChain, MirrorChainError, type MirrorChainOptions } from "./chain.ts";
export { OciMirror, type OciMirrorOptions } from "./oci.ts";
export { openMirror, type OpenMirrorOptions } from "./open.ts";
export type {
  CacheEntry,
  Mirror,
  PushedTarball,
  PushReceipt,
  TarballRef,
  UpdateIndexOptions,
} from "./types.ts";
export { UrlMirror, type UrlMirrorOptions } from "./url.ts";
