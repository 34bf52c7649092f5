// Back-off arithmetic for retried HTTP requests (registry, HTTP and S3 caches).

import { UsageError } from "../errors.ts";

/** How failed requests are retried: count, exponential back-off bounds, `Retry-After` bound (ms). */
export interface RetryPolicy {
  readonly retries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetryAfterMs: number;
}

/** Delay before retry number `attempt` (0-based): base·2^attempt capped, with jitter in [½, 1]. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return ceiling * (0.5 + Math.random() / 2);
}

/**
 * Milliseconds asked for by a `Retry-After` header (RFC 9110 §10.2.3: delay-seconds or an
 * HTTP-date), or `undefined` when absent or unparsable.
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What `onRetry` is told before a retry: the request (URL redacted), the attempt and the wait. */
export interface RetryEvent {
  /** HTTP method of the failed request. */
  readonly method: string;
  /** URL of the failed request without userinfo or query. */
  readonly url: string;
  /** 1 for the first retry. */
  readonly attempt: number;
  /** Milliseconds waited before the retry (the server's `Retry-After` when it sent one). */
  readonly delayMs: number;
  /** Why: `HTTP <status>` or `connection failed`. */
  readonly reason: string;
}

/**
 * Waits before retry number `attempt + 1` of the request `notice` describes: the server's
 * `Retry-After` (bounded by the policy) when it sent one, else the back-off delay. `onRetry` is
 * told first.
 */
export async function pauseBeforeRetry(
  policy: RetryPolicy,
  attempt: number,
  notice: Omit<RetryEvent, "attempt" | "delayMs">,
  retryAfterMs: number | undefined,
  onRetry: ((event: RetryEvent) => void) | undefined,
): Promise<void> {
  const delayMs = retryAfterMs !== undefined
    ? Math.min(retryAfterMs, policy.maxRetryAfterMs)
    : backoffDelay(policy, attempt);
  onRetry?.({ ...notice, attempt: attempt + 1, delayMs });
  await sleep(delayMs);
}

/** Environment variable holding the read timeout in seconds (see {@link defaultReadTimeoutMs}). */
export const READ_TIMEOUT_VARIABLE = "SPACKLE_READ_TIMEOUT";

/** Read timeout when no option and no `SPACKLE_READ_TIMEOUT` sets one: 10 s, Spack's default. */
export const DEFAULT_READ_TIMEOUT_MS = 10_000;

/**
 * The read timeout in ms (how long a request may wait for its answer, or a download for its next
 * bytes): `SPACKLE_READ_TIMEOUT` seconds (a positive number, fractions allowed) when set and
 * readable, else 10 s. A stall is retried once at most, so a stalled server fails an operation
 * within about two read timeouts (plus back-off) instead of hanging.
 *
 * @throws {UsageError} when `SPACKLE_READ_TIMEOUT` is not a positive number.
 * @example
 * ```ts
 * import { defaultReadTimeoutMs, RegistryClient } from "@spackle/spackle/registry";
 * // SPACKLE_READ_TIMEOUT=2.5 → 2500; unset → 10000
 * const client = new RegistryClient("ghcr.io", { timeoutMs: defaultReadTimeoutMs() });
 * ```
 */
export function defaultReadTimeoutMs(): number {
  let text: string | undefined;
  try {
    text = Deno.env.get(READ_TIMEOUT_VARIABLE);
  } catch {
    return DEFAULT_READ_TIMEOUT_MS; // no permission to read the environment
  }
  if (text === undefined || text.trim() === "") return DEFAULT_READ_TIMEOUT_MS;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(
      `${READ_TIMEOUT_VARIABLE} must be a positive number of seconds, got ${JSON.stringify(text)}`,
    );
  }
  return Math.max(1, Math.round(seconds * 1000));
}
