/**
 * SHA-256 as stream stages: a pass-through tap that reports the digest of what flowed through,
 * and a verifier that errors the stream when the bytes do not match their digest.
 *
 * Hashing uses `node:crypto` (native, SHA-NI), which streams; WebCrypto cannot.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { DigestMismatchError } from "../errors.ts";
import { verifyLength } from "./limit.ts";

/** Digest and length of the bytes that passed through a {@link hashTap}. */
export interface StreamDigest {
  /** Lower-case hex SHA-256 of the bytes. */
  sha256: string;
  /** Number of bytes. */
  size: number;
}

/** A pass-through stage plus a promise of the SHA-256 and size of what passed. */
export interface HashTap {
  /** Pass-through transform; chunks are forwarded unchanged (no copy). */
  readonly stream: TransformStream<Uint8Array, Uint8Array>;
  /** Resolves when the stream has flushed. */
  readonly digest: Promise<StreamDigest>;
}

/**
 * Creates a pass-through stage that hashes every chunk (SHA-256) on its way.
 *
 * @example
 * ```ts
 * import { hashTap } from "@spackle/spackle/stream";
 * const tap = hashTap();
 * const file = await Deno.open("package.tar");
 * await file.readable.pipeThrough(tap.stream).pipeTo(new WritableStream());
 * const { sha256, size } = await tap.digest;
 * ```
 */
export function hashTap(): HashTap {
  const hash = createHash("sha256");
  let size = 0;
  let resolve!: (d: StreamDigest) => void;
  let reject!: (e: unknown) => void;
  const digest = new Promise<StreamDigest>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  digest.catch(() => {});
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hash.update(chunk);
      size += chunk.byteLength;
      controller.enqueue(chunk);
    },
    flush() {
      resolve({ sha256: hash.digest("hex"), size });
    },
    cancel(reason) {
      reject(reason);
    },
  });
  return { stream, digest };
}

/**
 * A pass-through stage that checks the bytes against `expected` (hex SHA-256, with or without a
 * `sha256:` prefix). On a mismatch the stream errors with {@link DigestMismatchError} at its end,
 * so a consumer writing to a temporary file discards it.
 *
 * With `size` (the declared length: a manifest record's `contentLength`, a descriptor's `size`)
 * the length is checked too, ahead of the digest: the stream errors with
 * {@link SizeMismatchError} on the first chunk past `size`, which cancels the source (a server
 * cannot stream forever), or at the end when the blob is shorter.
 *
 * @param where Names the blob in the error (URL, path or digest).
 *
 * @example
 * ```ts
 * import { verifySha256 } from "@spackle/spackle/stream";
 * const digest = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
 * const blob = await Deno.open("blob.tar.gz");
 * // Rejects with DigestMismatchError when the bytes do not hash to `digest`.
 * await blob.readable.pipeThrough(verifySha256(digest, "blob.tar.gz"))
 *   .pipeTo((await Deno.create("copy.tar.gz")).writable);
 * ```
 */
export function verifySha256(
  expected: string,
  where: string,
  size?: number,
): TransformStream<Uint8Array, Uint8Array> {
  const want = expected.replace(/^sha256:/, "").toLowerCase();
  const hash = createHash("sha256");
  const digest = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hash.update(chunk);
      controller.enqueue(chunk);
    },
    flush(controller) {
      const got = hash.digest("hex");
      if (got !== want) controller.error(new DigestMismatchError(where, want, got));
    },
  });
  if (size === undefined) return digest;
  const length = verifyLength(size, where);
  return { writable: length.writable, readable: length.readable.pipeThrough(digest) };
}

/**
 * SHA-256 of a byte string or UTF-8 text, lower-case hex.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "@spackle/spackle/stream";
 * sha256Hex("foo"); // "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
 * ```
 */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}
