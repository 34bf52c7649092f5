/**
 * Reading OpenPGP key files, armored or binary, one key or several (a keyring export or armor
 * blocks concatenated with `cat`).
 *
 * @module
 */
import { join } from "node:path";
import { type Key, type PublicKey, readKey, readKeys } from "openpgp";
import { FormatError, UsageError } from "../errors.ts";
import type { TrustedKey } from "./keys.ts";

const ARMOR_BLOCK =
  /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

/**
 * Every key in `data`: armored blocks when the text has any, else a binary keyring.
 *
 * @throws {FormatError} naming `source` when the data holds no readable key.
 */
export async function parseKeyData(data: string | Uint8Array, source: string): Promise<Key[]> {
  const text = typeof data === "string"
    ? data
    : new TextDecoder("utf-8", { fatal: false }).decode(data);
  const blocks = text.match(ARMOR_BLOCK);
  try {
    if (blocks) {
      return (await Promise.all(blocks.map((armoredKeys) => readKeys({ armoredKeys })))).flat();
    }
    if (typeof data === "string" || text.includes("-----BEGIN PGP")) {
      throw new Error("no armored key block");
    }
    return await readKeys({ binaryKeys: data });
  } catch (e) {
    throw new FormatError(source, `not an OpenPGP key: ${(e as Error).message}`, { cause: e });
  }
}

/** Regular files named by `paths`: files as given, directories expanded (non-hidden, sorted). */
export async function keyFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    if (!(await Deno.stat(path)).isDirectory) {
      files.push(path);
      continue;
    }
    const names: string[] = [];
    for await (const entry of Deno.readDir(path)) {
      if (entry.isFile && !entry.name.startsWith(".")) names.push(entry.name);
    }
    files.push(...names.sort().map((name) => join(path, name)));
  }
  return files;
}

/** Whether `key` (its primary key or a subkey) is the one `selector` (uppercase hex, a fingerprint or its tail) names. */
export function keyMatches(key: Key, selector: string): boolean {
  return [key, ...key.getSubkeys()].some((k) =>
    k.getFingerprint().toUpperCase().endsWith(selector)
  );
}

/**
 * Refuses keys Spack's toolchain cannot use: GnuPG 2.2 rejects v6 keys, and v6 cleartext
 * signatures carry no `Hash:` header, which Spack's extraction needs.
 *
 * @throws {UsageError} for a key that is not a v4 key.
 */
export function requireV4(key: Key): void {
  if (key.keyPacket.version !== 4) {
    throw new UsageError(
      `key ${key.getFingerprint().toUpperCase()} is a v${key.keyPacket.version} key; ` +
        "Spack and GnuPG 2.2 need v4 keys",
    );
  }
}

/** Parsed keys of the trusted keys made here, so verification does not parse them again. */
const parsedKeys = new WeakMap<TrustedKey, PublicKey>();

/** The {@link TrustedKey} of a parsed key; a private key is reduced to its public part. */
export function trustedKeyOf(key: Key, source: string): TrustedKey {
  const publicKey = key.toPublic();
  const trusted: TrustedKey = Object.freeze({
    fingerprint: publicKey.getFingerprint().toUpperCase(),
    keyId: publicKey.getKeyID().toHex().toUpperCase(),
    userIds: Object.freeze(publicKey.getUserIDs()),
    source,
    armored: publicKey.armor(),
  });
  parsedKeys.set(trusted, publicKey);
  return trusted;
}

/**
 * The OpenPGP.js key of `trusted`: the one it was made from, or (for a key built by the caller)
 * its armored text parsed and checked against its fingerprint.
 *
 * @throws {FormatError} when `armored` is not a key or not the key `fingerprint` names.
 */
export async function publicKeyOf(trusted: TrustedKey): Promise<PublicKey> {
  const known = parsedKeys.get(trusted);
  if (known) return known;
  let key: PublicKey;
  try {
    key = (await readKey({ armoredKey: trusted.armored })).toPublic();
  } catch (e) {
    throw new FormatError(trusted.source, `not an OpenPGP key: ${(e as Error).message}`);
  }
  if (key.getFingerprint().toUpperCase() !== trusted.fingerprint) {
    throw new FormatError(trusted.source, `the armored key is not ${trusted.fingerprint}`);
  }
  parsedKeys.set(trusted, key);
  return key;
}
