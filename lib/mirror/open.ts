/**
 * `openMirror`: a {@link Mirror} for a URL or path.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { isOciUrl } from "../registry/reference.ts";
import { isOciLayoutUrl, OCI_LAYOUT_SCHEME } from "../oci/open.ts";
import { FsStore, localPath } from "../storage/fs.ts";
import { exists } from "../stream/io.ts";
import { OciMirror, type OciMirrorOptions } from "./oci.ts";
import type { Mirror } from "./types.ts";
import { UrlMirror, type UrlMirrorOptions } from "./url.ts";

/** Options of {@link openMirror}: those of the URL-layout and the OCI mirror. */
export type OpenMirrorOptions = UrlMirrorOptions & OciMirrorOptions;

/**
 * Opens the build cache at `url`: a `file://` URL or a plain directory path (Spack URL layout v3,
 * legacy v2 read as well), or an OCI registry repository `oci://host[:port]/repo` (HTTPS) or
 * `oci+http://…` (plain HTTP), laid out as Spack's OCI build caches, or the same images in an OCI
 * image-layout directory: `oci-layout:PATH`, or any directory holding an `oci-layout` file.
 * Opening does not change the cache; a missing directory reads as empty and is created by the
 * first push.
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
export async function openMirror(url: string, options: OpenMirrorOptions = {}): Promise<Mirror> {
  if (isOciUrl(url) || isOciLayoutUrl(url)) return new OciMirror(url, options);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme && scheme !== "file") {
    throw new UsageError(`mirror URL scheme ${scheme}:// is not supported yet: ${url}`);
  }
  const path = localPath(url);
  if (await exists(`${path}/oci-layout`)) return new OciMirror(OCI_LAYOUT_SCHEME + path, options);
  return new UrlMirror(new FsStore(url), options);
}
