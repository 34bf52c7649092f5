/**
 * A build cache in Spack's URL layout (v3, plus legacy v2 for reading) over any
 * {@link ObjectStore}: a directory, an HTTP server, an S3 bucket.
 *
 * @module
 */
import { forEachConcurrently } from "../concurrency.ts";
import { FormatError, SpackleError, UsageError } from "../errors.ts";
import {
  blobKey,
  hashFromManifestKey,
  INDEX_MANIFEST_KEY,
  LAYOUT_JSON,
  LAYOUT_JSON_KEY,
  MEDIA_INDEX,
  MEDIA_SPEC,
  MEDIA_TARBALL,
  SPEC_MANIFEST_DIR,
  SPEC_MANIFEST_SUFFIX,
  specManifestKey,
} from "../buildcache/layout.ts";
import {
  type BlobRecord,
  findRecord,
  parseManifest,
  serializeManifest,
  stripClearsign,
} from "../buildcache/manifest.ts";
import { checkEntrySpec } from "../buildcache/identity.ts";
import { IndexBuilder, type IndexRecord, parseIndex } from "../buildcache/index.ts";
import { type CacheKey, listCacheKeys, publishKey, updateKeyIndex } from "../buildcache/keys.ts";
import { parseSpecBlob, specBlobJson } from "../buildcache/spec_blob.ts";
import { V2_INDEX_KEY, v2HashFromKey, v2SpecFileKeys, v2TarballKey } from "../buildcache/v2.ts";
import { type ConcreteSpec, shortSpec, specFromNodes, type SpecNode } from "../spec/spec.ts";
import { sha256Hex, verifySha256 } from "../stream/digest.ts";
import { gzipBytes, maybeGunzip } from "../stream/gzip.ts";
import { readAll, streamOf } from "../stream/io.ts";
import type { ObjectStore } from "../storage/types.ts";
import { verifyClearsigned } from "../signing/clearsign.ts";
import type { Signer } from "../signing/signer.ts";
import { type LocalBlobCache, localCacheFor } from "./_local_cache.ts";
import type {
  CacheEntry,
  Mirror,
  PushedTarball,
  PushReceipt,
  UpdateIndexOptions,
} from "./types.ts";

/** Manifests and blobs read at once while scanning, unless told otherwise. */
const DEFAULT_JOBS = 8;
/**
 * Attempts at replacing the index manifest while other writers replace it too: each failed
 * attempt means another writer's index went in, so this bounds only pathological contention.
 */
const INDEX_ATTEMPTS = 32;

/** Options of {@link UrlMirror}. */
export interface UrlMirrorOptions {
  /** Called with non-fatal problems (an unreadable entry skipped while indexing). */
  onWarning?: (message: string) => void;
  /**
   * Clearsigns every spec manifest pushed and publishes the signer's public key (reference
   * §1.9, §1.7). An existing entry counts as present only when it verifies with this key.
   */
  signer?: Signer;
  /**
   * Recompute the DAG hashes of layout 3 entries from their content (default true; see
   * `checkEntrySpec`). False trusts the stored hashes, for caches whose writer's hashing cannot
   * be reproduced (copies of Spack's own legacy test mirrors, whose format-5 nodes were edited
   * after hashing); the key, index and request must still agree.
   */
  verifySpecHashes?: boolean;
  /** Manifests and spec blobs read at once when scanning the cache (default 8). */
  jobs?: number;
  /**
   * Directory keeping the index and spec blobs downloaded from remote caches (HTTP, S3) by
   * digest, so an unchanged cache is listed by reading its index manifest only; `false` for
   * none. Default: `$SPACKLE_CACHE_DIR` when set, else none (`defaultLocalCacheDir()` gives
   * the XDG location the CLI uses).
   */
  localCache?: string | false;
}

/**
 * {@link Mirror} in Spack's URL layout v3 (read and write) and v2 (read only).
 *
 * @example
 * ```ts
 * import { UrlMirror } from "@spackle/spackle/mirror";
 * import { FsStore } from "@spackle/spackle/storage";
 * const mirror = new UrlMirror(new FsStore("./cache"), { onWarning: console.warn });
 * console.log(await mirror.updateIndex(), "specs indexed");
 * ```
 */
export class UrlMirror implements Mirror {
  readonly #store: ObjectStore;
  readonly #warn: (message: string) => void;
  readonly #signer?: Signer;
  readonly #rehash: boolean;
  readonly #jobs: number;
  readonly #localCache?: LocalBlobCache;
  // Nodes of the specs pushed through this instance, by DAG hash (one table, no per-spec DAGs):
  // the next index update takes them from here instead of reading their manifests back.
  readonly #pushedNodes = new Map<string, SpecNode>();
  readonly #pushedRoots = new Set<string>();
  #keyPublished?: Promise<string>;

  /** Wraps `store`. */
  constructor(store: ObjectStore, options: UrlMirrorOptions = {}) {
    this.#store = store;
    this.#warn = options.onWarning ?? (() => {});
    this.#signer = options.signer;
    this.#rehash = options.verifySpecHashes ?? true;
    this.#jobs = options.jobs ?? DEFAULT_JOBS;
    this.#localCache = localCacheFor(options.localCache, store.url);
  }

  /** The object store under the cache (for verbatim copies between URL-layout caches). */
  get store(): ObjectStore {
    return this.#store;
  }

  /** See {@link Mirror.url}. */
  get url(): string {
    return this.#store.url;
  }

  /** See {@link Mirror.writable}. */
  get writable(): boolean {
    return this.#store.writable;
  }

  #where(key: string): string {
    return `${this.url.replace(/\/$/, "")}/${key}`;
  }

  async #readText(key: string): Promise<string | undefined> {
    const stream = await this.#store.get(key);
    return stream ? new TextDecoder().decode(await readAll(stream)) : undefined;
  }

  async #readBlob(record: BlobRecord): Promise<Uint8Array> {
    const download = async () =>
      await readAll(
        await this.fetchBlob(
          `${record.checksumAlgorithm}:${record.checksum}`,
          record.contentLength,
        ),
      );
    if (!this.#localCache || record.checksumAlgorithm !== "sha256") return await download();
    return await this.#localCache.through(record.checksum, download);
  }

  /** See {@link Mirror.fetchBlob}. */
  async fetchBlob(digest: string, size?: number): Promise<ReadableStream<Uint8Array>> {
    const [algorithm, hex] = digest.includes(":") ? digest.split(":", 2) : ["sha256", digest];
    if (algorithm !== "sha256" || !/^[0-9a-f]{64}$/.test(hex)) {
      throw new UsageError(`unsupported blob digest: ${digest}`);
    }
    return await this.#openVerified(blobKey(algorithm, hex), hex, size);
  }

  async #openVerified(
    key: string,
    sha256: string,
    size?: number,
  ): Promise<ReadableStream<Uint8Array>> {
    const stream = await this.#store.get(key);
    if (!stream) throw new FormatError(this.#where(key), "blob is missing from the cache");
    return stream.pipeThrough(verifySha256(sha256, this.#where(key), size));
  }

  /** See {@link Mirror.listSpecs}. */
  async listSpecs(): Promise<ConcreteSpec[]> {
    const found = new Map<string, ConcreteSpec>();
    for (const spec of [...await this.#listV3(), ...await this.#listV2()]) {
      if (!found.has(spec.node.hash)) found.set(spec.node.hash, spec);
    }
    return [...found.values()];
  }

  async #listV3(): Promise<ConcreteSpec[]> {
    const text = await this.#readText(INDEX_MANIFEST_KEY);
    if (text !== undefined) {
      const manifest = parseManifest(text, this.#where(INDEX_MANIFEST_KEY));
      const record = findRecord(manifest, MEDIA_INDEX, this.#where(INDEX_MANIFEST_KEY));
      const blob = await this.#readBlob(record);
      return fromIndex(
        new TextDecoder().decode(blob),
        this.#where(blobKey("sha256", record.checksum)),
      );
    }
    return (await this.#scanV3()).map((e) => e.spec);
  }

  /** Keys of the spec manifests, sorted. */
  async #listManifestKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of this.#store.list(SPEC_MANIFEST_DIR)) {
      if (key.endsWith(SPEC_MANIFEST_SUFFIX)) keys.push(key);
    }
    return keys.sort();
  }

  /**
   * Reads the entries at `keys`, `jobs` at a time, handing each readable one to `found`; an
   * unreadable one is skipped with a warning.
   */
  async #readEntries(
    keys: readonly string[],
    jobs: number,
    found: (entry: CacheEntry, index: number) => void,
  ): Promise<void> {
    await forEachConcurrently(keys.length, jobs, async (i) => {
      try {
        // Listing and indexing check that each manifest holds the spec its key names; the DAG
        // hashes are recomputed when an entry is fetched for use (getEntry), not for every
        // entry of a large cache on every index update.
        found(await this.#readV3Entry(keys[i], undefined, false), i);
      } catch (e) {
        this.#warn(`unable to read spec manifest ${this.#where(keys[i])}: ${(e as Error).message}`);
      }
    });
  }

  async #scanV3(): Promise<CacheEntry[]> {
    const keys = await this.#listManifestKeys();
    const entries: (CacheEntry | undefined)[] = new Array(keys.length);
    await this.#readEntries(keys, this.#jobs, (entry, i) => entries[i] = entry);
    return entries.filter((e): e is CacheEntry => e !== undefined);
  }

  /**
   * The v3 entry at `key`, checked to hold the spec the key names and, when given, `wanted`.
   *
   * @throws {SpecMismatchError} when it holds another spec.
   */
  async #readV3Entry(key: string, wanted?: SpecNode, rehash = this.#rehash): Promise<CacheEntry> {
    const source = this.#where(key);
    const text = await this.#readText(key);
    if (text === undefined) throw new FormatError(source, "spec manifest is missing");
    const manifest = parseManifest(text, source);
    const tarball = findRecord(manifest, MEDIA_TARBALL, source);
    const specRecord = findRecord(manifest, MEDIA_SPEC, source);
    const specText = new TextDecoder().decode(maybeGunzip(await this.#readBlob(specRecord)));
    const spec = parseSpecBlob(specText, this.#where(blobKey("sha256", specRecord.checksum)));
    checkEntrySpec(spec, {
      key: source,
      keyHash: hashFromManifestKey(key),
      wanted,
      rehash,
    });
    return {
      spec,
      layout: 3,
      tarball: { digest: `sha256:${tarball.checksum}`, size: tarball.contentLength },
      signedText: manifest.signed,
      source,
    };
  }

  async #listV2(): Promise<ConcreteSpec[]> {
    const text = await this.#readText(V2_INDEX_KEY);
    if (text !== undefined) return fromIndex(text, this.#where(V2_INDEX_KEY));
    const specs: ConcreteSpec[] = [];
    for await (const key of this.#store.list("build_cache")) {
      if (!/\.spec\.json(\.sig)?$/.test(key) || key.slice("build_cache/".length).includes("/")) {
        continue;
      }
      try {
        const spec = parseSpecBlob((await this.#readText(key))!, this.#where(key));
        checkEntrySpec(spec, { key: this.#where(key), keyHash: v2HashFromKey(key), rehash: false });
        specs.push(spec);
      } catch (e) {
        this.#warn(`unable to read spec file ${this.#where(key)}: ${(e as Error).message}`);
      }
    }
    return specs;
  }

  /** See {@link Mirror.getEntry}. */
  async getEntry(spec: ConcreteSpec): Promise<CacheEntry | undefined> {
    const key = specManifestKey(spec.node);
    if (await this.#store.exists(key)) return await this.#readV3Entry(key, spec.node);
    return await this.#readV2Entry(spec);
  }

  async #readV2Entry(wanted: ConcreteSpec): Promise<CacheEntry | undefined> {
    for (const key of v2SpecFileKeys(wanted.node, wanted.nodes)) {
      const text = await this.#readText(key);
      if (text === undefined) continue;
      const source = this.#where(key);
      const spec = parseSpecBlob(text, source);
      checkEntrySpec(spec, {
        key: source,
        keyHash: v2HashFromKey(key),
        wanted: wanted.node,
        rehash: false,
      });
      const doc = JSON.parse(stripClearsign(text, source)) as Record<string, unknown>;
      const checksum = doc.binary_cache_checksum as
        | { hash_algorithm?: string; hash?: string }
        | undefined;
      if (checksum?.hash_algorithm !== "sha256" || typeof checksum.hash !== "string") {
        throw new FormatError(source, "spec file has no sha256 binary_cache_checksum");
      }
      return {
        spec,
        layout: 2,
        tarball: { digest: `sha256:${checksum.hash}` },
        signedText: text === stripClearsign(text, source) ? undefined : text,
        source,
      };
    }
    return undefined;
  }

  /** See {@link Mirror.openTarball}. */
  async openTarball(entry: CacheEntry): Promise<ReadableStream<Uint8Array>> {
    if (entry.layout === 3) return await this.fetchBlob(entry.tarball.digest, entry.tarball.size);
    const key = v2TarballKey(entry.spec);
    return await this.#openVerified(key, entry.tarball.digest.slice("sha256:".length));
  }

  /** See {@link Mirror.hasSpec}. */
  async hasSpec(node: SpecNode): Promise<boolean> {
    const key = specManifestKey(node);
    const text = await this.#readText(key);
    if (text === undefined) return false;
    try {
      const manifest = parseManifest(text, this.#where(key));
      // Pushing signed, an unsigned or unverifiable entry is replaced, as Spack does.
      if (this.#signer) await verifyClearsigned(text, [this.#signer.publicKey], this.#where(key));
      for (const r of manifest.data) {
        if (!await this.#store.exists(blobKey(r.checksumAlgorithm, r.checksum))) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  /** See {@link Mirror.pushSpec}. */
  async pushSpec(spec: ConcreteSpec, tarball: PushedTarball): Promise<PushReceipt[]> {
    this.#requireWritable();
    const tarRecord: BlobRecord = {
      contentLength: tarball.size,
      mediaType: MEDIA_TARBALL,
      compression: "gzip",
      checksumAlgorithm: "sha256",
      checksum: tarball.sha256,
    };
    await this.#store.putFile(blobKey("sha256", tarball.sha256), tarball.path);
    const specBlob = gzipBytes(specBlobJson(spec));
    const specRecord: BlobRecord = {
      contentLength: specBlob.byteLength,
      mediaType: MEDIA_SPEC,
      compression: "gzip",
      checksumAlgorithm: "sha256",
      checksum: sha256Hex(specBlob),
    };
    await this.#putBlob(specRecord, specBlob);
    let manifest = serializeManifest([tarRecord, specRecord]);
    if (this.#signer) {
      manifest = await this.#signer.clearsign(manifest);
      // Spack publishes the key after all packages; once before the first signed manifest also
      // means no reader meets a signature whose key the cache does not publish yet.
      this.#keyPublished ??= publishKey(this.#store, this.#signer.publicKeyArmored, {
        updateIndex: false,
      });
      await this.#keyPublished;
    }
    // The manifest goes last: a visible manifest implies its blobs exist.
    await this.#store.put(specManifestKey(spec.node), streamOf(manifest));
    for (const [hash, node] of spec.nodes) this.#pushedNodes.set(hash, node);
    this.#pushedRoots.add(spec.node.hash);
    await this.#ensureLayoutJson();
    return [{
      spec: shortSpec(spec.node),
      reference: `${this.url}/${specManifestKey(spec.node)}`,
      digest: `sha256:${sha256Hex(manifest)}`,
    }];
  }

  async #putBlob(record: BlobRecord, bytes: Uint8Array): Promise<void> {
    const key = blobKey(record.checksumAlgorithm, record.checksum);
    if (!await this.#store.exists(key)) await this.#store.put(key, streamOf(bytes));
  }

  async #ensureLayoutJson(): Promise<void> {
    if (!await this.#store.exists(LAYOUT_JSON_KEY)) {
      await this.#store.put(LAYOUT_JSON_KEY, streamOf(LAYOUT_JSON));
    }
  }

  #requireWritable(): void {
    if (!this.writable) throw new UsageError(`mirror ${this.url} is read-only`);
  }

  /**
   * See {@link Mirror.updateIndex}. With a signer the key index is rebuilt too, as
   * `spack buildcache push --update-index` does after publishing a key.
   *
   * Concurrent writers lose nothing on stores with conditional writes (filesystem, S3): the
   * index manifest is replaced only if no other writer replaced it since it was read, else the
   * update starts again from the other writer's index. Other stores: last writer wins.
   *
   * @throws {SpackleError} `INDEX_CONTENTION` when other writers kept replacing the index
   *   through 32 attempts.
   */
  async updateIndex(options: UpdateIndexOptions = {}): Promise<number> {
    this.#requireWritable();
    const jobs = options.jobs ?? this.#jobs;
    let indexed = 0;
    for (let attempt = 1;; attempt++) {
      // Read before listing: a writer whose replacement succeeds listed after every earlier
      // writer's index went in, so after their manifests were there.
      const current = await this.#readIndexForUpdate(options.full ?? false);
      const builder = await this.#collect(current.records, jobs);
      const bytes = new TextEncoder().encode(builder.text());
      const record: BlobRecord = {
        contentLength: bytes.byteLength,
        mediaType: MEDIA_INDEX,
        compression: "none",
        checksumAlgorithm: "sha256",
        checksum: sha256Hex(bytes),
      };
      await this.#putBlob(record, bytes);
      const manifest = new TextEncoder().encode(serializeManifest([record]));
      if (await this.#replaceIndexManifest(manifest, current.version)) {
        indexed = builder.size;
        break;
      }
      if (attempt === INDEX_ATTEMPTS) {
        throw new SpackleError(
          "INDEX_CONTENTION",
          `${this.#where(INDEX_MANIFEST_KEY)}: other writers replaced the index ${attempt} times ` +
            "while this update ran",
        );
      }
      await new Promise((r) => setTimeout(r, Math.random() * 50 * Math.min(attempt, 10)));
    }
    if (this.#signer) await this.updateKeyIndex();
    await this.#ensureLayoutJson();
    return indexed;
  }

  /**
   * The records of the current index (none when `full`, absent or unreadable: then every
   * manifest is read) and the index manifest's version for a conditional replacement.
   */
  async #readIndexForUpdate(
    full: boolean,
  ): Promise<{ records?: Map<string, IndexRecord>; version?: string }> {
    let text: string | undefined;
    let version: string | undefined;
    if (this.#store.getVersioned) {
      const found = await this.#store.getVersioned(INDEX_MANIFEST_KEY);
      text = found && new TextDecoder().decode(found.bytes);
      version = found?.version;
    } else {
      text = await this.#readText(INDEX_MANIFEST_KEY);
    }
    if (full || text === undefined) return { version };
    try {
      const manifest = parseManifest(text, this.#where(INDEX_MANIFEST_KEY));
      const record = findRecord(manifest, MEDIA_INDEX, this.#where(INDEX_MANIFEST_KEY));
      const blob = new TextDecoder().decode(await this.#readBlob(record));
      return {
        records: parseIndex(blob, this.#where(blobKey("sha256", record.checksum))),
        version,
      };
    } catch (e) {
      this.#warn(
        `unable to read the current index, reading every manifest: ${(e as Error).message}`,
      );
      return { version };
    }
  }

  /**
   * The index of the manifests listed now: entries of `records` (the current index) for
   * manifests it holds, specs pushed through this instance as pushed, the other manifests read,
   * `jobs` at a time.
   */
  async #collect(
    records: ReadonlyMap<string, IndexRecord> | undefined,
    jobs: number,
  ): Promise<IndexBuilder> {
    const builder = new IndexBuilder();
    const unread: string[] = [];
    for (const key of await this.#listManifestKeys()) {
      const pushed = { roots: this.#pushedRoots, nodes: this.#pushedNodes };
      if (!builder.addKnown(key, hashFromManifestKey(key), records, pushed)) unread.push(key);
    }
    // Each entry's DAG goes into the builder's node table as soon as it is read, then is dropped.
    await this.#readEntries(unread, jobs, (entry, i) => {
      builder.add(unread[i], entry.spec.node, entry.spec.nodes.values());
    });
    return builder;
  }

  /** Puts the index manifest, only over `version` where the store can tell. */
  async #replaceIndexManifest(bytes: Uint8Array, version: string | undefined): Promise<boolean> {
    if (this.#store.putIfVersion) {
      return await this.#store.putIfVersion(INDEX_MANIFEST_KEY, bytes, version);
    }
    await this.#store.put(INDEX_MANIFEST_KEY, streamOf(bytes));
    return true;
  }

  /**
   * Rebuilds the key index from the key manifests present (`spack buildcache update-index
   * --keys`); returns the fingerprints indexed.
   */
  async updateKeyIndex(): Promise<string[]> {
    this.#requireWritable();
    return await updateKeyIndex(this.#store);
  }

  /** The public keys the cache publishes (digest-checked; none of them trusted by this). */
  async listKeys(): Promise<CacheKey[]> {
    return await listCacheKeys(this.#store);
  }
}

function fromIndex(text: string, source: string): ConcreteSpec[] {
  const records = parseIndex(text, source);
  const pool = new Map([...records].map(([h, r]) => [h, r.node]));
  return [...records].filter(([, r]) => r.inBuildcache).map(([h]) => specFromNodes(h, pool));
}
