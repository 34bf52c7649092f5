/**
 * Errors raised when talking to an OCI registry. Messages name the method and the URL without
 * userinfo or query (which can hold presigned credentials) and never quote a header value.
 *
 * @module
 */

import { SpackleError } from "../errors.ts";

/**
 * A registry request failed: an unexpected HTTP status, a dropped connection, a protocol breach.
 * `status` is undefined when no response arrived. `codes` are the registry's error codes from
 * the JSON error body (OCI distribution spec, "Error Codes"), e.g. `MANIFEST_UNKNOWN`.
 *
 * @example
 * ```ts
 * import { RegistryClient, RegistryError } from "@spackle/spackle/registry";
 * try {
 *   await new RegistryClient("ghcr.io").listTags("acme/cache");
 * } catch (e) {
 *   if (e instanceof RegistryError) console.error(e.status, e.codes, e.retryable);
 *   else throw e;
 * }
 * ```
 */
export class RegistryError extends SpackleError {
  /** Creates the error for `method` on `url` (already redacted) with an optional HTTP status. */
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number | undefined,
    readonly codes: readonly string[],
    detail: string,
    /** Milliseconds the registry asked us to wait (`Retry-After`), when it said so. */
    readonly retryAfterMs?: number,
  ) {
    super(
      "REGISTRY",
      `${method} ${url}: ${status === undefined ? "" : `HTTP ${status}: `}${detail}`,
    );
  }

  /** Whether trying again may help: no response at all, or HTTP 408, 429 or 5xx. */
  get retryable(): boolean {
    return this.status === undefined || isRetryableStatus(this.status);
  }
}

/**
 * Login to a registry failed or is impossible (bad credentials, unsupported or malformed challenge).
 *
 * @example
 * ```ts
 * import { RegistryAuthError, RegistryClient } from "@spackle/spackle/registry";
 * try {
 *   await new RegistryClient("ghcr.io").listTags("acme/private");
 * } catch (e) {
 *   if (e instanceof RegistryAuthError) console.error("log in to", e.registry);
 *   else throw e;
 * }
 * ```
 */
export class RegistryAuthError extends SpackleError {
  /** Creates the error; `registry` is the host (`host[:port]`) that asked for authentication. */
  constructor(readonly registry: string, detail: string) {
    super("REGISTRY_AUTH", `cannot log in to ${registry}: ${detail}`);
  }
}

/** Whether an HTTP status is worth retrying: 408 (timeout), 429 (rate limit) or any 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}
