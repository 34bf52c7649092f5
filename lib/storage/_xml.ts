// Just enough XML for S3's answers (ListObjectsV2, multipart uploads, errors): the text of
// named elements, with character references resolved. Documents with a DOCTYPE are refused, so
// no entity is ever expanded (no "billion laughs", no external entities).

import { FormatError } from "../errors.ts";

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/**
 * Resolves the predefined entities (`&amp;` …) and numeric character references in `text`;
 * other references are left as they are.
 */
export function decodeCharacterReferences(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] !== "#") return NAMED[ref] ?? whole;
    const code = ref[1] === "x" || ref[1] === "X"
      ? parseInt(ref.slice(2), 16)
      : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/** `text` with `&`, `<` and `>` escaped, for element content. */
export function escapeXmlText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * The raw inner XML of every `<name>…</name>` element of `xml` (elements named `name` must not
 * nest, true of every element S3 answers with). Empty elements (`<name/>`) give `""`.
 *
 * @throws {FormatError} for a document with a DOCTYPE; `source` names it.
 */
export function innerXml(xml: string, name: string, source: string): string[] {
  if (/<!DOCTYPE/i.test(xml)) throw new FormatError(source, "XML with a DOCTYPE is not accepted");
  const pattern = new RegExp(`<${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${name}\\s*>)`, "g");
  return [...xml.matchAll(pattern)].map((m) => m[1] ?? "");
}

/** The decoded text of the first `<name>` element of `xml`, or `undefined` when there is none. */
export function elementText(xml: string, name: string, source: string): string | undefined {
  const [first] = innerXml(xml, name, source);
  return first === undefined ? undefined : decodeCharacterReferences(first);
}
