/**
 * Installing specs from a build cache into an install root: resolve the link/run closure,
 * download and verify, extract safely beside the final prefix, relocate, move into place, and
 * record the install in the install tree's database as Spack does.
 *
 * Stages: mirror → verify → gunzip → untar → relocate → disk, for several specs at once. A
 * failure leaves no prefix and nothing half-written.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { parseBuildInfo } from "../buildcache/buildinfo.ts";
import { forEachConcurrently } from "../concurrency.ts";
import { InstallError, NotFoundError, SpackleError, UsageError } from "../errors.ts";
import { countBytes, type ProgressListener } from "../events.ts";
import { blameBlob } from "../mirror/blame.ts";
import type { CacheEntry, Mirror } from "../mirror/types.ts";
import { ElfGrowError } from "../relocate/elf.ts";
import { CannotGrowStringError } from "../relocate/errors.ts";
import { filterShebangsInPrefix, installSbang } from "../relocate/sbang.ts";
import {
  type ConcreteSpec,
  edgesOf,
  isExternal,
  shortSpec,
  specFromNodes,
  type SpecNode,
} from "../spec/spec.ts";
import { verifyClearsigned } from "../signing/clearsign.ts";
import { SignatureError } from "../signing/errors.ts";
import type { TrustedKey } from "../signing/keys.ts";
import { gunzipStream } from "../stream/gzip.ts";
import { workerGunzipStream } from "../stream/worker_gunzip.ts";
import { exists } from "../stream/io.ts";
import { expansionGuard } from "../stream/limit.ts";
import { paddedRoot, relativePrefix } from "../store/mod.ts";
import { extractPackageTarball } from "../tar/mod.ts";
import { InstallRecorder } from "./_record.ts";
import { buildPrefixMap, type InstallLayout } from "./prefix_map.ts";
import { relocatePrefix } from "./relocate_prefix.ts";

/** Options of {@link installSpecs}. */
export interface InstallOptions {
  /** The install root (unpadded), e.g. `/opt/software`; relative means under the cwd. */
  root: string;
  /** Pad the root to this many characters as Spack's `padded_length` does. */
  paddedLength?: number;
  /**
   * Require every entry to be signed by one of `trustedKeys` (default true, as Spack): its
   * clearsigned manifest (or v2 spec file) must verify before anything is downloaded, and the
   * tarball digest comes from the signed text. False: install without looking at signatures.
   */
  checkSignature?: boolean;
  /**
   * Keys trusted to sign entries (from `loadTrustedKeys`, or `trustCacheKeys` after an explicit
   * decision to trust a cache's own keys). Default: none, so every signed entry is refused.
   */
  trustedKeys?: readonly TrustedKey[];
  /** Receives progress events. */
  onProgress?: ProgressListener;
  /**
   * How many times its compressed size a package tarball may unpack to (default 50; at least
   * 64 MiB is always allowed): a larger expansion (a gzip bomb) is refused with
   * `ExpansionLimitError` before more is written. Raise it for genuine packages holding huge
   * runs of one byte; `Infinity` disables the limit.
   */
  maxExpansion?: number;
  /**
   * Specs installed at once (default {@link DEFAULT_INSTALL_JOBS}; at least 1): downloads,
   * extraction and relocation of different specs overlap, while a spec is moved into place and
   * recorded only after its dependencies.
   */
  jobs?: number;
  /**
   * Worker threads that gunzip package tarballs of 1 MiB or more beside their extraction
   * (default 0: gunzip on the calling thread). It pays only with a spare core: on a loaded
   * machine the worker's messages cost more CPU than they save (measured in
   * `bench/install_many.ts` and `bench/push_install_ratio.ts`).
   */
  threads?: number;
}

/** Smallest tarball gunzipped on a worker thread (see {@link InstallOptions.threads}). */
const WORKER_GUNZIP_MIN_BYTES = 1 << 20;

/** Specs {@link installSpecs} installs at once unless told otherwise. */
export const DEFAULT_INSTALL_JOBS = 4;

/** What an install did. */
export interface InstallResult {
  /** Prefixes installed now, by DAG hash. */
  installed: Map<string, string>;
  /** Prefixes that were already there, by DAG hash. */
  skipped: Map<string, string>;
}

/**
 * Installs `specs` and their link/run dependencies from `mirror` into `options.root`, laid out
 * with Spack's default projection `{platform}-{target}/{name}-{version}-{hash}`.
 *
 * Up to {@link InstallOptions.jobs} specs install at once, started in dependency order; a spec
 * is moved into its prefix only after its dependencies are in theirs, and the install-tree
 * database gets its records in batches (dependencies first), the last one when the install ends,
 * whether it succeeded or not. On a failure no further spec starts; the ones running finish (or,
 * when they depend on the failed one, are dropped), everything in place is recorded, and the
 * first error is thrown.
 *
 * @example
 * ```ts
 * import { installSpecs, openMirror } from "@spackle/spackle";
 * const mirror = await openMirror("./cache");
 * const [zlib] = (await mirror.listSpecs()).filter((s) => s.node.name === "zlib");
 * await installSpecs(mirror, [zlib], { root: "/opt/sw", checkSignature: false });
 * ```
 *
 * @throws {UsageError} when `jobs` is not a whole number ≥ 1 or `threads` not one ≥ 0.
 * @throws {NotFoundError} when a needed dependency is not in the cache.
 * @throws {InstallError} naming the spec, when download, verification, extraction or relocation
 * fails; that spec's prefix is not created. Its `cause` is the typed error when there is one:
 * `SpecMismatchError` (the entry holds another spec), `SizeMismatchError`, `DigestMismatchError`,
 * `ExpansionLimitError` (see {@link InstallOptions.maxExpansion}), `PrefixMapError` (an
 * implausible old prefix in the buildinfo).
 */
export async function installSpecs(
  mirror: Mirror,
  specs: readonly ConcreteSpec[],
  options: InstallOptions,
): Promise<InstallResult> {
  // A relative root would be baked into RPATHs and scripts as is: resolve it against cwd.
  const unpaddedRoot = resolve(options.root).replace(/\/+$/, "");
  const storeRoot = options.paddedLength
    ? paddedRoot(unpaddedRoot, options.paddedLength)
    : unpaddedRoot;
  const layout: InstallLayout = {
    storeRoot,
    unpaddedRoot,
    prefixOf: (node: SpecNode) => `${storeRoot}/${relativePrefix(node)}`,
  };
  const jobs = options.jobs ?? DEFAULT_INSTALL_JOBS;
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new UsageError(`install jobs must be a whole number of at least 1, not ${jobs}`);
  }
  if (
    options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 0)
  ) {
    throw new UsageError(
      `install threads must be a whole number of at least 0, not ${options.threads}`,
    );
  }
  const order = installOrder(specs);
  const position = new Map(order.map((s, at) => [s.node.hash, at]));
  const recorder = new InstallRecorder(storeRoot, new Set(specs.map((s) => s.node.hash)));
  const result: InstallResult = { installed: new Map(), skipped: new Map() };
  // Settles when the spec's prefix is in place (or will never be): dependents wait on it.
  const placed = new Map(order.map((s) => [s.node.hash, Promise.withResolvers<void>()]));
  for (const p of placed.values()) p.promise.catch(() => {}); // a failure is reported once
  let failure: unknown;
  let failedAt = Infinity;
  let reported = 0;
  // Written once, by the first spec that needs it, not re-checked by every spec.
  let sbangInstalled: Promise<string> | undefined;
  const sbang = () => sbangInstalled ??= installSbang(unpaddedRoot);
  try {
    // Tasks start in dependency order, so whatever a running task waits on has started too.
    await forEachConcurrently(order.length, jobs, async (i) => {
      const spec = order[i];
      const own = placed.get(spec.node.hash)!;
      const dependencies = () =>
        Promise.all(earlierDependencies(order, position, i).map((h) => placed.get(h)!.promise));
      try {
        await installListed(mirror, spec, layout, options, {
          nextIndex: () => ++reported,
          total: order.length,
          dependencies,
          sbang,
          result,
        });
        recorder.add(spec);
        own.resolve();
      } catch (e) {
        own.reject(e);
        // Of several failures, the one earliest in dependency order is reported, as a one-job
        // install would have met it first.
        if (!(e instanceof DependencyFailed) && i < failedAt) [failure, failedAt] = [e, i];
        throw e;
      }
    });
  } catch (e) {
    failure ??= e;
  }
  try {
    await recorder.close();
  } catch (e) {
    if (failure === undefined) throw e;
    options.onProgress?.({
      kind: "message",
      level: "warning",
      text: `the install-tree database of ${storeRoot} was not updated: ${(e as Error).message}`,
    });
  }
  if (failure !== undefined) throw failure;
  return result;
}

/** A dependency of the spec failed to install, so the spec was not moved into place. */
class DependencyFailed extends InstallError {}

/** Where a spec stands in the install, and what waits on it. */
interface Listed {
  /** The spec's 1-based index in progress events, taken when its first event is sent. */
  nextIndex: () => number;
  total: number;
  /** Resolves once every dependency's prefix is in place; rejects when one failed. */
  dependencies: () => Promise<unknown>;
  /** Installs `<root>/bin/sbang` (once per install); resolves with its path. */
  sbang: () => Promise<string>;
  result: InstallResult;
}

/** Installs (or skips) one spec of the install order, reporting progress. */
async function installListed(
  mirror: Mirror,
  spec: ConcreteSpec,
  layout: InstallLayout,
  options: InstallOptions,
  { nextIndex, total, dependencies, sbang, result }: Listed,
): Promise<void> {
  const name = shortSpec(spec.node);
  const prefix = layout.prefixOf(spec.node);
  let index: number | undefined;
  const event = () =>
    ({ kind: "spec", action: "install", spec: name, index: index ??= nextIndex(), total }) as const;
  // Recorded, and so placed, only after its dependencies.
  const afterDependencies = async () => {
    try {
      await dependencies();
    } catch (e) {
      const detail = e instanceof InstallError
        ? `its dependency ${e.spec} was not installed`
        : `a dependency was not installed: ${(e as Error).message}`;
      throw new DependencyFailed(name, detail, { cause: e });
    }
  };
  try {
    if (await exists(prefix)) {
      await afterDependencies();
      result.skipped.set(spec.node.hash, prefix);
      options.onProgress?.({ ...event(), state: "skipped" });
      return;
    }
    options.onProgress?.({ ...event(), state: "start" });
    const started = performance.now();
    const entry = await mirror.getEntry(spec);
    if (!entry) throw new NotFoundError(`${name} in ${mirror.url}`);
    if (options.checkSignature ?? true) {
      await checkSignature(entry, options.trustedKeys ?? [], name);
    }
    const bytes = await installOne(mirror, entry, spec, prefix, layout, {
      ...options,
      beforeRename: afterDependencies,
      sbang,
    });
    result.installed.set(spec.node.hash, prefix);
    options.onProgress?.({
      ...event(),
      state: "done",
      bytes,
      seconds: (performance.now() - started) / 1000,
      source: entry.mirror ?? mirror.url,
    });
  } catch (e) {
    const error = e instanceof NotFoundError || e instanceof InstallError
      ? e
      : new InstallError(name, (e as Error).message, { cause: e });
    options.onProgress?.({ ...event(), state: "failed", error });
    throw error;
  }
}

/**
 * DAG hashes of the direct link/run dependencies of `order[i]` that come before it in `order`
 * (externals are not in it; an edge back along a cycle in a hostile spec is not waited on).
 */
function earlierDependencies(
  order: readonly ConcreteSpec[],
  position: ReadonlyMap<string, number>,
  i: number,
): string[] {
  return edgesOf(order[i].node, ["link", "run"])
    .filter((edge) => (position.get(edge.hash) ?? i) < i)
    .map((edge) => edge.hash);
}

/** Specs plus their link/run closure, externals dropped, dependencies before dependents. */
function installOrder(specs: readonly ConcreteSpec[]): ConcreteSpec[] {
  const out = new Map<string, ConcreteSpec>();
  const visit = (spec: ConcreteSpec, path: Set<string>) => {
    if (out.has(spec.node.hash) || path.has(spec.node.hash)) return;
    path.add(spec.node.hash);
    // Direct edges only: the recursion reaches the transitive ones.
    for (const edge of edgesOf(spec.node, ["link", "run"])) {
      const dep = spec.nodes.get(edge.hash);
      if (dep && !isExternal(dep)) visit(specFromNodes(dep.hash, spec.nodes), path);
    }
    out.set(spec.node.hash, spec);
  };
  for (const spec of specs) visit(spec, new Set());
  return [...out.values()];
}

/**
 * Verifies the entry's signature (build cache format reference §1.9). The entry's tarball digest
 * was parsed from the same text, and verification checks that text is the signed one.
 */
async function checkSignature(
  entry: CacheEntry,
  trustedKeys: readonly TrustedKey[],
  name: string,
): Promise<void> {
  if (!entry.signedText) {
    throw new InstallError(
      name,
      `required signature was not found on ${entry.source} (pass --no-check-signature to install unsigned specs)`,
    );
  }
  try {
    await verifyClearsigned(entry.signedText, trustedKeys, entry.source);
  } catch (e) {
    if (e instanceof SignatureError) throw new InstallError(name, e.message, { cause: e });
    throw e;
  }
}

async function installOne(
  mirror: Mirror,
  entry: CacheEntry,
  spec: ConcreteSpec,
  prefix: string,
  layout: InstallLayout,
  { onProgress, maxExpansion, threads, beforeRename, sbang }: InstallOptions & {
    beforeRename: () => Promise<void>;
    /** Installs `<root>/bin/sbang` (once per install); resolves with its path. */
    sbang: () => Promise<string>;
  },
): Promise<number> {
  await Deno.mkdir(dirname(prefix), { recursive: true });
  const staging = `${prefix}.spackle-${crypto.randomUUID().slice(0, 8)}`;
  const name = shortSpec(spec.node);
  let bytes = 0;
  const guard = expansionGuard(`${name} (tarball ${entry.tarball.digest} of ${entry.source})`, {
    maxExpansion,
    compressedSize: entry.tarball.size,
  });
  try {
    const tarball = (await mirror.openTarball(entry))
      .pipeThrough(countBytes(name, (e) => {
        if (e.kind === "bytes") bytes = e.bytes;
        onProgress?.(e);
      }, entry.tarball.size))
      .pipeThrough(guard.compressed)
      .pipeThrough(
        !threads || (entry.tarball.size ?? Infinity) < WORKER_GUNZIP_MIN_BYTES
          ? gunzipStream()
          : workerGunzipStream({ threads }),
      )
      .pipeThrough(guard.expanded);
    const extracted = await extractPackageTarball(tarball, staging, { source: entry.source })
      .catch(async (e) => {
        throw await blameBlob(() => mirror.openTarball(entry), e);
      });
    const info = parseBuildInfo(
      extracted.buildinfo,
      `${entry.source} (.spack/binary_distribution)`,
    );
    const map = buildPrefixMap(info, entry.spec, layout, {
      memberPrefix: extracted.oldPrefix,
      source: entry.source,
    });
    try {
      await relocatePrefix(staging, info, map, entry.source);
    } catch (e) {
      if (e instanceof CannotGrowStringError || e instanceof ElfGrowError) {
        throw new InstallError(
          name,
          `${e.message} The install root ${layout.storeRoot} is too long for this build; use a shorter root.`,
          { cause: e },
        );
      }
      throw e;
    }
    await filterShebangsInPrefix(staging, `${layout.unpaddedRoot}/bin/sbang`);
    await beforeRename();
    // Only once this spec is sure to land (its dependencies are in place): a failed install
    // leaves nothing in the root.
    await sbang();
    await Deno.rename(staging, prefix);
    return bytes;
  } catch (e) {
    if (e instanceof SpackleError) throw e;
    // A corrupt gzip fails in gunzip before the digest check can: name the blob.
    throw new InstallError(
      name,
      `${(e as Error).message} (tarball ${entry.tarball.digest} of ${entry.source})`,
      { cause: e },
    );
  } finally {
    // On every exit path; after the rename there is nothing left under the staging name.
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}
