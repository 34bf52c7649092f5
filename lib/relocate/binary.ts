/**
 * Binary string relocation exactly as Spack's `BinaryFilePrefixReplacer` does it, streaming and
 * in place (Spack relocation reference §1.5, §3.4, §3.5; acceptance cases B01–B24, C05, C06).
 *
 * @module
 */
import { type FileHandle, open } from "node:fs/promises";
import { concatBytes } from "./_bytes.ts";
import { writeFully } from "./_file_io.ts";
import { BinaryScanner } from "./_binary_scanner.ts";
import { encodePrefixMap } from "./_leading_prefix.ts";

/** Bytes read from a file per step. */
const FILE_CHUNK = 1 << 20;

/** Options of binary relocation. */
export interface BinaryRelocationOptions {
  /**
   * Spack's `suffix_safety_size`: how many trailing bytes of a NUL-terminated string must keep
   * their value. Spack always uses 7, the default; other values exist for Spack's own tests.
   */
  suffixSafetySize?: number;
}

/**
 * A stream that relocates binary data with Spack's binary string rule, never changing its
 * length. Each occurrence of a key of `map` (old prefix → new prefix, in Spack's order; identity
 * pairs ignored; first key in map order wins at a position; no boundary rules) is rewritten:
 *
 * - `new` longer than `old`: {@link CannotGrowStringError};
 * - no NUL among the 8 bytes after the key, or padding keeps the last 7 bytes before the NUL
 *   (the rest of the string is 7 bytes or longer, or `old` and `new` end alike):
 *   `/` × (len(old) − len(new)) + `new` (leading-slash padding);
 * - else, if the string shrinks by more than 7 bytes: `new`, the rest of the string and a NUL
 *   (the old tail stays behind it);
 * - else {@link CannotShrinkCStringError}.
 *
 * Scanning resumes after the NUL window, and at end of input a window without NUL counts as not
 * terminated. Chunks are rewritten in place and passed on (zero copy): the caller's buffers
 * change. Only the bytes around a chunk seam (at most the longest key plus 8 bytes, each side)
 * are copied to be searched, and chunks shorter than that are joined to the held-back bytes.
 *
 * @throws {CannotGrowStringError} (through the stream) on the first occurrence that would grow.
 * @throws {CannotShrinkCStringError} (through the stream) on a C string that cannot shrink.
 *
 * @example
 * ```ts
 * const map = new Map([["/old/prefix/abc", "/new/pre"]]);
 * const out = ReadableStream.from([new TextEncoder().encode("X/old/prefix/abc/lib\0")])
 *   .pipeThrough(relocateBinaryStream(map)); // "X////////new/pre/lib\0"
 * ```
 */
export function relocateBinaryStream(
  map: ReadonlyMap<string, string>,
  options: BinaryRelocationOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  const pairs = encodePrefixMap(map);
  if (pairs.length === 0) return new TransformStream();
  const scanner = new BinaryScanner(pairs, options);
  const reach = scanner.reach;
  let carry: Uint8Array = new Uint8Array(0);
  return new TransformStream({
    transform(chunk, controller) {
      if (carry.length > 0 && chunk.length < 2 * reach) {
        const buf = concatBytes([carry, chunk]);
        const done = scanner.scan(buf, 0, scanner.limitFor(buf, false), false);
        if (done > 0) controller.enqueue(buf.subarray(0, done));
        carry = buf.subarray(done);
        return;
      }
      let start = 0;
      if (carry.length > 0) {
        // Candidates starting in the carry are decided on a small joined copy, whose
        // rewritten bytes then go back where they came from.
        const seam = concatBytes([carry, chunk.subarray(0, reach)]);
        start = scanner.scan(seam, 0, carry.length, false) - carry.length;
        carry.set(seam.subarray(0, carry.length));
        chunk.set(seam.subarray(carry.length));
        controller.enqueue(carry);
      }
      const done = scanner.scan(chunk, start, scanner.limitFor(chunk, false), false);
      if (done > 0) controller.enqueue(chunk.subarray(0, done));
      // A view: the held-back bytes are rewritten in the caller's buffer too.
      carry = chunk.subarray(done);
    },
    flush(controller) {
      if (carry.length === 0) return;
      scanner.scan(carry, 0, carry.length, true);
      controller.enqueue(carry);
    },
  });
}

/**
 * Relocates the binary file at `path` in place with the rule of {@link relocateBinaryStream}:
 * it is read in 1 MiB steps, the next step while the current one is scanned (constant memory,
 * any size), and only the rewritten byte runs are written back, at their offsets, through the
 * same file (inode, mode and hard links stay).
 *
 * Returns whether the file changed; a file without occurrences is not written (even when every
 * new prefix is longer than its old one).
 *
 * @throws {CannotGrowStringError | CannotShrinkCStringError} naming `path`; as in Spack, the
 *   occurrences before the failing one are already written.
 * @throws the file system's error when `path` cannot be opened for reading and writing.
 *
 * @example
 * ```ts
 * const map = new Map([["/opt/spack/__spack_path_placeholder__", "/home/u/spack"]]);
 * const changed = await relocateBinaryFile("/home/u/spack/linux-x86_64/zlib-1.3-x/lib/libz.so", map);
 * ```
 */
export async function relocateBinaryFile(
  path: string,
  map: ReadonlyMap<string, string>,
  options: BinaryRelocationOptions = {},
): Promise<boolean> {
  const pairs = encodePrefixMap(map);
  if (pairs.length === 0) return false;
  const runs: number[] = [];
  const scanner = new BinaryScanner(pairs, {
    ...options,
    file: path,
    onPatch: (start, end) => runs.push(start, end),
  });
  const fh = await open(path, "r+");
  // Two buffers: the next step is read while this one is scanned. Each holds the carry from
  // the previous step (< reach bytes) right before the freshly read bytes at offset `reach`.
  const reach = scanner.reach;
  const step = Math.max(FILE_CHUNK, 4 * reach);
  const buffers = [new Uint8Array(reach + step), new Uint8Array(reach + step)];
  const readStep = async (buf: Uint8Array, position: number): Promise<number> => {
    let n = 0;
    while (n < step) {
      const { bytesRead } = await fh.read(buf, reach + n, step - n, position + n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return n;
  };
  let next: Promise<number> | undefined = readStep(buffers[0], 0);
  try {
    let position = 0; // file offset of the next unread byte
    let carry = 0;
    for (let current = 0;; current ^= 1) {
      const buf = buffers[current];
      const n: number = await next!;
      const eof = n < step;
      next = eof ? undefined : readStep(buffers[current ^ 1], position + n);
      const view = buf.subarray(reach - carry, reach + n);
      const base = position - carry; // file offset of view[0]
      position += n;
      let done: number;
      try {
        done = scanner.scan(view, 0, scanner.limitFor(view, eof), eof);
      } finally {
        // Also on error: Spack has written the earlier occurrences by then.
        await writeRuns(fh, runs, view, base);
      }
      if (eof) return scanner.changed;
      carry = view.length - done;
      buffers[current ^ 1].set(view.subarray(done), reach - carry);
    }
  } finally {
    await next?.catch(() => {});
    await fh.close();
  }
}

/** Writes the rewritten runs `[start, end)` of `buf` (pairs in `runs`), merging touching ones. */
async function writeRuns(
  fh: FileHandle,
  runs: number[],
  buf: Uint8Array,
  base: number,
): Promise<void> {
  for (let i = 0; i < runs.length;) {
    const start = runs[i];
    let end = runs[i + 1];
    for (i += 2; i < runs.length && runs[i] <= end; i += 2) end = Math.max(end, runs[i + 1]);
    await writeFully(fh, buf.subarray(start, end), base + start);
  }
  runs.length = 0;
}
