/**
 * A small ELF reader with the same acceptance rules as Spack's `util/elf.py` (Spack relocation
 * reference §1.6): 32/64-bit, both byte orders, `ET_EXEC`/`ET_DYN` only; program headers give
 * PT_LOAD (vaddr → offset), PT_INTERP and PT_DYNAMIC; the dynamic array is walked to `DT_NULL`;
 * at most one `DT_RPATH`/`DT_RUNPATH`; exactly one `DT_STRTAB`, whose size comes from the section
 * headers. Anything else raises {@link ElfParseError}, which callers turn into "not an ELF file
 * we relocate".
 *
 * Only headers and the few strings asked for are read, with positioned reads through a small
 * block cache, so a 2 GiB library costs a handful of small reads (each async read costs far more
 * than copying a block).
 *
 * @module
 */
import type { FileHandle } from "node:fs/promises";
import { concatBytes } from "./_bytes.ts";
import { readUpTo } from "./_file_io.ts";

const ET_EXEC = 2;
const ET_DYN = 3;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const SHT_STRTAB = 3;

/** Entries read per positioned read when walking tables of unknown useful length. */
const TABLE_BATCH = 128;
/** Reads are served from aligned blocks of this size; one block usually holds every header. */
const BLOCK = 16384;

/** The file is not an ELF file Spack's parser accepts (wrong type, malformed, truncated). */
export class ElfParseError extends Error {}

/** A NUL-terminated string of the file: its bytes (without the NUL) and its file offset. */
export interface ElfString {
  /** The string's bytes, terminating NUL excluded. */
  readonly bytes: Uint8Array;
  /** File offset of the first byte, where an in-place rewrite starts. */
  readonly offset: number;
}

/** What relocation and inspection need from an ELF file. */
export interface ParsedElf {
  /** `ELFCLASS64` rather than `ELFCLASS32`. */
  readonly is64: boolean;
  /** `ELFDATA2LSB` rather than `ELFDATA2MSB`. */
  readonly littleEndian: boolean;
  /** PT_INTERP string, when the file has a non-empty PT_INTERP segment. */
  readonly interpreter?: ElfString;
  /** The single `DT_RPATH` or `DT_RUNPATH` string; `runpath` tells which tag holds it. */
  readonly rpath?: ElfString & { readonly runpath: boolean };
  /** `DT_NEEDED` strings, in dynamic-array order. */
  readonly needed: readonly Uint8Array[];
  /** `DT_SONAME` string. */
  readonly soname?: Uint8Array;
}

interface Layout {
  is64: boolean;
  le: boolean;
  size: number;
  blocks: BlockReader;
}

/**
 * Parses the ELF file open at `fh`. Throws {@link ElfParseError} when Spack's parser would reject
 * the file; I/O errors propagate unchanged.
 */
export async function parseElf(fh: FileHandle): Promise<ParsedElf> {
  const size = (await fh.stat()).size;
  const blocks = new BlockReader(fh);
  const ident = await readAt({ blocks, size, is64: false, le: true }, 0, 16, "ELF identification");
  if (ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46) {
    throw new ElfParseError("no ELF magic");
  }
  if (ident[4] !== 1 && ident[4] !== 2) throw new ElfParseError("invalid ELF class");
  if (ident[5] !== 1 && ident[5] !== 2) throw new ElfParseError("invalid ELF data encoding");
  const f: Layout = { blocks, size, is64: ident[4] === 2, le: ident[5] === 1 };

  const hdr = view(await readAt(f, 0, f.is64 ? 64 : 52, "ELF header"));
  const type = hdr.getUint16(16, f.le);
  if (type !== ET_EXEC && type !== ET_DYN) throw new ElfParseError("not ET_EXEC or ET_DYN");
  const phoff = word(f, hdr, f.is64 ? 32 : 28);
  const shoff = word(f, hdr, f.is64 ? 40 : 32);
  const phnum = hdr.getUint16(f.is64 ? 56 : 44, f.le);
  const shnum = hdr.getUint16(f.is64 ? 60 : 48, f.le);

  const segments = await readProgramHeaders(f, phoff, phnum);
  const interpreter = segments.interp
    ? await readCString(f, segments.interp.offset, segments.interp.filesz, "PT_INTERP")
    : undefined;
  const base: ParsedElf = { is64: f.is64, littleEndian: f.le, interpreter, needed: [] };
  if (!segments.dynamic || segments.loads.length === 0) return base;

  const dyn = await readDynamicArray(f, segments.dynamic.offset, segments.dynamic.filesz);
  if (dyn.rpathCount > 1) throw new ElfParseError("no unique rpath/runpath");
  if (dyn.strtabVaddrs.length !== 1) throw new ElfParseError("no unique DT_STRTAB");
  if (dyn.rpathCount === 0 && dyn.needed.length === 0 && dyn.soname === undefined) return base;

  const strtab = vaddrToOffset(segments.loads, dyn.strtabVaddrs[0]);
  const strtabSize = await findStrtabSize(f, shoff, shnum, strtab);
  if (strtab + strtabSize > size) throw new ElfParseError("string table is truncated");
  const str = (at: number, what: string) => {
    if (at >= strtabSize) throw new ElfParseError(`${what} lies outside the string table`);
    return readCString(f, strtab + at, strtabSize - at, what);
  };
  const needed: Uint8Array[] = [];
  for (const at of dyn.needed) needed.push((await str(at, "DT_NEEDED")).bytes);
  const soname = dyn.soname === undefined ? undefined : (await str(dyn.soname, "DT_SONAME")).bytes;
  const rpath = dyn.rpath
    ? { ...(await str(dyn.rpath.at, "DT_RPATH")), runpath: dyn.rpath.runpath }
    : undefined;
  return { ...base, rpath, needed, soname };
}

interface Segment {
  offset: number;
  filesz: number;
}

interface Segments {
  /** `[p_offset, p_vaddr]` of each PT_LOAD, sorted by vaddr. */
  loads: [number, number][];
  interp?: Segment;
  dynamic?: Segment;
}

async function readProgramHeaders(f: Layout, phoff: number, phnum: number): Promise<Segments> {
  const entSize = f.is64 ? 56 : 32;
  const table = view(await readAt(f, phoff, phnum * entSize, "program headers"));
  const out: Segments = { loads: [] };
  for (let i = 0; i < phnum; i++) {
    const at = i * entSize;
    const type = table.getUint32(at, f.le);
    if (type !== PT_LOAD && type !== PT_INTERP && type !== PT_DYNAMIC) continue;
    const offset = word(f, table, at + (f.is64 ? 8 : 4));
    const vaddr = word(f, table, at + (f.is64 ? 16 : 8));
    const filesz = word(f, table, at + (f.is64 ? 32 : 16));
    // Spack ignores empty segments of every type (an empty PT_DYNAMIC occurs in debug files).
    if (filesz === 0) continue;
    if (type === PT_LOAD) out.loads.push([offset, vaddr]);
    else if (type === PT_INTERP) out.interp = { offset, filesz };
    else out.dynamic = { offset, filesz };
  }
  out.loads.sort((a, b) => a[1] - b[1]);
  return out;
}

interface DynamicArray {
  rpathCount: number;
  rpath?: { at: number; runpath: boolean };
  strtabVaddrs: number[];
  needed: number[];
  soname?: number;
}

async function readDynamicArray(f: Layout, offset: number, filesz: number): Promise<DynamicArray> {
  const entSize = f.is64 ? 16 : 8;
  const out: DynamicArray = { rpathCount: 0, strtabVaddrs: [], needed: [] };
  // Never read past the segment's advertised size; stop at DT_NULL.
  for await (
    const [entries, count] of tableBatches(
      f,
      offset,
      Math.floor(filesz / entSize),
      entSize,
      "dynamic array",
    )
  ) {
    for (let i = 0; i < count; i++) {
      const at = i * entSize;
      const tag = f.is64 ? Number(entries.getBigInt64(at, f.le)) : entries.getInt32(at, f.le);
      if (tag === DT_NULL) return out;
      const valAt = at + (f.is64 ? 8 : 4);
      if (tag === DT_RPATH || tag === DT_RUNPATH) {
        out.rpathCount++;
        out.rpath = { at: word(f, entries, valAt), runpath: tag === DT_RUNPATH };
      } else if (tag === DT_STRTAB) out.strtabVaddrs.push(word(f, entries, valAt));
      else if (tag === DT_NEEDED) out.needed.push(word(f, entries, valAt));
      else if (tag === DT_SONAME) out.soname = word(f, entries, valAt);
    }
  }
  return out;
}

/** Maps a virtual address through the PT_LOAD with the highest `p_vaddr` not above it. */
function vaddrToOffset(loads: [number, number][], vaddr: number): number {
  let found: [number, number] | undefined;
  for (const load of loads) {
    if (load[1] > vaddr) break;
    found = load;
  }
  if (!found) throw new ElfParseError("DT_STRTAB is below every PT_LOAD segment");
  return found[0] - found[1] + vaddr;
}

/** Size of the `SHT_STRTAB` section at file offset `strtab`; files without one are rejected. */
async function findStrtabSize(
  f: Layout,
  shoff: number,
  shnum: number,
  strtab: number,
): Promise<number> {
  const entSize = f.is64 ? 64 : 40;
  for await (const [headers, count] of tableBatches(f, shoff, shnum, entSize, "section headers")) {
    for (let i = 0; i < count; i++) {
      const at = i * entSize;
      if (headers.getUint32(at + 4, f.le) !== SHT_STRTAB) continue;
      if (word(f, headers, at + (f.is64 ? 24 : 16)) !== strtab) continue;
      return word(f, headers, at + (f.is64 ? 32 : 20));
    }
  }
  throw new ElfParseError("no section header gives the size of the dynamic string table");
}

/**
 * Yields a table of `count` fixed-size entries in batches, so a walk that stops early (DT_NULL,
 * a matching section) reads little. Like Spack, only an entry actually needed that lies past
 * the end of the file is an error.
 */
async function* tableBatches(
  f: Layout,
  offset: number,
  count: number,
  entSize: number,
  what: string,
): AsyncGenerator<[DataView, number]> {
  for (let done = 0; done < count;) {
    const available = Math.floor((f.size - (offset + done * entSize)) / entSize);
    const n = Math.min(count - done, TABLE_BATCH, available);
    if (n <= 0) throw new ElfParseError(`${what} are truncated`);
    yield [view(await readAt(f, offset + done * entSize, n * entSize, what)), n];
    done += n;
  }
}

/** Reads the NUL-terminated string at `offset`, which must end within `limit` bytes. */
async function readCString(
  f: Layout,
  offset: number,
  limit: number,
  what: string,
): Promise<ElfString> {
  if (offset + limit > f.size) throw new ElfParseError(`${what} is truncated`);
  const parts: Uint8Array[] = [];
  let length = 0;
  for (let chunk = 256; length < limit; chunk = Math.min(chunk * 2, 65536)) {
    const part = await readAt(f, offset + length, Math.min(chunk, limit - length), what);
    const nul = part.indexOf(0);
    if (nul >= 0) {
      parts.push(part.subarray(0, nul));
      return { bytes: concatBytes(parts), offset };
    }
    parts.push(part);
    length += part.length;
  }
  throw new ElfParseError(`${what} is not NUL-terminated`);
}

async function readAt(
  f: Layout,
  offset: number,
  length: number,
  what: string,
): Promise<Uint8Array> {
  if (offset + length > f.size) throw new ElfParseError(`${what} lies past the end of the file`);
  const bytes = await f.blocks.read(offset, length);
  if (bytes.length < length) throw new ElfParseError(`${what} is truncated`);
  return bytes;
}

/**
 * Positioned reads served from cached, aligned blocks; large reads bypass the cache. Returned
 * arrays may share the cache's memory, so callers must not modify them. Short only at end of file.
 */
class BlockReader {
  readonly #fh: FileHandle;
  readonly #blocks = new Map<number, Uint8Array>();

  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (length > 2 * BLOCK) return await readUpTo(this.#fh, length, offset);
    const first = Math.floor(offset / BLOCK);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / BLOCK);
    const parts: Uint8Array[] = [];
    for (let i = first; i <= last; i++) {
      const block = await this.#block(i);
      const start = i === first ? offset - i * BLOCK : 0;
      const end = Math.min(block.length, offset + length - i * BLOCK);
      parts.push(block.subarray(start, Math.max(start, end)));
      if (block.length < BLOCK) break;
    }
    return concatBytes(parts);
  }

  async #block(index: number): Promise<Uint8Array> {
    let block = this.#blocks.get(index);
    if (!block) {
      block = await readUpTo(this.#fh, BLOCK, index * BLOCK);
      this.#blocks.set(index, block);
    }
    return block;
  }
}

/** Reads an address-sized unsigned field (`Elf32_Addr`/`Elf64_Off`, ...) as a safe integer. */
function word(f: Layout, v: DataView, at: number): number {
  if (!f.is64) return v.getUint32(at, f.le);
  const value = v.getBigUint64(at, f.le);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfParseError("field out of range");
  return Number(value);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
