/**
 * Typed errors raised by Spackle. Every error names what was wrong and where
 * (a spec, a file, a URL); none ever carries a credential.
 *
 * @module
 */
import { redactUserinfo } from "./net/http.ts";

/** Base class of every error Spackle throws on purpose. `code` is stable and machine-readable. */
export class SpackleError extends Error {
  /** Stable, machine-readable error code, e.g. `"DIGEST_MISMATCH"`. */
  readonly code: string;
  /** Creates an error with a stable `code` and a human-readable message. */
  constructor(code: string, message: string, options?: ErrorOptions) {
    // Every message goes through one redaction: a credential typed into a URL never shows.
    super(redactUserinfo(message), options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bytes did not hash to the digest that names them (a blob, a layer, an index). */
export class DigestMismatchError extends SpackleError {
  /** Creates the error for the object at `where` (a URL, path or blob name). */
  constructor(
    readonly where: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super("DIGEST_MISMATCH", `digest mismatch for ${where}: expected ${expected}, got ${actual}`);
  }
}

/** Input that does not follow its format: malformed JSON or YAML, a bad manifest, an unknown media type. */
export class FormatError extends SpackleError {
  /** Creates the error; `source` names the file or URL that was read. */
  constructor(readonly source: string, detail: string, options?: ErrorOptions) {
    super("FORMAT", `${source}: ${detail}`, options);
  }
}

/** Something asked for is not there: a spec not in the cache, a missing blob or manifest. */
export class NotFoundError extends SpackleError {
  /** Creates the error; `what` names the missing object and where it was looked for. */
  constructor(readonly what: string) {
    super("NOT_FOUND", `not found: ${what}`);
  }
}

/** A tarball entry that would escape the prefix or is not allowed (device file, traversal, link out). */
export class UnsafeTarballError extends SpackleError {
  /** Creates the error for tar member `entry` of the tarball named by `source`. */
  constructor(readonly source: string, readonly entry: string, reason: string) {
    super("UNSAFE_TARBALL", `${source}: refusing entry ${JSON.stringify(entry)}: ${reason}`);
  }
}

/** Relocation could not be done exactly (a prefix would grow in a binary, a C string cannot shrink). */
export class RelocationError extends SpackleError {
  /** Creates the error; `file` is the path being relocated, when known. */
  constructor(code: string, message: string, readonly file?: string) {
    super(code, file ? `${file}: ${message}` : message);
  }
}

/** An install could not complete; nothing of it was left in the install root. */
export class InstallError extends SpackleError {
  /** Creates the error for the spec named `spec` (e.g. `zlib@1.3/abcdefg`). */
  constructor(readonly spec: string, detail: string, options?: ErrorOptions) {
    super("INSTALL", `cannot install ${spec}: ${detail}`, options);
  }
}

/** Bad arguments or options given by the caller (CLI or API). */
export class UsageError extends SpackleError {
  /** Creates the error with a message that says what to change. */
  constructor(message: string) {
    super("USAGE", message);
  }
}

/**
 * A build cache that is not there: a directory that does not exist, a registry repository the
 * registry does not know (`NAME_UNKNOWN`), an `oci-layout:` path with no layout, an HTTP
 * mirror root that answers 404. An existing but empty cache is not an error (it lists nothing).
 */
export class MirrorNotFoundError extends SpackleError {
  /** Creates the error; `url` is the cache looked for (no credentials), `detail` says how. */
  constructor(readonly url: string, detail = "no build cache there") {
    super("MIRROR_NOT_FOUND", `build cache not found: ${url}: ${detail}`);
  }
}

/**
 * How often a failed request is worth retrying: `no` (DNS failure, TLS or certificate problems:
 * the same answer every time), `brief` (connection refused, no answer within the read timeout:
 * one quick retry, for a server just starting or a passing stall), `yes` (a reset or dropped
 * connection: the retry policy's count).
 */
export type RetryAdvice = "no" | "brief" | "yes";

/**
 * A request that got no response: the host name does not resolve, a TLS handshake with a
 * plain-HTTP server, a certificate that is not trusted, a connection refused, no answer within
 * the read timeout. `reason` is short and human-readable (`connection refused`); `retry` says
 * whether trying again may help: `no`, `brief` (a retry or two at most) or `yes`.
 */
export class ConnectionError extends SpackleError {
  /** Creates the error for `method` on `url` (already redacted). */
  constructor(
    readonly method: string,
    readonly url: string,
    readonly reason: string,
    readonly retry: RetryAdvice,
    options?: ErrorOptions,
  ) {
    super("CONNECTION", `${method} ${url}: ${reason}`, options);
  }

  /** Whether trying again may help at all. */
  get retryable(): boolean {
    return this.retry !== "no";
  }
}

/** No bytes arrived for the read timeout: a server that stalls mid-answer or mid-body. */
export class ReadTimeoutError extends SpackleError {
  /** Creates the error; `ms` is the read timeout that passed without data. */
  constructor(readonly ms: number) {
    super("READ_TIMEOUT", `no data for ${ms / 1000} s (read timeout; SPACKLE_READ_TIMEOUT)`);
  }
}
