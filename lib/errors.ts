/**
 * Typed errors raised by Spackle. Every error names what was wrong and where
 * (a spec, a file, a URL); none ever carries a credential.
 *
 * @module
 */
import { redactUserinfo } from "./net/http.ts";

/**
 * Base class of every error Spackle throws on purpose. `code` is stable and machine-readable.
 *
 * @example
 * ```ts
 * import { openMirror, SpackleError } from "@spackle/spackle";
 * try {
 *   await (await openMirror("./cache")).listSpecs();
 * } catch (e) {
 *   if (!(e instanceof SpackleError)) throw e;
 *   console.error(`${e.code}: ${e.message}`); // e.g. "FORMAT: …/index.json: …"
 * }
 * ```
 */
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

/**
 * Bytes did not hash to the digest that names them (a blob, a layer, an index).
 *
 * @example
 * ```ts
 * import { DigestMismatchError, fetchBlob } from "@spackle/spackle";
 * const digest = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
 * try {
 *   await (await fetchBlob("./cache", digest)).pipeTo((await Deno.create("blob")).writable);
 * } catch (e) {
 *   if (e instanceof DigestMismatchError) await Deno.remove("blob"); // got e.actual, not e.expected
 *   else throw e;
 * }
 * ```
 */
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

/**
 * A blob whose length is not the one its manifest record or descriptor declares. `actual` is
 * the number of bytes read; for a longer blob reading stopped there, so it is a lower bound.
 */
export class SizeMismatchError extends SpackleError {
  /** Creates the error for the blob at `where`; `expected` and `actual` are in bytes. */
  constructor(
    readonly where: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(
      "SIZE_MISMATCH",
      actual > expected
        ? `size mismatch for ${where}: declared ${expected} bytes, more were sent (stopped at ${actual})`
        : `size mismatch for ${where}: declared ${expected} bytes, got ${actual}`,
    );
  }
}

/**
 * A cache entry that holds another spec than the one its key names or the one asked for: a
 * manifest stored under another spec's key, or a spec whose content does not hash to its DAG hash.
 * `expected` is the DAG hash the key, index or request names; `found` the one the entry's spec
 * carries or hashes to.
 */
export class SpecMismatchError extends SpackleError {
  /** Creates the error for the entry at `key` (URL, tag or path); `detail` says what differs. */
  constructor(
    readonly key: string,
    readonly expected: string,
    readonly found: string,
    detail: string,
  ) {
    super(
      "SPEC_MISMATCH",
      `spec mismatch at ${key}: expected ${expected}, found ${found} (${detail})`,
    );
  }
}

/**
 * A decompressed stream grew past its limit (a gzip bomb, or a package far larger than its
 * compressed size suggests). Sizes in bytes.
 */
export class ExpansionLimitError extends SpackleError {
  /** Creates the error for the blob named by `where` after `compressed` input bytes. */
  constructor(readonly where: string, readonly limit: number, readonly compressed: number) {
    super(
      "EXPANSION_LIMIT",
      `${where}: unpacks to more than ${limit} bytes from ${compressed} compressed bytes ` +
        `(if the package is genuine, raise the limit: --max-expansion, or maxExpansion)`,
    );
  }
}

/**
 * A relocation prefix in a package's buildinfo (`buildpath`, `hash_to_prefix`,
 * `sbang_install_path`) that is not a plausible install prefix: relative, not normalised, `/`,
 * a system directory or a parent of one, or not the prefix the tarball's members live in.
 */
export class PrefixMapError extends SpackleError {
  /** Creates the error for the tarball named by `source`; `prefix` is the rejected value. */
  constructor(readonly source: string, readonly prefix: string, reason: string) {
    super(
      "BAD_PREFIX",
      `${source}: refusing relocation prefix ${JSON.stringify(prefix)}: ${reason}`,
    );
  }
}

/**
 * Input that does not follow its format: malformed JSON or YAML, a bad manifest, an unknown media type.
 *
 * @example
 * ```ts
 * import { FormatError, openMirror } from "@spackle/spackle";
 * try {
 *   await (await openMirror("./cache")).listSpecs();
 * } catch (e) {
 *   if (e instanceof FormatError) console.error("unreadable file in the cache:", e.source);
 *   else throw e;
 * }
 * ```
 */
export class FormatError extends SpackleError {
  /** Creates the error; `source` names the file or URL that was read. */
  constructor(readonly source: string, detail: string, options?: ErrorOptions) {
    super("FORMAT", `${source}: ${detail}`, options);
  }
}

/**
 * Something asked for is not there: a spec not in the cache, a missing blob or manifest.
 *
 * @example
 * ```ts
 * import { NotFoundError, openMirror, selectSpecs } from "@spackle/spackle";
 * const mirror = await openMirror("./cache");
 * try {
 *   selectSpecs(await mirror.listSpecs(), ["zlib-ng"], mirror.url);
 * } catch (e) {
 *   if (e instanceof NotFoundError) console.error(e.message); // "not found: spec zlib-ng in file://…"
 *   else throw e;
 * }
 * ```
 */
export class NotFoundError extends SpackleError {
  /** Creates the error; `what` names the missing object and where it was looked for. */
  constructor(readonly what: string) {
    super("NOT_FOUND", `not found: ${what}`);
  }
}

/**
 * A tarball entry that would escape the prefix or is not allowed (device file, traversal, link out).
 *
 * @example
 * ```ts
 * import { UnsafeTarballError } from "@spackle/spackle";
 * import { extractPackageTarball } from "@spackle/spackle/tar";
 * import { gunzipStream } from "@spackle/spackle/stream";
 * const tar = (await Deno.open("untrusted.tar.gz")).readable.pipeThrough(gunzipStream());
 * try {
 *   await extractPackageTarball(tar, "/opt/sw/pkg", { source: "untrusted.tar.gz" });
 * } catch (e) {
 *   if (e instanceof UnsafeTarballError) console.error("refused member", e.entry);
 *   else throw e;
 * }
 * ```
 */
export class UnsafeTarballError extends SpackleError {
  /** Creates the error for tar member `entry` of the tarball named by `source`. */
  constructor(readonly source: string, readonly entry: string, reason: string) {
    super("UNSAFE_TARBALL", `${source}: refusing entry ${JSON.stringify(entry)}: ${reason}`);
  }
}

/**
 * Relocation could not be done exactly (a prefix would grow in a binary, a C string cannot shrink).
 *
 * @example
 * ```ts
 * import { RelocationError } from "@spackle/spackle";
 * import { relocateBinaryFile } from "@spackle/spackle/relocate";
 * const map = new Map([["/short", "/a/much/longer/prefix"]]);
 * try {
 *   await relocateBinaryFile("/a/much/longer/prefix/bin/app", map);
 * } catch (e) {
 *   if (e instanceof RelocationError) console.error(e.code, e.file); // CANNOT_GROW_STRING, the file
 *   else throw e;
 * }
 * ```
 */
export class RelocationError extends SpackleError {
  /** Creates the error; `file` is the path being relocated, when known. */
  constructor(code: string, message: string, readonly file?: string) {
    super(code, file ? `${file}: ${message}` : message);
  }
}

/**
 * An install could not complete; nothing of it was left in the install root.
 *
 * @example
 * ```ts
 * import { InstallError, installSpecs, openMirror } from "@spackle/spackle";
 * const mirror = await openMirror("./cache");
 * try {
 *   await installSpecs(mirror, await mirror.listSpecs(), { root: "/opt/sw", checkSignature: false });
 * } catch (e) {
 *   if (e instanceof InstallError) console.error(e.spec, e.cause); // the spec and the first failure
 *   else throw e;
 * }
 * ```
 */
export class InstallError extends SpackleError {
  /** Creates the error for the spec named `spec` (e.g. `zlib@1.3/abcdefg`). */
  constructor(readonly spec: string, detail: string, options?: ErrorOptions) {
    super("INSTALL", `cannot install ${spec}: ${detail}`, options);
  }
}

/**
 * Bad arguments or options given by the caller (CLI or API).
 *
 * @example
 * ```ts
 * import { fetchBlob, UsageError } from "@spackle/spackle";
 * try {
 *   await fetchBlob("./cache", "md5:d41d8cd98f00b204e9800998ecf8427e");
 * } catch (e) {
 *   if (e instanceof UsageError) console.error(e.message); // says what to change
 *   else throw e;
 * }
 * ```
 */
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
