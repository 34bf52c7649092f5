/**
 * Copying one image between repositories of any backend (registry or OCI image layout) with every
 * digest preserved: blobs first (mounted within one registry, else streamed), then the child
 * manifests of an index, then the top manifest or index, all as their exact bytes.
 *
 * Source: OCI image-spec v1.1 (`manifest.md`, `image-index.md`), OCI distribution-spec v1.1
 * (blob mounts, pushing manifests by digest).
 *
 * @module
 */
import { forEachConcurrently } from "../concurrency.ts";
import { DigestMismatchError, FormatError } from "../errors.ts";
import type { ProgressListener } from "../events.ts";
import { copyBlob, repositoryBlob } from "./_blob_copy.ts";
import type { Manifest, PushBlobResult } from "../registry/client.ts";
import { DOCKER_MANIFEST_LIST, OCI_INDEX } from "../registry/media_types.ts";
import type { ImageRepository } from "./repository.ts";

/** Options of {@link copyImage}. */
export interface CopyImageOptions {
  /** Blobs copied concurrently per manifest (default 4). */
  readonly jobs?: number;
  /** Receives one `message` event per manifest written. */
  readonly onProgress?: ProgressListener;
}

/** What {@link copyImage} did. */
export interface CopyImageResult {
  /** `sha256:<hex>` of the top manifest or index, the same in source and target. */
  readonly digest: string;
  /** Media type of the top manifest or index. */
  readonly mediaType: string;
  /** Manifests written: the children of an index and the top one. */
  readonly manifests: number;
  /** Blobs by outcome: already in the target, mounted, or uploaded. */
  readonly blobs: Readonly<Record<PushBlobResult, number>>;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  urls?: unknown;
}

/**
 * Copies image `sourceRef` (a tag or `sha256:` digest) of `source` to `target` under
 * `targetRef` (a tag, or the same digest): for an index (OCI or Docker list), every platform's
 * manifest and blobs. Bytes are never re-serialised, so every digest is preserved; blobs the
 * target has are skipped, blobs on the same registry are mounted. Non-distributable layers
 * (descriptors with `urls`) are not copied, as registries serve them from elsewhere.
 *
 * @throws {NotFoundError} when the source lacks the manifest, a child manifest or a blob.
 * @throws {DigestMismatchError} when a child manifest does not hash to its descriptor's digest.
 * @throws {FormatError} when a manifest is not JSON or lacks its descriptors.
 * @throws {RegistryError} when a registry refuses a request.
 * @example
 * ```ts
 * import { copyImage, openImageRepository, parseImageLocation } from "@spackle/spackle/oci";
 * const from = openImageRepository(parseImageLocation("oci+http://127.0.0.1:5000/spack/cache"));
 * const to = openImageRepository(parseImageLocation("oci-layout:./mirror"));
 * const { digest } = await copyImage(from, "latest", to, "latest");
 * ```
 */
export async function copyImage(
  source: ImageRepository,
  sourceRef: string,
  target: ImageRepository,
  targetRef: string,
  options: CopyImageOptions = {},
): Promise<CopyImageResult> {
  const blobs: Record<PushBlobResult, number> = { exists: 0, mounted: 0, uploaded: 0 };
  let manifests = 0;
  const copyTree = async (manifest: Manifest, ref: string): Promise<void> => {
    const where = `${source.location}@${manifest.digest}`;
    const json = parseManifest(manifest.bytes, where);
    if (isIndex(manifest.mediaType, json)) {
      for (const child of descriptors(json.manifests, where, "manifests")) {
        const got = await source.getManifest(child.digest);
        if (got.digest !== child.digest) {
          throw new DigestMismatchError(where, child.digest, got.digest);
        }
        await copyTree(got, child.digest);
      }
    } else {
      const layers = descriptors(json.layers, where, "layers");
      const all = [...descriptors([json.config], where, "config"), ...layers]
        .filter((d) => d.urls === undefined);
      const unique = [...new Map(all.map((d) => [d.digest, d])).values()];
      await forEachConcurrently(unique.length, options.jobs ?? 4, async (i) => {
        const { digest, size } = unique[i];
        blobs[await copyBlob(target, digest, size, repositoryBlob(source, digest))]++;
      });
    }
    await target.putManifest(ref, manifest.bytes, manifest.mediaType);
    manifests++;
    options.onProgress?.({
      kind: "message",
      level: "info",
      text: `Copied ${manifest.mediaType} ${manifest.digest} to ${target.location}`,
    });
  };
  const top = await source.getManifest(sourceRef);
  await copyTree(top, targetRef);
  return { digest: top.digest, mediaType: top.mediaType, manifests, blobs };
}

/** Whether a manifest is an index (by media type, or by its `manifests` array when untyped). */
function isIndex(mediaType: string, json: Record<string, unknown>): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST ||
    (Array.isArray(json.manifests) && json.layers === undefined);
}

/** The manifest's JSON object. */
function parseManifest(bytes: Uint8Array, where: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new FormatError(where, `manifest is not JSON: ${(e as Error).message}`);
  }
  if (!json || typeof json !== "object" || Array.isArray(json)) {
    throw new FormatError(where, "manifest is not a JSON object");
  }
  return json as Record<string, unknown>;
}

function descriptors(value: unknown, where: string, field: string): Descriptor[] {
  const ok = Array.isArray(value) &&
    value.every((d) =>
      d && typeof d === "object" && typeof d.digest === "string" &&
      Number.isSafeInteger(d.size) && d.size >= 0
    );
  if (!ok) throw new FormatError(where, `${field} is not a list of descriptors`);
  return value as Descriptor[];
}
