// Stream shaping for uploads (fixed-size chunks) and resumed downloads (skip a prefix).

import { ReadTimeoutError } from "../errors.ts";

/**
 * Regroups `stream` into chunks of exactly `size` bytes (the last may be shorter, none empty).
 * The yielded array is reused: the consumer must be done with it before asking for the next.
 */
export async function* fixedChunks(
  stream: ReadableStream<Uint8Array>,
  size: number,
): AsyncGenerator<Uint8Array> {
  const buffer = new Uint8Array(size);
  let filled = 0;
  for await (let part of stream) {
    while (part.length > 0) {
      const n = Math.min(size - filled, part.length);
      buffer.set(part.subarray(0, n), filled);
      filled += n;
      part = part.subarray(n);
      if (filled === size) {
        yield buffer;
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled);
}

/** `stream` without its first `count` bytes (for a server that ignored a `Range` request). */
export function skipBytes(
  stream: ReadableStream<Uint8Array>,
  count: number,
): ReadableStream<Uint8Array> {
  let left = count;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (left >= chunk.length) {
          left -= chunk.length;
          return;
        }
        controller.enqueue(left > 0 ? chunk.subarray(left) : chunk);
        left = 0;
      },
    }),
  );
}

/** `reader.read()`, rejected with a `ReadTimeoutError` when no chunk arrives within `ms` ms. */
export async function readWithin<T>(
  reader: ReadableStreamDefaultReader<T>,
  ms: number,
): Promise<ReadableStreamReadResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadTimeoutError(ms)), ms);
  });
  try {
    return await Promise.race([reader.read(), stalled]);
  } finally {
    clearTimeout(timer);
  }
}
