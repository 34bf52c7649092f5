// HTTP plumbing shared by the HTTP and S3 object stores: the error type, retries with back-off,
// downloads that resume after a dropped connection, and object key encoding.
//
// The back-off, redaction and stream helpers are the OCI registry client's, so both transports
// behave alike (same option names, same `RetryEvent`).

import denoConfig from "../../deno.json" with { type: "json" };
import { ConnectionError, ReadTimeoutError, SpackleError, UsageError } from "../errors.ts";
import { isRetryableStatus } from "../registry/errors.ts";
import { readLimited, redactUrlsIn } from "../net/http.ts";
import { BRIEF_RETRIES, connectionError, retriesAllowed } from "../net/failure.ts";
import {
  defaultReadTimeoutMs,
  parseRetryAfter,
  pauseBeforeRetry,
  type RetryEvent,
  type RetryPolicy,
} from "../net/retry.ts";
import { readWithin, skipBytes } from "../stream/chunks.ts";

const USER_AGENT = `spackle/${denoConfig.version}`;
// Listings and XML answers are read whole; none is anywhere near this.
const MAX_TEXT_BYTES = 64 * 1024 * 1024;

/**
 * A request to a remote object store (HTTP server, S3 bucket) failed: an unexpected status, a
 * dropped connection, a malformed answer. The message names the method and the object (an
 * `s3://` URL, or the HTTP URL without userinfo or query) and never a credential.
 *
 * @example
 * ```ts
 * import { S3Store, StorageRequestError } from "@spackle/spackle/storage";
 * try {
 *   await new S3Store("s3://missing-bucket/cache").exists("v3/layout.json");
 * } catch (e) {
 *   if (e instanceof StorageRequestError) console.error(e.status, e.serviceCode); // 404 NoSuchBucket
 *   else throw e;
 * }
 * ```
 */
export class StorageRequestError extends SpackleError {
  /**
   * Creates the error for `method` on `url` (already redacted). `status` is undefined when no
   * response arrived; `serviceCode` is the S3 error code (`NoSuchBucket`, `AccessDenied`, …).
   */
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number | undefined,
    detail: string,
    readonly serviceCode?: string,
  ) {
    super(
      "STORAGE_REQUEST",
      `${method} ${url}: ${status === undefined ? "" : `HTTP ${status}: `}${detail}`,
    );
  }

  /** Whether trying again may help: no response at all, or HTTP 408, 429 or 5xx. */
  get retryable(): boolean {
    return this.status === undefined || isRetryableStatus(this.status);
  }
}

/** Transport options common to {@link HttpStore} and {@link S3Store}. */
export interface RemoteStoreOptions {
  /** Retries after a failed attempt (408, 429, 5xx, dropped connection). Default 3. */
  readonly retries?: number;
  /** First back-off delay in ms; doubles per retry (with jitter). Default 500. */
  readonly retryBaseDelayMs?: number;
  /** Upper bound of the back-off delay in ms. Default 4000. */
  readonly retryMaxDelayMs?: number;
  /** Upper bound in ms for a server's `Retry-After`. Default 30000. */
  readonly maxRetryAfterMs?: number;
  /**
   * Read timeout: milliseconds to wait for the answer to a request without a body, and for the
   * next bytes of a download, before treating the connection as stalled (retried once).
   * Default: `SPACKLE_READ_TIMEOUT` seconds from the environment, else 10000.
   */
  readonly timeoutMs?: number;
  /** `User-Agent` header. Default `spackle/<version>`. */
  readonly userAgent?: string;
  /** Called before each retry, e.g. to log it. */
  readonly onRetry?: (event: RetryEvent) => void;
}

/** How one request is described in errors and retry events. */
export interface RequestLabel {
  /** HTTP method. */
  readonly method: string;
  /** The object or listing asked for, safe to show (no credentials, no query). */
  readonly where: string;
}

/** Sends requests with retries and opens resumable downloads, under one set of options. */
export class Transport {
  readonly #policy: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #onRetry?: (event: RetryEvent) => void;

  /** Applies `options` (defaults as documented on {@link RemoteStoreOptions}). */
  constructor(options: RemoteStoreOptions) {
    this.#policy = {
      retries: atLeast("retries", options.retries ?? 3, 0),
      baseDelayMs: atLeast("retryBaseDelayMs", options.retryBaseDelayMs ?? 500, 0),
      maxDelayMs: atLeast("retryMaxDelayMs", options.retryMaxDelayMs ?? 4000, 0),
      maxRetryAfterMs: atLeast("maxRetryAfterMs", options.maxRetryAfterMs ?? 30_000, 0),
    };
    this.#timeoutMs = atLeast("timeoutMs", options.timeoutMs ?? defaultReadTimeoutMs(), 1);
    this.#userAgent = options.userAgent ?? USER_AGENT;
    this.#onRetry = options.onRetry;
  }

  /**
   * Sends the request `build` makes, building it afresh for every attempt (signatures carry a
   * time, bodies are consumed). Retries dropped connections and 408/429/5xx answers; returns
   * the last response, whatever its status. Requests with a body are not timed: an upload's
   * answer comes only after all of it was sent.
   *
   * @throws {ConnectionError} when no response arrived after the last attempt (at once for
   *   failures retrying cannot fix: DNS, TLS).
   */
  async send(
    label: RequestLabel,
    build: (headers: Headers) => Promise<Request> | Request,
  ): Promise<Response> {
    for (let attempt = 0;; attempt++) {
      const headers = new Headers({ "user-agent": this.#userAgent });
      const request = await build(headers);
      const timer = request.body ? undefined : new AbortController();
      const timeout = timer && setTimeout(() => timer.abort(), this.#timeoutMs);
      let res: Response;
      try {
        res = await fetch(request, { signal: timer?.signal });
      } catch (err) {
        const timedOut = timer?.signal.aborted ? this.#timeoutMs : undefined;
        const failure = connectionError(label.method, label.where, err, timedOut);
        if (attempt >= retriesAllowed(failure, this.#policy.retries)) throw failure;
        await this.pause(label, attempt, failure.reason);
        continue;
      } finally {
        clearTimeout(timeout);
      }
      if (!isRetryableStatus(res.status) || attempt >= this.#policy.retries) return res;
      await res.body?.cancel();
      const asked = parseRetryAfter(res.headers.get("retry-after"));
      await this.pause(label, attempt, `HTTP ${res.status}`, asked);
    }
  }

  /**
   * The body of `res` as text (at most `limit` bytes, default 64 MiB), read within the read
   * timeout.
   *
   * @throws {ConnectionError} when the body stalls or the connection drops while it is read.
   * @throws {StorageRequestError} when the body is larger than `limit`.
   */
  async text(label: RequestLabel, res: Response, limit = MAX_TEXT_BYTES): Promise<string> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await readLimited(res, limit, this.#timeoutMs);
    } catch (err) {
      if (err instanceof ReadTimeoutError) {
        throw new ConnectionError(label.method, label.where, err.message, "brief");
      }
      throw connectionError(label.method, label.where, err);
    }
    if (!bytes) {
      throw new StorageRequestError(label.method, label.where, res.status, "answer too large");
    }
    return new TextDecoder().decode(bytes);
  }

  /** Waits before retry number `attempt + 1`, telling `onRetry`. */
  pause(
    label: RequestLabel,
    attempt: number,
    reason: string,
    retryAfterMs?: number,
  ): Promise<void> {
    return pauseBeforeRetry(
      this.#policy,
      attempt,
      { method: label.method, url: label.where, reason },
      retryAfterMs,
      this.#onRetry,
    );
  }

  /**
   * The body of a successful GET as a stream that survives dropped or stalled connections: it
   * asks `reopen(offset, etag)` for the rest (a GET with `Range: bytes=offset-`, and `If-Match`
   * when the first answer had a strong ETag) and continues from there. A server that ignores the
   * range answers 200 with the whole object, whose first `offset` bytes are skipped. At most
   * `retries` resumes.
   */
  resumable(
    label: RequestLabel,
    first: Response,
    reopen: (offset: number, etag: string | undefined) => Promise<Response>,
  ): ReadableStream<Uint8Array> {
    // Only a strong ETag can be matched exactly (RFC 9110 §13.1.1).
    const tag = first.headers.get("etag");
    const etag = tag && !tag.startsWith("W/") ? tag : undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> = first.body!.getReader();
    let received = 0;
    let resumes = 0;
    let stalls = 0;
    const resume = async (cause: unknown): Promise<void> => {
      reader.cancel().catch(() => {});
      const detail = `body interrupted after ${received} bytes: ${redactUrlsIn(errorText(cause))}`;
      // A server that stalled once tends to stall again: one resume, not `retries`.
      const stalled = cause instanceof ReadTimeoutError;
      if (resumes >= this.#policy.retries || (stalled && stalls++ >= BRIEF_RETRIES)) {
        throw new StorageRequestError(label.method, label.where, undefined, detail);
      }
      await this.pause(label, resumes++, "connection failed");
      const res = await reopen(received, etag);
      const range = res.headers.get("content-range");
      if (res.status === 206 && res.body && range?.startsWith(`bytes ${received}-`)) {
        reader = res.body.getReader();
      } else if (res.status === 200 && res.body) {
        reader = skipBytes(res.body, received).getReader();
      } else {
        await res.body?.cancel();
        const why = res.status === 412 ? "the object changed while it was read" : "cannot resume";
        throw new StorageRequestError(label.method, label.where, res.status, why);
      }
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          let step: ReadableStreamReadResult<Uint8Array>;
          try {
            step = await readWithin(reader, this.#timeoutMs);
          } catch (err) {
            try {
              await resume(err);
            } catch (fatal) {
              controller.error(fatal);
              return;
            }
            continue;
          }
          if (step.done) return controller.close();
          received += step.value.byteLength;
          return controller.enqueue(step.value);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
  }
}

/**
 * `key` with each `/`-separated segment percent-encoded for a URL path (RFC 3986 unreserved
 * characters stay as they are).
 *
 * @throws {UsageError} for keys with empty, `.` or `..` segments.
 */
export function encodeKey(key: string): string {
  const parts = key.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new UsageError(`invalid object key: ${key}`);
  }
  return parts.map((p) =>
    encodeURIComponent(p).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    )
  ).join("/");
}

/** The message of an error, or the value as text. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function atLeast(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) {
    throw new UsageError(`${name} must be a number of at least ${min}, got ${value}`);
  }
  return value;
}
