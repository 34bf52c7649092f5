/**
 * A file's contents as a stream that opens the file only when first pulled, so a walk over a
 * whole prefix holds no file handles and no data until the tar writer asks for them.
 *
 * @module
 */

const CHUNK_SIZE = 256 * 1024;

/**
 * Streams the file at `path`. `expectedSize` (bytes, from `lstat`) only sizes the read buffers:
 * the stream yields whatever the file holds, so a file that changed after `lstat` shows up as a
 * length mismatch in the consumer rather than being silently cut.
 *
 * Reads are synchronous: a read of at most 256 KiB is short, and an async call per read (one
 * thread-pool round trip each) dominated the time for prefixes with many small files.
 */
export function lazyFileBody(path: string, expectedSize: number): ReadableStream<Uint8Array> {
  let file: Deno.FsFile | undefined;
  let position = 0;
  const close = () => {
    file?.close();
    file = undefined;
  };
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      try {
        file ??= Deno.openSync(path, { read: true });
        // One byte past the expected end is enough to see EOF (or growth) on the last read.
        const want = Math.min(CHUNK_SIZE, Math.max(expectedSize - position, 0) + 1);
        const buffer = new Uint8Array(want);
        const count = file.readSync(buffer);
        if (count === null) {
          close();
          controller.close();
          return;
        }
        position += count;
        controller.enqueue(buffer.subarray(0, count));
      } catch (error) {
        close();
        throw error;
      }
    },
    cancel: close,
  }, { highWaterMark: 0 });
}
