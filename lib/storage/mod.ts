/**
 * Object stores under URL-layout build caches: one {@link ObjectStore} interface (get, put,
 * exists, list by key) over a filesystem directory ({@link FsStore}), a read-only HTTP(S) server
 * ({@link HttpStore}) or an S3 bucket with SigV4 signing ({@link S3Store}). Give one to
 * `UrlMirror` (`@spackle/spackle/mirror`) to read or write a cache with settings `openMirror`
 * does not offer.
 *
 * @example
 * ```ts
 * import { S3Store } from "@spackle/spackle/storage";
 * import { UrlMirror } from "@spackle/spackle/mirror";
 * const store = new S3Store("s3://builds/cache", { endpointUrl: "http://127.0.0.1:9000" });
 * const mirror = new UrlMirror(store);
 * console.log((await mirror.listSpecs()).length);
 * ```
 *
 * @module
 */
export { FsStore, LockTimeoutError } from "./fs.ts";
export {
  basicAuthorization,
  bearerAuthorization,
  type HttpAuthorization,
  HttpStore,
  type HttpStoreOptions,
  type RemoteStoreOptions,
  StorageRequestError,
} from "./http.ts";
export { S3Store, type S3StoreOptions } from "./s3.ts";
export type { ObjectStore, VersionedObject } from "./types.ts";
