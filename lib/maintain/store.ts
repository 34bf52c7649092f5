/**
 * The object store under a URL-layout build cache named as users name mirrors, for the jobs that
 * work below the mirror interface (migrate, prune): they read and delete files by key.
 *
 * @module
 */
import { loadMirrorsConfig, spackScopes } from "../config/load.ts";
import { resolveMirror } from "../config/resolve.ts";
import type { EnvSource } from "../config/types.ts";
import { UsageError } from "../errors.ts";
import { isOciLayoutUrl } from "../oci/open.ts";
import { isOciUrl } from "../registry/reference.ts";
import { FsStore } from "../storage/fs.ts";
import { S3Store } from "../storage/s3.ts";
import type { ObjectStore } from "../storage/types.ts";

/**
 * The writable store of the build cache `nameOrUrl`: a directory (path or `file://`), or
 * `s3://bucket/prefix` with the S3 settings Spack's configuration gives a mirror of that name
 * (its push URL). `env` is where the configuration's secret variables are read.
 *
 * @throws {UsageError} for OCI caches and read-only `http(s)://` caches.
 * @throws {MirrorError} for a bare word that names no configured mirror.
 * @example
 * ```ts
 * import { openCacheStore } from "@spackle/spackle/maintain";
 * const store = await openCacheStore("./cache");
 * console.log(store.url);
 * ```
 */
export async function openCacheStore(nameOrUrl: string, env?: EnvSource): Promise<ObjectStore> {
  const config = await loadMirrorsConfig(spackScopes(env));
  const { url, s3 } = resolveMirror(nameOrUrl, config, "push", env);
  if (isOciUrl(url) || isOciLayoutUrl(url)) {
    throw new UsageError(`${url} is an OCI build cache: this works on URL-layout caches only`);
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "s3") return new S3Store(url, s3);
  if (scheme && scheme !== "file") {
    throw new UsageError(`${url} cannot be written: a directory or an s3:// cache is needed`);
  }
  return new FsStore(url);
}
