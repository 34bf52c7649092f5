/**
 * `pushSpecs`: publish installed specs to a build cache, dependencies first, skipping what the
 * cache already holds (build cache format reference §1.10).
 *
 * @module
 */
import { forEachConcurrently } from "../concurrency.ts";
import { join, relative } from "node:path";
import { SpackleError } from "../errors.ts";
import type { ProgressListener } from "../events.ts";
import type { Mirror, PushReceipt } from "../mirror/types.ts";
import {
  type ConcreteSpec,
  edgesOf,
  isExternal,
  shortSpec,
  specsToRelocate,
  traverse,
} from "../spec/spec.ts";
import type { InstalledSpec, Store } from "../store/mod.ts";
import { setCompressionThreads } from "../stream/parallel_gzip.ts";
import { createSpecTarball, type TarballBuildInfo } from "./tarball.ts";

/** Options of {@link pushSpecs}. */
export interface PushOptions {
  /** Push even when the cache already has the spec (overwrites its manifest). */
  force?: boolean;
  /** Rebuild the cache index afterwards (when anything was pushed). */
  updateIndex?: boolean;
  /**
   * Specs pushed concurrently (default 2): overlaps walking, hashing and uploads of one spec with
   * another's. Compression does not depend on it: every spec's blocks go to one shared pool.
   */
  jobs?: number;
  /** Compression worker threads shared by all specs (default: the number of cores). */
  threads?: number;
  /** Also push the installed dependencies of each spec (default true), build dependencies included. */
  withDependencies?: boolean;
  /**
   * The `spackprefix` recorded in each tarball's buildinfo (informational; Spack writes its own
   * installation directory). Default: `<spack>` for stores at Spack's default `<spack>/opt/spack`,
   * else the store's unpadded root.
   */
  spackPrefix?: string;
  /** Receives progress events. */
  onProgress?: ProgressListener;
}

/** What a push did, by `name@version/hash7`. */
export interface PushResult {
  /** Specs pushed now. */
  pushed: string[];
  /** The manifest each pushed spec has now, in push order (`push --json`). */
  manifests: PushReceipt[];
  /** Specs the cache already had. */
  skipped: string[];
}

/**
 * Some specs could not be pushed; the others were. `failures` pairs spec and error.
 *
 * @example
 * ```ts
 * import { openMirror, openStore, PushError, pushSpecs } from "@spackle/spackle";
 * const store = await openStore("/opt/spack/opt/spack");
 * try {
 *   await pushSpecs(await openMirror("./cache"), store, store.specs);
 * } catch (e) {
 *   if (!(e instanceof PushError)) throw e;
 *   for (const { spec, error } of e.failures) console.error(spec, error.message);
 * }
 * ```
 */
export class PushError extends SpackleError {
  /** Creates the error from the failures collected while pushing. */
  constructor(readonly failures: { spec: string; error: Error }[]) {
    super(
      "PUSH_FAILED",
      `the following ${failures.length} errors occurred while pushing specs to the build cache:\n` +
        failures.map((f) => `  ${f.spec}: ${f.error.name}: ${f.error.message}`).join("\n"),
    );
  }
}

/**
 * Pushes `specs` (installed in `store`) and, by default, their installed dependencies to
 * `mirror`. Each spec: package tarball (deterministic), spec blob, then its manifest. Specs
 * already complete in the cache are skipped unless `force`. Externals are never pushed.
 *
 * @example
 * ```ts
 * import { openMirror, openStore, pushSpecs } from "@spackle/spackle";
 * const store = await openStore("/opt/spack/opt/spack");
 * const mirror = await openMirror("./cache");
 * await pushSpecs(mirror, store, store.specs, { updateIndex: true });
 * ```
 *
 * @throws {PushError} after pushing everything else, when some specs failed.
 */
export async function pushSpecs(
  mirror: Mirror,
  store: Store,
  specs: readonly InstalledSpec[],
  options: PushOptions = {},
): Promise<PushResult> {
  if (options.threads !== undefined) setCompressionThreads(options.threads);
  const order = pushOrder(store, specs, options.withDependencies ?? true, options.onProgress);
  const result: PushResult = { pushed: [], manifests: [], skipped: [] };
  const failures: { spec: string; error: Error }[] = [];
  // Settled when a spec's push ends (either way), by DAG hash: dependents wait for it. A
  // dependency later in the order starts after its dependent, and never waits on it.
  const published = new Map<string, Promise<void>>();
  // The latest manifest of each reference written.
  const receipts = new Map<string, PushReceipt>();
  const tmp = await Deno.makeTempDir({ prefix: "spackle-push-" });
  try {
    await forEachConcurrently(order.length, options.jobs ?? 2, async (index) => {
      const installed = order[index];
      const done = Promise.withResolvers<void>();
      published.set(installed.spec.node.hash, done.promise);
      const name = shortSpec(installed.spec.node);
      const event = {
        kind: "spec",
        action: "push",
        spec: name,
        index: index + 1,
        total: order.length,
      } as const;
      try {
        if (!options.force && await mirror.hasSpec(installed.spec.node)) {
          result.skipped.push(name);
          options.onProgress?.({ ...event, state: "skipped" });
          return;
        }
        options.onProgress?.({ ...event, state: "start" });
        const started = performance.now();
        const tarball = await createSpecTarball(
          installed.dir,
          installed.prefix,
          buildInfoFor(store, installed.spec, options.spackPrefix),
          join(tmp, `${installed.spec.node.hash}.tar.gz`),
          (bytes) => options.onProgress?.({ kind: "bytes", spec: name, bytes }),
        );
        // Dependencies in this push are published first, so images are complete when tagged.
        await Promise.all(
          edgesOf(installed.spec.node, ["link", "run"]).map((e) => published.get(e.hash)),
        );
        for (const receipt of await mirror.pushSpec(installed.spec, tarball)) {
          receipts.delete(receipt.reference);
          receipts.set(receipt.reference, receipt);
        }
        result.pushed.push(name);
        options.onProgress?.({
          ...event,
          state: "done",
          bytes: tarball.size,
          seconds: (performance.now() - started) / 1000,
          digest: `sha256:${tarball.sha256}`,
        });
      } catch (e) {
        failures.push({ spec: name, error: e as Error });
        options.onProgress?.({ ...event, state: "failed", error: e as Error });
      } finally {
        done.resolve();
      }
    });
    result.manifests = [...receipts.values()];
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  if (options.updateIndex && result.pushed.length > 0) await mirror.updateIndex();
  if (failures.length) throw new PushError(failures);
  return result;
}

/** Selected specs plus installed dependencies (all edge types), dependencies first, externals out. */
function pushOrder(
  store: Store,
  specs: readonly InstalledSpec[],
  withDependencies: boolean,
  onProgress: ProgressListener | undefined,
): InstalledSpec[] {
  const out = new Map<string, InstalledSpec>();
  const visit = (installed: InstalledSpec) => {
    if (out.has(installed.spec.node.hash)) return;
    if (withDependencies) {
      for (const dep of traverse(installed.spec, ["build", "link", "run"]).slice(1).reverse()) {
        if (isExternal(dep) || out.has(dep.hash)) continue;
        const found = store.get(dep.hash);
        if (found) visit(found);
        else {onProgress?.({
            kind: "message",
            level: "warning",
            text: `${shortSpec(dep)} is not installed; not pushed`,
          });}
      }
    }
    out.set(installed.spec.node.hash, installed);
  };
  specs.forEach(visit);
  return [...out.values()];
}

/** The buildinfo header of a spec pushed from `store` (relocation reference §1.2). */
function buildInfoFor(store: Store, spec: ConcreteSpec, spackPrefix?: string): TarballBuildInfo {
  const prefix = store.prefixOf(spec.node);
  const defaultLayout = /^(.*)\/opt\/spack$/.exec(store.unpaddedRoot);
  return {
    sbang_install_path: store.sbangPath,
    buildpath: store.root,
    spackprefix: spackPrefix ?? defaultLayout?.[1] ?? store.unpaddedRoot,
    relative_prefix: relative(store.root, prefix),
    hardlinks_deduped: true,
    hash_to_prefix: Object.fromEntries(
      specsToRelocate(spec).map((n) => [n.hash, store.prefixOf(n)]),
    ),
  };
}
