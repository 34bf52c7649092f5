/**
 * What every build cache ("binary mirror") offers, whatever its backend: a directory, an
 * HTTP/S3 bucket or (later) an OCI registry.
 *
 * @module
 */
import type { ConcreteSpec, SpecNode } from "../spec/spec.ts";

/** The package tarball of a cache entry and how to check it. */
export interface TarballRef {
  /** `sha256:<hex>` of the stored (gzip) bytes. */
  digest: string;
  /** Stored size in bytes, when known. */
  size?: number;
}

/** One spec in a cache, as read from its manifest (layout v3) or spec file (layout v2). */
export interface CacheEntry {
  /** The spec with its whole DAG, as the cache recorded it. */
  spec: ConcreteSpec;
  /** Build cache layout of the entry: 3, or 2 for legacy mirrors. */
  layout: 2 | 3;
  /** The package tarball. */
  tarball: TarballRef;
  /** The clearsigned manifest or spec file text, when the entry is signed. */
  signedText?: string;
  /** URL of the manifest or spec file, for messages. */
  source: string;
  /** URL of the cache it was read from, when read through several (a mirror chain). */
  mirror?: string;
}

/** A package tarball ready to publish: a local gzip file and its digests. */
export interface PushedTarball {
  /** Local path of the gzip tarball; the mirror may move it. */
  path: string;
  /** Hex SHA-256 of the gzip bytes. */
  sha256: string;
  /** Size of the gzip bytes. */
  size: number;
  /** Hex SHA-256 of the uncompressed tar (OCI diff_id). */
  diffId: string;
}

/** A manifest a push wrote for a spec: where it is and its digest (e.g. to sign with cosign). */
export interface PushReceipt {
  /** The spec it describes, `name@version/hash7`. */
  spec: string;
  /** `host/repo:tag` for registries, `oci-layout:PATH:tag`, or the manifest's URL. */
  reference: string;
  /** `sha256:<hex>` of the manifest bytes as stored. */
  digest: string;
}

/** Options of {@link Mirror.updateIndex}. */
export interface UpdateIndexOptions {
  /**
   * Read every spec manifest (or spec image) again instead of reusing the entries of the current
   * index (default false). The result is the same bytes either way unless manifests were
   * replaced in place or the index was written by another tool.
   */
  full?: boolean;
  /** Manifests and spec blobs read at once (default: the mirror's `jobs`, else 8). */
  jobs?: number;
}

/** A build cache. Readers never modify it; writers publish blobs before manifests. */
export interface Mirror {
  /** The mirror URL, without credentials. */
  readonly url: string;
  /** Whether pushing is possible. */
  readonly writable: boolean;
  /**
   * Every spec the cache holds: from the index when there is one, else from the spec manifests
   * (and legacy v2 spec files). Each entry carries its DAG.
   */
  listSpecs(): Promise<ConcreteSpec[]>;
  /**
   * The entry of `spec` (matched by its root DAG hash), or `undefined` when the cache lacks it.
   * The entry's spec is checked to be `spec` (`checkEntrySpec`): a `SpecMismatchError` names
   * an entry holding another spec, or one whose content does not hash to its DAG hash.
   */
  getEntry(spec: ConcreteSpec): Promise<CacheEntry | undefined>;
  /**
   * A stream of the entry's tarball, checked against its digest and (when the entry declares
   * one) its size while it streams: see {@link Mirror.fetchBlob}.
   */
  openTarball(entry: CacheEntry): Promise<ReadableStream<Uint8Array>>;
  /**
   * A stream of the blob `digest` (`sha256:<hex>`), checked while it streams: a mismatch errors
   * the stream with `DigestMismatchError`. With `size` (bytes, as declared by a manifest or
   * descriptor) a longer blob errors with `SizeMismatchError` as soon as it passes `size` (the
   * rest is not read), a shorter one at its end.
   */
  fetchBlob(digest: string, size?: number): Promise<ReadableStream<Uint8Array>>;
  /** True when the cache holds a complete entry for `node` (manifest and blobs). */
  hasSpec(node: SpecNode): Promise<boolean>;
  /**
   * Publishes a spec: tarball blob, spec blob, then its manifest last. Returns the manifests
   * written: the spec's own first, then those of dependents it completed (OCI images of specs
   * pushed earlier in this session without this dependency's layer are rewritten).
   */
  pushSpec(spec: ConcreteSpec, tarball: PushedTarball): Promise<PushReceipt[]>;
  /**
   * Brings the index up to date with the spec manifests the cache holds; returns the number of
   * specs indexed. Incremental by default: entries of the current index whose manifests are
   * still listed are kept, only manifests the index lacks are read (specs pushed through the
   * same instance are taken as pushed, not read back), entries whose manifests are gone are
   * dropped; the bytes written are those a full rebuild writes.
   */
  updateIndex(options?: UpdateIndexOptions): Promise<number>;
}
