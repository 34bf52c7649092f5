/**
 * gzip as Web Streams stages over `node:zlib` (native; handles multi-member input, which
 * `DecompressionStream` does not).
 *
 * @module
 */
import { constants, createGunzip, createGzip, gunzipSync, gzipSync } from "node:zlib";
import { Duplex } from "node:stream";

const GZIP_OS_UNKNOWN = 0xff;

/**
 * Compresses with deflate level `level` (default 6, as Spack). The header is made identical to
 * Python's `GzipFile(mtime=0)` (no name, mtime 0, OS 255) so blobs differ from Spack's only
 * where the deflate implementation does.
 */
export function gzipStream(level = 6): TransformStream<Uint8Array, Uint8Array> {
  const web = Duplex.toWeb(
    createGzip({ level, memLevel: 8, strategy: constants.Z_DEFAULT_STRATEGY }),
  );
  let first = true;
  const fixHeader = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      if (first && chunk.byteLength >= 10) {
        chunk[9] = GZIP_OS_UNKNOWN;
        first = false;
      }
      controller.enqueue(chunk);
    },
  });
  return {
    writable: web.writable as WritableStream<Uint8Array>,
    readable: (web.readable as ReadableStream<Uint8Array>).pipeThrough(fixHeader),
  } as TransformStream<Uint8Array, Uint8Array>;
}

/** Decompresses gzip (one or more members). Corrupt input errors the stream. */
export function gunzipStream(): TransformStream<Uint8Array, Uint8Array> {
  const web = Duplex.toWeb(createGunzip());
  return web as unknown as TransformStream<Uint8Array, Uint8Array>;
}

/** gzip of a small in-memory object (spec blobs), with the same header as {@link gzipStream}. */
export function gzipBytes(data: Uint8Array | string, level = 6): Uint8Array {
  const out = new Uint8Array(gzipSync(data, { level }));
  out[9] = GZIP_OS_UNKNOWN;
  return out;
}

/** Decompresses `data` if it starts with the gzip magic (`1f 8b`), else returns it unchanged. */
export function maybeGunzip(data: Uint8Array): Uint8Array {
  return data[0] === 0x1f && data[1] === 0x8b ? new Uint8Array(gunzipSync(data)) : data;
}
