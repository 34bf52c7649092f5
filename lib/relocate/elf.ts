/**
 * In-place relocation of ELF RPATH/RUNPATH and PT_INTERP strings, and the post-install rpath
 * cleanup, as Spack does them (Spack relocation reference §1.6, acceptance cases E01–E16).
 *
 * Strings are only ever rewritten in place with positioned writes, so the inode (and every hard
 * link to it) is kept. Where Spack would fall back to `patchelf` because a string must grow, this
 * module raises {@link ElfGrowError} instead: patchelf turns a RUNPATH into an RPATH and moves
 * `.dynstr`, which is neither byte-compatible nor safe (reference §5.2).
 *
 * @module
 */
import { lstat, open } from "node:fs/promises";
import { RelocationError } from "../errors.ts";
import { bytesEqual } from "./_bytes.ts";
import { ElfParseError, type ElfString, type ParsedElf, parseElf } from "./_elf_parse.ts";
import { type BytePrefixPairs, encodePrefixMap, replaceLeadingPrefix } from "./_leading_prefix.ts";
import { writeFully } from "./_file_io.ts";
import { walkRegularFiles } from "./_walk.ts";

const decoder = new TextDecoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const COLON = 0x3a;
const DOLLAR = 0x24;
const SLASH = 0x2f;

/** An old → new value of one ELF string, decoded as UTF-8 for display. */
export interface ElfStringChange {
  /** The string now in the file. */
  readonly old: string;
  /** The string relocation would write. */
  readonly new: string;
}

/**
 * An RPATH/RUNPATH or interpreter would have to grow to be relocated, which cannot be done in
 * place (code `ELF_GROW`). Nothing was written to the file. Spack's equivalent is
 * `ElfCStringUpdatesFailed`, after which it runs `patchelf --force-rpath` (reference §1.6, E03,
 * E05); a longer install prefix, or more padding at build time, avoids it.
 *
 * @example
 * ```ts
 * import { ElfGrowError, relocateElfFile } from "@spackle/spackle/relocate";
 * const map = new Map([["/opt/build/store", "/opt/a/much/longer/install/root"]]);
 * try {
 *   await relocateElfFile("/opt/a/much/longer/install/root/bin/app", map);
 * } catch (e) {
 *   if (e instanceof ElfGrowError) console.error(e.rpath, e.interpreter); // the strings that would grow
 *   else throw e;
 * }
 * ```
 */
export class ElfGrowError extends RelocationError {
  /** Creates the error for `file` with the changes that did not fit (at least one is set). */
  constructor(
    file: string,
    readonly rpath: ElfStringChange | undefined,
    readonly interpreter: ElfStringChange | undefined,
  ) {
    const parts = [];
    if (rpath) parts.push(`rpath ${JSON.stringify(rpath.old)} → ${JSON.stringify(rpath.new)}`);
    if (interpreter) {
      parts.push(
        `interpreter ${JSON.stringify(interpreter.old)} → ${JSON.stringify(interpreter.new)}`,
      );
    }
    super(
      "ELF_GROW",
      `cannot relocate in place, the new string is longer: ${parts.join("; ")}. ` +
        "Install to a shorter prefix, or build with more padding (config:install_tree:padded_length).",
      file,
    );
  }
}

/** Dynamic-linking facts of an ELF file, decoded as UTF-8 (lossy for non-UTF-8 paths). */
export interface ElfDynamicInfo {
  /** 32 or 64 (`EI_CLASS`). */
  readonly elfClass: 32 | 64;
  /** Byte order (`EI_DATA`). */
  readonly littleEndian: boolean;
  /** PT_INTERP, the program interpreter (dynamic loader). */
  readonly interpreter?: string;
  /** `DT_RPATH` string, if the rpath is held by that tag. */
  readonly rpath?: string;
  /** `DT_RUNPATH` string, if the rpath is held by that tag. */
  readonly runpath?: string;
  /** `DT_NEEDED` entries in order. */
  readonly needed: readonly string[];
  /** `DT_SONAME`. */
  readonly soname?: string;
}

/**
 * Reads the interpreter, rpath/runpath, needed libraries and soname of the file at `path`.
 * Returns `undefined` for anything Spack's ELF parser rejects, so never relocates: not ELF,
 * `ET_REL` objects, core files, malformed or truncated headers, both `DT_RPATH` and `DT_RUNPATH`,
 * or dynamic strings without section headers to size them (reference §1.6, E08, E14, E16).
 * I/O errors (missing file, no read permission) are thrown as-is.
 *
 * @example
 * ```ts
 * const info = await readElfDynamic("/opt/spack/linux-x86_64/zlib-1.3-abc/lib/libz.so");
 * console.log(info?.runpath, info?.needed);
 * ```
 */
export async function readElfDynamic(path: string): Promise<ElfDynamicInfo | undefined> {
  const elf = await tryParse(path);
  if (!elf) return undefined;
  const text = (s: { bytes: Uint8Array } | undefined) => s && decoder.decode(s.bytes);
  return {
    elfClass: elf.is64 ? 64 : 32,
    littleEndian: elf.littleEndian,
    interpreter: text(elf.interpreter),
    rpath: elf.rpath && !elf.rpath.runpath ? text(elf.rpath) : undefined,
    runpath: elf.rpath?.runpath ? text(elf.rpath) : undefined,
    needed: elf.needed.map((n) => decoder.decode(n)),
    soname: elf.soname && decoder.decode(elf.soname),
  };
}

/**
 * Relocates the RPATH/RUNPATH and PT_INTERP of the ELF file at `path` in place (Spack
 * `substitute_rpath_and_pt_interp_in_place_or_raise`, reference §1.6).
 *
 * The rpath is split on `:` and empty entries are dropped; each entry that *starts with* a key
 * of `prefixMap` (first key in map order wins, no boundary rule) gets that key replaced. The
 * interpreter follows the same rule. When a key matched, the new string is written over the old
 * one and the freed tail is filled with NULs; the tag (`DT_RPATH` or `DT_RUNPATH`) is kept.
 * Keys found later inside a string are left to the binary string pass.
 *
 * Returns `true` if the file was written, `false` if it was left untouched (not an ELF file
 * Spack relocates, see {@link readElfDynamic}, or nothing matched). The file is opened for
 * writing only when something changes, so an unwritable file that needs no change is fine
 * (Spack opens every listed file `rb+` and fails on it; reference P02).
 *
 * @throws {ElfGrowError} if a new string would be longer than the old one; nothing is written.
 * @example
 * ```ts
 * const map = new Map([["/old/store/pkg-h1", "/n/pkg-h1"], ["/old/store", "/n"]]);
 * await relocateElfFile("/n/pkg-h1/bin/app", map); // true: RUNPATH now /n/pkg-h1/lib
 * ```
 */
export async function relocateElfFile(
  path: string,
  prefixMap: ReadonlyMap<string, string>,
): Promise<boolean> {
  const pairs = encodePrefixMap(prefixMap);
  if (pairs.length === 0) return false;
  const elf = await tryParse(path);
  if (!elf) return false;
  const rpath = elf.rpath && planRpath(elf.rpath, pairs);
  const interp = elf.interpreter && planInterpreter(elf.interpreter, pairs);
  if (!rpath && !interp) return false;
  const grows = (u: CStringUpdate | undefined) => u && u.next.length > u.old.bytes.length;
  if (grows(rpath) || grows(interp)) {
    throw new ElfGrowError(path, rpath && describe(rpath), interp && describe(interp));
  }
  await writeInPlace(path, [rpath, interp]);
  return true;
}

/**
 * Spack's post-install `drop_redundant_rpaths` for one file (reference §1.6, E15): keeps the
 * rpath entries that start with `$` (`$ORIGIN`, `${ORIGIN}`) or are absolute paths that exist
 * (`lexists`, so dangling symlinks count); drops relative, empty and missing entries, writing the
 * shorter string in place, NUL-padded. Like Spack, files it cannot parse or open for writing are
 * skipped. Returns whether the file was written.
 *
 * @example
 * ```ts
 * await dropRedundantRpaths("/opt/spack/linux-x86_64/app-1.0-abc/bin/app");
 * ```
 */
export async function dropRedundantRpaths(path: string): Promise<boolean> {
  let elf: ParsedElf | undefined;
  try {
    elf = await tryParse(path);
  } catch (err) {
    if (isSystemError(err)) return false;
    throw err;
  }
  if (!elf?.rpath) return false;
  const kept: Uint8Array[] = [];
  for (const entry of splitRpath(elf.rpath.bytes)) {
    if (entry[0] === DOLLAR || await existingAbsolute(entry)) kept.push(entry);
  }
  const next = joinRpath(kept);
  if (bytesEqual(next, elf.rpath.bytes)) return false;
  try {
    await writeInPlace(path, [{ old: elf.rpath, next }]);
  } catch (err) {
    if (isSystemError(err)) return false;
    throw err;
  }
  return true;
}

/**
 * Runs {@link dropRedundantRpaths} on every regular file under `prefix` (symlinks and symlinked
 * directories are not followed; each hard-linked inode is visited once), as Spack's
 * `drop_redundant_rpaths` post-install hook does. Returns the prefix-relative paths changed.
 *
 * @example
 * ```ts
 * const changed = await dropRedundantRpathsInPrefix("/opt/spack/linux-x86_64/app-1.0-abc");
 * ```
 */
export async function dropRedundantRpathsInPrefix(prefix: string): Promise<string[]> {
  const changed: string[] = [];
  const seen = new Set<string>();
  for await (const file of walkRegularFiles(prefix)) {
    if (file.stat.nlink > 1) {
      const inode = `${file.stat.dev}:${file.stat.ino}`;
      if (seen.has(inode)) continue;
      seen.add(inode);
    }
    if (await dropRedundantRpaths(file.path)) changed.push(file.relativePath);
  }
  return changed;
}

interface CStringUpdate {
  old: ElfString;
  next: Uint8Array;
}

function planRpath(rpath: ElfString, pairs: BytePrefixPairs): CStringUpdate | undefined {
  // Trailing `::::` padding is dropped rather than kept, which makes growth less likely.
  const entries = splitRpath(rpath.bytes);
  let changed = false;
  const next = entries.map((entry) => {
    const replaced = replaceLeadingPrefix(entry, pairs);
    if (replaced) changed = true;
    return replaced ?? entry;
  });
  return changed ? { old: rpath, next: joinRpath(next) } : undefined;
}

function planInterpreter(interp: ElfString, pairs: BytePrefixPairs): CStringUpdate | undefined {
  const next = replaceLeadingPrefix(interp.bytes, pairs);
  return next && { old: interp, next };
}

/** Writes each update over its old string and NUL-fills the bytes the old string no longer uses. */
async function writeInPlace(path: string, updates: (CStringUpdate | undefined)[]): Promise<void> {
  const fh = await open(path, "r+");
  try {
    for (const update of updates) {
      if (!update) continue;
      const out = new Uint8Array(update.old.bytes.length);
      out.set(update.next);
      await writeFully(fh, out, update.old.offset);
    }
  } finally {
    await fh.close();
  }
}

async function tryParse(path: string): Promise<ParsedElf | undefined> {
  const fh = await open(path, "r");
  try {
    return await parseElf(fh);
  } catch (err) {
    if (err instanceof ElfParseError) return undefined;
    throw err;
  } finally {
    await fh.close();
  }
}

/** Non-empty `:`-separated entries of an rpath string. */
function splitRpath(rpath: Uint8Array): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= rpath.length; i++) {
    if (i < rpath.length && rpath[i] !== COLON) continue;
    if (i > start) entries.push(rpath.subarray(start, i));
    start = i + 1;
  }
  return entries;
}

function joinRpath(entries: Uint8Array[]): Uint8Array {
  const length = entries.reduce((n, e) => n + e.length, 0) + Math.max(entries.length - 1, 0);
  const out = new Uint8Array(length);
  let at = 0;
  for (const [i, entry] of entries.entries()) {
    if (i > 0) out[at++] = COLON;
    out.set(entry, at);
    at += entry.length;
  }
  return out;
}

/**
 * Python's `os.path.isabs(p) and os.path.lexists(p)` for an rpath entry. Deno cannot name a path
 * that is not UTF-8, so such an entry cannot be checked and is kept rather than dropped.
 */
async function existingAbsolute(entry: Uint8Array): Promise<boolean> {
  if (entry[0] !== SLASH) return false;
  let path: string;
  try {
    path = strictDecoder.decode(entry);
  } catch {
    return true;
  }
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

function describe(update: CStringUpdate): ElfStringChange {
  return { old: decoder.decode(update.old.bytes), new: decoder.decode(update.next) };
}

function isSystemError(err: unknown): boolean {
  return err instanceof Error && typeof (err as { code?: unknown }).code === "string";
}
