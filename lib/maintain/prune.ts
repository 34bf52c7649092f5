/**
 * `pruneCache`: removes what no manifest of a URL-layout build cache (directory, S3) refers to, as Spack's
 * `buildcache prune` does (build cache format reference §1.14): blobs no manifest names, spec
 * manifests whose blobs are gone, and with a keep-list the spec manifests of other hashes.
 *
 * @module
 */
import { blobKey, SPEC_MANIFEST_DIR, SPEC_MANIFEST_SUFFIX } from "../buildcache/layout.ts";
import { parseManifest } from "../buildcache/manifest.ts";
import { FormatError, UsageError } from "../errors.ts";
import { UrlMirror } from "../mirror/url.ts";
import type { ObjectStore } from "../storage/types.ts";
import { readAll } from "../stream/io.ts";

const MANIFESTS = "v3/manifests";
const BLOBS = "blobs";

/** Options of {@link pruneCache}. */
export interface PruneOptions {
  /**
   * Blobs modified less than this many milliseconds before the prune started are kept: a push
   * in progress uploads its blobs before its manifest (default one hour).
   */
  readonly graceMs?: number;
  /** DAG hashes to keep: spec manifests of any other hash are removed (with their blobs). */
  readonly keep?: ReadonlySet<string>;
  /** Report what would be removed, remove nothing. */
  readonly dryRun?: boolean;
  /** The prune's start time (default now), from which the grace period counts back. */
  readonly now?: Date;
}

/** What {@link pruneCache} removed (or, on a dry run, would remove); keys sorted. */
export interface PruneResult {
  /** Spec manifests not on the keep-list. */
  readonly unlisted: string[];
  /** Spec manifests naming a blob the cache lacks. */
  readonly broken: string[];
  /** Blobs no remaining manifest names, older than the grace period. */
  readonly orphans: string[];
  /** Bytes of the orphan blobs. */
  readonly bytes: number;
  /** Unreferenced blobs kept because they are younger than the grace period. */
  readonly recent: number;
  /** Specs in the rebuilt index, when spec manifests were removed (not on a dry run). */
  readonly indexed?: number;
}

/**
 * Prunes the URL-layout build cache `store` (layout v3; a directory or an S3 bucket: any store
 * that can delete and tell an object's age): first the spec manifests not in
 * `keep` and those whose blobs are missing, then (after rebuilding the index when a manifest
 * went) every blob under `blobs/` that no manifest under `v3/manifests/` (spec, index, key)
 * names and that is older than the grace period. Legacy `build_cache/` files are left alone.
 *
 * @throws {UsageError} when `store` cannot delete objects or tell their age (HTTP).
 * @throws {FormatError} when a manifest cannot be read: nothing is removed, since the blobs it
 *   names are unknown.
 * @example
 * ```ts
 * import { pruneCache } from "@spackle/spackle/maintain";
 * import { FsStore } from "@spackle/spackle/storage";
 * const preview = await pruneCache(new FsStore("./cache"), { dryRun: true });
 * console.log(`${preview.orphans.length} blobs, ${preview.bytes} bytes would go`);
 * ```
 */
export async function pruneCache(
  store: ObjectStore,
  options: PruneOptions = {},
): Promise<PruneResult> {
  if (!store.delete || !store.stat) {
    throw new UsageError(`${store.url}: this build cache cannot be pruned (no delete or stat)`);
  }
  const remove = store.delete.bind(store);
  const stat = store.stat.bind(store);
  const cutoff = (options.now ?? new Date()).getTime() - (options.graceMs ?? 3_600_000);
  let manifests = await readManifests(store);
  const unlisted: string[] = [];
  const broken: string[] = [];
  for (const [key, blobs] of manifests) {
    if (!key.startsWith(`${SPEC_MANIFEST_DIR}/`) || !key.endsWith(SPEC_MANIFEST_SUFFIX)) continue;
    if (options.keep && !options.keep.has(manifestHash(key))) unlisted.push(key);
    else if (!(await everyExists(store, blobs))) broken.push(key);
  }
  const removed = [...unlisted, ...broken];
  let indexed: number | undefined;
  if (options.dryRun) {
    for (const key of removed) manifests.delete(key);
  } else if (removed.length) {
    for (const key of removed) await remove(key);
    indexed = await new UrlMirror(store).updateIndex();
    manifests = await readManifests(store);
  }
  const referenced = new Set([...manifests.values()].flat());
  const orphans: string[] = [];
  let bytes = 0;
  let recent = 0;
  for await (const key of store.list(BLOBS)) {
    if (referenced.has(key)) continue;
    const info = await stat(key);
    if (!info) continue; // removed meanwhile
    if ((info.modified?.getTime() ?? Infinity) > cutoff) {
      recent++;
      continue;
    }
    orphans.push(key);
    bytes += info.size;
  }
  orphans.sort();
  if (!options.dryRun) { for (const key of orphans) await remove(key); }
  return { unlisted: unlisted.sort(), broken: broken.sort(), orphans, bytes, recent, indexed };
}

/**
 * Reads a keep-list file: one DAG hash per line (a `/` prefix and anything after the first
 * blank are ignored, so `spack find --format '{hash} {name}'` output works); `#` starts a
 * comment.
 *
 * @throws {FormatError} for a line that is not a 32-character DAG hash, or a list without any
 *   (which would remove every spec).
 * @example
 * ```ts
 * import { readKeepList } from "@spackle/spackle/maintain";
 * const keep = await readKeepList("keep.txt");
 * ```
 */
export async function readKeepList(path: string): Promise<Set<string>> {
  const keep = new Set<string>();
  for (const [i, raw] of (await Deno.readTextFile(path)).split("\n").entries()) {
    const word = raw.replace(/#.*/, "").trim().split(/\s+/)[0].replace(/^\//, "");
    if (!word) continue;
    if (!/^[a-z0-9]{32}$/.test(word)) {
      throw new FormatError(`${path}:${i + 1}`, `not a DAG hash: ${JSON.stringify(word)}`);
    }
    keep.add(word);
  }
  if (!keep.size) throw new FormatError(path, "the keep-list names no DAG hash");
  return keep;
}

/** Every manifest under `v3/manifests/` and the blob keys it names. */
async function readManifests(store: ObjectStore): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const key of store.list(MANIFESTS)) {
    if (!key.endsWith(".json")) continue;
    const stream = await store.get(key);
    if (!stream) continue; // removed meanwhile
    const text = new TextDecoder().decode(await readAll(stream));
    const manifest = parseManifest(text, `${store.url}/${key}`);
    out.set(key, manifest.data.map((r) => blobKey(r.checksumAlgorithm, r.checksum)));
  }
  return out;
}

/** The DAG hash ending a spec manifest's file name (`<name>-<version>-<hash>.spec.manifest.json`). */
function manifestHash(key: string): string {
  return key.slice(0, -SPEC_MANIFEST_SUFFIX.length).split("-").at(-1)!;
}

async function everyExists(store: ObjectStore, keys: readonly string[]): Promise<boolean> {
  for (const key of keys) if (!await store.exists(key)) return false;
  return true;
}
