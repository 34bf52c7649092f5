/**
 * The build cache index: a Spack database (v8) listing every spec in the cache and its
 * dependencies (build cache format reference §1.6). The same bytes are the `index.spack`
 * layer of OCI caches.
 *
 * @module
 */
import { FormatError } from "../errors.ts";
import { compactJson } from "../spec/json.ts";
import type { SpecNode } from "../spec/spec.ts";

/** One record of an index: the node, and whether its tarball is in the cache. */
export interface IndexRecord {
  /** The node as stored (with its `hash`). */
  node: SpecNode;
  /** Whether the cache holds its tarball (`in_buildcache`). */
  inBuildcache: boolean;
}

/**
 * Builds index.json text from the DAGs of the specs in the cache, as Spack's
 * `update-index` does: records in insertion order (each spec's dependencies first, depth-first
 * over its edges in order), `ref_count` = dependents within the index over all edge types,
 * `in_buildcache` true only for `inCache` hashes. Compact JSON.
 *
 * @param roots Root nodes of the specs in the cache, in listing order.
 * @param pool Every known node by hash (the specs' DAGs).
 * @param inCache Hashes whose tarballs are in the cache.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { buildIndex } from "@spackle/spackle/buildcache";
 * const specs = await (await openMirror("./cache")).listSpecs();
 * const pool = new Map(specs.flatMap((spec) => [...spec.nodes]));
 * const cached = new Set(specs.map((spec) => spec.node.hash));
 * await Deno.writeTextFile("index.json", buildIndex(specs.map((spec) => spec.node), pool, cached));
 * ```
 */
export function buildIndex(
  roots: readonly SpecNode[],
  pool: ReadonlyMap<string, SpecNode>,
  inCache: ReadonlySet<string>,
): string {
  const order = new Map<string, SpecNode>();
  const add = (node: SpecNode) => {
    if (order.has(node.hash)) return;
    for (const e of node.dependencies ?? []) {
      const d = pool.get(e.hash);
      if (d) add(d);
    }
    order.set(node.hash, node);
  };
  roots.forEach(add);
  const refCount = new Map<string, number>();
  for (const node of order.values()) {
    for (const e of node.dependencies ?? []) refCount.set(e.hash, (refCount.get(e.hash) ?? 0) + 1);
  }
  const installs: Record<string, unknown> = {};
  for (const [hash, node] of order) {
    installs[hash] = {
      spec: node,
      ref_count: refCount.get(hash) ?? 0,
      in_buildcache: inCache.has(hash),
    };
  }
  return compactJson({ database: { version: "8", installs } });
}

/**
 * Collects the specs of a cache into one node table, keyed by DAG hash, as they are read (as
 * Spack's database holds them), so nothing keeps each spec's own copy of its DAG. Specs may be
 * added in any order (e.g. as concurrent reads finish): each spec is ranked by a string (its
 * manifest key or tag), and {@link IndexBuilder.text} writes the same bytes as
 * {@link buildIndex} over the specs in rank order, where a node found in several specs is taken
 * from the lowest-ranked one.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { IndexBuilder } from "@spackle/spackle/buildcache";
 * const builder = new IndexBuilder();
 * for (const spec of await (await openMirror("./cache")).listSpecs()) {
 *   builder.add(spec.node.hash, spec.node, spec.nodes.values());
 * }
 * await Deno.writeTextFile("index.json", builder.text());
 * ```
 */
export class IndexBuilder {
  readonly #nodes = new Map<string, { node: SpecNode; rank: string }>();
  readonly #roots = new Map<string, string>();

  /** Number of specs (roots) added. */
  get size(): number {
    return this.#roots.size;
  }

  /**
   * Adds the spec rooted at `root` whose DAG is `nodes` (the root included), ranked `rank`.
   * A root added twice keeps its lowest rank.
   */
  add(rank: string, root: SpecNode, nodes: Iterable<SpecNode>): void {
    const ranked = this.#roots.get(root.hash);
    if (ranked === undefined || rank < ranked) this.#roots.set(root.hash, rank);
    for (const node of nodes) {
      const known = this.#nodes.get(node.hash);
      if (!known || rank < known.rank) this.#nodes.set(node.hash, { node, rank });
    }
  }

  /**
   * Adds the spec `hash` from a node table: `lookup` gives a node by DAG hash (e.g. from the
   * records of an index read with {@link parseIndex}); the spec's DAG is walked through it.
   * Returns false (adding nothing) when `lookup` lacks `hash`.
   */
  addFrom(rank: string, hash: string, lookup: (hash: string) => SpecNode | undefined): boolean {
    const root = lookup(hash);
    if (!root) return false;
    const dag: SpecNode[] = [];
    const seen = new Set<string>();
    const stack = [root];
    while (stack.length) {
      const node = stack.pop()!;
      if (seen.has(node.hash)) continue;
      seen.add(node.hash);
      dag.push(node);
      for (const e of node.dependencies ?? []) {
        const dep = lookup(e.hash);
        if (dep) stack.push(dep);
      }
    }
    this.add(rank, root, dag);
    return true;
  }

  /**
   * Adds the entry at `rank` (a manifest key or tag) with root `hash` from what is known without
   * reading it: the current index's `records` (entries marked in the build cache), else the nodes
   * of specs this process pushed itself. Returns false when neither knows it: read it.
   */
  addKnown(
    rank: string,
    hash: string,
    records: ReadonlyMap<string, IndexRecord> | undefined,
    pushed: { roots: { has(hash: string): boolean }; nodes: ReadonlyMap<string, SpecNode> },
  ): boolean {
    if (records?.get(hash)?.inBuildcache && this.addFrom(rank, hash, (h) => records.get(h)?.node)) {
      return true;
    }
    return pushed.roots.has(hash) && this.addFrom(rank, hash, (h) => pushed.nodes.get(h));
  }

  /** The index.json text of the specs added (see {@link buildIndex}). */
  text(): string {
    const ranked = [...this.#roots].sort(([, a], [, b]) => a < b ? -1 : a > b ? 1 : 0);
    const pool = new Map([...this.#nodes].map(([hash, { node }]) => [hash, node]));
    const roots = ranked.map(([hash]) => pool.get(hash)!);
    return buildIndex(roots, pool, new Set(this.#roots.keys()));
  }
}

/**
 * Parses an index (Spack database v6, v7 or v8) into records by DAG hash.
 *
 * @throws {FormatError} naming `source` when the text is not a Spack database, or a record's
 * spec carries another hash than the record's key.
 *
 * @example
 * ```ts
 * import { parseIndex } from "@spackle/spackle/buildcache";
 * for (const [hash, record] of parseIndex(await Deno.readTextFile("index.json"), "index.json")) {
 *   console.log(hash, record.node.name, record.inBuildcache);
 * }
 * ```
 */
export function parseIndex(text: string, source: string): Map<string, IndexRecord> {
  let doc: { database?: { version?: string; installs?: Record<string, unknown> } };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FormatError(source, `malformed index JSON: ${(e as Error).message}`);
  }
  const installs = doc?.database?.installs;
  if (!installs || typeof installs !== "object") {
    throw new FormatError(source, "not a Spack database (missing database.installs)");
  }
  const out = new Map<string, IndexRecord>();
  for (const [hash, raw] of Object.entries(installs)) {
    const rec = raw as { spec?: SpecNode; in_buildcache?: boolean };
    if (!rec?.spec || typeof rec.spec.name !== "string") {
      throw new FormatError(source, `index record ${hash} has no spec`);
    }
    if (rec.spec.hash !== undefined && rec.spec.hash !== hash) {
      throw new FormatError(source, `index record ${hash} holds a spec with hash ${rec.spec.hash}`);
    }
    const node = { ...rec.spec, hash };
    out.set(hash, { node, inBuildcache: rec.in_buildcache === true });
  }
  return out;
}
