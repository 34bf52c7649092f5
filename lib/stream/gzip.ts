/**
 * gzip as Web Streams stages over `node:zlib` (native; handles multi-member input, which
 * `DecompressionStream` does not).
 *
 * The stages are wired to zlib by hand rather than with `Duplex.toWeb`: that adapter keeps
 * enqueueing zlib output after its readable side was cancelled, which throws an uncaught
 * `TypeError` ("The stream controller cannot close or enqueue") and kills the process. Here a
 * cancel, an abort and a zlib error each stop zlib, error both sides once and settle any pending
 * write, so a pipeline through them can be stopped at any point.
 *
 * @module
 */
import type { Transform } from "node:stream";
import { constants, createGunzip, createGzip, gunzipSync, gzipSync } from "node:zlib";

const GZIP_OS_UNKNOWN = 0xff;
const GZIP_OS_OFFSET = 9;
/** zlib output chunk size: fewer, larger chunks than zlib's 16 KiB default cost less per byte. */
const CHUNK_SIZE = 64 * 1024;
/** Output chunks queued before zlib is paused. */
const QUEUED_CHUNKS = 4;

/**
 * Compresses with deflate level `level` (default 6, as Spack). The header is made identical to
 * Python's `GzipFile(mtime=0)` (no name, mtime 0, OS 255) so blobs differ from Spack's only
 * where the deflate implementation does. Safe to cancel or abort mid-stream.
 *
 * @example
 * ```ts
 * import { gzipStream } from "@spackle/spackle/stream";
 * const gz = ReadableStream.from([new TextEncoder().encode("hello")]).pipeThrough(gzipStream());
 * ```
 */
export function gzipStream(level = 6): TransformStream<Uint8Array, Uint8Array> {
  const stage = zlibStage(createGzip({
    level,
    memLevel: 8,
    strategy: constants.Z_DEFAULT_STRATEGY,
    chunkSize: CHUNK_SIZE,
  }));
  return { writable: stage.writable, readable: stage.readable.pipeThrough(setGzipOsByte()) };
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
 * Decompresses gzip (one or more members). Corrupt input errors the readable side with zlib's
 * error. Cancelling the readable side (a consumer that stopped reading) stops zlib and cancels
 * what is piped in; aborting the writable side (a failed source) errors the readable side with
 * the same reason.
 *
 * @example
 * ```ts
 * import { gunzipStream } from "@spackle/spackle/stream";
 * const file = await Deno.open("blob.tar.gz");
 * const tar = file.readable.pipeThrough(gunzipStream());
 * ```
 */
export function gunzipStream(): TransformStream<Uint8Array, Uint8Array> {
  return zlibStage(createGunzip({ chunkSize: CHUNK_SIZE }));
}

/**
 * A Web Streams pair over a zlib transform. zlib output is enqueued while the readable side
 * wants more and zlib is paused otherwise, so a slow consumer holds back the writer (zlib
 * withholds a write's callback while its output buffer is full). Once stopped (cancel, abort or
 * zlib error) output is dropped, zlib is destroyed and every pending or later write rejects.
 */
function zlibStage(engine: Transform): TransformStream<Uint8Array, Uint8Array> {
  let output!: ReadableStreamDefaultController<Uint8Array>;
  let input!: WritableStreamDefaultController;
  let outputOpen = true;
  let stopped = false;
  const halted = Promise.withResolvers<never>();
  halted.promise.catch(() => {});

  const stop = (reason: unknown) => {
    if (stopped) return;
    stopped = true;
    if (outputOpen) {
      outputOpen = false;
      output.error(reason);
    }
    input.error(reason);
    halted.reject(reason);
    engine.destroy();
  };
  /** Runs a zlib call that reports through a callback; settles early when the stage stops. */
  const settle = (call: (done: (error?: Error | null) => void) => void) =>
    Promise.race([
      halted.promise,
      new Promise<void>((resolve, reject) => call((e) => e ? reject(e) : resolve())),
    ]);

  engine.on("data", (chunk: Uint8Array) => {
    if (!outputOpen) return;
    output.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if ((output.desiredSize ?? 0) <= 0) engine.pause();
  });
  engine.on("end", () => {
    if (!outputOpen) return;
    outputOpen = false;
    output.close();
  });
  engine.on("error", stop);

  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      output = controller;
    },
    pull() {
      engine.resume();
    },
    cancel(reason) {
      outputOpen = false;
      stop(reason);
    },
  }, { highWaterMark: QUEUED_CHUNKS });
  const writable = new WritableStream<Uint8Array>({
    start(controller) {
      input = controller;
    },
    write(chunk) {
      return settle((done) => engine.write(chunk, done));
    },
    close() {
      return settle((done) => engine.end(done));
    },
    abort(reason) {
      stop(reason);
    },
  });
  return { readable, writable };
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
