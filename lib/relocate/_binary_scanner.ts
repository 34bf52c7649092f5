/**
 * Spack's binary string rule applied in place to one buffer at a time (Spack relocation
 * reference §1.5, §3.3, §3.4). Shared by the binary stream and the in-place file patcher.
 *
 * @module
 */
import type { BytePrefixPairs } from "./_leading_prefix.ts";
import { KeyMatcher } from "./_matcher.ts";
import { CannotGrowStringError, CannotShrinkCStringError } from "./errors.ts";

const SLASH = 0x2f;

/** Settings of a {@link BinaryScanner}. */
export interface BinaryScannerOptions {
  /** Spack's `suffix_safety_size`: trailing bytes of a C string that must survive. Default 7. */
  suffixSafetySize?: number;
  /** File named in errors. */
  file?: string;
  /** Called with `[start, end)` of every run of bytes the scanner rewrote, in buffer offsets. */
  onPatch?: (start: number, end: number) => void;
}

/**
 * Finds old prefixes in a buffer and rewrites them in place without changing its length: left
 * padding with `/`, or for short NUL-terminated strings an early terminator (Spack's "shift").
 */
export class BinaryScanner {
  /**
   * Bytes a match starting at `q` may read or write past `q`: the longest key plus the NUL
   * window. A candidate start is final once `q + reach <= buffer length` or the input ended.
   */
  readonly reach: number;
  /** Whether any byte was rewritten so far. */
  changed = false;
  readonly #matcher: KeyMatcher;
  readonly #values: readonly Uint8Array[];
  readonly #safety: number;
  readonly #file?: string;
  readonly #onPatch?: (start: number, end: number) => void;

  /** Compiles the non-identity `pairs` of a prefix map, in map order. */
  constructor(pairs: BytePrefixPairs, options: BinaryScannerOptions = {}) {
    this.#matcher = new KeyMatcher(pairs.map(([k]) => k));
    this.#values = pairs.map(([, v]) => v);
    this.#safety = options.suffixSafetySize ?? 7;
    this.#file = options.file;
    this.#onPatch = options.onPatch;
    this.reach = this.#matcher.maxKeyLength + this.#safety + 1;
  }

  /** Last candidate start (exclusive) that `buf` can settle: all of it at end of input. */
  limitFor(buf: Uint8Array, eof: boolean): number {
    return eof ? buf.length : buf.length - this.reach + 1;
  }

  /**
   * Rewrites, in `buf`, every match starting in `[start, limit)`, scanning from `start`.
   * Returns the offset up to which `buf` is final; scanning of the next buffer (which must begin
   * with `buf`'s bytes from that offset) starts at its offset 0.
   *
   * @throws {CannotGrowStringError} when a key occurs whose replacement is longer.
   * @throws {CannotShrinkCStringError} when a short C string cannot shrink safely. Matches before
   *   the failing one are already rewritten, as in Spack.
   */
  scan(buf: Uint8Array, start: number, limit: number, eof: boolean): number {
    const matcher = this.#matcher;
    const safety = this.#safety;
    matcher.begin(buf, start);
    let pos = start;
    for (;;) {
      const q = matcher.find(buf, pos, limit);
      if (q < 0) break;
      const oldPrefix = matcher.keys[matcher.key];
      const newPrefix = this.#values[matcher.key];
      const shorter = oldPrefix.length - newPrefix.length;
      if (shorter < 0) throw new CannotGrowStringError(oldPrefix, newPrefix, this.#file);
      // Spack's `([^\0]{0,7}\0)?` after the key: the first NUL among the next 8 bytes.
      const keyEnd = q + oldPrefix.length;
      const windowEnd = Math.min(keyEnd + safety + 1, buf.length);
      let nul = keyEnd;
      while (nul < windowEnd && buf[nul] !== 0) nul++;
      const terminated = nul < windowEnd;
      const suffixLength = nul - keyEnd;
      if (
        !terminated || suffixLength >= safety ||
        tailsEqual(oldPrefix, newPrefix, safety - suffixLength)
      ) {
        buf.fill(SLASH, q, q + shorter);
        buf.set(newPrefix, q + shorter);
        this.#patched(q, keyEnd);
      } else if (shorter > safety) {
        // End the string early; the old tail stays in place for strings merged into it.
        buf.set(newPrefix, q);
        buf.copyWithin(q + newPrefix.length, keyEnd, nul + 1);
        this.#patched(q, q + newPrefix.length + suffixLength + 1);
      } else {
        throw new CannotShrinkCStringError(oldPrefix, newPrefix, buf.slice(q, nul), this.#file);
      }
      // Scanning resumes after the whole match, NUL window included.
      pos = terminated ? nul + 1 : keyEnd;
    }
    return eof ? buf.length : Math.max(limit, pos);
  }

  #patched(start: number, end: number): void {
    this.changed = true;
    this.#onPatch?.(start, end);
  }
}

/** Python's `old[-n:] == new[-n:]` for `n >= 1` (a slice longer than the string is all of it). */
function tailsEqual(oldPrefix: Uint8Array, newPrefix: Uint8Array, n: number): boolean {
  const a = oldPrefix.subarray(Math.max(0, oldPrefix.length - n));
  const b = newPrefix.subarray(Math.max(0, newPrefix.length - n));
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
