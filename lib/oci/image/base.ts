/**
 * Base images: resolving a reference or an OCI layout to the manifest and config for the
 * platform of the specs (build cache format reference §4.6).
 *
 * @module
 */
import { FormatError, NotFoundError } from "../../errors.ts";
import {
  DEFAULT_IMAGE_TAG,
  formatImageLocation,
  type ImageLocation,
  openImageRepository,
  parseImageLocation,
} from "../open.ts";
import type { ImageRepository } from "../repository.ts";
import type { Manifest, RegistryClientOptions } from "../../registry/client.ts";
import { DOCKER_MANIFEST_LIST, OCI_INDEX } from "../../registry/media_types.ts";
import { readAll } from "../../stream/io.ts";
import { PlatformMismatchError } from "./errors.ts";
import { type ManifestFormat, manifestFormat, OCI_FORMAT } from "./manifest.ts";
import { formatPlatform, type ImagePlatform } from "./platform.ts";
import type { ContentDescriptor } from "./types.ts";

/** A base image resolved for one platform: where its blobs are, its layers and its config. */
export interface BaseImage {
  /** The image as the user named it (a reference or `oci-layout:PATH:TAG`), for messages. */
  readonly name: string;
  /** The repository holding its blobs; absent for the empty base ({@link SCRATCH}). */
  readonly repository?: ImageRepository;
  /** `sha256:` digest of its (platform-specific) manifest; absent for {@link SCRATCH}. */
  readonly digest?: string;
  /** Its manifest format, which images built on it keep. */
  readonly format: ManifestFormat;
  /** Its layer descriptors, verbatim, bottom first. */
  readonly layers: readonly ContentDescriptor[];
  /** Its parsed config; absent for {@link SCRATCH}. */
  readonly config?: Readonly<Record<string, unknown>>;
}

/** No base: an image of the package layers alone, in OCI format. */
export const SCRATCH: BaseImage = { name: "scratch", format: OCI_FORMAT, layers: [] };

// Spack follows at most this many index levels (§4.6).
const MAX_INDEX_DEPTH = 3;

interface IndexDocument {
  manifests?: { digest?: string; platform?: { architecture?: string; os?: string } }[];
}

interface ManifestDocument {
  config?: ContentDescriptor;
  layers?: ContentDescriptor[];
}

/**
 * Resolves base image `base` (a reference such as `ubuntu:24.04`, an `oci://` or `oci+http://`
 * URL, or `oci-layout:PATH[:TAG]`) for `platform`. An image index or manifest list resolves to
 * its first entry for that architecture and OS; a single manifest must not name another
 * platform in its config (Spack does not check, and makes images that cannot run).
 *
 * @example
 * ```ts
 * import { resolveBaseImage } from "@spackle/spackle/oci";
 * const base = await resolveBaseImage("debian:12", { architecture: "amd64", os: "linux" });
 * console.log(base.layers.length, base.format.manifest);
 * ```
 *
 * @throws {NotFoundError} when the image or its config blob does not exist.
 * @throws {PlatformMismatchError} when the image is not made for `platform`.
 * @throws {FormatError} for malformed manifests or configs.
 */
export async function resolveBaseImage(
  base: string | ImageLocation,
  platform: ImagePlatform,
  registry: RegistryClientOptions = {},
): Promise<BaseImage> {
  const location = typeof base === "string" ? parseImageLocation(base) : base;
  const name = typeof base === "string" ? base : formatImageLocation(base);
  const repository = openImageRepository(location, registry);
  const ref = location.kind === "layout"
    ? location.tag ?? DEFAULT_IMAGE_TAG
    : location.reference.manifestReference;
  let fetched: Manifest;
  try {
    fetched = await repository.getManifest(ref);
  } catch (e) {
    if (e instanceof NotFoundError) throw new NotFoundError(`base image ${name}`);
    throw e;
  }
  for (
    let depth = 0;
    fetched.mediaType === OCI_INDEX || fetched.mediaType === DOCKER_MANIFEST_LIST;
    depth++
  ) {
    if (depth === MAX_INDEX_DEPTH) throw new FormatError(name, "image indexes nested too deep");
    const index = parseJson<IndexDocument>(fetched.bytes, `${name}@${fetched.digest}`);
    const entries = Array.isArray(index.manifests) ? index.manifests : [];
    const match = entries.find((m) =>
      m.platform?.architecture === platform.architecture &&
      (m.platform.os ?? platform.os) === platform.os && typeof m.digest === "string"
    );
    if (!match) {
      const offered = entries.map((m) =>
        m.platform ? `${m.platform.os ?? "?"}/${m.platform.architecture ?? "?"}` : "?"
      );
      throw new PlatformMismatchError(
        formatPlatform(platform),
        offered.join(", ") || "no platforms",
        `base image ${name} has no manifest for this platform`,
      );
    }
    fetched = await repository.getManifest(match.digest!);
  }
  const where = `${name}@${fetched.digest}`;
  const format = manifestFormat(fetched.mediaType, where);
  const manifest = parseJson<ManifestDocument>(fetched.bytes, where);
  if (typeof manifest.config?.digest !== "string" || !Array.isArray(manifest.layers)) {
    throw new FormatError(where, "manifest has no config or layers");
  }
  const config = parseJson<Record<string, unknown>>(
    await readAll(await repository.getBlob(manifest.config.digest)),
    `${name} config ${manifest.config.digest}`,
  );
  for (const key of ["architecture", "os"] as const) {
    if (typeof config[key] === "string" && config[key] !== platform[key]) {
      throw new PlatformMismatchError(
        formatPlatform(platform),
        `${config.os ?? "?"}/${config.architecture ?? "?"}`,
        `base image ${name} is made for another platform`,
      );
    }
  }
  const diffIds = (config.rootfs as { diff_ids?: unknown } | undefined)?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== manifest.layers.length) {
    throw new FormatError(where, "config rootfs.diff_ids do not match the manifest's layers");
  }
  return { name, repository, digest: fetched.digest, format, layers: manifest.layers, config };
}

function parseJson<T>(bytes: Uint8Array, source: string): T {
  try {
    const doc = JSON.parse(new TextDecoder().decode(bytes));
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
      throw new Error("not an object");
    }
    return doc as T;
  } catch (e) {
    throw new FormatError(source, `malformed JSON: ${(e as Error).message}`);
  }
}
