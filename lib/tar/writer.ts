/**
 * Streaming tar writer producing the bytes Python `tarfile` writes in PAX format, which is what
 * Spack's package tarballs are (Spack build cache format reference §2.2).
 *
 * @module
 */
import { SpackleError } from "../errors.ts";
import { encodePaxHeader } from "./_pax.ts";
import {
  BLOCK_SIZE,
  encodeUstarHeader,
  MAX_USTAR_NAME,
  MAX_USTAR_SIZE,
  RECORD_SIZE,
} from "./_ustar.ts";

/** One archive member as the writer takes it. */
export interface TarEntry {
  /** Member name; directories get their trailing `/` from the writer. */
  name: string;
  /** Member type: typeflag `0`, `5`, `2` or `1`. */
  type: "file" | "directory" | "symlink" | "hardlink";
  /** Permission bits written to the header (0 to 0o7777). */
  mode: number;
  /** Body size in bytes; must be 0 for anything but `file`. */
  size: number;
  /** Target of a symlink (verbatim) or a hardlink (member name of the first occurrence). */
  linkname?: string;
  /** Body of a `file`; must yield exactly `size` bytes. Streams are read as the tar is pulled. */
  body?: ReadableStream<Uint8Array> | Uint8Array;
}

/**
 * An entry the writer cannot encode, or a body that did not yield the promised size.
 *
 * @example
 * ```ts
 * import { createTarStream, TarEntryError } from "@spackle/spackle/tar";
 * async function* entries() {
 *   yield { name: "pkg/file", type: "file" as const, mode: 0o644, size: 10, body: new Uint8Array(3) };
 * }
 * try {
 *   await new Response(createTarStream(entries())).arrayBuffer();
 * } catch (e) {
 *   if (e instanceof TarEntryError) console.error(e.entry, e.message); // 3 bytes, not the 10 promised
 *   else throw e;
 * }
 * ```
 */
export class TarEntryError extends SpackleError {
  /** Creates the error for the member named `entry`. */
  constructor(readonly entry: string, reason: string) {
    super("TAR_ENTRY", `tar entry ${JSON.stringify(entry)}: ${reason}`);
  }
}

const TYPEFLAGS: Record<TarEntry["type"], string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  directory: "5",
};

/**
 * Writes `entries` as an uncompressed tar stream, byte-identical to Python `tarfile` in
 * PAX_FORMAT with uid/gid/mtime 0 and empty user/group names: ustar headers, a `././@PaxHeader`
 * extended header when a name or link target is over 100 bytes or not ASCII, or a size is
 * 8 GiB or more, bodies padded to 512 bytes, two zero blocks, and zero padding to 10240 bytes.
 * Bodies are streamed, never buffered whole: body chunks of 64 KiB or more are passed through
 * uncopied, smaller pieces (headers, padding, small files) are packed into 64 KiB chunks.
 * Entries are pulled one at a time, so a lazy `AsyncIterable` keeps memory constant.
 *
 * The stream errors with {@link TarEntryError} for an invalid entry or a body whose length is
 * not `size`. Cancelling the stream cancels the current body and closes `entries`.
 *
 * @example
 * ```ts
 * import { createTarStream } from "@spackle/spackle/tar";
 * const tar = createTarStream((async function* () {
 *   yield { name: "opt", type: "directory", mode: 0o755, size: 0 } as const;
 *   yield { name: "opt/hello.txt", type: "file", mode: 0o644, size: 3, body: new Uint8Array([104, 105, 10]) } as const;
 * })());
 * const bytes = new Uint8Array(await new Response(tar).arrayBuffer());
 * console.assert(bytes.length === 10240);
 * ```
 */
export function createTarStream(entries: AsyncIterable<TarEntry>): ReadableStream<Uint8Array> {
  return ReadableStream.from(tarChunks(entries));
}

async function* tarChunks(entries: AsyncIterable<TarEntry>): AsyncGenerator<Uint8Array> {
  const packer = new ChunkPacker();
  for await (const entry of entries) {
    yield* packer.add(encodeEntryHeader(entry));
    if (entry.type === "file" && entry.size > 0) {
      for await (const chunk of bodyChunks(entry)) yield* packer.add(chunk);
      yield* packer.zeros((BLOCK_SIZE - entry.size % BLOCK_SIZE) % BLOCK_SIZE);
    }
  }
  // Two zero blocks end the archive; CPython then pads the last record.
  const end = packer.written + 2 * BLOCK_SIZE;
  yield* packer.zeros(2 * BLOCK_SIZE + (RECORD_SIZE - end % RECORD_SIZE) % RECORD_SIZE);
  yield* packer.flush();
}

/** Output chunk size: headers and small files are packed together up to this many bytes. */
const CHUNK_SIZE = 64 * 1024;

/**
 * Packs small pieces (headers, padding, small bodies) into chunks of up to {@link CHUNK_SIZE}
 * bytes, since every chunk costs a trip through the stream machinery; pieces of at least that
 * size pass through without a copy.
 */
class ChunkPacker {
  #buffer = new Uint8Array(CHUNK_SIZE);
  #length = 0;
  /** Bytes handed to the packer so far. */
  written = 0;

  *add(piece: Uint8Array): Generator<Uint8Array> {
    this.written += piece.length;
    if (this.#length + piece.length > CHUNK_SIZE) yield* this.flush();
    if (piece.length >= CHUNK_SIZE) {
      yield piece;
      return;
    }
    this.#buffer.set(piece, this.#length);
    this.#length += piece.length;
  }

  *zeros(count: number): Generator<Uint8Array> {
    this.written += count;
    if (this.#length + count > CHUNK_SIZE) yield* this.flush();
    if (count >= CHUNK_SIZE) {
      yield new Uint8Array(count);
      return;
    }
    this.#length += count; // a fresh buffer is all zero
  }

  *flush(): Generator<Uint8Array> {
    if (this.#length === 0) return;
    yield this.#buffer.subarray(0, this.#length);
    this.#buffer = new Uint8Array(CHUNK_SIZE);
    this.#length = 0;
  }
}

function encodeEntryHeader(entry: TarEntry): Uint8Array {
  const fail = (reason: string) => new TarEntryError(entry.name, reason);
  if (entry.name === "" || entry.name.includes("\0")) throw fail("empty name or NUL in name");
  if (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777) {
    throw fail(`mode ${entry.mode} is not within 0..0o7777`);
  }
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw fail(`invalid size ${entry.size}`);
  if (entry.type !== "file" && (entry.size !== 0 || entry.body !== undefined)) {
    throw fail(`a ${entry.type} has no body`);
  }
  if (entry.type === "file" && entry.size > 0 && entry.body === undefined) {
    throw fail(`size is ${entry.size} but there is no body`);
  }
  const hasLink = entry.type === "symlink" || entry.type === "hardlink";
  const linkname = entry.linkname ?? "";
  if (hasLink !== (linkname !== "") || linkname.includes("\0")) {
    throw fail(hasLink ? "missing or invalid link target" : `a ${entry.type} has no link target`);
  }
  if (!(entry.type in TYPEFLAGS)) throw fail(`unknown type ${entry.type}`);

  const name = entry.type === "directory" && !entry.name.endsWith("/")
    ? `${entry.name}/`
    : entry.name;
  // Same tests and record order as CPython's TarInfo.create_pax_header.
  const records: [string, string][] = [];
  if (needsPax(name)) records.push(["path", name]);
  if (needsPax(linkname)) records.push(["linkpath", linkname]);
  const bigSize = entry.size > MAX_USTAR_SIZE;
  if (bigSize) records.push(["size", String(entry.size)]);

  const ustar = encodeUstarHeader({
    name,
    mode: entry.mode,
    size: bigSize ? 0 : entry.size,
    typeflag: TYPEFLAGS[entry.type],
    linkname,
  });
  if (records.length === 0) return ustar;
  const pax = encodePaxHeader(records);
  const out = new Uint8Array(pax.length + ustar.length);
  out.set(pax);
  out.set(ustar, pax.length);
  return out;
}

/** CPython puts a string in a PAX record when it is not ASCII or longer than the field. */
function needsPax(text: string): boolean {
  // deno-lint-ignore no-control-regex
  return text.length > MAX_USTAR_NAME || !/^[\x00-\x7f]*$/.test(text);
}

async function* bodyChunks(entry: TarEntry): AsyncGenerator<Uint8Array> {
  const body = entry.body!;
  if (body instanceof Uint8Array) {
    if (body.length !== entry.size) {
      throw new TarEntryError(entry.name, `body has ${body.length} bytes, size is ${entry.size}`);
    }
    yield body;
    return;
  }
  const reader = body.getReader();
  let seen = 0;
  let finished = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value.length;
      if (seen > entry.size) {
        throw new TarEntryError(entry.name, `body yields more than ${entry.size} bytes`);
      }
      if (value.length > 0) yield value;
    }
    finished = true;
    if (seen !== entry.size) {
      throw new TarEntryError(entry.name, `body yields ${seen} bytes, size is ${entry.size}`);
    }
  } finally {
    // Release the source (e.g. close a lazily opened file) when we stop early.
    if (!finished) await reader.cancel().catch(() => {});
  }
}
