/**
 * `checkSpecs`: which specs a set of build caches lacks, and which they hold with different
 * tarballs for the same DAG hash (Spack's `buildcache check`, which tells what to rebuild).
 *
 * @module
 */
import { forEachConcurrently } from "../concurrency.ts";
import type { Mirror } from "../mirror/types.ts";
import { type ConcreteSpec, isExternal, shortSpec } from "../spec/spec.ts";

/** Options of {@link checkSpecs}. */
export interface CheckOptions {
  /** Specs checked concurrently (default 4). */
  readonly jobs?: number;
}

/** A spec one or more caches lack. */
export interface MissingSpec {
  /** `name@version/hash7`. */
  readonly spec: string;
  /** Full DAG hash. */
  readonly hash: string;
  /** URLs of the caches that lack it. */
  readonly missingFrom: string[];
}

/** A spec whose caches hold different tarballs (a rebuild pushed to one cache, say). */
export interface DifferingSpec {
  /** `name@version/hash7`. */
  readonly spec: string;
  /** Full DAG hash. */
  readonly hash: string;
  /** Cache URL → `sha256:<hex>` of the tarball it holds. */
  readonly digests: Record<string, string>;
}

/** What {@link checkSpecs} found; `missing` and `differing` are sorted by spec. */
export interface CheckResult {
  /** Number of specs checked. */
  readonly checked: number;
  /** Specs absent from at least one cache. */
  readonly missing: MissingSpec[];
  /** Specs present in several caches with different tarball digests. */
  readonly differing: DifferingSpec[];
}

/**
 * The specs to check for `selected`: each one and every node of its DAG (any dependency type)
 * that `available` (an install tree's specs, or what the caches list) holds; externals left
 * out, each hash once.
 *
 * @example
 * ```ts
 * import { openStore } from "@spackle/spackle";
 * import { specsToCheck } from "@spackle/spackle/maintain";
 * const store = await openStore("/opt/spack/opt/spack");
 * const all = specsToCheck(store.specs.map((s) => s.spec), store.specs.map((s) => s.spec));
 * ```
 */
export function specsToCheck(
  selected: readonly ConcreteSpec[],
  available: readonly ConcreteSpec[],
): ConcreteSpec[] {
  const pool = new Map(available.map((s) => [s.node.hash, s]));
  const out = new Map<string, ConcreteSpec>();
  for (const spec of selected) {
    if (!isExternal(spec.node)) out.set(spec.node.hash, spec);
    for (const hash of spec.nodes.keys()) {
      const dep = pool.get(hash);
      if (dep && !isExternal(dep.node)) out.set(hash, dep);
    }
  }
  return [...out.values()];
}

/**
 * Checks every spec of `specs` against every cache of `mirrors`: a spec is missing from a cache
 * without a complete entry (manifest and blobs; for legacy v2 caches, the spec file); with more
 * than one cache, the tarball digests of the caches that hold a spec are compared. Unreadable
 * entries count as missing. Nothing is modified.
 *
 * @throws {RegistryError} or storage errors when a cache cannot be reached at all.
 * @example
 * ```ts
 * import { openMirror, openStore } from "@spackle/spackle";
 * import { checkSpecs } from "@spackle/spackle/maintain";
 * const store = await openStore("/opt/spack/opt/spack");
 * const mirror = await openMirror("./cache");
 * const { missing } = await checkSpecs([mirror], store.specs.map((s) => s.spec));
 * for (const m of missing) console.log(`${m.spec} needs a push`);
 * ```
 */
export async function checkSpecs(
  mirrors: readonly Mirror[],
  specs: readonly ConcreteSpec[],
  options: CheckOptions = {},
): Promise<CheckResult> {
  const missing: MissingSpec[] = [];
  const differing: DifferingSpec[] = [];
  await forEachConcurrently(specs.length, options.jobs ?? 4, async (i) => {
    const spec = specs[i];
    const missingFrom: string[] = [];
    const digests: Record<string, string> = {};
    for (const mirror of mirrors) {
      const digest = await tarballDigest(mirror, spec, mirrors.length > 1);
      if (digest === undefined) missingFrom.push(mirror.url);
      else if (digest) digests[mirror.url] = digest;
    }
    const name = shortSpec(spec.node);
    if (missingFrom.length) missing.push({ spec: name, hash: spec.node.hash, missingFrom });
    if (new Set(Object.values(digests)).size > 1) {
      differing.push({ spec: name, hash: spec.node.hash, digests });
    }
  });
  const bySpec = (a: { spec: string }, b: { spec: string }) => a.spec.localeCompare(b.spec);
  return {
    checked: specs.length,
    missing: missing.sort(bySpec),
    differing: differing.sort(bySpec),
  };
}

/**
 * `undefined` when `mirror` lacks `spec`; else its tarball digest when `wanted`, or `""`.
 * `hasSpec` sees complete v3 entries; a legacy v2 entry is found through its spec file.
 */
async function tarballDigest(
  mirror: Mirror,
  spec: ConcreteSpec,
  wanted: boolean,
): Promise<string | undefined> {
  const complete = await mirror.hasSpec(spec.node);
  if (complete && !wanted) return "";
  try {
    const entry = await mirror.getEntry(spec);
    if (!entry || (!complete && entry.layout !== 2)) return undefined;
    return entry.tarball.digest;
  } catch {
    return undefined;
  }
}
