/**
 * `migrateMirror`: converts a legacy layout v2 build cache to layout v3 in place, as Spack's
 * `buildcache migrate` does (build cache format reference §1.13): every spec of the v2 index
 * gets a v3 entry whose tarball blob is the unchanged `.spack` file (so its sha256 stays), then
 * the v3 index is written. Signed v2 entries are verified and re-signed with a new key, or
 * migrated unsigned only when asked to.
 *
 * @module
 */
import { join } from "node:path";
import { parseIndex } from "../buildcache/index.ts";
import { specManifestKey } from "../buildcache/layout.ts";
import { V2_INDEX_KEY } from "../buildcache/v2.ts";
import { spoolTarball } from "../copy/_spool.ts";
import { NotFoundError, SpackleError, UsageError } from "../errors.ts";
import type { ProgressListener } from "../events.ts";
import { UrlMirror } from "../mirror/url.ts";
import { verifyClearsigned } from "../signing/clearsign.ts";
import type { TrustedKey } from "../signing/keys.ts";
import type { Signer } from "../signing/signer.ts";
import { type ConcreteSpec, isExternal, shortSpec, specFromNodes } from "../spec/spec.ts";
import { FsStore } from "../storage/fs.ts";
import type { ObjectStore } from "../storage/types.ts";
import { readAll } from "../stream/io.ts";

/** Options of {@link migrateMirror}: exactly one of `signer` and `unsigned`. */
export interface MigrateOptions {
  /** Key to clearsign the new v3 manifests with; signed v2 entries are verified first. */
  readonly signer?: Signer;
  /** Migrate without signatures (signed v2 entries lose theirs), as `spack buildcache migrate -u`. */
  readonly unsigned?: boolean;
  /** Keys the v2 signatures must verify with when re-signing (e.g. the cache's own, if trusted). */
  readonly trustedKeys?: readonly TrustedKey[];
  /** Remove the v2 files (`build_cache/`) afterwards, when every spec migrated. */
  readonly deleteExisting?: boolean;
  /** Receives one `spec` event per spec (`action: "copy"`). */
  readonly onProgress?: ProgressListener;
}

/** What {@link migrateMirror} did. */
export interface MigrateResult {
  /** Specs migrated now, `name@version/hash7`. */
  readonly migrated: string[];
  /** Specs that already had a v3 entry. */
  readonly skipped: string[];
  /** Specs in the rebuilt v3 index. */
  readonly indexed: number;
  /** Number of v2 files removed (`deleteExisting`). */
  readonly deleted: number;
}

/**
 * Some specs could not be migrated; the others were and are indexed (see `result`). `failures`
 * pairs `name@version/hash7` and error (a bad or untrusted signature, a missing or corrupt
 * tarball, an unsigned entry when re-signing). The v2 files are all kept.
 */
export class MigrateError extends SpackleError {
  /** Creates the error from the failures and what did get migrated. */
  constructor(
    readonly failures: { spec: string; error: Error }[],
    readonly result: MigrateResult,
  ) {
    super(
      "MIGRATE_FAILED",
      `${failures.length} spec${failures.length === 1 ? "" : "s"} could not be migrated:\n` +
        failures.map((f) => `  ${f.spec}: ${f.error.message}`).join("\n"),
    );
  }
}

/**
 * Migrates the v2 build cache in `store` to layout v3, keeping the v2 files unless
 * `deleteExisting`. The specs are those `build_cache/index.json` marks as in the build cache
 * (externals left out); a spec with a v3 entry already is skipped. With `signer`, each v2 spec
 * file must be clearsigned and verify with `trustedKeys` (Spack re-signs only what it verified),
 * and the signer's public key is published with the key index; with `unsigned`, nothing is
 * verified and the new manifests are unsigned.
 *
 * @throws {UsageError} when neither or both of `signer` and `unsigned` are given, the store is
 *   read-only, or `deleteExisting` is asked of a store that cannot delete.
 * @throws {NotFoundError} when the cache has no v2 index.
 * @throws {MigrateError} after migrating and indexing the rest, when some specs failed.
 * @example
 * ```ts
 * import { migrateMirror } from "@spackle/spackle/maintain";
 * import { FsStore } from "@spackle/spackle/storage";
 * const { migrated } = await migrateMirror(new FsStore("./old-cache"), { unsigned: true });
 * ```
 */
export async function migrateMirror(
  store: ObjectStore,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const { signer, unsigned } = options;
  if (!signer === !unsigned) {
    throw new UsageError(
      "migrating needs a signing key to re-sign the entries, or --unsigned to drop signatures",
    );
  }
  if (!store.writable) throw new UsageError(`${store.url} is read-only`);
  if (options.deleteExisting && !store.delete) {
    throw new UsageError(`${store.url} cannot delete files: migrate without --delete-existing`);
  }
  const specs = await v2Specs(store);
  const mirror = new UrlMirror(store, { signer });
  const migrated: string[] = [];
  const skipped: string[] = [];
  const failures: { spec: string; error: Error }[] = [];
  const spool = await Deno.makeTempDir({ prefix: "spackle-migrate-" });
  try {
    for (const [i, spec] of specs.entries()) {
      const name = shortSpec(spec.node);
      const event = {
        kind: "spec",
        action: "copy",
        spec: name,
        index: i + 1,
        total: specs.length,
      } as const;
      if (await store.exists(specManifestKey(spec.node))) {
        skipped.push(name);
        options.onProgress?.({ ...event, state: "skipped" });
        continue;
      }
      options.onProgress?.({ ...event, state: "start" });
      try {
        await migrateEntry(mirror, spec, join(spool, `${spec.node.hash}.spack`), options);
        migrated.push(name);
        options.onProgress?.({ ...event, state: "done" });
      } catch (e) {
        failures.push({ spec: name, error: e as Error });
        options.onProgress?.({ ...event, state: "failed" });
      }
    }
  } finally {
    await Deno.remove(spool, { recursive: true }).catch(() => {});
  }
  const indexed = await mirror.updateIndex();
  const deleted = options.deleteExisting && failures.length === 0 ? await deleteV2(store) : 0;
  const result = { migrated, skipped, indexed, deleted };
  if (failures.length) throw new MigrateError(failures, result);
  return result;
}

/** The specs the v2 index marks as in the build cache, externals left out. */
async function v2Specs(store: ObjectStore): Promise<ConcreteSpec[]> {
  const stream = await store.get(V2_INDEX_KEY);
  if (!stream) throw new NotFoundError(`v2 index ${store.url}/${V2_INDEX_KEY}`);
  const source = `${store.url}/${V2_INDEX_KEY}`;
  const records = parseIndex(new TextDecoder().decode(await readAll(stream)), source);
  const pool = new Map([...records].map(([hash, r]) => [hash, r.node]));
  return [...records]
    .filter(([, r]) => r.inBuildcache && !isExternal(r.node))
    .map(([hash]) => specFromNodes(hash, pool));
}

/** Verifies (when re-signing), spools and republishes one v2 entry as v3. */
async function migrateEntry(
  mirror: UrlMirror,
  spec: ConcreteSpec,
  path: string,
  options: MigrateOptions,
): Promise<void> {
  const entry = await mirror.getEntry(spec);
  if (!entry) throw new NotFoundError(`v2 spec file of ${shortSpec(spec.node)} in ${mirror.url}`);
  if (options.signer) {
    if (entry.signedText === undefined) {
      throw new UsageError(`${entry.source} is unsigned: migrate with --unsigned`);
    }
    await verifyClearsigned(entry.signedText, options.trustedKeys ?? [], entry.source);
  }
  await Deno.writeFile(path, new Uint8Array());
  const tarball = await spoolTarball(
    await mirror.openTarball(entry),
    path,
    entry.tarball,
    `${entry.source} (tarball ${entry.tarball.digest})`,
  );
  await mirror.pushSpec(entry.spec, tarball);
}

/** Removes every file under `build_cache/` (and, in a directory, the emptied tree). */
async function deleteV2(store: ObjectStore): Promise<number> {
  const keys = await Array.fromAsync(store.list("build_cache"));
  for (const key of keys) await store.delete!(key);
  if (store instanceof FsStore) {
    await Deno.remove(join(store.root, "build_cache"), { recursive: true }).catch(() => {});
  }
  return keys.length;
}
