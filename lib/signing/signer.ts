/**
 * Signing keys: a private key that clearsigns spec manifests, loaded from a key file, a keyring
 * directory of key files, or a GnuPG home (build cache format reference §1.9, §7: `spack
 * buildcache push --signed --key`).
 *
 * @module
 */
import { createCleartextMessage, decryptKey, type Key, type PrivateKey, sign } from "openpgp";
import { NotFoundError, UsageError } from "../errors.ts";
import { gpgExportPublicKey, gpgExportSecretKey, gpgSecretKeys } from "./_gpg.ts";
import { keyFiles, keyMatches, parseKeyData, requireV4, trustedKeyOf } from "./_key_data.ts";
import { normalizeKeyId, type TrustedKey } from "./keys.ts";

/** A key that signs build cache manifests, and the public key a cache publishes for it. */
export interface Signer {
  /** Fingerprint of the signing key's primary key (40 uppercase hex). */
  readonly fingerprint: string;
  /** The public part, to verify what this signer signed. */
  readonly publicKey: TrustedKey;
  /** The armored public key published in caches (GnuPG's export when the key came from GnuPG). */
  readonly publicKeyArmored: string;
  /**
   * Clearsigns `text` shaped as `gpg --clearsign` writes it and Spack parses it:
   * `-----BEGIN PGP SIGNED MESSAGE-----`, exactly one `Hash:` armor header, a blank line, the
   * dash-escaped text, a line break, the armored signature, a final newline.
   */
  clearsign(text: string): Promise<string>;
}

/** Options of {@link createSigner}. */
export interface CreateSignerOptions {
  /** Passphrase of a protected key. */
  passphrase?: string;
  /**
   * The armored public key to publish (it must be this key's); default: the key's own public
   * part, armored by OpenPGP.js.
   */
  publicKeyArmored?: string;
  /** Names the key's origin in errors (a path, a GnuPG home). */
  source?: string;
}

/**
 * A {@link Signer} for the one private key in `key` (armored or binary key data). A protected
 * key is unlocked with `passphrase`. Signatures use the key's preferred hash (`SHA512` for RSA
 * and EdDSA keys made by GnuPG or OpenPGP.js).
 *
 * @example
 * ```ts
 * import { createSigner } from "@spackle/spackle/signing";
 * const signer = await createSigner(await Deno.readTextFile("ci-signing.asc"), {
 *   passphrase: Deno.env.get("SIGNING_PASSPHRASE"),
 * });
 * console.log(signer.fingerprint);
 * ```
 *
 * @throws {FormatError} when the data holds no key.
 * @throws {UsageError} when it holds no or several private keys, the passphrase is missing or
 * wrong, the key is not a v4 key (GnuPG 2.2 rejects v6 keys, and v6 cleartext signatures carry no
 * `Hash:` header, which Spack needs), or it cannot sign (expired, revoked, no signing capability).
 */
export async function createSigner(
  key: string | Uint8Array,
  options: CreateSignerOptions = {},
): Promise<Signer> {
  const source = options.source ?? "the given key";
  const secret = (await parseKeyData(key, source)).filter(isPrivate);
  if (secret.length !== 1) {
    throw new UsageError(`${source} holds ${secret.length} private keys; exactly one is needed`);
  }
  return await signerOf(secret[0], { ...options, source });
}

async function signerOf(
  key: PrivateKey,
  options: CreateSignerOptions & { source: string },
): Promise<Signer> {
  const fingerprint = key.getFingerprint().toUpperCase();
  requireV4(key);
  let unlocked = key;
  if (!key.isDecrypted()) {
    if (options.passphrase === undefined) {
      throw new UsageError(`key ${fingerprint} is protected by a passphrase; give the passphrase`);
    }
    try {
      unlocked = await decryptKey({ privateKey: key, passphrase: options.passphrase });
    } catch (e) {
      throw new UsageError(`cannot unlock key ${fingerprint}: ${(e as Error).message}`);
    }
  }
  try {
    await unlocked.getSigningKey();
  } catch (e) {
    throw new UsageError(`key ${fingerprint} cannot sign: ${(e as Error).message}`);
  }
  if (options.publicKeyArmored !== undefined) {
    const published = await parseKeyData(options.publicKeyArmored, `public key of ${fingerprint}`);
    if (published.length !== 1 || published[0].getFingerprint().toUpperCase() !== fingerprint) {
      throw new UsageError(`the public key to publish is not the public part of ${fingerprint}`);
    }
  }
  return {
    fingerprint,
    publicKey: trustedKeyOf(unlocked, options.source),
    publicKeyArmored: options.publicKeyArmored ?? unlocked.toPublic().armor(),
    clearsign: async (text) => {
      const signed = await sign({
        message: await createCleartextMessage({ text }),
        signingKeys: unlocked,
      });
      // OpenPGP.js writes the cleartext with CRLF line ends, gpg with LF (as Spack's manifests
      // have). Text signatures hash CRLF-canonical lines, so this changes no signature.
      return signed.replaceAll("\r\n", "\n");
    },
  };
}

/** Where {@link loadSigningKey} finds the signing key. */
export interface SigningKeyOptions {
  /**
   * A key file (armored or binary, one private key), or a fingerprint or key id (8, 16 or 40 hex
   * digits) of a key in `keyring` or `gpgHome`. Omitted: the only private key found there.
   */
  key?: string;
  /** A directory of key files searched for the private key (not recursive). */
  keyring?: string;
  /** A GnuPG home (e.g. `~/.gnupg`) to export the key from with `gpg --export-secret-keys`. */
  gpgHome?: string;
  /** Passphrase of a protected key (also given to GnuPG's loopback pinentry). */
  passphrase?: string;
}

/**
 * Loads the signing key as `spack buildcache push --key` chooses it: the key named by
 * `options.key` (a file, or a fingerprint looked up in `keyring`, then in `gpgHome`), or without
 * `key` the only private key in `keyring` and `gpgHome` together. A key from GnuPG publishes
 * GnuPG's own public export, byte for byte what Spack publishes.
 *
 * @example
 * ```ts
 * import { loadSigningKey } from "@spackle/spackle/signing";
 * const signer = await loadSigningKey({
 *   key: "33E7F4683CE2032ACC90832B78CF5A6E150DE926",
 *   gpgHome: `${Deno.env.get("HOME")}/.gnupg`,
 * });
 * ```
 *
 * @throws {NotFoundError} when no private key matches `key`.
 * @throws {UsageError} when no key source is given, several keys match or none is the default,
 * or as {@link createSigner}.
 * @throws {FormatError} when a key file or keyring file holds no key.
 */
export async function loadSigningKey(options: SigningKeyOptions = {}): Promise<Signer> {
  const { key, keyring, gpgHome, passphrase } = options;
  if (key !== undefined && await isFile(key)) {
    return await createSigner(await Deno.readFile(key), { passphrase, source: key });
  }
  if (keyring === undefined && gpgHome === undefined) {
    throw new UsageError(
      key === undefined
        ? "no signing key given: name a key file, or a keyring directory or GnuPG home"
        : `${key} is not a key file; to select a key by fingerprint give a keyring directory or GnuPG home`,
    );
  }
  const selector = key === undefined ? undefined : normalizeKeyId(key);
  const candidates = new Map<string, () => Promise<Signer>>();
  if (keyring !== undefined) {
    for (const file of await keyFiles([keyring])) {
      for (const found of (await parseKeyData(await Deno.readFile(file), file)).filter(isPrivate)) {
        if (selector !== undefined && !keyMatches(found, selector)) continue;
        const fingerprint = found.getFingerprint().toUpperCase();
        if (!candidates.has(fingerprint)) {
          candidates.set(fingerprint, () => signerOf(found, { passphrase, source: file }));
        }
      }
    }
  }
  if (gpgHome !== undefined) {
    for (const fingerprint of await gpgSecretKeys(gpgHome)) {
      if (selector !== undefined && !fingerprint.endsWith(selector)) continue;
      if (candidates.has(fingerprint)) continue;
      candidates.set(
        fingerprint,
        async () =>
          createSigner(await gpgExportSecretKey(gpgHome, fingerprint, passphrase), {
            passphrase,
            source: `${gpgHome} (gpg)`,
            publicKeyArmored: await gpgExportPublicKey(gpgHome, fingerprint),
          }),
      );
    }
  }
  const where = [keyring, gpgHome].filter((w) => w !== undefined).join(" and ");
  if (candidates.size === 1) return await [...candidates.values()][0]();
  if (selector !== undefined && candidates.size === 0) {
    throw new NotFoundError(`private key ${selector} in ${where}`);
  }
  if (candidates.size === 0) {
    throw new UsageError(`no default key available for signing in ${where}`);
  }
  throw new UsageError(
    `multiple keys available for signing in ${where} (${[...candidates.keys()].join(", ")}); ` +
      "select one by fingerprint",
  );
}

function isPrivate(key: Key): key is PrivateKey {
  return key.isPrivate();
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
