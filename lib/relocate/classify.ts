/**
 * Push-time classification of a package's files into Spack's relocation lists, one chunk at a
 * time (Spack relocation reference §1.11, acceptance cases F01–F19; build cache format reference
 * §2.5): ELF and Mach-O files go to `relocate_binaries`, text files that mention a relocatable
 * prefix under the text rule go to `relocate_textfiles`, everything else is left alone.
 *
 * @module
 */
import { encodePrefixMap } from "./_leading_prefix.ts";
import { TextRelocator } from "./_text_scanner.ts";

/** Spack's file type: `binary` (ELF or Mach-O magic), `text` (UTF-8 or Latin-1), `unknown`. */
export type FileType = "binary" | "text" | "unknown";

/** What push records for one file. */
export interface FileClassification {
  /** The file type, decided as Spack's `file_type` does. */
  readonly type: FileType;
  /**
   * Whether push lists the file for relocation: binaries always (`relocate_binaries`), text
   * files only if the text rule finds a prefix in them (`relocate_textfiles`), others never.
   */
  readonly listed: boolean;
}

/** Classifies one file from its bytes, fed in order. */
export interface FileClassifier {
  /** Feeds the next chunk of the file. The chunk is only read, never kept. */
  update(chunk: Uint8Array): void;
  /** Ends the file and returns its classification. */
  finish(): FileClassification;
}

/**
 * Creates a classifier for one file. `prefixes` are the relocatable prefixes of the spec being
 * pushed (its `hash_to_prefix` prefixes, the sbang path and the store root); a text file is
 * listed iff one of them occurs where Spack's text regex would match it, so a file that only
 * mentions `/home/x/<prefix>` is not listed.
 *
 * The type rules: fewer than 8 bytes → `unknown`; the first 8 bytes are ELF or Mach-O magic
 * (fat Mach-O only with fewer than 10 architectures, which excludes Java classes) → `binary`;
 * the whole file is strict UTF-8 (NUL and control bytes allowed) → `text`; else it is `text` if
 * no byte is NUL or in `0x7f`–`0x9f` (Latin-1), `unknown` otherwise.
 *
 * @example
 * ```ts
 * const classifier = createFileClassifier(["/opt/spack/linux-x86_64/zlib-1.3-abc"]);
 * classifier.update(new TextEncoder().encode("prefix=/opt/spack/linux-x86_64/zlib-1.3-abc\n"));
 * classifier.finish(); // { type: "text", listed: true }
 * ```
 */
export function createFileClassifier(prefixes: readonly string[]): FileClassifier {
  return new Classifier(prefixes);
}

/**
 * Whether `path` (relative to the install prefix, POSIX separators) is Spack's metadata
 * directory `.spack` or inside it; push never classifies or lists such files.
 *
 * @example
 * ```ts
 * import { isSpackMetadataPath } from "@spackle/spackle/relocate";
 * isSpackMetadataPath(".spack/spec.json"); // true
 * isSpackMetadataPath("lib/.spackrc"); // false
 * ```
 */
export function isSpackMetadataPath(path: string): boolean {
  const rel = path.replace(/^(\.\/)+/, "");
  return rel === ".spack" || rel.startsWith(".spack/");
}

class Classifier implements FileClassifier {
  readonly #head = new Uint8Array(8);
  #headLength = 0;
  #binary = false;
  readonly #encoding = new EncodingCheck();
  readonly #text?: TextRelocator;

  constructor(prefixes: readonly string[]) {
    // Only the keys matter for finding a match; empty prefixes are dropped.
    const pairs = encodePrefixMap(new Map(prefixes.map((p) => [p, ""])));
    if (pairs.length > 0) this.#text = new TextRelocator(pairs);
  }

  update(chunk: Uint8Array): void {
    if (this.#binary || chunk.length === 0) return;
    if (this.#headLength < 8) {
      const take = Math.min(8 - this.#headLength, chunk.length);
      this.#head.set(chunk.subarray(0, take), this.#headLength);
      this.#headLength += take;
      if (this.#headLength === 8 && isExecutableMagic(this.#head)) {
        this.#binary = true;
        return;
      }
    }
    const encoding = this.#encoding;
    if (encoding.utf8 || encoding.latin1) encoding.update(chunk);
    // Once neither encoding fits, the file is unknown whatever follows.
    if (!encoding.utf8 && !encoding.latin1) return;
    if (this.#text && !this.#text.found) this.#text.push(chunk);
  }

  finish(): FileClassification {
    if (this.#headLength < 8) return { type: "unknown", listed: false };
    if (this.#binary) return { type: "binary", listed: true };
    if (!this.#encoding.utf8Complete && !this.#encoding.latin1) {
      return { type: "unknown", listed: false };
    }
    const text = this.#text;
    if (text && !text.found) text.end();
    return { type: "text", listed: text?.found ?? false };
  }
}

/** ELF, or Mach-O thin (either byte order) or fat with fewer than 10 architectures. */
function isExecutableMagic(head: Uint8Array): boolean {
  const magic = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  const view = new DataView(head.buffer, head.byteOffset, 8);
  switch (magic) {
    case 0x7f454c46: // \x7fELF
    case 0xcffaedfe:
    case 0xfeedfacf:
    case 0xcefaedfe:
    case 0xfeedface:
      return true;
    case 0xcafebabe: // fat, big-endian count; also Java classes (version >= 45)
      return view.getUint32(4, false) < 10;
    case 0xbebafeca: // fat, little-endian count
      return view.getUint32(4, true) < 10;
    default:
      return false;
  }
}

const NO_WORDS = new Uint32Array(0);

/** Whether none of the 4 bytes of `w` is NUL, `0x7f` or above: plain text for both checks. */
function isPlainWord(w: number): boolean {
  const del = w ^ 0x7f7f7f7f; // a 0x7f byte becomes 0
  return ((w | ((w - 0x01010101) & ~w) | ((del - 0x01010101) & ~del)) & 0x80808080) === 0;
}

/**
 * Spack's two text checks over a file fed in chunks: strict UTF-8 (no overlong forms, surrogates
 * or code points over U+10FFFF; NUL and control bytes allowed), and Latin-1 text (no NUL and
 * nothing in `0x7f`–`0x9f`). Runs of plain ASCII are skipped a 32-bit word at a time.
 */
class EncodingCheck {
  /** No invalid UTF-8 so far (a sequence may still be open). */
  utf8 = true;
  /** No byte Spack's Latin-1 check rejects so far. */
  latin1 = true;
  /** UTF-8 continuation bytes still expected, and the range allowed for the next one. */
  #need = 0;
  #low = 0x80;
  #high = 0xbf;

  update(chunk: Uint8Array): void {
    const n = chunk.length;
    // The chunk's 4-byte aligned middle, as words: [aligned, aligned + 4 * words.length).
    const aligned = (4 - (chunk.byteOffset & 3)) & 3;
    const words = n > aligned
      ? new Uint32Array(chunk.buffer, chunk.byteOffset + aligned, (n - aligned) >>> 2)
      : NO_WORDS;
    const wordsEnd = aligned + 4 * words.length;
    let i = 0;
    while (i < n) {
      if (this.#need === 0 && i >= aligned && i < wordsEnd && ((i - aligned) & 3) === 0) {
        let w = (i - aligned) >>> 2;
        while (w < words.length && isPlainWord(words[w])) w++;
        i = aligned + 4 * w;
        if (i >= n) break;
      }
      this.#byte(chunk[i++]);
      if (!this.utf8 && !this.latin1) return;
    }
  }

  /** Whether the whole file was valid UTF-8 (no sequence cut off at the end). */
  get utf8Complete(): boolean {
    return this.utf8 && this.#need === 0;
  }

  #byte(b: number): void {
    if (b === 0 || (b >= 0x7f && b <= 0x9f)) this.latin1 = false;
    if (!this.utf8) return;
    if (this.#need > 0) {
      if (b < this.#low || b > this.#high) return this.#invalid();
      this.#low = 0x80;
      this.#high = 0xbf;
      this.#need--;
    } else if (b >= 0x80) {
      if (b >= 0xc2 && b <= 0xdf) this.#need = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        this.#need = 2;
        if (b === 0xe0) this.#low = 0xa0;
        else if (b === 0xed) this.#high = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        this.#need = 3;
        if (b === 0xf0) this.#low = 0x90;
        else if (b === 0xf4) this.#high = 0x8f;
      } else this.#invalid();
    }
  }

  #invalid(): void {
    this.utf8 = false;
    this.#need = 0; // keeps the word skip available to the Latin-1 check
  }
}
