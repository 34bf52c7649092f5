/**
 * Length limits as stream stages: a blob must be exactly as long as declared, and a
 * decompressed stream may not grow past a multiple of its compressed size (gzip bombs).
 *
 * Both stop at the first chunk over the limit: erroring the stage cancels the source, so a
 * server sending endless bytes is cut off rather than read to the end.
 *
 * @module
 */
import { ExpansionLimitError, SizeMismatchError } from "../errors.ts";

/**
 * A pass-through stage that errors with {@link SizeMismatchError} as soon as more than `size`
 * bytes arrive, or at the end when fewer did. Chunks are forwarded unchanged.
 *
 * @param size Declared length in bytes (a manifest's `contentLength`, a descriptor's `size`).
 * @param where Names the blob in the error (URL, path or digest).
 *
 * @example
 * ```ts
 * import { verifyLength } from "@spackle/spackle/stream";
 * const body = new Blob(["hello"]).stream().pipeThrough(verifyLength(5, "greeting"));
 * console.log(await new Response(body).text());
 * ```
 */
export function verifyLength(size: number, where: string): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > size) controller.error(new SizeMismatchError(where, size, seen));
      else controller.enqueue(chunk);
    },
    flush(controller) {
      if (seen !== size) controller.error(new SizeMismatchError(where, size, seen));
    },
  });
}

/**
 * Default ratio of {@link expansionGuard}: a package may unpack to 50 times its compressed size.
 * Package tarballs (binaries, headers, text) compress 2 to 10 times; gzip cannot exceed about
 * 1,030 times, which only runs of one byte reach. 50 leaves a wide margin for genuine packages
 * while stopping a bomb at a few percent of its size.
 */
export const DEFAULT_MAX_EXPANSION = 50;

/**
 * Bytes a package may always unpack to, whatever its compressed size (64 MiB): small packages
 * with a large zero-filled or sparse file stay installable.
 */
export const EXPANSION_FLOOR = 64 * 1024 * 1024;

/** Options of {@link expansionGuard}. */
export interface ExpansionGuardOptions {
  /**
   * Maximum ratio of decompressed to compressed bytes (default {@link DEFAULT_MAX_EXPANSION});
   * `Infinity` disables the limit.
   */
  maxExpansion?: number;
  /** Declared compressed size in bytes, when known: the limit is then fixed from the start. */
  compressedSize?: number;
  /** Bytes always allowed (default {@link EXPANSION_FLOOR}). */
  floor?: number;
}

/** The two stages of {@link expansionGuard}: one before the decompressor, one after. */
export interface ExpansionGuard {
  /** Pass-through stage for the compressed bytes (counts them). */
  readonly compressed: TransformStream<Uint8Array, Uint8Array>;
  /** Pass-through stage for the decompressed bytes (errors past the limit). */
  readonly expanded: TransformStream<Uint8Array, Uint8Array>;
}

/**
 * Limits a decompressor's output to `max(floor, maxExpansion × compressed bytes)`, where the
 * compressed bytes are the declared size or, when none is known, those counted so far (never
 * fewer than the decompressor has consumed). The `expanded` stage errors with
 * {@link ExpansionLimitError} on the first chunk past the limit, which cancels the input.
 *
 * @param where Names the blob or spec in the error.
 *
 * @example
 * ```ts
 * import { expansionGuard, gunzipStream } from "@spackle/spackle/stream";
 * const guard = expansionGuard("zlib@1.3/abcdefg", { compressedSize: 1024 });
 * const blob = new Blob([]).stream(); // a package tarball's gzip bytes
 * const tar = blob.pipeThrough(guard.compressed).pipeThrough(gunzipStream())
 *   .pipeThrough(guard.expanded);
 * ```
 */
export function expansionGuard(where: string, options: ExpansionGuardOptions = {}): ExpansionGuard {
  const ratio = options.maxExpansion ?? DEFAULT_MAX_EXPANSION;
  const floor = options.floor ?? EXPANSION_FLOOR;
  let compressed = 0;
  let expanded = 0;
  // `Infinity × 0` is NaN: a disabled limit must not depend on the count.
  const limit = () =>
    ratio === Infinity
      ? Infinity
      : Math.max(floor, ratio * Math.max(options.compressedSize ?? 0, compressed));
  return {
    compressed: new TransformStream({
      transform(chunk, controller) {
        compressed += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
    expanded: new TransformStream({
      transform(chunk, controller) {
        expanded += chunk.byteLength;
        if (expanded > limit()) {
          controller.error(new ExpansionLimitError(where, limit(), compressed));
        } else controller.enqueue(chunk);
      },
    }),
  };
}
