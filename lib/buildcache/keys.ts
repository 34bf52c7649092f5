/**
 * Public keys published in a build cache: one blob and key manifest per key, and the key index
 * listing their fingerprints (build cache format reference §1.7; legacy v2 `build_cache/_pgp`,
 * §1.13). Publishing and listing never make a key trusted: see `trustCacheKeys`.
 *
 * @module
 */
import { FormatError, NotFoundError, UsageError } from "../errors.ts";
import { readTrustedKeys } from "../signing/keys.ts";
import { compactJson } from "../spec/json.ts";
import { sha256Hex, verifySha256 } from "../stream/digest.ts";
import { readAll, streamOf } from "../stream/io.ts";
import type { ObjectStore } from "../storage/types.ts";
import { blobKey, MEDIA_KEY_INDEX, MEDIA_PGP_KEY } from "./layout.ts";
import { type BlobRecord, findRecord, parseManifest, serializeManifest } from "./manifest.ts";

/** Directory (key prefix) of the key manifests and the key index manifest. */
export const KEY_MANIFEST_DIR = "v3/manifests/key";
/** Suffix of a key manifest: `<FPR>.key.manifest.json`. */
export const KEY_MANIFEST_SUFFIX = ".key.manifest.json";
/** Key of the key index manifest. */
export const KEY_INDEX_MANIFEST_KEY = `${KEY_MANIFEST_DIR}/keys.manifest.json`;
/** Legacy (layout v2) key directory: `<FPR>.pub` files and `index.json`. */
export const V2_KEY_DIR = "build_cache/_pgp";

/**
 * `v3/manifests/key/<FPR>.key.manifest.json` for the fingerprint `fingerprint` (40 uppercase hex).
 *
 * @example
 * ```ts
 * import { keyManifestKey } from "@spackle/spackle/signing";
 * keyManifestKey("33E7F4683CE2032ACC90832B78CF5A6E150DE926");
 * // "v3/manifests/key/33E7F4683CE2032ACC90832B78CF5A6E150DE926.key.manifest.json"
 * ```
 */
export function keyManifestKey(fingerprint: string): string {
  return `${KEY_MANIFEST_DIR}/${fingerprint}${KEY_MANIFEST_SUFFIX}`;
}

/** A public key published in a cache. */
export interface CacheKey {
  /** Fingerprint (40 uppercase hex), checked against the key itself. */
  fingerprint: string;
  /** The key blob: the armored public key as published. */
  armored: string;
  /** URL of the key blob, for messages. */
  source: string;
}

/** Options of {@link publishKey}. */
export interface PublishKeyOptions {
  /** Rebuild the key index afterwards (default true). */
  updateIndex?: boolean;
}

/**
 * Publishes the armored public key `armored` in the cache as Spack does: the key text as an
 * uncompressed blob (`application/pgp-keys`), then `v3/manifests/key/<FPR>.key.manifest.json`,
 * then (by default) the key index. Returns the key's fingerprint.
 *
 * @example
 * ```ts
 * import { publishKey } from "@spackle/spackle/signing";
 * import { FsStore } from "@spackle/spackle/storage";
 * const fpr = await publishKey(new FsStore("./cache"), await Deno.readTextFile("signing.pub"));
 * ```
 *
 * @throws {UsageError} when `armored` holds a private key, or not exactly one key.
 * @throws {FormatError} when it holds no readable key.
 */
export async function publishKey(
  store: ObjectStore,
  armored: string,
  options: PublishKeyOptions = {},
): Promise<string> {
  // Checked on the text: reading reduces private keys to public ones, but the blob is the text.
  if (armored.includes("-----BEGIN PGP PRIVATE KEY BLOCK-----")) {
    throw new UsageError("refusing to publish a private key");
  }
  const keys = await readTrustedKeys(armored, "public key to publish");
  if (keys.length !== 1) {
    throw new UsageError(`a published key file holds exactly one key, not ${keys.length}`);
  }
  const { fingerprint } = keys[0];
  const record = await putBlob(store, MEDIA_PGP_KEY, new TextEncoder().encode(armored));
  await store.put(keyManifestKey(fingerprint), streamOf(serializeManifest([record])));
  if (options.updateIndex ?? true) await updateKeyIndex(store);
  return fingerprint;
}

/**
 * Rebuilds the key index from the key manifests present (non-recursive listing of
 * `v3/manifests/key/`, as Spack's `update-index --keys`): compact JSON
 * `{"keys":{"<FPR>":{},…}}`, fingerprints sorted, as an uncompressed blob and
 * `keys.manifest.json`. Returns the fingerprints indexed.
 *
 * @example
 * ```ts
 * import { updateKeyIndex } from "@spackle/spackle/signing";
 * import { FsStore } from "@spackle/spackle/storage";
 * console.log(await updateKeyIndex(new FsStore("./cache")));
 * ```
 */
export async function updateKeyIndex(store: ObjectStore): Promise<string[]> {
  const fingerprints: string[] = [];
  for await (const key of store.list(KEY_MANIFEST_DIR)) {
    const name = key.slice(KEY_MANIFEST_DIR.length + 1);
    if (!name.includes("/") && name.endsWith(KEY_MANIFEST_SUFFIX)) {
      fingerprints.push(name.slice(0, -KEY_MANIFEST_SUFFIX.length));
    }
  }
  fingerprints.sort();
  const index = compactJson({ keys: Object.fromEntries(fingerprints.map((f) => [f, {}])) });
  const record = await putBlob(store, MEDIA_KEY_INDEX, new TextEncoder().encode(index));
  await store.put(KEY_INDEX_MANIFEST_KEY, streamOf(serializeManifest([record])));
  return fingerprints;
}

/**
 * The public keys a cache publishes, from its key index (layout v3; else the legacy
 * `build_cache/_pgp/index.json`). Every blob is checked against its manifest's digest and every
 * key against the fingerprint it is published under. A cache without keys gives `[]`.
 *
 * @example
 * ```ts
 * import { listCacheKeys } from "@spackle/spackle/signing";
 * import { FsStore } from "@spackle/spackle/storage";
 * for (const key of await listCacheKeys(new FsStore("./cache"))) console.log(key.fingerprint);
 * ```
 *
 * @throws {NotFoundError} when the key index names a key the cache lacks.
 * @throws {FormatError} for a malformed manifest or index, or a key that is not the one its
 * name says.
 * @throws {DigestMismatchError} when a blob does not match its manifest.
 */
export async function listCacheKeys(store: ObjectStore): Promise<CacheKey[]> {
  const where = (key: string) => `${store.url.replace(/\/$/, "")}/${key}`;
  const indexManifest = await readText(store, KEY_INDEX_MANIFEST_KEY);
  if (indexManifest !== undefined) {
    const record = recordOf(indexManifest, MEDIA_KEY_INDEX, where(KEY_INDEX_MANIFEST_KEY));
    const fingerprints = indexedFingerprints(
      await readBlobText(store, record, where),
      where(blobKey(record.checksumAlgorithm, record.checksum)),
    );
    const keys: CacheKey[] = [];
    for (const fingerprint of fingerprints) {
      const manifestKey = keyManifestKey(fingerprint);
      const text = await readText(store, manifestKey);
      if (text === undefined) throw new NotFoundError(where(manifestKey));
      const keyRecord = recordOf(text, MEDIA_PGP_KEY, where(manifestKey));
      const source = where(blobKey(keyRecord.checksumAlgorithm, keyRecord.checksum));
      keys.push(await checkedKey(await readBlobText(store, keyRecord, where), fingerprint, source));
    }
    return keys;
  }
  const v2Index = await readText(store, `${V2_KEY_DIR}/index.json`);
  if (v2Index === undefined) return [];
  const keys: CacheKey[] = [];
  for (const fingerprint of indexedFingerprints(v2Index, where(`${V2_KEY_DIR}/index.json`))) {
    const key = `${V2_KEY_DIR}/${fingerprint}.pub`;
    const text = await readText(store, key);
    if (text === undefined) throw new NotFoundError(where(key));
    keys.push(await checkedKey(text, fingerprint, where(key)));
  }
  return keys;
}

async function putBlob(
  store: ObjectStore,
  mediaType: string,
  bytes: Uint8Array,
): Promise<BlobRecord> {
  const record: BlobRecord = {
    contentLength: bytes.byteLength,
    mediaType,
    compression: "none",
    checksumAlgorithm: "sha256",
    checksum: sha256Hex(bytes),
  };
  const key = blobKey(record.checksumAlgorithm, record.checksum);
  if (!await store.exists(key)) await store.put(key, streamOf(bytes));
  return record;
}

async function readText(store: ObjectStore, key: string): Promise<string | undefined> {
  const stream = await store.get(key);
  return stream ? new TextDecoder().decode(await readAll(stream)) : undefined;
}

function recordOf(text: string, mediaType: string, source: string): BlobRecord {
  const record = findRecord(parseManifest(text, source), mediaType, source);
  if (record.checksumAlgorithm !== "sha256" || record.compression !== "none") {
    throw new FormatError(
      source,
      `unsupported ${record.checksumAlgorithm}/${record.compression} key record`,
    );
  }
  return record;
}

async function readBlobText(
  store: ObjectStore,
  record: BlobRecord,
  where: (key: string) => string,
): Promise<string> {
  const key = blobKey(record.checksumAlgorithm, record.checksum);
  const stream = await store.get(key);
  if (!stream) throw new NotFoundError(where(key));
  return new TextDecoder().decode(
    await readAll(stream.pipeThrough(verifySha256(record.checksum, where(key)))),
  );
}

function indexedFingerprints(text: string, source: string): string[] {
  let doc: { keys?: unknown };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FormatError(source, `malformed key index: ${(e as Error).message}`);
  }
  if (doc?.keys === null || typeof doc?.keys !== "object") {
    throw new FormatError(source, "key index without a keys object");
  }
  const fingerprints = Object.keys(doc.keys as object);
  for (const f of fingerprints) {
    if (!/^[0-9A-F]{40}$/.test(f)) throw new FormatError(source, `not a fingerprint: ${f}`);
  }
  return fingerprints;
}

async function checkedKey(armored: string, fingerprint: string, source: string): Promise<CacheKey> {
  const keys = await readTrustedKeys(armored, source);
  if (keys.length !== 1 || keys[0].fingerprint !== fingerprint) {
    throw new FormatError(
      source,
      `published as key ${fingerprint} but holds ${keys.map((k) => k.fingerprint).join(", ")}`,
    );
  }
  return { fingerprint, armored, source };
}
