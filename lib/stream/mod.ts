/**
 * Byte-stream stages shared by every data path (Web Streams `TransformStream`s): SHA-256 taps
 * and verifiers, and gzip compression and decompression.
 *
 * @example
 * ```ts
 * import { gunzipStream, verifySha256 } from "@spackle/spackle/stream";
 * const file = await Deno.open("blob.tar.gz");
 * const tar = file.readable
 *   .pipeThrough(verifySha256("sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", "blob.tar.gz"))
 *   .pipeThrough(gunzipStream());
 * ```
 *
 * @module
 */
export { type HashTap, hashTap, sha256Hex, type StreamDigest, verifySha256 } from "./digest.ts";
export { gunzipStream, gzipStream } from "./gzip.ts";
export {
  DEFAULT_MAX_EXPANSION,
  EXPANSION_FLOOR,
  type ExpansionGuard,
  expansionGuard,
  type ExpansionGuardOptions,
  verifyLength,
} from "./limit.ts";
export {
  GZIP_BLOCK_SIZE,
  type ParallelGzipOptions,
  parallelGzipStream,
  setCompressionThreads,
} from "./parallel_gzip.ts";
export { type WorkerGunzipOptions, workerGunzipStream } from "./worker_gunzip.ts";
