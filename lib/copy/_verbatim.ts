// Copying an entry between two URL-layout caches byte for byte: the spec manifest text (so a
// clearsigned manifest keeps its signature), the spec blob and the tarball under their own
// digests. Every blob is verified on the way (digest, size; the tarball's members were checked
// while it was spooled), and the manifest is written last, as a push would.

import { blobKey, specManifestKey } from "../buildcache/layout.ts";
import { parseManifest } from "../buildcache/manifest.ts";
import { listCacheKeys, publishKey, updateKeyIndex } from "../buildcache/keys.ts";
import { FormatError } from "../errors.ts";
import type { CacheEntry, PushedTarball } from "../mirror/types.ts";
import type { UrlMirror } from "../mirror/url.ts";
import { readAll, streamOf } from "../stream/io.ts";

/**
 * Publishes `entry` of `from` in `to` unchanged. `tarball` is the entry's tarball, spooled and
 * checked. The manifest is re-read and must still name that tarball (a cache changed mid-copy
 * is refused rather than mixed).
 */
export async function copyEntryVerbatim(
  from: UrlMirror,
  to: UrlMirror,
  entry: CacheEntry,
  tarball: PushedTarball,
): Promise<void> {
  const key = specManifestKey(entry.spec.node);
  const stream = await from.store.get(key);
  if (!stream) throw new FormatError(entry.source, "spec manifest disappeared during the copy");
  const text = await readAll(stream);
  const manifest = parseManifest(new TextDecoder().decode(text), entry.source);
  if (!manifest.data.some((r) => `sha256:${r.checksum}` === entry.tarball.digest)) {
    throw new FormatError(entry.source, "spec manifest changed during the copy");
  }
  for (const record of manifest.data) {
    const digest = `sha256:${record.checksum}`;
    const target = blobKey(record.checksumAlgorithm, record.checksum);
    if (digest === entry.tarball.digest) {
      await to.store.putFile(target, tarball.path);
    } else {
      await to.store.put(target, await from.fetchBlob(digest, record.contentLength));
    }
  }
  await to.store.put(key, streamOf(text));
}

/**
 * Publishes every public key `from` publishes in `to` (key blobs, key manifests, key index), so
 * signed entries copied verbatim verify in the destination with the same keys. Returns the
 * fingerprints copied.
 */
export async function copyKeys(from: UrlMirror, to: UrlMirror): Promise<string[]> {
  const keys = await listCacheKeys(from.store);
  for (const key of keys) await publishKey(to.store, key.armored, { updateIndex: false });
  if (keys.length) await updateKeyIndex(to.store);
  return keys.map((k) => k.fingerprint);
}
