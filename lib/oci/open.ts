/**
 * Image locations as users write them, and the {@link ImageRepository} each one opens:
 * `oci://host/repo[:tag]` (HTTPS registry, Spack's mirror form), `oci+http://…` (plain HTTP),
 * `oci-layout:PATH[:tag]` (an OCI image-layout directory), or a bare image reference such as
 * `ubuntu:24.04` (Docker Hub names normalised as Docker does).
 *
 * @module
 */
import { FormatError } from "../errors.ts";
import { RegistryClient, type RegistryClientOptions } from "../registry/client.ts";
import {
  type ImageReference,
  isOciUrl,
  type OciMirrorLocation,
  parseImageReference,
  parseOciMirrorUrl,
} from "../registry/reference.ts";
import { localPath } from "../storage/fs.ts";
import { OciLayout } from "./layout.ts";
import { type ImageRepository, RegistryRepository } from "./repository.ts";

/** Scheme prefix of OCI image-layout locations. */
export const OCI_LAYOUT_SCHEME = "oci-layout:";

/** A parsed image location: a registry reference, or a layout directory and optional tag. */
export type ImageLocation =
  | {
    kind: "registry";
    reference: ImageReference;
    plainHttp: boolean;
    /** Written in the URL (`oci://user:password@host/…`); used before any other source. */
    credentials?: OciMirrorLocation["credentials"];
  }
  | { kind: "layout"; path: string; tag?: string };

/**
 * Whether `text` names an OCI image-layout directory (`oci-layout:PATH`).
 *
 * @example
 * ```ts
 * import { isOciLayoutUrl } from "@spackle/spackle/oci";
 * isOciLayoutUrl("oci-layout:./images"); // true
 * isOciLayoutUrl("oci://ghcr.io/acme/cache"); // false
 * ```
 */
export function isOciLayoutUrl(text: string): boolean {
  return text.startsWith(OCI_LAYOUT_SCHEME);
}

/**
 * Parses an image location. In `oci-layout:PATH:TAG`, the tag is what follows the last `:`
 * when that part holds no `/`; `oci-layout:///abs/path` is accepted as a URL form.
 *
 * @throws {FormatError} for a malformed reference.
 *
 * @example
 * ```ts
 * import { parseImageLocation } from "@spackle/spackle/oci";
 * parseImageLocation("oci-layout:./images:v1"); // { kind: "layout", path: "<cwd>/images", tag: "v1" }
 * parseImageLocation("oci+http://127.0.0.1:5000/app:1.0").kind; // "registry"
 * ```
 */
export function parseImageLocation(text: string): ImageLocation {
  if (isOciLayoutUrl(text)) {
    let rest = text.slice(OCI_LAYOUT_SCHEME.length);
    if (rest.startsWith("//")) rest = rest.slice(2);
    const colon = rest.lastIndexOf(":");
    const tag = colon > 0 && !rest.slice(colon + 1).includes("/")
      ? rest.slice(colon + 1)
      : undefined;
    const path = tag === undefined ? rest : rest.slice(0, colon);
    if (!path) throw new FormatError(text, "no directory in oci-layout: location");
    return { kind: "layout", path: localPath(path), tag: tag || undefined };
  }
  if (isOciUrl(text)) {
    const { reference, plainHttp, credentials } = parseOciMirrorUrl(text);
    return { kind: "registry", reference, plainHttp, credentials };
  }
  return { kind: "registry", reference: parseImageReference(text), plainHttp: false };
}

/**
 * The repository a location opens; registry clients take `registry` options.
 *
 * @example
 * ```ts
 * import { openImageRepository, parseImageLocation } from "@spackle/spackle/oci";
 * const repo = openImageRepository(parseImageLocation("oci+http://127.0.0.1:5000/app"));
 * const { mediaType } = await repo.getManifest("latest");
 * ```
 */
export function openImageRepository(
  location: ImageLocation,
  registry: RegistryClientOptions = {},
): ImageRepository {
  if (location.kind === "layout") return new OciLayout(location.path);
  const client = new RegistryClient(location.reference.domain, {
    ...registry,
    ...(location.credentials ? { credentials: location.credentials } : {}),
    plainHttp: location.plainHttp,
  });
  return new RegistryRepository(client, location.reference.repository);
}

/**
 * The location's tag: the layout's, else the reference's (`latest` when none was given).
 *
 * @example
 * ```ts
 * import { locationTag, parseImageLocation } from "@spackle/spackle/oci";
 * locationTag(parseImageLocation("ghcr.io/acme/app:1.0")); // "1.0"
 * ```
 */
export function locationTag(location: ImageLocation): string | undefined {
  return location.kind === "layout" ? location.tag : location.reference.tag;
}

/** The tag an image gets when its location names none. */
export const DEFAULT_IMAGE_TAG = "latest";

/**
 * `location` as users write it: `oci+http://host/repo:tag` for plain-HTTP registries, the
 * reference `host/repo:tag[@digest]` otherwise, `oci-layout:PATH[:tag]` for directories.
 *
 * @example
 * ```ts
 * import { formatImageLocation } from "@spackle/spackle/oci";
 * import { imageTarget } from "@spackle/spackle/image";
 * formatImageLocation(imageTarget("oci+http://127.0.0.1:5000/app", "v1"));
 * // "oci+http://127.0.0.1:5000/app:v1"
 * ```
 */
export function formatImageLocation(location: ImageLocation): string {
  if (location.kind === "layout") {
    return `oci-layout:${location.path}${location.tag ? `:${location.tag}` : ""}`;
  }
  return `${location.plainHttp ? "oci+http://" : ""}${location.reference}`;
}
