/**
 * Text relocation exactly as Spack's `TextFilePrefixReplacer` does it, streaming and in place
 * (Spack relocation reference §1.4, §3.4, §3.5; acceptance cases T01–T26, C01–C04).
 *
 * @module
 */
import { dirname } from "node:path";
import { type FileHandle, open } from "node:fs/promises";
import { RelocationError } from "../errors.ts";
import { concatBytes } from "./_bytes.ts";
import { writeFully } from "./_file_io.ts";
import { encodePrefixMap } from "./_leading_prefix.ts";
import { TextRelocator, type TextSink } from "./_text_scanner.ts";

/** Bytes read from a file per step. */
const FILE_CHUNK = 1 << 20;
/** Up to this many output pieces per input chunk are passed on as they are. */
const FEW_PIECES = 8;

/**
 * A stream that relocates text with Spack's text rule: a key of `map` (old prefix → new prefix,
 * in Spack's order; identity pairs ignored) is replaced unless the run of `[A-Za-z0-9_-]` before
 * it is preceded by `/` (so `/home/x/<key>` stays), the first key in map order wins at a
 * position, there is no boundary after the key (`/a/b` rewrites `/a/bc`), and the run of
 * `[A-Za-z0-9_/-]` after a replaced key is skipped. Output length may differ from input length.
 *
 * Unchanged input is passed on as views of the input chunks (no copy) unless an input chunk
 * holds many matches, whose output is then joined into one chunk; keys split across chunks are
 * handled by holding back fewer bytes than the longest key.
 *
 * @example
 * ```ts
 * const map = new Map([["/old/store", "/new/store"]]);
 * const out = ReadableStream.from([new TextEncoder().encode("-L/old/store/lib")])
 *   .pipeThrough(relocateTextStream(map)); // yields "-L/new/store/lib"
 * ```
 */
export function relocateTextStream(
  map: ReadonlyMap<string, string>,
): TransformStream<Uint8Array, Uint8Array> {
  const pairs = encodePrefixMap(map);
  if (pairs.length === 0) return new TransformStream();
  const relocator = new TextRelocator(pairs);
  const pieces: Uint8Array[] = [];
  // Replacement bytes are shared by every match: hand out copies.
  const sink: TextSink = (piece, replaced) => pieces.push(replaced ? piece.slice() : piece);
  const emit = (controller: TransformStreamDefaultController<Uint8Array>) => {
    // Rare matches pass views of the input on; many small pieces become one chunk.
    if (pieces.length > FEW_PIECES) controller.enqueue(concatBytes(pieces));
    else for (const piece of pieces) controller.enqueue(piece);
    pieces.length = 0;
  };
  return new TransformStream({
    transform(chunk, controller) {
      relocator.push(chunk, sink);
      emit(controller);
    },
    flush(controller) {
      relocator.end(sink);
      emit(controller);
    },
  });
}

/**
 * Relocates the text file at `path` in place with the rule of {@link relocateTextStream}, as
 * Spack does: through the same file (its inode, mode and hard links stay), truncated to the new
 * length. Memory stays constant: output is written back behind the read position; when the text
 * grows past the bytes already read, the rest of the output goes to a temporary file beside
 * `path` that is then copied back. A file without a replaceable occurrence is not written at all
 * (its mtime is kept), and nothing before the first change is rewritten.
 *
 * Returns whether the file changed. Throws the file system's error when `path` cannot be opened
 * for reading and writing (as Spack's `open(path, "rb+")`).
 *
 * @example
 * ```ts
 * const map = new Map([["/old/store/pkg-h1", "/new/store/pkg-h1"], ["/old/store", "/new/store"]]);
 * const changed = await relocateTextFile("/new/store/pkg-h1/lib/pkgconfig/pkg.pc", map);
 * ```
 */
export async function relocateTextFile(
  path: string,
  map: ReadonlyMap<string, string>,
): Promise<boolean> {
  const pairs = encodePrefixMap(map);
  if (pairs.length === 0) return false;
  const relocator = new TextRelocator(pairs);
  const fh = await open(path, "r+");
  let spill: Spill | undefined;
  try {
    const size = (await fh.stat()).size;
    const buf = new Uint8Array(Math.min(FILE_CHUNK, Math.max(size, 1)));
    let readEnd = 0;
    let writeEnd = 0;
    let changed = false;
    let batch: Uint8Array[] = [];
    let batchLength = 0;
    const sink: TextSink = (piece, replaced) => {
      changed ||= replaced;
      // Before the first change the output equals the bytes already on disk.
      if (!changed) writeEnd += piece.length;
      else {
        batch.push(piece);
        batchLength += piece.length;
      }
    };
    // Pieces may be views of `buf`: they are written before `buf` is read into again.
    const flush = async () => {
      if (batchLength === 0) return;
      const end = writeEnd + batchLength;
      const bytes = concatBytes(batch); // one write per step, however many matches
      // Safe in place unless it would overwrite bytes not read yet.
      if (!spill && (end <= readEnd || readEnd === size)) await writeFully(fh, bytes, writeEnd);
      else {
        spill ??= await openSpill(path, writeEnd);
        await writeFully(spill.fh, bytes, writeEnd - spill.start);
      }
      writeEnd = end;
      batch = [];
      batchLength = 0;
    };
    while (readEnd < size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - readEnd), readEnd);
      if (bytesRead === 0) break;
      readEnd += bytesRead;
      relocator.push(buf.subarray(0, bytesRead), sink);
      await flush();
    }
    relocator.end(sink);
    await flush();
    if (!changed) return false;
    if (spill) await copyBack(spill, fh, writeEnd - spill.start, buf);
    await fh.truncate(writeEnd);
    return true;
  } finally {
    await fh.close();
    if (spill) {
      await spill.fh.close();
      await Deno.remove(spill.path);
    }
  }
}

/** Output that could not be written in place yet, destined for `start` in the original file. */
interface Spill {
  readonly fh: FileHandle;
  readonly path: string;
  readonly start: number;
}

async function openSpill(path: string, start: number): Promise<Spill> {
  const spillPath = await Deno.makeTempFile({ dir: dirname(path), prefix: ".spackle-text-" });
  return { fh: await open(spillPath, "r+"), path: spillPath, start };
}

/** Copies the first `length` bytes of the spill file into `fh` at `spill.start`. */
async function copyBack(
  spill: Spill,
  fh: FileHandle,
  length: number,
  buf: Uint8Array,
): Promise<void> {
  for (let done = 0; done < length;) {
    const { bytesRead } = await spill.fh.read(buf, 0, Math.min(buf.length, length - done), done);
    if (bytesRead === 0) {
      throw new RelocationError("TEMP_FILE_SHORT", `temporary file ${spill.path} ended early`);
    }
    await writeFully(fh, buf.subarray(0, bytesRead), spill.start + done);
    done += bytesRead;
  }
}
