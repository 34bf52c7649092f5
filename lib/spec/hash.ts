/**
 * The DAG hash of a concrete spec node (Spack `spec_hash`, spec format v5).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { compactJson } from "./json.ts";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** Lower-case RFC 4648 base32 without padding. */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * DAG hash of a spec node: base32 of SHA-1 over the compact, ASCII-escaped JSON of the node dict
 * without its own `hash` key (Spack build cache format reference §3.3). 32 characters `[a-z2-7]`.
 *
 * Used for specs Spackle creates, and to check that a spec read from a layout 3 build cache
 * hashes to the hash it carries (`checkEntrySpec`). A hash stored by an older Spack (spec format
 * below 5, legacy v2 mirrors) is authoritative and not recomputed: Spack versions serialise the
 * same node differently.
 *
 * @param node A node dict in Spack's serialisation order; a `hash` key, if present, is ignored.
 *
 * @example
 * ```ts
 * import { dagHash } from "@spackle/spackle/spec";
 * const arch = { platform: "linux", platform_os: "debian12", target: "x86_64" };
 * dagHash({ name: "hello", version: "1.0", arch }); // 32 characters of [a-z2-7]
 * ```
 */
export function dagHash(node: Record<string, unknown>): string {
  const { hash: _ignored, ...rest } = node;
  const digest = createHash("sha1").update(compactJson(rest), "utf8").digest();
  return base32(new Uint8Array(digest));
}
