/**
 * Verifying clearsigned build cache documents (spec manifests of layout v3, spec files of layout
 * v2) as Spack's `gpg --verify` does, and reading them as Spack does (build cache format
 * reference §1.3, §1.9).
 *
 * @module
 */
import { readCleartextMessage } from "openpgp";
import { stripClearsign } from "../buildcache/manifest.ts";
import { publicKeyOf } from "./_key_data.ts";
import { SignatureError } from "./errors.ts";
import type { TrustedKey } from "./keys.ts";

/** A document whose signature verified, and who signed it. */
export interface VerifiedText {
  /** The signed text exactly as {@link stripClearsign} extracts it (what Spack parses). */
  text: string;
  /** Fingerprint of the signer's primary key (40 uppercase hex). */
  fingerprint: string;
  /** Long key id of the key (primary or subkey) that made the signature (16 uppercase hex). */
  keyId: string;
}

/**
 * Verifies the clearsigned `text` against `trustedKeys` and returns the signed text as Spack
 * extracts it. Every signature on the document must be made by a trusted key (a primary key or
 * one of its subkeys) and verify; the text OpenPGP verified must also be the text Spack's
 * extraction yields, so what a reader parses is what was signed (a document with armor headers
 * other than one `Hash:`, dash-escaped lines or anything appended after the signature fails).
 * Which trusted key signed does not matter, as with Spack's `gpg --verify`.
 *
 * @example
 * ```ts
 * import { loadTrustedKeys, verifyClearsigned } from "@spackle/spackle/signing";
 * const keys = await loadTrustedKeys(["harness-signing-key.pub"]);
 * const manifest = await Deno.readTextFile("x.spec.manifest.json");
 * const { text, fingerprint } = await verifyClearsigned(manifest, keys, "x.spec.manifest.json");
 * ```
 *
 * @param source Names the document in errors (URL or path).
 * @throws {FormatError} when a trusted key built by the caller is not the key it names.
 * @throws {SignatureError} `SIGNATURE_MISSING` when `text` is not clearsigned or carries no
 * signature; `SIGNATURE_UNTRUSTED` naming the key id (and fingerprint) of a signer not in
 * `trustedKeys`; `SIGNATURE_BAD` naming `source` when the document is malformed or a signature
 * does not verify.
 */
export async function verifyClearsigned(
  text: string,
  trustedKeys: readonly TrustedKey[],
  source: string,
): Promise<VerifiedText> {
  if (!text.startsWith("-----BEGIN PGP SIGNED MESSAGE-----")) {
    throw new SignatureError(
      "SIGNATURE_MISSING",
      source,
      `required signature was not found on ${source}`,
    );
  }
  const bad = (detail: string, cause?: unknown, keyId?: string, fingerprint?: string) =>
    new SignatureError(
      "SIGNATURE_BAD",
      source,
      `signature could not be verified on ${source}: ${detail}`,
      { cause, keyId, fingerprint },
    );
  let message;
  let extracted: string;
  try {
    extracted = stripClearsign(text, source);
    message = await readCleartextMessage({ cleartextMessage: text });
  } catch (e) {
    throw bad(`malformed clearsigned document: ${(e as Error).message}`, e);
  }
  const keys = await Promise.all(trustedKeys.map(publicKeyOf));
  const results = await message.verify(keys);
  // Settled one by one below; the loop may stop early, so no rejection goes unobserved.
  for (const result of results) result.verified.catch(() => {});
  if (!results.length) {
    throw new SignatureError("SIGNATURE_MISSING", source, `no signature found on ${source}`);
  }
  let signer: VerifiedText | undefined;
  for (const result of results) {
    const keyId = result.keyID.toHex().toUpperCase();
    const fingerprint = issuerFingerprint(await result.signature);
    const index = keys.findIndex((k) => k.getKeys(result.keyID).length > 0);
    const trusted = trustedKeys[index];
    if (!trusted) {
      throw new SignatureError(
        "SIGNATURE_UNTRUSTED",
        source,
        `${source} is signed by key ${keyId}${
          fingerprint ? ` (fingerprint ${fingerprint})` : ""
        }, which is not among the trusted keys`,
        { keyId, fingerprint },
      );
    }
    try {
      await result.verified;
    } catch (e) {
      throw bad(`${(e as Error).message} (key ${keyId})`, e, keyId, trusted.fingerprint);
    }
    signer ??= { text: extracted, fingerprint: trusted.fingerprint, keyId };
  }
  if (canonical(message.getText()) !== canonical(extracted.replace(/\r?\n$/, ""))) {
    throw bad("the signed text differs from the text readers extract from the document");
  }
  return signer!;
}

/** The issuer fingerprint subpacket of a signature (uppercase hex), when present. */
function issuerFingerprint(signature: { packets: ArrayLike<unknown> }): string | undefined {
  const packet = signature.packets[0] as { issuerFingerprint?: Uint8Array | null } | undefined;
  const bytes = packet?.issuerFingerprint;
  if (!bytes?.length) return undefined;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

/**
 * Text as OpenPGP signs it: LF line ends, trailing blanks dropped (RFC 9580 §7.2). Blanks at a
 * line end never change a JSON document: a JSON string cannot span lines.
 */
function canonical(text: string): string {
  return text.split(/\r?\n/).map((line) => line.replace(/[ \t]+$/, "")).join("\n");
}
