/**
 * The object store under a URL-layout build cache: keys are `/`-separated paths relative to
 * the mirror root (`v3/manifests/…`, `blobs/sha256/…`). Filesystem, HTTP and S3 backends
 * implement it; the build cache layout sits on top.
 *
 * @module
 */

/** An object read whole with its version, for {@link ObjectStore.putIfVersion}. */
export interface VersionedObject {
  /** The object's bytes. */
  bytes: Uint8Array;
  /** Opaque version: an ETag (S3) or the SHA-256 of the bytes (filesystem). */
  version: string;
}

/** Key-value access to the objects of one mirror. */
export interface ObjectStore {
  /** The mirror root as a URL, e.g. `file:///srv/cache`. Never contains credentials. */
  readonly url: string;
  /** Whether `put` and `delete` are supported. */
  readonly writable: boolean;
  /** The object's bytes, or `undefined` when there is no such key. */
  get(key: string): Promise<ReadableStream<Uint8Array> | undefined>;
  /** Whether the key exists. */
  exists(key: string): Promise<boolean>;
  /**
   * Stores an object atomically: readers see the old object or the whole new one, never a part.
   * A stream that errors leaves nothing behind.
   */
  put(key: string, body: ReadableStream<Uint8Array>): Promise<void>;
  /** Moves a local file into the store as `key` (rename when possible, else streamed copy). */
  putFile(key: string, path: string): Promise<void>;
  /** Every key under `prefix` (recursive), in no particular order. */
  list(prefix: string): AsyncIterable<string>;
  /**
   * The object's bytes and version, or `undefined` when there is no such key. For small objects
   * several writers update (the index manifest). Absent on stores without conditional writes.
   */
  getVersioned?(key: string): Promise<VersionedObject | undefined>;
  /**
   * Compare-and-swap: stores `bytes` as `key` only while the object's version is still
   * `version` (from {@link ObjectStore.getVersioned}; `undefined`: only while the key is
   * absent). Returns false, storing nothing, when another writer changed it meanwhile. Absent on
   * stores without conditional writes.
   */
  putIfVersion?(key: string, bytes: Uint8Array, version: string | undefined): Promise<boolean>;
  /** Removes the object `key`; a missing key is no error. Absent on read-only stores. */
  delete?(key: string): Promise<void>;
  /**
   * Size in bytes and last modification time of object `key`, or `undefined` when there is no
   * such key (for `prune`'s grace period). Absent where the store cannot tell.
   */
  stat?(key: string): Promise<{ size: number; modified?: Date } | undefined>;
}
