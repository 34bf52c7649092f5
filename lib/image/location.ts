/**
 * Naming where a composed image goes: a registry repository with a tag, or an OCI image-layout
 * directory with a tag.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { type ImageLocation, isOciLayoutUrl, parseImageLocation } from "../oci/open.ts";
import { isOciUrl } from "../registry/reference.ts";
import { localPath } from "../storage/fs.ts";

/**
 * The location `text` names, with tag `tag`: a build cache or registry URL (`oci://host/repo`,
 * `oci+http://host/repo`), an `oci-layout:PATH`, or a plain directory path (an OCI image layout,
 * created when missing). This is how `spackle image compose --target T --tag N` and
 * `spackle push --tag N` name the image they write.
 *
 * @example
 * ```ts
 * import { imageTarget } from "@spackle/spackle/image";
 * imageTarget("oci+http://127.0.0.1:5000/spack/cache", "hello-app");
 * imageTarget("./images", "hello-app"); // { kind: "layout", path: "/…/images", tag: "hello-app" }
 * ```
 *
 * @throws {UsageError} for a URL scheme that is not an image location.
 * @throws {FormatError} for a malformed reference, or a tag a registry does not accept.
 */
export function imageTarget(text: string, tag: string): ImageLocation {
  if (isOciUrl(text)) {
    const location = parseImageLocation(text);
    if (location.kind !== "registry") throw new UsageError(`not a registry location: ${text}`);
    return { ...location, reference: location.reference.withTag(tag) };
  }
  if (isOciLayoutUrl(text)) return { ...parseImageLocation(text), tag } as ImageLocation;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && !text.startsWith("file://")) {
    throw new UsageError(
      `images go to oci://, oci+http://, oci-layout: or a directory, not ${text}`,
    );
  }
  return { kind: "layout", path: localPath(text), tag };
}
