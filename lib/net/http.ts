// Small HTTP helpers shared by the registry client and the HTTP and S3 stores.

import { readWithin } from "../stream/chunks.ts";

/** `url` without userinfo, query or fragment: safe to show in errors (queries may be presigned). */
export function redactUrl(url: URL | string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "<invalid URL>";
  }
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** Replaces every URL inside a message (e.g. from a fetch error) by its redacted form. */
export function redactUrlsIn(message: string): string {
  return redactUserinfo(message.replace(/\bhttps?:\/\/[^\s)"'<>]+/g, (u) => redactUrl(u)));
}

/**
 * `text` with the userinfo of every `scheme://user[:password]@` URL in it (any scheme: `oci://`,
 * `s3://`, `https://`, …) replaced by `***`, so a credential typed into a URL never reaches a
 * message, log or file. Text without such a URL comes back unchanged.
 *
 * @example
 * ```ts
 * redactUserinfo("GET oci://me:hunter2@ghcr.io/x failed"); // "GET oci://***@ghcr.io/x failed"
 * ```
 */
export function redactUserinfo(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*@/gi, "$1***@");
}

/** Whether the URL `text` carries a password in its userinfo (`scheme://user:password@…`). */
export function hasUrlPassword(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^\s/?#@]*:[^\s/?#@]*@/i.test(text);
}

/** The target of the `rel="next"` entry of an RFC 8288 `Link` header, if any. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const m of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const rels = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(m[2]);
    if (rels && (rels[1] ?? rels[2]).split(/\s+/).includes("next")) return m[1];
  }
  return undefined;
}

/** Appends one query parameter while keeping the existing query bytes untouched. */
export function withQueryParam(url: URL, key: string, value: string): URL {
  const u = new URL(url);
  const param = `${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
  u.search = u.search.length > 1 ? `${u.search}&${param}` : `?${param}`;
  return u;
}

/**
 * Reads a response body of at most `limit` bytes; `undefined` if it is larger (body cancelled).
 * With `timeoutMs`, a body that sends nothing for that long is cancelled and the read rejects
 * with `ReadTimeoutError`.
 */
export async function readLimited(
  res: Response,
  limit: number,
  timeoutMs?: number,
): Promise<Uint8Array | undefined> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > limit || !res.body) {
    await res.body?.cancel();
    return declared > limit ? undefined : new Uint8Array(0);
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const step = timeoutMs === undefined
        ? await reader.read()
        : await readWithin(reader, timeoutMs);
      if (step.done) break;
      total += step.value.length;
      if (total > limit) {
        reader.cancel().catch(() => {});
        return undefined;
      }
      parts.push(step.value);
    }
  } catch (err) {
    reader.cancel().catch(() => {});
    throw err;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
