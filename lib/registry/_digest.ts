// sha256 digests in the `sha256:<64 lower-case hex>` form registries use.

import { sha256Hex } from "../stream/digest.ts";
import { UsageError } from "../errors.ts";

/** Matches a sha256 digest string, the only algorithm Spack (and this client) verifies. */
export const SHA256_DIGEST_RE: RegExp = /^sha256:[0-9a-f]{64}$/;

/** `sha256:<hex>` of `bytes`. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${sha256Hex(bytes)}`;
}

/** Throws a {@linkcode UsageError} unless `digest` is a sha256 digest. */
export function requireSha256(digest: string): void {
  if (!SHA256_DIGEST_RE.test(digest)) {
    throw new UsageError(`expected a sha256:<64 hex> digest, got ${JSON.stringify(digest)}`);
  }
}
