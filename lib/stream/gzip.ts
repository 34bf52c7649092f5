/**
 * gzip as Web Streams stages over `node:zlib` (native; handles multi-member input, which
 * `DecompressionStream` does not).
 *
 * @module
 */
import { constants, createGunzip, createGzip, gunzipSync, gzipSync } from "node:zlib";
import { Duplex } from "node:stream";

const GZIP_OS_UNKNOWN = 0xff;
const GZIP_OS_OFFSET = 9;

/**
 * Compresses with deflate level `level` (default 6, as Spack). The header is made identical to
 * Python's `GzipFile(mtime=0)` (no name, mtime 0, OS 255) so blobs differ from Spack's only
 * where the deflate implementation does.
 *
 * @example
 * ```ts
 * import { gzipStream } from "@spackle/spackle/stream";
 * const tar = await Deno.open("package.tar");
 * await tar.readable.pipeThrough(gzipStream(9)).pipeTo((await Deno.create("package.tar.gz")).writable);
 * ```
 */
export function gzipStream(level = 6): TransformStream<Uint8Array, Uint8Array> {
  const web = Duplex.toWeb(
    createGzip({ level, memLevel: 8, strategy: constants.Z_DEFAULT_STRATEGY }),
  );
  return {
    writable: web.writable as WritableStream<Uint8Array>,
    readable: (web.readable as ReadableStream<Uint8Array>).pipeThrough(setGzipOsByte()),
  } as TransformStream<Uint8Array, Uint8Array>;
}

/**
 * Sets the OS byte (offset 9) of a gzip stream to 255, wherever the chunk boundaries fall.
 * Chunks pass through in place.
 */
export function setGzipOsByte(): TransformStream<Uint8Array, Uint8Array> {
  let offset = 0;
  return new TransformStream({
    transform(chunk, controller) {
      const at = GZIP_OS_OFFSET - offset;
      if (at >= 0 && at < chunk.byteLength) chunk[at] = GZIP_OS_UNKNOWN;
      offset += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
}

/**
 * Decompresses gzip (one or more members). Corrupt input errors the stream.
 *
 * @example
 * ```ts
 * import { gunzipStream } from "@spackle/spackle/stream";
 * const blob = await Deno.open("package.tar.gz");
 * const tar = blob.readable.pipeThrough(gunzipStream());
 * ```
 */
export function gunzipStream(): TransformStream<Uint8Array, Uint8Array> {
  const web = Duplex.toWeb(createGunzip());
  return web as unknown as TransformStream<Uint8Array, Uint8Array>;
}

/** gzip of a small in-memory object (spec blobs), with the same header as {@link gzipStream}. */
export function gzipBytes(data: Uint8Array | string, level = 6): Uint8Array {
  const out = new Uint8Array(gzipSync(data, { level }));
  out[GZIP_OS_OFFSET] = GZIP_OS_UNKNOWN;
  return out;
}

/** Decompresses `data` if it starts with the gzip magic (`1f 8b`), else returns it unchanged. */
export function maybeGunzip(data: Uint8Array): Uint8Array {
  return data[0] === 0x1f && data[1] === 0x8b ? new Uint8Array(gunzipSync(data)) : data;
}
