// Why a request got no response, in words a user can act on, and whether retrying can help.
//
// Deno's fetch throws `TypeError("fetch failed")` and keeps the reason in `cause`
// ("client error (Connect): tcp connect error: Connection refused (os error 111)"); the
// registry client and the HTTP/S3 stores describe failures through this one function.

import { ConnectionError, type RetryAdvice } from "../errors.ts";
import { redactUrlsIn } from "./http.ts";

/** A failed request explained: a short cause (no URL, no credential) and the retry advice. */
export interface RequestFailure {
  /** E.g. `connection refused`, `host name does not resolve (DNS)`. */
  readonly reason: string;
  /** Whether retrying may help; see {@link RetryAdvice}. */
  readonly retry: RetryAdvice;
}

/** Retries a `brief` failure (refused, timed out) gets at most, whatever the policy says. */
export const BRIEF_RETRIES = 1;

/**
 * The error for `method` on `url` (redacted) whose `fetch` threw `err`; `timedOutMs` when it
 * was aborted by the read timeout (a stall: retried briefly, as a refused connection).
 */
export function connectionError(
  method: string,
  url: string,
  err: unknown,
  timedOutMs?: number,
): ConnectionError {
  if (timedOutMs !== undefined) {
    return new ConnectionError(method, url, `no response within ${timedOutMs / 1000} s`, "brief");
  }
  const { reason, retry } = describeFetchFailure(err);
  return new ConnectionError(method, url, reason, retry);
}

/** How many retries `err` may get under a policy allowing `retries`; 0 when it is final. */
export function retriesAllowed(err: ConnectionError, retries: number): number {
  return err.retry === "no"
    ? 0
    : err.retry === "brief"
    ? Math.min(retries, BRIEF_RETRIES)
    : retries;
}

/** Explains the error `fetch` threw (following its `cause` chain). */
export function describeFetchFailure(err: unknown): RequestFailure {
  const text = causeText(err);
  const lower = text.toLowerCase();
  if (
    /dns error|failed to lookup address|name or service not known|no address associated/.test(lower)
  ) {
    return { reason: "host name does not resolve (DNS)", retry: "no" };
  }
  if (
    /invalidcontenttype|corrupt message|wrong version number|http request to an https/.test(lower)
  ) {
    return {
      reason: "TLS handshake failed: is it a plain-HTTP server? (use oci+http:// or http://)",
      retry: "no",
    };
  }
  if (/certificate|unknownissuer|badsignature|notvalidforname/.test(lower)) {
    const detail = /invalid peer certificate: (.*)$/i.exec(text)?.[1];
    return {
      reason: `TLS certificate not trusted${detail ? ` (${detail})` : ""}`,
      retry: "no",
    };
  }
  if (/connection refused/.test(lower)) return { reason: "connection refused", retry: "brief" };
  if (/connection reset/.test(lower)) return { reason: "connection reset", retry: "yes" };
  if (/requests to port .* are blocked/.test(lower)) {
    return { reason: "port blocked by the runtime", retry: "no" };
  }
  return { reason: `connection failed: ${redactUrlsIn(text)}`, retry: "yes" };
}

/** The innermost useful message of `err`: the last `cause` with a message, without the URL prefix. */
function causeText(err: unknown): string {
  let text = err instanceof Error ? err.message : String(err);
  for (let e = err, depth = 0; e instanceof Error && e.cause && depth < 8; depth++) {
    e = e.cause;
    if (e instanceof Error && e.message) text = e.message;
  }
  return text.replace(/^error sending request for url \([^)]*\):\s*/i, "")
    .replace(/^client error \(connect\):\s*/i, "");
}
