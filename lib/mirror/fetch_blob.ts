/**
 * `fetchBlob`: one blob of a build cache by digest, verified while it streams.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { openMirror, type OpenMirrorOptions } from "./open.ts";
import type { Mirror } from "./types.ts";

/** Options of {@link fetchBlob}: the expected size, and how to open a mirror given by URL. */
export interface FetchBlobOptions extends OpenMirrorOptions {
  /** Expected size in bytes (e.g. a manifest's or OCI descriptor's `size`); checked too. */
  size?: number;
}

/**
 * A stream of the blob `digest` (`sha256:<64 lower-case hex digits>`) of a build cache: a
 * {@link Mirror}, or a mirror URL or path opened with {@link openMirror} and `options`. Blobs are
 * content-addressed: `blobs/sha256/<2 hex>/<hex>` in a URL-layout cache (Spack layout v3), the
 * registry's or image layout's blob store in an OCI cache.
 *
 * The bytes are hashed as they stream; the stream errors with `DigestMismatchError` at its end
 * when they do not match `digest`, and with a `SizeMismatchError` as soon as more bytes than
 * `options.size` arrive (or at the end, when fewer did), so a consumer writing to a temporary
 * file knows to discard it.
 *
 * @example
 * ```ts
 * import { fetchBlob, openMirror } from "@spackle/spackle";
 * const mirror = await openMirror("./buildcache");
 * const [spec] = await mirror.listSpecs();
 * const entry = await mirror.getEntry(spec);
 * if (entry) {
 *   const blob = await fetchBlob(mirror, entry.tarball.digest, { size: entry.tarball.size });
 *   await blob.pipeTo((await Deno.create("package.tar.gz")).writable);
 * }
 * ```
 *
 * @throws {UsageError} when `digest` is not `sha256:<hex>` or `size` is not a byte count, or for
 * a mirror URL {@link openMirror} refuses.
 * @throws {NotFoundError} when the cache lacks the blob (a URL-layout cache reports a missing
 * blob as a `FormatError` naming its key).
 */
export async function fetchBlob(
  mirror: Mirror | string,
  digest: string,
  options: FetchBlobOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new UsageError(
      `blob digest must be sha256:<64 hex digits>, not ${JSON.stringify(digest)}`,
    );
  }
  const { size, ...mirrorOptions } = options;
  if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0)) {
    throw new UsageError(`blob size must be a whole number of bytes, not ${size}`);
  }
  const source = typeof mirror === "string" ? await openMirror(mirror, mirrorOptions) : mirror;
  return await source.fetchBlob(digest, size);
}
