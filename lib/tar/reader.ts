/**
 * A streaming tar reader for untrusted archives: PAX (`x`) and GNU long-name (`L`, `K`) records
 * are folded into the member they describe, bodies are handed out as zero-copy slices of the
 * input chunks, and anything unusual is reported rather than guessed at.
 *
 * @module
 */
import { FormatError } from "../errors.ts";
import { decodePaxRecords } from "./_pax.ts";
import { BLOCK_SIZE, decodeUstarHeader, isZeroBlock } from "./_ustar.ts";

/** One archive member after its extended headers were applied. */
export interface TarMember {
  /** Member name as stored (not normalised). */
  name: string;
  /** Link target for `symlink` and `hardlink`, else `""`. */
  linkname: string;
  /** Body size in bytes (0 for everything but `file` and `unsupported`). */
  size: number;
  /** Permission bits. */
  mode: number;
  /** Kind of member; `unsupported` covers devices, FIFOs, sparse files and unknown flags. */
  type: "file" | "directory" | "symlink" | "hardlink" | "unsupported";
  /** The raw type flag, for messages; `S` also for PAX-encoded sparse files. */
  typeflag: string;
}

/** Limit for PAX and GNU long-name bodies, which are held in memory. */
const MAX_META_SIZE = 1024 * 1024;

const TYPES: Record<string, TarMember["type"]> = {
  "\0": "file",
  "0": "file",
  "7": "file", // contiguous file: a regular file everywhere but on one old system
  "1": "hardlink",
  "2": "symlink",
  "5": "directory",
};

/**
 * Reads members one by one; call {@link TarReader.body} before the next {@link TarReader.next} to get the data.
 *
 * @example
 * ```ts
 * import { TarReader } from "@spackle/spackle/tar";
 * import { gunzipStream } from "@spackle/spackle/stream";
 * const file = await Deno.open("package.tar.gz");
 * const reader = new TarReader(file.readable.pipeThrough(gunzipStream()), "package.tar.gz");
 * for (let member = await reader.next(); member; member = await reader.next()) {
 *   console.log(member.type, member.name, member.size);
 * }
 * ```
 */
export class TarReader {
  readonly #input: ByteSource;
  readonly #source: string;
  #remaining = 0;
  #padding = 0;

  /** Reads the uncompressed tar `stream`; `source` names it in errors. */
  constructor(stream: ReadableStream<Uint8Array>, source: string) {
    this.#input = new ByteSource(stream, source);
    this.#source = source;
  }

  /**
   * The next member, skipping what is left of the previous body, or `undefined` at the
   * end-of-archive block (the rest of the input is read and discarded, so that digests computed
   * upstream see every byte).
   *
   * @throws {FormatError} for a malformed or truncated archive.
   */
  async next(): Promise<TarMember | undefined> {
    await this.#input.skip(this.#remaining + this.#padding);
    this.#remaining = this.#padding = 0;
    let pax = new Map<string, string>();
    let longName: string | undefined;
    let longLink: string | undefined;
    while (true) {
      const block = await this.#input.exact(BLOCK_SIZE);
      if (block === undefined) throw this.#error("truncated archive (no end-of-archive block)");
      if (isZeroBlock(block)) {
        await this.#input.drain();
        return undefined;
      }
      const header = decodeUstarHeader(block, this.#source);
      const padding = (BLOCK_SIZE - header.size % BLOCK_SIZE) % BLOCK_SIZE;
      if ("xgLK".includes(header.typeflag)) {
        if (header.size > MAX_META_SIZE) throw this.#error("oversized extended header");
        const data = await this.#input.exact(header.size + padding);
        if (data === undefined) throw this.#error("truncated archive");
        const body = data.subarray(0, header.size);
        if (header.typeflag === "x") pax = decodePaxRecords(body, this.#source);
        else if (header.typeflag === "g") this.#checkGlobal(decodePaxRecords(body, this.#source));
        else if (header.typeflag === "L") longName = cString(body, this.#source);
        else longLink = cString(body, this.#source);
        continue;
      }
      const member: TarMember = {
        name: pax.get("path") ?? longName ?? header.name,
        linkname: pax.get("linkpath") ?? longLink ?? header.linkname,
        size: pax.has("size") ? paxSize(pax.get("size")!, this.#source) : header.size,
        mode: header.mode,
        type: TYPES[header.typeflag] ?? "unsupported",
        typeflag: header.typeflag,
      };
      if ([...pax.keys()].some((key) => key.startsWith("GNU.sparse."))) {
        member.type = "unsupported";
        member.typeflag = "S";
      }
      // CPython treats an old-style regular entry with a trailing slash as a directory.
      if (header.typeflag === "\0" && member.name.endsWith("/")) member.type = "directory";
      if (member.type !== "file" && member.type !== "unsupported") {
        if (member.size !== 0) throw this.#error(`${member.type} ${member.name} has a body`);
      } else {
        this.#remaining = member.size;
        this.#padding = (BLOCK_SIZE - member.size % BLOCK_SIZE) % BLOCK_SIZE;
      }
      if (member.type !== "symlink" && member.type !== "hardlink") member.linkname = "";
      return member;
    }
  }

  /** The current member's body as slices of the input; each slice is valid until the next is requested. */
  async *body(): AsyncGenerator<Uint8Array> {
    while (this.#remaining > 0) {
      const chunk = await this.#input.some(this.#remaining);
      this.#remaining -= chunk.length;
      yield chunk;
    }
  }

  /** Stops reading and cancels the input stream with `reason`. */
  async cancel(reason: unknown): Promise<void> {
    await this.#input.cancel(reason);
  }

  /** Global headers apply to all later members; only harmless keys are accepted. */
  #checkGlobal(records: Map<string, string>): void {
    for (const key of ["path", "linkpath", "size"]) {
      if (records.has(key)) throw this.#error(`global extended header sets "${key}"`);
    }
  }

  #error(detail: string): FormatError {
    return new FormatError(this.#source, detail);
  }
}

function paxSize(text: string, source: string): number {
  const size = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(size)) throw new FormatError(source, `bad PAX size ${text}`);
  return size;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function cString(data: Uint8Array, source: string): string {
  const nul = data.indexOf(0);
  try {
    return utf8.decode(nul === -1 ? data : data.subarray(0, nul));
  } catch (error) {
    throw new FormatError(source, "GNU long name is not UTF-8", { cause: error });
  }
}

/** Pull-based view of a byte stream with exact-length and zero-copy reads. */
class ByteSource {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #source: string;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;

  constructor(stream: ReadableStream<Uint8Array>, source: string) {
    this.#reader = stream.getReader();
    this.#source = source;
  }

  /** Makes unread bytes available; false at the end of the input. */
  async #fill(): Promise<boolean> {
    while (this.#offset === this.#chunk.length) {
      const { done, value } = await this.#reader.read();
      if (done) return false;
      this.#chunk = value;
      this.#offset = 0;
    }
    return true;
  }

  /** Exactly `length` bytes, `undefined` at a clean end of input; copies only across chunks. */
  async exact(length: number): Promise<Uint8Array | undefined> {
    if (!(await this.#fill())) return undefined;
    if (this.#chunk.length - this.#offset >= length) {
      this.#offset += length;
      return this.#chunk.subarray(this.#offset - length, this.#offset);
    }
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const piece = await this.some(length - filled);
      out.set(piece, filled);
      filled += piece.length;
    }
    return out;
  }

  /** Between 1 and `limit` bytes, without copying. */
  async some(limit: number): Promise<Uint8Array> {
    if (!(await this.#fill())) throw new FormatError(this.#source, "truncated archive");
    const end = Math.min(this.#chunk.length, this.#offset + limit);
    const piece = this.#chunk.subarray(this.#offset, end);
    this.#offset = end;
    return piece;
  }

  async skip(length: number): Promise<void> {
    while (length > 0) length -= (await this.some(length)).length;
  }

  async drain(): Promise<void> {
    this.#offset = this.#chunk.length;
    while (await this.#fill()) this.#offset = this.#chunk.length;
  }

  async cancel(reason: unknown): Promise<void> {
    await this.#reader.cancel(reason);
  }
}
