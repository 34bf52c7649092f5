/**
 * PAX extended headers (typeflag `x`): records `"<len> <key>=<value>\n"` as Python `tarfile`
 * writes them (Spack build cache format reference §2.2), and their parser.
 *
 * @module
 */
import { FormatError } from "../errors.ts";
import { BLOCK_SIZE, encodeUstarHeader } from "./_ustar.ts";

const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The extended header block followed by its zero-padded records, for records in the given order
 * (CPython inserts `path`, `linkpath`, then `size`). The header is named `././@PaxHeader`.
 */
export function encodePaxHeader(records: ReadonlyArray<readonly [string, string]>): Uint8Array {
  const parts = records.map(([key, value]) => paxRecord(key, value));
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const padded = Math.ceil(length / BLOCK_SIZE) * BLOCK_SIZE;
  const out = new Uint8Array(BLOCK_SIZE + padded);
  out.set(
    encodeUstarHeader({
      name: "././@PaxHeader",
      mode: 0,
      size: length,
      typeflag: "x",
      linkname: "",
    }),
  );
  let offset = BLOCK_SIZE;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Parses the records of an extended header body into key/value pairs (later keys win).
 *
 * @throws {FormatError} when a record's length is inconsistent or a value is not UTF-8.
 */
export function decodePaxRecords(data: Uint8Array, source: string): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length && data[offset] !== 0) {
    const space = data.indexOf(0x20, offset);
    const lengthText = space === -1 ? "" : String.fromCharCode(...data.subarray(offset, space));
    const length = /^[0-9]+$/.test(lengthText) ? parseInt(lengthText, 10) : NaN;
    const end = offset + length;
    if (!(end > space + 1 && end <= data.length && data[end - 1] === 0x0a)) {
      throw new FormatError(source, "malformed PAX extended header record");
    }
    let record: string;
    try {
      record = utf8.decode(data.subarray(space + 1, end - 1));
    } catch (error) {
      throw new FormatError(source, "PAX extended header record is not UTF-8", { cause: error });
    }
    const equals = record.indexOf("=");
    if (equals <= 0) throw new FormatError(source, "malformed PAX extended header record");
    records.set(record.slice(0, equals), record.slice(equals + 1));
    offset = end;
  }
  return records;
}

/** One record; its decimal length prefix counts itself, so iterate to the fixed point. */
function paxRecord(key: string, value: string): Uint8Array {
  const body = encoder.encode(` ${key}=${value}\n`);
  let length = body.length;
  while (String(length).length + body.length !== length) {
    length = String(length).length + body.length;
  }
  const out = new Uint8Array(length);
  out.set(encoder.encode(String(length)));
  out.set(body, length - body.length);
  return out;
}
