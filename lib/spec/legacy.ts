/**
 * Spec files of formats v1 and v2 (Spack ≤ 0.17), brought to the node-list shape the rest of
 * Spackle reads. v1 lists nodes as `[{"<name>": {...}}]` with dependencies as a
 * `{"<name>": {hash, type}}` map; v1 and v2 link nodes by `build_hash` (v2 edges name it
 * `build_hash`), where later formats use the node's `hash` (the DAG hash).
 *
 * @module
 */

type LegacyEdge = { name?: string; hash?: string; build_hash?: string; type?: string[] };
type LegacyNode = Record<string, unknown> & {
  name: string;
  hash?: string;
  build_hash?: string;
  full_hash?: string;
  dependencies?: unknown;
};

/**
 * Returns `doc` in node-list form with every edge's `hash` set to the DAG hash of the node it
 * points to. Documents already in that form (formats v3 to v5) are returned as they are.
 *
 * @example
 * ```ts
 * import { parseSpecFile } from "@spackle/spackle/spec";
 * // parseSpecFile applies it first, so a v1 document parses directly:
 * const v1 = { spec: [{ zlib: { version: "1.2.11", hash: "ikd3yzdjgm2i4hc2jxpv4foy6w2ro3rr" } }] };
 * parseSpecFile(v1, "zlib.json").node.name; // "zlib"
 * ```
 */
export function upgradeLegacySpecFile(doc: unknown): unknown {
  const spec = (doc as { spec?: unknown } | null)?.spec;
  let nodes: LegacyNode[];
  if (Array.isArray(spec)) {
    nodes = spec.flatMap((entry) =>
      Object.entries(entry as Record<string, Record<string, unknown>>)
        .map(([name, body]) => ({ name, ...body }))
    );
  } else {
    nodes = (spec as { nodes?: LegacyNode[] } | undefined)?.nodes ?? [];
    const linked = nodes.every((n) =>
      !Array.isArray(n?.dependencies) ||
      (n.dependencies as LegacyEdge[]).every((e) => typeof e?.hash === "string") &&
        n.build_hash === undefined
    );
    if (!Array.isArray(nodes) || linked) return doc;
  }
  const dagHash = new Map<string, string>();
  for (const n of nodes) {
    if (typeof n?.hash === "string") dagHash.set(n.build_hash ?? n.hash, n.hash);
  }
  const upgraded = nodes.map((n) => {
    if (n?.dependencies === undefined) return n;
    const edges: LegacyEdge[] = Array.isArray(n.dependencies)
      ? n.dependencies
      : Object.entries(n.dependencies as Record<string, LegacyEdge>)
        .map(([name, e]) => ({ name, ...e }));
    const dependencies = edges.map(({ build_hash, ...e }) => {
      const key = build_hash ?? e.hash ?? "";
      return { ...e, hash: dagHash.get(key) ?? key };
    });
    return { ...n, dependencies };
  });
  const meta = Array.isArray(spec) ? { version: 1 } : (spec as { _meta?: unknown })._meta;
  return { ...(doc as object), spec: { _meta: meta, nodes: upgraded } };
}
