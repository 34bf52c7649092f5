/**
 * `openMirror`: a {@link Mirror} for a URL or path.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { isOciUrl } from "../registry/reference.ts";
import { FsStore } from "../storage/fs.ts";
import { OciMirror, type OciMirrorOptions } from "./oci.ts";
import type { Mirror } from "./types.ts";
import { UrlMirror, type UrlMirrorOptions } from "./url.ts";

/** Options of {@link openMirror}: those of the URL-layout and the OCI mirror. */
export type OpenMirrorOptions = UrlMirrorOptions & OciMirrorOptions;

/**
 * Opens the build cache at `url`: a `file://` URL or a plain directory path (Spack URL layout v3,
 * legacy v2 read as well), or an OCI registry repository `oci://host[:port]/repo` (HTTPS) or
 * `oci+http://…` (plain HTTP), laid out as Spack's OCI build caches. Opening does not touch the
 * cache; a missing directory reads as empty and is created by the first push.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * const mirror = await openMirror("./my-cache");
 * for (const spec of await mirror.listSpecs()) console.log(spec.node.name, spec.node.version);
 * ```
 *
 * @throws {UsageError} for URL schemes this version does not reach yet (`http(s)://`, `s3://`).
 * @throws {FormatError} for a malformed OCI reference.
 */
export function openMirror(url: string, options: OpenMirrorOptions = {}): Promise<Mirror> {
  if (isOciUrl(url)) return Promise.resolve(new OciMirror(url, options));
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme && scheme !== "file") {
    return Promise.reject(
      new UsageError(`mirror URL scheme ${scheme}:// is not supported yet: ${url}`),
    );
  }
  return Promise.resolve(new UrlMirror(new FsStore(url), options));
}
