/**
 * Public keys trusted to sign build cache manifests: read from armored or binary key files, a
 * directory of them, or (after an explicit trust step, see `trustCacheKeys`) from a cache.
 * Fingerprints are printed as GnuPG and Spack print them: 40 uppercase hex digits (build cache
 * format reference §1.7).
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { keyFiles, parseKeyData, trustedKeyOf } from "./_key_data.ts";

/** A public key trusted to sign manifests, with the names GnuPG shows for it. */
export interface TrustedKey {
  /** Fingerprint of the primary key: 40 uppercase hex digits (v4 keys). */
  readonly fingerprint: string;
  /** Long key id of the primary key: 16 uppercase hex digits (the fingerprint's tail). */
  readonly keyId: string;
  /** User ids, e.g. `Spack <spack@example.org>`. */
  readonly userIds: readonly string[];
  /** Where the key was read from (a path or URL), for messages. */
  readonly source: string;
  /** The public key (primary key and subkeys), ASCII-armored. */
  readonly armored: string;
}

/**
 * The public keys in `data` (armored or binary; private keys contribute their public part).
 *
 * @example
 * ```ts
 * import { readTrustedKeys } from "@spackle/spackle/signing";
 * const [key] = await readTrustedKeys(await Deno.readTextFile("spack.pub"), "spack.pub");
 * console.log(key.fingerprint);
 * ```
 *
 * @throws {FormatError} naming `source` when `data` holds no readable key.
 */
export async function readTrustedKeys(
  data: string | Uint8Array,
  source: string,
): Promise<TrustedKey[]> {
  return (await parseKeyData(data, source)).map((key) => trustedKeyOf(key, source));
}

/**
 * The public keys in the key files and directories at `paths`. A directory contributes every
 * regular file in it (not recursive, hidden files skipped), in name order; each file must hold
 * keys. Keys found twice are kept once.
 *
 * @example
 * ```ts
 * import { loadTrustedKeys } from "@spackle/spackle/signing";
 * const keys = await loadTrustedKeys(["/etc/spackle/trusted-keys"]);
 * ```
 *
 * @throws {FormatError} naming the file that holds no readable key.
 * @throws {Deno.errors.NotFound} when a path does not exist.
 */
export async function loadTrustedKeys(paths: readonly string[]): Promise<TrustedKey[]> {
  const found = new Map<string, TrustedKey>();
  for (const file of await keyFiles(paths)) {
    for (const key of await readTrustedKeys(await Deno.readFile(file), file)) {
      if (!found.has(key.fingerprint)) found.set(key.fingerprint, key);
    }
  }
  return [...found.values()];
}

/**
 * A key selector as GnuPG prints it: uppercase hex without spaces or `0x`. Accepts a fingerprint
 * (40 hex digits), a long key id (16) or a short key id (8), in any case, spaced or `0x`-prefixed.
 *
 * @example
 * ```ts
 * import { normalizeKeyId } from "@spackle/spackle/signing";
 * normalizeKeyId("0x33e7 f468 3ce2 032a cc90  832b 78cf 5a6e 150d e926");
 * // "33E7F4683CE2032ACC90832B78CF5A6E150DE926"
 * ```
 *
 * @throws {UsageError} when `selector` is not 8, 16 or 40 hex digits.
 */
export function normalizeKeyId(selector: string): string {
  const hex = selector.replace(/\s+/g, "").replace(/^0x/i, "").toUpperCase();
  if (!/^[0-9A-F]+$/.test(hex) || ![8, 16, 40].includes(hex.length)) {
    throw new UsageError(
      `not a key fingerprint or key id (8, 16 or 40 hex digits): ${JSON.stringify(selector)}`,
    );
  }
  return hex;
}
