/**
 * Where OCI images live, behind one interface: a repository of a registry or an OCI image-layout
 * directory. The build cache mirror and the image composer are written against it, so caches and
 * images travel on disks as well as through registries.
 *
 * @module
 */
import { MirrorNotFoundError, NotFoundError } from "../errors.ts";
import type { Manifest, PushBlobResult, RegistryClient } from "../registry/client.ts";
import { MANIFEST_MEDIA_TYPES } from "../registry/media_types.ts";

/**
 * One repository of images: content-addressed blobs, manifests addressed by tag or digest, and
 * the list of tags. Every blob read is verified against its digest while it streams.
 */
export interface ImageRepository {
  /** Human-readable location for messages, e.g. `127.0.0.1:5000/spack/cache` or a path. */
  readonly location: string;
  /**
   * A key identifying the blob store: repositories with the same key can mount each other's
   * blobs (the same registry host), `undefined` when they cannot.
   */
  readonly mountDomain?: string;
  /** Repository name used for cross-repository mounts, when {@link mountDomain} is set. */
  readonly name?: string;
  /** Size in bytes of blob `digest`, or `undefined` when absent. */
  headBlob(digest: string): Promise<number | undefined>;
  /**
   * Streams blob `digest`, erroring with `DigestMismatchError` when the bytes do not match.
   *
   * @throws {NotFoundError} when the blob is absent.
   */
  getBlob(digest: string): Promise<ReadableStream<Uint8Array>>;
  /**
   * Stores blob `digest` of `size` bytes from a fresh `body()` stream unless it is present;
   * `mountFrom` names a repository of the same {@link mountDomain} that holds it.
   */
  pushBlob(
    digest: string,
    size: number,
    body: () => ReadableStream<Uint8Array>,
    mountFrom?: string,
  ): Promise<PushBlobResult>;
  /**
   * Manifest `ref` (tag or `sha256:` digest) with its media type and exact bytes.
   *
   * @throws {NotFoundError} when there is no such manifest.
   */
  getManifest(ref: string, accept?: readonly string[]): Promise<Manifest>;
  /** Stores manifest `bytes` of `mediaType` under `ref` (a tag or its digest); returns the digest. */
  putManifest(ref: string, bytes: Uint8Array, mediaType: string): Promise<string>;
  /** Every tag; empty when the repository does not exist yet. */
  listTags(): Promise<string[]>;
  /**
   * Deletes manifest `digest` (`sha256:<hex>`) and every tag pointing at it, where the backend
   * allows deletion; blobs stay until the backend's garbage collection.
   *
   * @throws {NotFoundError} when there is no such manifest.
   */
  deleteManifest?(digest: string): Promise<void>;
}

/**
 * {@link ImageRepository} over repository `name` of a registry, through a {@link RegistryClient}.
 *
 * @example
 * ```ts
 * import { RegistryRepository } from "@spackle/spackle/oci";
 * import { RegistryClient } from "@spackle/spackle/registry";
 * const repo = new RegistryRepository(new RegistryClient("ghcr.io"), "acme/app");
 * console.log(await repo.listTags());
 * ```
 */
export class RegistryRepository implements ImageRepository {
  /** `host/repository`. */
  readonly location: string;
  /** The registry host: repositories of one host mount each other's blobs. */
  readonly mountDomain: string;

  /** Binds `client` (one registry host) to repository `name`. */
  constructor(readonly client: RegistryClient, readonly name: string) {
    this.location = `${client.host}/${name}`;
    this.mountDomain = client.host;
  }

  /** See {@link ImageRepository.headBlob}. */
  headBlob(digest: string): Promise<number | undefined> {
    return this.client.headBlob(this.name, digest);
  }

  /** See {@link ImageRepository.getBlob}. */
  getBlob(digest: string): Promise<ReadableStream<Uint8Array>> {
    return this.client.getBlob(this.name, digest);
  }

  /** See {@link ImageRepository.pushBlob}: mounts from `mountFrom` when the registry allows. */
  pushBlob(
    digest: string,
    size: number,
    body: () => ReadableStream<Uint8Array>,
    mountFrom?: string,
  ): Promise<PushBlobResult> {
    return this.client.pushBlob(this.name, digest, size, body, { mountFrom });
  }

  /** See {@link ImageRepository.getManifest}. */
  getManifest(ref: string, accept: readonly string[] = MANIFEST_MEDIA_TYPES): Promise<Manifest> {
    return this.client.getManifest(this.name, ref, accept);
  }

  /** See {@link ImageRepository.putManifest}. */
  putManifest(ref: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    return this.client.putManifest(this.name, ref, bytes, mediaType);
  }

  /** See {@link ImageRepository.deleteManifest}: the registry must have deletion enabled. */
  deleteManifest(digest: string): Promise<void> {
    return this.client.deleteManifest(this.name, digest);
  }

  /**
   * See {@link ImageRepository.listTags}.
   *
   * @throws {MirrorNotFoundError} when the registry has no such repository (404).
   */
  async listTags(): Promise<string[]> {
    try {
      return await this.client.listTags(this.name);
    } catch (e) {
      if (e instanceof NotFoundError) {
        throw new MirrorNotFoundError(this.location, "the registry has no such repository");
      }
      throw e;
    }
  }
}
