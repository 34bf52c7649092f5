/**
 * `trustCacheKeys`: the explicit step that turns the public keys a cache publishes into trusted
 * keys (what `spack buildcache keys --install --trust` does). Nothing trusts them implicitly:
 * a cache's own keys only protect against tampering after the moment they were trusted.
 *
 * @module
 */
import { listCacheKeys } from "../buildcache/keys.ts";
import { UsageError } from "../errors.ts";
import type { Mirror } from "../mirror/types.ts";
import { UrlMirror } from "../mirror/url.ts";
import type { ObjectStore } from "../storage/types.ts";
import { readTrustedKeys, type TrustedKey } from "./keys.ts";

/**
 * The keys published in a URL-layout cache (v3 key index, else legacy v2 `_pgp`), read and
 * digest-checked, as trusted keys for the caller to pass to verification (e.g.
 * `installSpecs(…, { trustedKeys })`).
 *
 * @example
 * ```ts
 * import { installSpecs, openMirror, trustCacheKeys } from "@spackle/spackle";
 * const mirror = await openMirror("./cache");
 * const trustedKeys = await trustCacheKeys(mirror);
 * await installSpecs(mirror, await mirror.listSpecs(), { root: "/opt/sw", trustedKeys });
 * ```
 *
 * @throws {UsageError} for a mirror that publishes no keys in the URL layout (OCI).
 * @throws {FormatError} for a malformed key index or manifest, or a key published under another
 * fingerprint; `DigestMismatchError` for a tampered blob; `NotFoundError` for a missing key.
 */
export async function trustCacheKeys(source: Mirror | ObjectStore): Promise<TrustedKey[]> {
  const cacheKeys = source instanceof UrlMirror
    ? await source.listKeys()
    : "list" in source
    ? await listCacheKeys(source)
    : undefined;
  if (!cacheKeys) throw new UsageError(`${source.url} publishes no signing keys (OCI build cache)`);
  const trusted: TrustedKey[] = [];
  for (const key of cacheKeys) trusted.push(...await readTrustedKeys(key.armored, key.source));
  return trusted;
}
