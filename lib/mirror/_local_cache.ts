// A local cache of small blobs read from remote build caches (index and spec blobs), by digest:
// a second `list` of an unchanged cache reads the index manifest remotely and the index itself
// from here. Content-addressed, so nothing is ever stale; checked on every read.

import { join } from "node:path";
import { sha256Hex } from "../stream/digest.ts";
import { streamOf, writeFileAtomic } from "../stream/io.ts";

/**
 * Where downloaded index and spec blobs are kept by default: `$SPACKLE_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/spackle`, else `~/.cache/spackle`; `undefined` when none can be found.
 * Pass it as the `localCache` option of `openMirror`, `UrlMirror` or `OciMirror`.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { defaultLocalCacheDir } from "@spackle/spackle/mirror";
 * const mirror = await openMirror("s3://builds/cache", { localCache: defaultLocalCacheDir() });
 * console.log((await mirror.listSpecs()).length);
 * ```
 */
export function defaultLocalCacheDir(): string | undefined {
  const env = (name: string) => Deno.env.get(name) || undefined;
  const explicit = env("SPACKLE_CACHE_DIR");
  if (explicit) return explicit;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "spackle");
  const home = env("HOME");
  return home ? join(home, ".cache", "spackle") : undefined;
}

/**
 * The local cache a mirror uses for option value `option`: a directory, none (`false`), or when
 * not given, `$SPACKLE_CACHE_DIR` if set. Local mirrors (`file://`) get none: their blobs are
 * local already.
 */
export function localCacheFor(
  option: string | false | undefined,
  mirrorUrl: string,
): LocalBlobCache | undefined {
  if (option === false || mirrorUrl.startsWith("file:") || mirrorUrl.startsWith("oci-layout:")) {
    return undefined;
  }
  const dir = option ?? (Deno.env.get("SPACKLE_CACHE_DIR") || undefined);
  return dir === undefined ? undefined : new LocalBlobCache(dir);
}

/** Blobs under `<dir>/blobs/sha256/<2 hex>/<hex>`; failures to write are ignored (best effort). */
export class LocalBlobCache {
  constructor(readonly dir: string) {}

  #path(hex: string): string {
    return join(this.dir, "blobs", "sha256", hex.slice(0, 2), hex);
  }

  /** The blob's bytes when cached and intact (a damaged copy is removed), else `undefined`. */
  async read(hex: string): Promise<Uint8Array | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.#path(hex));
    } catch {
      return undefined;
    }
    if (sha256Hex(bytes) === hex) return bytes;
    await Deno.remove(this.#path(hex)).catch(() => {});
    return undefined;
  }

  /** Keeps `bytes` (already verified to hash to `hex`). */
  async write(hex: string, bytes: Uint8Array): Promise<void> {
    try {
      await Deno.mkdir(join(this.dir, "blobs", "sha256", hex.slice(0, 2)), { recursive: true });
      await writeFileAtomic(this.#path(hex), streamOf(bytes));
    } catch {
      // A read-only or full cache directory only costs a download next time.
    }
  }

  /** The blob `hex` from here, else from `download` (verified by the caller) and kept. */
  async through(hex: string, download: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const cached = await this.read(hex);
    if (cached) return cached;
    const bytes = await download();
    await this.write(hex, bytes);
    return bytes;
  }
}
