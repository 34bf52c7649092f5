/**
 * Concrete specs as Spack serialises them (spec.json, format versions 1 to 5) and the
 * dependency graph operations Spackle needs: closure, link/run traversal, formatting.
 *
 * Hashes stored in spec files are authoritative and are carried through untouched
 * (build cache format reference §3.3).
 *
 * @module
 */
import { FormatError } from "../errors.ts";
import { upgradeLegacySpecFile } from "./legacy.ts";

/** Dependency types of an edge, in Spack's order. */
export type DepType = "build" | "link" | "run" | "test";

/** One edge of a spec node: `{name, hash, parameters: {deptypes, virtuals}}` (spec format v4/v5). */
export interface SpecEdge {
  /** Name of the dependency. */
  name: string;
  /** DAG hash of the dependency. */
  hash: string;
  /** Dependency types, provided virtuals, and `direct` when set. */
  parameters: { deptypes: DepType[]; virtuals: string[]; direct?: boolean };
}

/** The architecture triple of a node; `target` is a name or an archspec object with `name`. */
export interface SpecArch {
  /** e.g. `linux`. */
  platform: string;
  /** e.g. `debian12`. */
  platform_os: string;
  /** A generic target name (`x86_64`) or an archspec microarchitecture object. */
  target: string | { name: string; [key: string]: unknown };
}

/**
 * One concrete node as stored in spec.json format v5 (also the record form of index.json).
 * Unknown keys are kept, so a node re-serialises to the same bytes.
 */
export interface SpecNode {
  /** Package name. */
  name: string;
  /** Concrete version. */
  version?: string;
  /** Platform, OS and target. */
  arch?: SpecArch;
  /** Package repository namespace. */
  namespace?: string;
  /** Variants and compiler flags. */
  parameters?: Record<string, unknown>;
  /** Set for externals (never pushed or relocated). */
  external?: { path: string | null; module: unknown; extra_attributes: unknown };
  /** Hash of the package recipe (opaque). */
  package_hash?: string;
  /** Edges, sorted by name then dependency type. */
  dependencies?: SpecEdge[];
  /** `original_specfile_version` and, for old specs, `compiler`. */
  annotations?: Record<string, unknown>;
  /** The DAG hash (32 characters, base32). */
  hash: string;
  /** Any other key, kept verbatim. */
  [key: string]: unknown;
}

/** A spec file: `{"spec": {"_meta": {"version": N}, "nodes": [...]}}` plus build cache keys. */
export interface SpecFile {
  /** Format version and nodes (root first). */
  spec: { _meta: { version: number }; nodes: SpecNode[] };
  /** Build cache keys such as `buildcache_layout_version`. */
  [key: string]: unknown;
}

/** A concrete spec: its root node and every node of its DAG by DAG hash. */
export interface ConcreteSpec {
  /** The root node. */
  readonly node: SpecNode;
  /** Every node of the DAG (root included) by DAG hash. */
  readonly nodes: ReadonlyMap<string, SpecNode>;
}

/**
 * Parses a spec file (already JSON-decoded) into a {@link ConcreteSpec}. Accepts spec format
 * v4 and v5 (node lists with edge `parameters`), v2/v3 (edges with `type` lists) and v1 (see
 * `upgradeLegacySpecFile`), and normalises old edges to the v5 shape in memory.
 *
 * @throws {FormatError} naming `source` when the document is not a spec file.
 *
 * @example
 * ```ts
 * import { parseSpecFile } from "@spackle/spackle/spec";
 * const spec = parseSpecFile(JSON.parse(await Deno.readTextFile("spec.json")), "spec.json");
 * console.log(spec.node.name, spec.nodes.size);
 * ```
 */
export function parseSpecFile(doc: unknown, source: string): ConcreteSpec {
  doc = upgradeLegacySpecFile(doc);
  const spec = (doc as { spec?: unknown })?.spec as SpecFile["spec"] | undefined;
  if (!spec || !Array.isArray(spec.nodes) || spec.nodes.length === 0) {
    throw new FormatError(source, "not a spec file (expected spec.nodes)");
  }
  const nodes = new Map<string, SpecNode>();
  for (const raw of spec.nodes) nodes.set(checkNode(raw, source).hash, raw);
  return { node: spec.nodes[0], nodes };
}

function checkNode(raw: SpecNode, source: string): SpecNode {
  if (typeof raw?.name !== "string" || typeof raw.hash !== "string") {
    throw new FormatError(source, "spec node without name or hash");
  }
  if (raw.dependencies !== undefined) {
    if (!Array.isArray(raw.dependencies)) {
      throw new FormatError(source, `dependencies of ${raw.name} are not a list`);
    }
    raw.dependencies = raw.dependencies.map((edge) => {
      const old = edge as unknown as { name: string; hash: string; type?: DepType[] };
      if (edge.parameters) return edge;
      return {
        name: old.name,
        hash: old.hash,
        parameters: { deptypes: old.type ?? [], virtuals: [] },
      };
    });
  }
  return raw;
}

/**
 * Builds a {@link ConcreteSpec} rooted at `hash` from a pool of nodes (e.g. an index).
 *
 * @example
 * ```ts
 * import { parseSpecFile, specFromNodes } from "@spackle/spackle/spec";
 * const spec = parseSpecFile(JSON.parse(await Deno.readTextFile("spec.json")), "spec.json");
 * const [edge] = spec.node.dependencies ?? [];
 * const dependency = specFromNodes(edge.hash, spec.nodes); // the dependency with its own DAG
 * ```
 */
export function specFromNodes(hash: string, pool: ReadonlyMap<string, SpecNode>): ConcreteSpec {
  const root = pool.get(hash);
  if (!root) throw new FormatError("index", `no node with hash ${hash}`);
  const nodes = new Map<string, SpecNode>();
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (nodes.has(n.hash)) continue;
    nodes.set(n.hash, n);
    for (const e of n.dependencies ?? []) {
      const d = pool.get(e.hash);
      if (d) stack.push(d);
    }
  }
  return { node: root, nodes };
}

/**
 * The spec file document for `spec`: root first, then a pre-order walk over all edges.
 *
 * @example
 * ```ts
 * import { parseSpecFile, toSpecFile } from "@spackle/spackle/spec";
 * const spec = parseSpecFile(JSON.parse(await Deno.readTextFile("spec.json")), "spec.json");
 * await Deno.writeTextFile("copy.spec.json", JSON.stringify(toSpecFile(spec)));
 * ```
 */
export function toSpecFile(spec: ConcreteSpec): SpecFile {
  const order: SpecNode[] = [];
  const seen = new Set<string>();
  const visit = (n: SpecNode) => {
    if (seen.has(n.hash)) return;
    seen.add(n.hash);
    order.push(n);
    for (const e of n.dependencies ?? []) {
      const d = spec.nodes.get(e.hash);
      if (d) visit(d);
    }
  };
  visit(spec.node);
  return { spec: { _meta: { version: 5 }, nodes: order } };
}

/**
 * True for nodes Spack never pushes or relocates (`external` set).
 *
 * @example
 * ```ts
 * import { isExternal, parseSpecFile, traverse } from "@spackle/spackle/spec";
 * const spec = parseSpecFile(JSON.parse(await Deno.readTextFile("spec.json")), "spec.json");
 * const pushable = traverse(spec, ["link", "run"]).filter((node) => !isExternal(node));
 * ```
 */
export function isExternal(node: SpecNode): boolean {
  return node.external !== undefined && node.external !== null;
}

/**
 * Edges of `node` whose deptypes intersect `types`.
 *
 * @example
 * ```ts
 * import { edgesOf, parseSpecFile } from "@spackle/spackle/spec";
 * const spec = parseSpecFile(JSON.parse(await Deno.readTextFile("spec.json")), "spec.json");
 * for (const edge of edgesOf(spec.node, ["build"])) console.log(edge.hash);
 * ```
 */
export function edgesOf(node: SpecNode, types: readonly DepType[]): SpecEdge[] {
  return (node.dependencies ?? []).filter((e) =>
    e.parameters.deptypes.some((t) => types.includes(t))
  );
}

/**
 * Nodes reachable from the root over `types` edges, breadth-first, root first, each once.
 * Missing nodes (not in the DAG) are skipped.
 *
 * @example
 * ```ts
 * import { parseSpecFile, shortSpec, traverse } from "@spackle/spackle/spec";
 * const spec = parseSpecFile(JSON.parse(await Deno.readTextFile("spec.json")), "spec.json");
 * console.log(traverse(spec, ["link", "run"]).map(shortSpec)); // root first
 * ```
 */
export function traverse(spec: ConcreteSpec, types: readonly DepType[]): SpecNode[] {
  const out: SpecNode[] = [];
  const seen = new Set<string>([spec.node.hash]);
  const queue = [spec.node];
  while (queue.length) {
    const n = queue.shift()!;
    out.push(n);
    for (const e of edgesOf(n, types)) {
      const d = spec.nodes.get(e.hash);
      if (d && !seen.has(d.hash)) {
        seen.add(d.hash);
        queue.push(d);
      }
    }
  }
  return out;
}

/**
 * Spack's `specs_to_relocate`: the root, its transitive link dependencies breadth-first, then the
 * root's direct run dependencies; externals removed (relocation reference §1.2).
 *
 * @example
 * ```ts
 * import { parseSpecFile, specsToRelocate } from "@spackle/spackle/spec";
 * const spec = parseSpecFile(JSON.parse(await Deno.readTextFile("spec.json")), "spec.json");
 * console.log(specsToRelocate(spec).map((node) => node.name));
 * ```
 */
export function specsToRelocate(spec: ConcreteSpec): SpecNode[] {
  const out = traverse(spec, ["link"]);
  const seen = new Set(out.map((n) => n.hash));
  for (const e of edgesOf(spec.node, ["run"])) {
    const d = spec.nodes.get(e.hash);
    if (d && !seen.has(d.hash)) {
      seen.add(d.hash);
      out.push(d);
    }
  }
  return out.filter((n) => !isExternal(n));
}

/** The target name of a node (`x86_64`, `aarch64`, `zen2`, …), or `""` without arch. */
export function targetName(node: SpecNode): string {
  const t = node.arch?.target;
  return typeof t === "string" ? t : t?.name ?? "";
}

/**
 * Short human form used in messages and progress: `name@version/hash7`.
 *
 * @example
 * ```ts
 * import { parseSpecFile, shortSpec } from "@spackle/spackle/spec";
 * const spec = parseSpecFile(JSON.parse(await Deno.readTextFile("spec.json")), "spec.json");
 * shortSpec(spec.node); // "zlib-ng@2.2.4/abcdefg"
 * ```
 */
export function shortSpec(node: SpecNode): string {
  return `${node.name}@${node.version ?? "?"}/${node.hash.slice(0, 7)}`;
}

/**
 * Spack's `polite_filename`: every character outside `[A-Za-z0-9_+.-]` becomes `_`, so a
 * formatted value (a version like `git.abc=1.2`, say) can never add a directory level.
 *
 * @example
 * ```ts
 * politeFilename("git.v2=1.2"); // "git.v2_1.2"
 * ```
 */
export function politeFilename(name: string): string {
  return name.replace(/[^A-Za-z0-9_+.-]/g, "_");
}
