/**
 * Positioned reads and writes that do not stop at a short transfer.
 *
 * @module
 */
import type { FileHandle } from "node:fs/promises";

/** Reads up to `length` bytes at `position`; fewer only at end of file. */
export async function readUpTo(
  fh: FileHandle,
  length: number,
  position: number,
): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Writes all of `bytes` at `position`, or at the current file position when it is `null`. */
export async function writeFully(
  fh: FileHandle,
  bytes: Uint8Array,
  position: number | null,
): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    const at = position === null ? null : position + done;
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, at);
    done += bytesWritten;
  }
}
