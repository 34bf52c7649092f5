/**
 * Registry housekeeping in crane's vocabulary, over any {@link ImageRepository} (a registry
 * repository or an OCI image-layout directory): naming an image, its tags, its digest, deleting a
 * manifest by digest, and the registry catalog.
 *
 * Source: OCI distribution-spec v1.1 (`/v2/<name>/tags/list`, `DELETE /v2/<name>/manifests/<digest>`,
 * `/v2/_catalog` as served by CNCF distribution).
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { RegistryClient, type RegistryClientOptions } from "../registry/client.ts";
import { SHA256_DIGEST_RE } from "../registry/_digest.ts";
import { type ImageLocation, openImageRepository, parseImageLocation } from "./open.ts";
import type { ImageRepository } from "./repository.ts";

/** An image as a user named it: its repository and the tag or digest, when one was given. */
export interface ImageRef {
  /** Where the repository is. */
  readonly location: ImageLocation;
  /** The opened repository. */
  readonly repository: ImageRepository;
  /** The digest (`sha256:<hex>`) or tag written, `undefined` when none was. */
  readonly ref?: string;
}

/** Digest, media type and size of a manifest, as {@link imageDigest} reports them. */
export interface ManifestSummary {
  /** `sha256:<hex>` of the manifest bytes. */
  readonly digest: string;
  /** Media type of the manifest or index. */
  readonly mediaType: string;
  /** Size of the manifest in bytes. */
  readonly size: number;
}

/**
 * Opens the image `text` names: `oci://host/repo[:tag][@digest]` (HTTPS), `oci+http://…` (plain
 * HTTP), a bare reference `host/repo[:tag][@digest]`, or `oci-layout:DIR[:tag][@digest]`.
 * `registry` configures the registry client (credentials, concurrency).
 *
 * @throws {FormatError} for a malformed reference.
 * @example
 * ```ts
 * import { openImageRef } from "@spackle/spackle/oci";
 * const { repository, ref } = openImageRef("oci+http://127.0.0.1:5000/spack/cache:v1");
 * // ref === "v1"; repository.location === "127.0.0.1:5000/spack/cache"
 * ```
 */
export function openImageRef(text: string, registry: RegistryClientOptions = {}): ImageRef {
  const at = text.lastIndexOf("@sha256:");
  const digest = at >= 0 ? text.slice(at + 1) : undefined;
  const base = at >= 0 ? text.slice(0, at) : text;
  const location = parseImageLocation(base);
  // A registry reference always has a tag (`latest` by default): keep only one that was written.
  const tag = location.kind === "layout"
    ? location.tag
    : base.slice(base.lastIndexOf("/") + 1).includes(":")
    ? location.reference.tag
    : undefined;
  if (digest !== undefined && !SHA256_DIGEST_RE.test(digest)) {
    throw new UsageError(`${text}: only sha256:<64 lower-case hex> digests are accepted`);
  }
  return { location, repository: openImageRepository(location, registry), ref: digest ?? tag };
}

/**
 * The manifest reference of `image`: its digest or tag, else `latest` for a registry.
 *
 * @throws {UsageError} for an image-layout location without a tag or digest.
 */
export function manifestRef(image: ImageRef): string {
  if (image.ref !== undefined) return image.ref;
  if (image.location.kind === "registry") return "latest";
  throw new UsageError(
    `${image.repository.location}: name a tag (oci-layout:DIR:TAG) or a digest (DIR@sha256:…)`,
  );
}

/**
 * Digest, media type and size of manifest `ref` (tag or digest) of `repository`.
 *
 * @throws {NotFoundError} when there is no such manifest.
 * @throws {RegistryError} when a registry request fails.
 * @example
 * ```ts
 * import { imageDigest, openImageRef } from "@spackle/spackle/oci";
 * const { repository } = openImageRef("oci-layout:./images");
 * console.log((await imageDigest(repository, "hello-app")).digest);
 * ```
 */
export async function imageDigest(
  repository: ImageRepository,
  ref: string,
): Promise<ManifestSummary> {
  const { digest, mediaType, bytes } = await repository.getManifest(ref);
  return { digest, mediaType, size: bytes.length };
}

/**
 * Deletes manifest `ref` of `repository` by digest (a tag is resolved to its digest first), which
 * removes every tag pointing at it. The blobs stay until the registry's garbage collector runs
 * (`registry garbage-collect` for CNCF distribution); a layout only loses its `index.json`
 * entries. Returns the digest deleted.
 *
 * @throws {UsageError} when the backend cannot delete manifests.
 * @throws {NotFoundError} when there is no such manifest.
 * @throws {RegistryError} when the registry refuses (deletion disabled: HTTP 405 `UNSUPPORTED`).
 * @example
 * ```ts
 * import { deleteImage, openImageRef } from "@spackle/spackle/oci";
 * const { repository } = openImageRef("oci+http://127.0.0.1:5000/spack/cache");
 * await deleteImage(repository, "old-tag");
 * ```
 */
export async function deleteImage(repository: ImageRepository, ref: string): Promise<string> {
  if (!repository.deleteManifest) {
    throw new UsageError(`${repository.location} does not support deleting manifests`);
  }
  const digest = SHA256_DIGEST_RE.test(ref) ? ref : (await repository.getManifest(ref)).digest;
  await repository.deleteManifest(digest);
  return digest;
}

/**
 * Every repository name of registry `host` (`GET /v2/_catalog`, paginated by `pageSize`), sorted.
 * `host` is `host[:port]`, or written as `oci://host` (HTTPS) or `oci+http://host` (plain HTTP).
 *
 * @throws {NotFoundError} when the registry has no catalog endpoint.
 * @throws {RegistryError} when the registry refuses to list (many restrict the catalog).
 * @example
 * ```ts
 * import { listCatalog } from "@spackle/spackle/oci";
 * console.log(await listCatalog("oci+http://127.0.0.1:5000"));
 * ```
 */
export async function listCatalog(
  host: string,
  options: RegistryClientOptions & { pageSize?: number } = {},
): Promise<string[]> {
  const plainHttp = host.startsWith("oci+http://") || options.plainHttp === true;
  const bare = host.replace(/^oci(\+http)?:\/\//, "").replace(/\/+$/, "");
  if (!bare || bare.includes("/")) {
    throw new UsageError(`${host}: expected a registry host (host[:port]), not a repository`);
  }
  const client = new RegistryClient(bare, { ...options, plainHttp });
  return (await client.catalog({ pageSize: options.pageSize })).sort();
}
