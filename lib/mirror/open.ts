/**
 * `openMirror`: a {@link Mirror} for a URL or path.
 *
 * @module
 */
import { MirrorNotFoundError, UsageError } from "../errors.ts";
import { redactUserinfo } from "../net/http.ts";
import { isOciUrl } from "../registry/reference.ts";
import { isOciLayoutUrl, OCI_LAYOUT_SCHEME } from "../oci/open.ts";
import { FsStore, localPath } from "../storage/fs.ts";
import { HttpStore, type HttpStoreOptions } from "../storage/http.ts";
import { S3Store, type S3StoreOptions } from "../storage/s3.ts";
import { exists } from "../stream/io.ts";
import { OciMirror, type OciMirrorOptions } from "./oci.ts";
import type { Mirror } from "./types.ts";
import { UrlMirror, type UrlMirrorOptions } from "./url.ts";

/**
 * Options of {@link openMirror}: those of the URL-layout and the OCI mirror, and of the HTTP and
 * S3 stores under URL-layout caches.
 */
export type OpenMirrorOptions = UrlMirrorOptions & OciMirrorOptions & {
  /** Settings of `http(s)://` caches (authorization, retries). */
  http?: HttpStoreOptions;
  /** Settings of `s3://` caches (endpoint, region, credentials or profile). */
  s3?: S3StoreOptions;
};

/**
 * Opens the build cache at `url`: a `file://` URL or a plain directory path (Spack URL layout v3,
 * legacy v2 read as well), or an OCI registry repository `oci://host[:port]/repo` (HTTPS) or
 * `oci+http://…` (plain HTTP), laid out as Spack's OCI build caches, or the same images in an OCI
 * image-layout directory: `oci-layout:PATH`, or any directory holding an `oci-layout` file.
 * Opening does not change the cache; a missing directory is created by the first push, and
 * reading one (listing it) throws a `MirrorNotFoundError`.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * const mirror = await openMirror("./my-cache");
 * for (const spec of await mirror.listSpecs()) console.log(spec.node.name, spec.node.version);
 * ```
 *
 * `http(s)://` (read-only) and `s3://` URLs are URL-layout caches over {@link HttpStore} and
 * {@link S3Store}.
 *
 * @throws {MirrorNotFoundError} for a path that is a file, not a directory.
 * @throws {UsageError} for other URL schemes (`gs://`, …) and URL typos (`oci:/host/x`).
 * @throws {FormatError} for a malformed OCI reference.
 */
export async function openMirror(url: string, options: OpenMirrorOptions = {}): Promise<Mirror> {
  if (isOciUrl(url) || isOciLayoutUrl(url)) return new OciMirror(url, options);
  // `oci:/host/x`, `https:host`: a URL typo, not a directory named "oci:".
  const typo = /^(oci|oci\+http|https?|s3|file):(?!\/\/)/i.exec(url)?.[1];
  if (typo) {
    throw new UsageError(
      `malformed mirror URL ${redactUserinfo(url)}: expected ${typo.toLowerCase()}://…`,
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "http" || scheme === "https") {
    return new UrlMirror(new HttpStore(url, options.http), options);
  }
  if (scheme === "s3") return new UrlMirror(new S3Store(url, options.s3), options);
  if (scheme && scheme !== "file") {
    throw new UsageError(`mirror URL scheme ${scheme}:// is not supported yet: ${url}`);
  }
  const path = localPath(url);
  const info = await Deno.stat(path).catch(() => undefined);
  if (info && !info.isDirectory) throw new MirrorNotFoundError(path, "not a directory");
  if (await exists(`${path}/oci-layout`)) return new OciMirror(OCI_LAYOUT_SCHEME + path, options);
  return new UrlMirror(new FsStore(url), options);
}
