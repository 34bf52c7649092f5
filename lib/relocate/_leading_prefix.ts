/**
 * Start-of-string prefix replacement, the rule Spack applies to RPATH entries, PT_INTERP and
 * symlink targets (Spack relocation reference §1.3, §1.6, §1.8). Works on bytes because these
 * strings are file-system paths, which need not be valid UTF-8.
 *
 * @module
 */
import { concatBytes } from "./_bytes.ts";

/** A prefix map compiled to UTF-8 byte pairs, in map order, identity pairs removed. */
export type BytePrefixPairs = ReadonlyArray<readonly [old: Uint8Array, replacement: Uint8Array]>;

const encoder = new TextEncoder();

/**
 * Compiles an ordered prefix map (old prefix → new prefix) to byte pairs. Identity pairs are
 * dropped as Spack does; empty keys are dropped too, since they would "match" every string.
 */
export function encodePrefixMap(prefixMap: ReadonlyMap<string, string>): BytePrefixPairs {
  const pairs: [Uint8Array, Uint8Array][] = [];
  for (const [oldPrefix, newPrefix] of prefixMap) {
    if (oldPrefix === newPrefix || oldPrefix === "") continue;
    pairs.push([encoder.encode(oldPrefix), encoder.encode(newPrefix)]);
  }
  return pairs;
}

/**
 * Replaces the first key (in map order) that `value` starts with, with no boundary rule: key
 * `/s/pkg-h1` also rewrites `/s/pkg-h1extra/lib`. Returns `undefined` when no key matches.
 */
export function replaceLeadingPrefix(
  value: Uint8Array,
  pairs: BytePrefixPairs,
): Uint8Array | undefined {
  for (const [oldPrefix, newPrefix] of pairs) {
    if (startsWith(value, oldPrefix)) {
      return concatBytes([newPrefix, value.subarray(oldPrefix.length)]);
    }
  }
  return undefined;
}

function startsWith(value: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > value.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (value[i] !== prefix[i]) return false;
  }
  return true;
}
