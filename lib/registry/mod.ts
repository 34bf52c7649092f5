/**
 * OCI distribution (registry) client: image references and mirror URLs, authentication
 * (Bearer tokens, Basic, Docker config files and credential helpers), and a registry client with
 * verified blob streaming, monolithic/chunked/mounted uploads, manifests, tags and referrers.
 *
 * @example
 * ```ts
 * import { parseOciMirrorUrl, RegistryClient } from "@spackle/spackle/registry";
 *
 * const { reference, plainHttp } = parseOciMirrorUrl("oci+http://127.0.0.1:5000/spack/cache");
 * const client = new RegistryClient(reference.domain, { plainHttp });
 * const tags = await client.listTags(reference.repository);
 * ```
 *
 * @module
 */

export * from "./reference.ts";
export * from "./media_types.ts";
export { RegistryAuthError, RegistryError } from "./errors.ts";
// The shared errors this client throws, so the module is usable on its own.
export {
  DigestMismatchError,
  FormatError,
  NotFoundError,
  SpackleError,
  UsageError,
} from "../errors.ts";
export * from "./credentials.ts";
export * from "./auth.ts";
export * from "./client.ts";
export {
  DEFAULT_READ_TIMEOUT_MS,
  defaultReadTimeoutMs,
  READ_TIMEOUT_VARIABLE,
  type RetryEvent,
} from "../net/retry.ts";
export { hasUrlPassword, redactUserinfo } from "../net/http.ts";
