/**
 * Signing and verifying Spack build cache manifests with OpenPGP (v4 keys, GnuPG-compatible
 * cleartext signatures), and the public keys a cache publishes (build cache format reference
 * §1.7, §1.9).
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { loadSigningKey, loadTrustedKeys } from "@spackle/spackle/signing";
 * const signer = await loadSigningKey({ key: "signing.asc" });
 * const mirror = await openMirror("./cache", { signer });
 * const trustedKeys = await loadTrustedKeys(["signing.pub"]);
 * ```
 *
 * @module
 */
export { type VerifiedText, verifyClearsigned } from "./clearsign.ts";
export { SignatureError, type SignatureErrorInfo, type SignatureProblem } from "./errors.ts";
export { loadTrustedKeys, normalizeKeyId, readTrustedKeys, type TrustedKey } from "./keys.ts";
export {
  createSigner,
  type CreateSignerOptions,
  loadSigningKey,
  type Signer,
  type SigningKeyOptions,
} from "./signer.ts";
export { trustCacheKeys } from "./trust.ts";
export {
  type CacheKey,
  KEY_INDEX_MANIFEST_KEY,
  KEY_MANIFEST_DIR,
  KEY_MANIFEST_SUFFIX,
  keyManifestKey,
  listCacheKeys,
  publishKey,
  type PublishKeyOptions,
  updateKeyIndex,
  V2_KEY_DIR,
} from "../buildcache/keys.ts";
