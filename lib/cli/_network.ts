// Mirror options every command shares: warnings and request retries shown as progress lines.

import { defaultLocalCacheDir } from "../mirror/_local_cache.ts";
import type { OpenMirrorOptions } from "../mirror/open.ts";
import type { ProgressRenderer } from "./progress.ts";

/** Set (by `--no-cache`, or by the user) to read every index and spec blob from the cache. */
export const NO_CACHE_VARIABLE = "SPACKLE_NO_CACHE";

/**
 * Options for `openConfiguredMirror` that report warnings and retries through `render`, and keep
 * downloaded indexes and spec blobs in the local cache (`defaultLocalCacheDir`) unless
 * `SPACKLE_NO_CACHE` is set.
 */
export function network(render: ProgressRenderer): OpenMirrorOptions {
  return {
    localCache: Deno.env.get(NO_CACHE_VARIABLE) ? false : defaultLocalCacheDir() ?? false,
    onWarning: warn(render),
    registry: { onRetry: render.onRetry },
    http: { onRetry: render.onRetry },
    s3: { onRetry: render.onRetry },
  };
}

/** A warning printer writing `warning: …` lines through `render`. */
export function warn(render: ProgressRenderer): (message: string) => void {
  return (message) => render.line(`warning: ${message}`);
}
