/**
 * `SignatureError`: a clearsigned manifest or spec file that cannot be trusted (build cache
 * format reference §1.9).
 *
 * @module
 */
import { SpackleError } from "../errors.ts";

/**
 * Why a document failed verification, also the error's `code`: no signature where one is
 * required, a signature by a key that is not trusted, or a signature that does not verify.
 */
export type SignatureProblem = "SIGNATURE_MISSING" | "SIGNATURE_UNTRUSTED" | "SIGNATURE_BAD";

/** The signing key named by a {@link SignatureError}, and the underlying error. */
export interface SignatureErrorInfo {
  /** Long key id of the signer (16 uppercase hex), when the signature names it. */
  keyId?: string;
  /** Fingerprint of the signer (40 uppercase hex), when the signature carries it. */
  fingerprint?: string;
  /** The OpenPGP or parse error behind this one. */
  cause?: unknown;
}

/**
 * A document (spec manifest, v2 spec file) whose signature is missing, made by a key that is not
 * trusted, or invalid. `source` names the document; `keyId` and `fingerprint` name the signing
 * key when the signature says which it is.
 *
 * @example
 * ```ts
 * import { installSpecs, loadTrustedKeys, openMirror, SignatureError } from "@spackle/spackle";
 * const mirror = await openMirror("./cache");
 * const trustedKeys = await loadTrustedKeys(["ci-signing.pub"]);
 * try {
 *   await installSpecs(mirror, await mirror.listSpecs(), { root: "/opt/sw", trustedKeys });
 * } catch (e) {
 *   const cause = e instanceof Error ? e.cause : undefined;
 *   if (cause instanceof SignatureError) console.error(cause.problem, cause.source, cause.keyId);
 *   else throw e;
 * }
 * ```
 */
export class SignatureError extends SpackleError {
  /** Long key id of the signer (16 uppercase hex), when known. */
  readonly keyId?: string;
  /** Fingerprint of the signer (40 uppercase hex), when known. */
  readonly fingerprint?: string;

  /** Creates the error; `message` names `source` and, when known, the key. */
  constructor(
    readonly problem: SignatureProblem,
    readonly source: string,
    message: string,
    info: SignatureErrorInfo = {},
  ) {
    super(problem, message, info.cause === undefined ? undefined : { cause: info.cause });
    this.keyId = info.keyId;
    this.fingerprint = info.fingerprint;
  }
}
