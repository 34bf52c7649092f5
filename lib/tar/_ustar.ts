/**
 * One 512-byte ustar header block: the exact bytes Python `tarfile` writes (Spack build cache
 * format reference §2.2) and a tolerant, checksum-verifying decoder for what other tars write.
 *
 * @module
 */
import { FormatError } from "../errors.ts";

/** Size of a tar block in bytes; headers and padded bodies are multiples of it. */
export const BLOCK_SIZE = 512;
/** Python `tarfile.RECORDSIZE`: the archive is zero-padded to a multiple of this many bytes. */
export const RECORD_SIZE = 20 * BLOCK_SIZE;
/** Largest size the 11-digit octal size field holds; larger sizes go to a PAX `size=` record. */
export const MAX_USTAR_SIZE = 8 ** 11 - 1;
/** Largest name or link name the ustar fields hold; longer ones go to PAX records. */
export const MAX_USTAR_NAME = 100;

/** The header fields Spack varies; uid, gid and mtime are always 0, uname and gname empty. */
export interface UstarFields {
  /** Member name; non-ASCII characters are written as `?` and the result cut at 100 bytes. */
  name: string;
  /** Permission bits, 0 to 0o7777. */
  mode: number;
  /** Body size in bytes, at most {@link MAX_USTAR_SIZE}. */
  size: number;
  /** One-character type flag (`0`, `1`, `2`, `5`, `x`). */
  typeflag: string;
  /** Link target, encoded like `name`. */
  linkname: string;
}

/** A decoded header block, before PAX or GNU long-name records are applied. */
export interface DecodedUstarHeader {
  /** Name, with the POSIX ustar `prefix` field joined in front when present. */
  name: string;
  /** Permission bits. */
  mode: number;
  /** Body size in bytes (octal or GNU base-256). */
  size: number;
  /** One-character type flag (`"\0"` for old regular files). */
  typeflag: string;
  /** Link target. */
  linkname: string;
}

const NAME = 0;
const MODE = 100;
const UID = 108;
const GID = 116;
const SIZE = 124;
const MTIME = 136;
const CHECKSUM = 148;
const TYPEFLAG = 156;
const LINKNAME = 157;
const MAGIC = 257;
const PREFIX = 345;

const POSIX_MAGIC = "ustar\u000000";
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Encodes the header block exactly as CPython's `TarInfo._create_header` in USTAR/PAX mode. */
export function encodeUstarHeader(fields: UstarFields): Uint8Array {
  const block = new Uint8Array(BLOCK_SIZE);
  putAsciiReplaced(block, NAME, MAX_USTAR_NAME, fields.name);
  putOctal(block, MODE, 8, fields.mode);
  putOctal(block, UID, 8, 0);
  putOctal(block, GID, 8, 0);
  putOctal(block, SIZE, 12, fields.size);
  putOctal(block, MTIME, 12, 0);
  block.fill(0x20, CHECKSUM, CHECKSUM + 8);
  block[TYPEFLAG] = fields.typeflag.charCodeAt(0);
  putAsciiReplaced(block, LINKNAME, MAX_USTAR_NAME, fields.linkname);
  putAsciiReplaced(block, MAGIC, 8, POSIX_MAGIC);
  // uname, gname, devmajor, devminor and prefix stay all NUL (recent CPython, §2.2).
  // Checksum: six octal digits, NUL, and the last placeholder space kept.
  putAsciiReplaced(block, CHECKSUM, 7, octal(byteSum(block), 6) + "\0");
  return block;
}

/**
 * Decodes a header block. Accepts POSIX and GNU magic (and none), octal or base-256 numbers, any
 * devmajor/devminor contents, and the signed or unsigned checksum, as CPython's reader does.
 *
 * @throws {FormatError} on a checksum mismatch, a malformed number or a name that is not UTF-8.
 */
export function decodeUstarHeader(block: Uint8Array, source: string): DecodedUstarHeader {
  const stored = readNumber(block, CHECKSUM, 8, source);
  if (stored !== byteSum(block) && stored !== signedByteSum(block)) {
    throw new FormatError(source, "tar header checksum mismatch");
  }
  let name = readString(block, NAME, MAX_USTAR_NAME, source);
  if (readRaw(block, MAGIC, 8) === POSIX_MAGIC) {
    const prefix = readString(block, PREFIX, 155, source);
    if (prefix !== "") name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: readNumber(block, MODE, 8, source),
    size: readNumber(block, SIZE, 12, source),
    typeflag: String.fromCharCode(block[TYPEFLAG]),
    linkname: readString(block, LINKNAME, MAX_USTAR_NAME, source),
  };
}

/** True when every byte of the block is zero (an end-of-archive marker). */
export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function octal(value: number, digits: number): string {
  return value.toString(8).padStart(digits, "0");
}

/** CPython `itn` for PAX format: `digits - 1` octal digits and a NUL. */
function putOctal(block: Uint8Array, offset: number, width: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 8 ** (width - 1)) {
    throw new RangeError(`value ${value} does not fit a ${width}-byte tar number field`);
  }
  putAsciiReplaced(block, offset, width, octal(value, width - 1) + "\0");
}

/** CPython `stn(s, length, "ascii", "replace")`: one `?` per non-ASCII character, then cut. */
function putAsciiReplaced(block: Uint8Array, offset: number, width: number, text: string): void {
  let i = 0;
  for (const char of text) {
    if (i === width) return;
    const code = char.codePointAt(0)!;
    block[offset + i++] = code < 0x80 ? code : 0x3f;
  }
}

function byteSum(block: Uint8Array): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    if (i < CHECKSUM || i >= CHECKSUM + 8) sum += block[i];
  }
  return sum;
}

function signedByteSum(block: Uint8Array): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    if (i < CHECKSUM || i >= CHECKSUM + 8) sum += block[i] < 0x80 ? block[i] : block[i] - 0x100;
  }
  return sum;
}

function fieldEnd(block: Uint8Array, offset: number, width: number): number {
  const nul = block.indexOf(0, offset);
  return nul === -1 || nul > offset + width ? offset + width : nul;
}

function readRaw(block: Uint8Array, offset: number, width: number): string {
  return String.fromCharCode(...block.subarray(offset, offset + width));
}

function readString(block: Uint8Array, offset: number, width: number, source: string): string {
  try {
    return utf8.decode(block.subarray(offset, fieldEnd(block, offset, width)));
  } catch (error) {
    throw new FormatError(source, "tar header field is not UTF-8", { cause: error });
  }
}

/** CPython `nti`: GNU base-256 when the first byte is 0x80, else NUL/space-terminated octal. */
function readNumber(block: Uint8Array, offset: number, width: number, source: string): number {
  if (block[offset] === 0x80) {
    let value = 0;
    for (let i = offset + 1; i < offset + width; i++) value = value * 256 + block[i];
    if (!Number.isSafeInteger(value)) throw new FormatError(source, "tar number field too large");
    return value;
  }
  if (block[offset] === 0xff) throw new FormatError(source, "negative tar number field");
  const text = readRaw(block, offset, fieldEnd(block, offset, width) - offset).trim();
  if (!/^[0-7]*$/.test(text)) {
    throw new FormatError(source, `malformed tar number field ${JSON.stringify(text)}`);
  }
  return text === "" ? 0 : parseInt(text, 8);
}
