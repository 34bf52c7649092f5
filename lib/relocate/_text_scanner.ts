/**
 * Spack's text rule (`TextFilePrefixReplacer`) as a chunk-by-chunk state machine (Spack
 * relocation reference §1.4, §3.3, §3.4). Shared by the text stream, the in-place text file
 * rewriter and push-time classification.
 *
 * The rule, equivalent to Spack's regex: a key occurrence at `p` is replaced iff the byte before
 * the longest run of `[A-Za-z0-9_-]` ending at `p - 1` is not `/` (start of input is fine) and
 * that run does not start inside the previous replacement or its tail; the first key in map
 * order wins at `p`; the run of `[A-Za-z0-9_/-]` after the key (its tail) is kept and skipped.
 * The look-behind needs unbounded context but only one bit of state per buffer edge, kept in a
 * cache that also makes every walk-back amortised O(1).
 *
 * @module
 */
import { concatBytes } from "./_bytes.ts";
import type { BytePrefixPairs } from "./_leading_prefix.ts";
import { KeyMatcher } from "./_matcher.ts";

const SLASH = 0x2f;
const WORD = 1;
const PATH = 2;
/** `WORD` for `[A-Za-z0-9_-]`, `PATH` for `/`, 0 otherwise. */
const CLASS = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") {
  CLASS[c.charCodeAt(0)] = WORD;
}
CLASS[SLASH] = PATH;

/** Receives the output in order: unchanged input spans and replacement prefixes. */
export type TextSink = (piece: Uint8Array, replaced: boolean) => void;

const EMPTY: Uint8Array = new Uint8Array(0);

/** Relocates text chunk by chunk; see the module documentation for the rule. */
export class TextRelocator {
  /** Whether some key occurrence was accepted (and replaced) so far. */
  found = false;
  readonly #matcher: KeyMatcher;
  readonly #values: readonly Uint8Array[];
  /** Bytes a candidate needs from its start to be decided: the longest key. */
  readonly #hold: number;
  /** Input not yet emitted, starting where the next buffer begins. */
  #carry = EMPTY;
  /** The tail run after a match continues at the start of the next buffer. */
  #consuming = false;
  /** Look-behind verdict for a word run that reaches back to the start of the next buffer. */
  #edgeRejects = false;
  /** Look-behind cache: a candidate at `p >= #cachePos` whose word run reaches back to... */
  #cachePos = 0;
  /** ...`#cachePos` is rejected iff this is true. */
  #cacheRejects = false;

  /** Compiles the non-identity `pairs` of a prefix map, in map order. */
  constructor(pairs: BytePrefixPairs) {
    this.#matcher = new KeyMatcher(pairs.map(([k]) => k));
    this.#values = pairs.map(([, v]) => v);
    this.#hold = this.#matcher.maxKeyLength;
  }

  /**
   * Feeds the next input chunk; `sink`, when given, receives every output byte that is final.
   * Pieces of unchanged input are views of `chunk` (or of a small internal copy at chunk seams).
   */
  push(chunk: Uint8Array, sink?: TextSink): void {
    if (chunk.length === 0) return;
    const hold = this.#hold;
    const carry = this.#carry;
    if (carry.length > 0 && chunk.length < 2 * hold) {
      const buf = concatBytes([carry, chunk]);
      this.#carry = buf.subarray(this.#scan(buf, 0, buf.length - hold + 1, false, sink));
      return;
    }
    let start = 0;
    if (carry.length > 0) {
      // Candidates starting in the carry are decided on a small joined copy.
      const seam = concatBytes([carry, chunk.subarray(0, hold)]);
      start = this.#scan(seam, 0, carry.length, false, sink) - carry.length;
    }
    // A copy: callers may reuse `chunk`'s memory once the emitted pieces are consumed.
    this.#carry = chunk.slice(this.#scan(chunk, start, chunk.length - hold + 1, false, sink));
  }

  /** Ends the input: decides the held-back bytes and emits them. */
  end(sink?: TextSink): void {
    this.#scan(this.#carry, 0, this.#carry.length, true, sink);
    this.#carry = EMPTY;
  }

  /**
   * Decides candidates starting in `[start, limit)` of `buf`, whose bytes before `start` were
   * handled by earlier calls. Returns the offset up to which `buf` has been emitted; the next
   * buffer must begin with `buf`'s bytes from there.
   */
  #scan(buf: Uint8Array, start: number, limit: number, eof: boolean, sink?: TextSink): number {
    const matcher = this.#matcher;
    const n = buf.length;
    matcher.begin(buf, start);
    let pos = start;
    let emitted = start;
    this.#cachePos = start;
    this.#cacheRejects = this.#edgeRejects;
    if (this.#consuming) {
      const end = skipTail(buf, start);
      if (end === n && !eof) {
        if (n > start) this.#edgeRejects = true;
        if (sink && n > emitted) sink(buf.subarray(emitted, n), false);
        return n;
      }
      this.#consuming = false;
      pos = this.#cachePos = end;
      if (end > start) this.#cacheRejects = true;
    }
    for (;;) {
      const q = matcher.find(buf, pos, limit);
      if (q < 0) break;
      if (this.#rejects(buf, q)) {
        pos = q + 1;
        continue;
      }
      this.found = true;
      const keyEnd = q + matcher.keys[matcher.key].length;
      if (sink) {
        if (q > emitted) sink(buf.subarray(emitted, q), false);
        sink(this.#values[matcher.key], true);
      }
      emitted = keyEnd;
      const end = skipTail(buf, keyEnd);
      if (end === n && !eof) {
        // The tail run may go on in the next chunk.
        this.#consuming = true;
        this.#edgeRejects = CLASS[buf[n - 1]] !== 0;
        if (sink && n > emitted) sink(buf.subarray(emitted, n), false);
        return n;
      }
      // The next match must start at `end`: its word run may not reach back into this one.
      pos = this.#cachePos = end;
      this.#cacheRejects = CLASS[buf[end - 1]] !== 0;
    }
    const done = eof ? n : Math.max(limit, pos);
    if (sink && done > emitted) sink(buf.subarray(emitted, done), false);
    if (!eof) this.#edgeRejects = this.#rejects(buf, done);
    return done;
  }

  /** Whether a key occurrence at `p` fails Spack's look-behind; `p` never decreases. */
  #rejects(buf: Uint8Array, p: number): boolean {
    const stop = this.#cachePos;
    let i = p - 1;
    while (i >= stop && CLASS[buf[i]] === WORD) i--;
    const rejects = i >= stop ? buf[i] === SLASH : this.#cacheRejects;
    this.#cachePos = p;
    this.#cacheRejects = rejects;
    return rejects;
  }
}

/** End of the run of `[A-Za-z0-9_/-]` starting at `from`. */
function skipTail(buf: Uint8Array, from: number): number {
  let i = from;
  while (i < buf.length && CLASS[buf[i]] !== 0) i++;
  return i;
}
