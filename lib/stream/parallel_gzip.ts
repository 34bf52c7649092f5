/**
 * gzip on several cores, as pigz does: the input is cut into fixed blocks, each block is
 * raw-deflated by a worker with the 32 KiB before it as a preset dictionary and ended with a sync
 * flush, and the pieces are joined in order under one gzip header and trailer (RFC 1952). The
 * result is one ordinary gzip member that GNU gzip, Python's `gzip`/`tarfile` (Spack), Go's
 * `compress/gzip` (registries, container runtimes) and zlib read like any other.
 *
 * The output depends only on the input, the level and the block size, never on the number of
 * workers or on how the input was chunked, so a blob digest is reproducible everywhere. An input
 * shorter than one block gives the same bytes as a single-threaded zlib gzip.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { crc32 } from "node:zlib";
import { DeflatePool } from "./_deflate_pool.ts";

/** Input bytes per deflate block (pigz's default). */
export const GZIP_BLOCK_SIZE = 128 * 1024;
const DICTIONARY_SIZE = 32 * 1024;
const GZIP_OS_UNKNOWN = 0xff;

/** Options of {@link parallelGzipStream}. */
export interface ParallelGzipOptions {
  /** zlib level, 0 to 9 (default 6, as Spack). */
  level?: number;
  /**
   * Worker threads for the process-wide pool, shared by every stream (default: the number of
   * cores). The first stream to start sets the pool's size; {@link setCompressionThreads} changes
   * it.
   */
  threads?: number;
}

let sharedPool: DeflatePool | undefined;

/**
 * Sets the number of compression workers every later {@link parallelGzipStream} shares (at least
 * 1). Running streams keep the pool they started with.
 */
export function setCompressionThreads(threads: number): void {
  // A replaced pool finishes the blocks it holds and stops its workers once idle.
  if (sharedPool?.size !== Math.max(1, Math.floor(threads))) sharedPool = new DeflatePool(threads);
}

function poolFor(threads: number | undefined): DeflatePool {
  if (threads !== undefined) setCompressionThreads(threads);
  return sharedPool ??= new DeflatePool(availableParallelism());
}

/** The 10-byte gzip header Python's `GzipFile(mtime=0)` writes: no name, mtime 0, OS 255. */
function gzipHeader(level: number): Uint8Array {
  // XFL as zlib sets it: 2 for the slowest level, 4 for the fastest.
  const xfl = level === 9 ? 2 : level < 2 ? 4 : 0;
  return new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, GZIP_OS_UNKNOWN]);
}

/**
 * A gzip compressor that deflates blocks of {@link GZIP_BLOCK_SIZE} bytes on a shared pool of
 * worker threads. At most twice the pool's size of blocks are in flight per stream, so memory
 * stays bounded (about 1 MiB per worker) whatever the input size.
 *
 * @example
 * ```ts
 * import { parallelGzipStream } from "@spackle/spackle/stream";
 * const gz = new Blob(["hello\n"]).stream().pipeThrough(parallelGzipStream({ level: 6 }));
 * await new Response(gz).arrayBuffer();
 * ```
 *
 * @throws (errors the stream) when a worker fails; the blocks in flight are dropped.
 */
export function parallelGzipStream(
  options: ParallelGzipOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  const level = options.level ?? 6;
  const pool = poolFor(options.threads);
  const maxInFlight = pool.size * 2;
  const inFlight: Promise<Uint8Array>[] = [];
  let block = new Uint8Array(GZIP_BLOCK_SIZE);
  let filled = 0;
  let dictionary: Uint8Array | undefined;
  let crc = 0;
  let total = 0;

  const submit = (last: boolean) => {
    const data = block.subarray(0, filled);
    const job = { data, dictionary, last, level };
    // The next block's dictionary is this block's tail; copy it before the block is transferred.
    dictionary = filled ? data.slice(Math.max(0, filled - DICTIONARY_SIZE)) : dictionary;
    const out = pool.deflate(job);
    out.catch(() => {}); // awaited in order below; a failure surfaces there
    inFlight.push(out);
    block = new Uint8Array(GZIP_BLOCK_SIZE);
    filled = 0;
  };

  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      controller.enqueue(gzipHeader(level));
    },
    async transform(chunk, controller) {
      crc = crc32(chunk, crc);
      total += chunk.byteLength;
      let at = 0;
      while (at < chunk.byteLength) {
        const n = Math.min(GZIP_BLOCK_SIZE - filled, chunk.byteLength - at);
        block.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === GZIP_BLOCK_SIZE) {
          submit(false);
          while (inFlight.length >= maxInFlight) controller.enqueue(await inFlight.shift()!);
        }
      }
    },
    async flush(controller) {
      submit(true);
      while (inFlight.length) controller.enqueue(await inFlight.shift()!);
      const trailer = new Uint8Array(8);
      const view = new DataView(trailer.buffer);
      view.setUint32(0, crc >>> 0, true);
      view.setUint32(4, total % 2 ** 32, true);
      controller.enqueue(trailer);
    },
    cancel() {
      inFlight.length = 0;
    },
  });
}
