/**
 * Spec queries: the part of Spack's spec syntax that selects concrete specs (`spack find`
 * style), parsed once and matched against any number of concrete specs.
 *
 * Supported: `name` (or `namespace.name`), `@version` constraints ({@link versionSatisfies}),
 * `/hashprefix`, variants `+v` `~v` `-v` `v=value` `v=a,b` `v:=a,b` and their propagating forms
 * (`++v`, `v==x`, matched like the plain ones), compiler flags (`cflags="-O2 -g"`), `arch=`,
 * `platform=`, `os=`, `target=` (a name or list), `namespace=`, `^dependency` (anywhere in the
 * DAG) and `%dependency` (a direct dependency, as in Spack 1.x), each with its own attributes,
 * virtual assignments (`%c=gcc`, `^mpi=openmpi`) and edge attributes
 * (`^[virtuals=mpi deptypes=link] openmpi`). `%compiler@version` also matches the
 * `compiler` recorded on nodes of spec files older than format v5.
 *
 * @module
 */
import type { ConcreteSpec, DepType, SpecEdge, SpecNode } from "./spec.ts";
import { targetName } from "./spec.ts";
import { type VersionConstraint, versionSatisfies } from "./version.ts";
import { parseQuery } from "./_query_parse.ts";
import { SpecSyntaxError } from "./errors.ts";

/** A variant or other key=value constraint on a node's `parameters`. */
export interface VariantQuery {
  /** Variant (or compiler flag) name. */
  readonly name: string;
  /**
   * Required values: `["true"]` for `+v`, `["false"]` for `~v`/`-v`, the comma-separated values
   * of `v=a,b` (all must be set), or the whitespace-separated flags of `cflags="-O2 -g"`.
   */
  readonly values: readonly string[];
  /** `v:=a,b`: the variant has exactly these values. */
  readonly exact: boolean;
  /** `++v`, `~~v`, `v==x`: propagating in Spack; matched like the plain form. */
  readonly propagate: boolean;
}

/** Constraints on one node of the DAG. */
export interface NodeQuery {
  /** Package name, or a virtual it is reached as (dependencies only). Absent: any name. */
  name?: string;
  /** Package repository namespace (`builtin.zlib`, `namespace=builtin`). */
  namespace?: string;
  /** DAG hash prefix. */
  hash?: string;
  /** Version constraint (`@...`). */
  versions?: VersionConstraint;
  /** Variants and flags, all required. */
  readonly variants: VariantQuery[];
  /** Required platforms (each entry must equal the node's). */
  readonly platform: string[];
  /** Required operating systems. */
  readonly os: string[];
  /** Required targets: each entry lists alternatives (`target=zen2,skylake`). */
  readonly target: string[][];
  /** `%` constraints: direct dependencies of this node. */
  readonly direct: DependencyQuery[];
}

/**
 * A `^` or `%` constraint: a node reached over an edge, optionally with edge attributes
 * (`%c=gcc`, `^[virtuals=mpi deptypes=link] openmpi`).
 */
export interface DependencyQuery {
  /** Virtuals the edge must provide (`%c=gcc` gives `["c"]`); empty when not given. */
  readonly virtuals: readonly string[];
  /** Dependency types the edge must have (`^[deptypes=build,link]`); empty when not given. */
  readonly deptypes: readonly DepType[];
  /** Constraints on the dependency node. */
  readonly node: NodeQuery;
}

/** A parsed query: the root node's constraints and its `^` dependencies. */
export interface SpecQuery {
  /** The text it was parsed from. */
  readonly text: string;
  /** Constraints on the root. */
  readonly root: NodeQuery;
  /** `^` constraints: each must match some node of the DAG other than the root. */
  readonly dependencies: readonly DependencyQuery[];
}

/** A concrete spec, or any root node with the nodes of its DAG by hash. */
export type QueryTarget = Pick<ConcreteSpec, "node" | "nodes">;

/**
 * Parses one spec in Spack's syntax (e.g. `hdf5@1.10: +mpi ^openmpi@4 %gcc@12`) into a
 * {@link SpecQuery}. Whitespace may separate any two constraints and follow a sigil (`@ 1.2`,
 * `% gcc`). As in Spack 1.x, constraints after `^dep` or `%dep` apply to that dependency
 * (`hdf5 %gcc +mpi` asks for `gcc+mpi`), and `%` names a direct dependency of the root or of the
 * last `^` node. One spec per query: a second package name is an error.
 *
 * @throws {SpecSyntaxError} with the 1-based column and a caret line, e.g. for `hdf5 @@1`
 *   (column 7), an empty query, an unterminated quote, or syntax Spackle does not support
 *   (target ranges such as `target=x86_64:`, which need microarchitecture data).
 * @example
 * ```ts
 * import { parseSpecQuery } from "@spackle/spackle/spec";
 * const query = parseSpecQuery("hdf5@1.10: +mpi ^openmpi");
 * query.root.name; // "hdf5"
 * ```
 */
export function parseSpecQuery(text: string): SpecQuery {
  return parseQuery(text);
}

/**
 * True when the concrete spec satisfies `query` (a {@link SpecQuery} or its text), by Spack's
 * rules for concrete specs: every given attribute must be present with a matching value; a
 * variant the node does not have does not match.
 *
 * A dependency named by a virtual (`^mpi`) matches the node an edge provides it through; a
 * version constraint on a virtual never matches (the provided version is not recorded).
 *
 * @throws {SpecSyntaxError} when `query` is text that does not parse.
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { matchesQuery } from "@spackle/spackle/spec";
 * const mirror = await openMirror("file:///srv/buildcache");
 * const mpiBuilds = (await mirror.listSpecs()).filter((s) => matchesQuery(s, "+mpi ^openmpi@4:"));
 * ```
 */
export function matchesQuery(spec: QueryTarget, query: SpecQuery | string): boolean {
  const q = typeof query === "string" ? parseSpecQuery(query) : query;
  const matcher = new Matcher(spec.nodes);
  if (!matcher.node(spec.node, q.root, [])) return false;
  const edges = [...spec.nodes.values()].flatMap((n) => n.dependencies ?? []);
  return q.dependencies.every((dep) =>
    edges.some((e) => e.hash !== spec.node.hash && matcher.edge(e, dep))
  );
}

class Matcher {
  constructor(readonly pool: ReadonlyMap<string, SpecNode>) {}

  /** `dep` matches edge `e` (its virtuals and deptypes) and the node it points to. */
  edge(e: SpecEdge, dep: DependencyQuery): boolean {
    const d = this.pool.get(e.hash);
    const { virtuals, deptypes } = e.parameters;
    return d !== undefined && dep.virtuals.every((v) => virtuals.includes(v)) &&
      dep.deptypes.every((t) => deptypes.includes(t)) && this.node(d, dep.node, virtuals);
  }

  /** `q` matches `n`, which was reached over an edge providing `virtuals` (none for the root). */
  node(n: SpecNode, q: NodeQuery, virtuals: readonly string[]): boolean {
    if (q.name !== undefined && q.name !== n.name) {
      // Reached as a virtual: the provider's version is not the virtual's.
      if (!virtuals.includes(q.name) || q.versions) return false;
    }
    if (q.namespace !== undefined && q.namespace !== n.namespace) return false;
    if (q.hash !== undefined && !n.hash.startsWith(q.hash)) return false;
    if (q.versions && !concreteVersionSatisfies(n.version, q.versions)) return false;
    if (!q.variants.every((v) => variantMatches(n.parameters?.[v.name], v))) return false;
    if (!q.platform.every((p) => p === n.arch?.platform)) return false;
    if (!q.os.every((os) => os === n.arch?.platform_os)) return false;
    if (!q.target.every((alternatives) => alternatives.includes(targetName(n)))) return false;
    return q.direct.every((dep) =>
      (n.dependencies ?? []).some((e) => this.edge(e, dep)) || legacyCompilerMatches(n, dep)
    );
  }
}

/**
 * The compiler a node of a spec file older than format v5 records: its own `compiler` field, or
 * `annotations.compiler` (`gcc@=10.2.1`) where Spack 1.x moved it.
 */
function legacyCompiler(node: SpecNode): { name: string; version?: string } | undefined {
  const own = node.compiler as { name?: unknown; version?: unknown } | undefined;
  if (typeof own?.name === "string") {
    return { name: own.name, version: typeof own.version === "string" ? own.version : undefined };
  }
  const annotated = node.annotations?.compiler;
  if (typeof annotated !== "string") return undefined;
  const [name, version] = annotated.split("@");
  return { name, version };
}

/** `%name@version` against an old node's compiler; other constraints need a real node. */
function legacyCompilerMatches(n: SpecNode, dep: DependencyQuery): boolean {
  const q = dep.node;
  const compiler = legacyCompiler(n);
  if (!compiler || dep.virtuals.length || dep.deptypes.length) return false;
  if (q.name !== compiler.name) return false;
  if (q.namespace || q.hash || q.variants.length || q.direct.length) return false;
  if (q.platform.length || q.os.length || q.target.length) return false;
  return !q.versions || concreteVersionSatisfies(compiler.version, q.versions);
}

/** A node version Spack could not have written (bad characters) satisfies nothing. */
function concreteVersionSatisfies(version: string | undefined, want: VersionConstraint): boolean {
  if (version === undefined) return false;
  try {
    return versionSatisfies(version, want);
  } catch (e) {
    if (e instanceof SpecSyntaxError) return false;
    throw e;
  }
}

function variantMatches(actual: unknown, v: VariantQuery): boolean {
  if (actual === undefined || actual === null) return false;
  if (typeof actual === "boolean") {
    return v.values.length === 1 && v.values[0].toLowerCase() === String(actual);
  }
  const have = (Array.isArray(actual) ? actual : [actual]).map(String);
  if (!v.values.every((x) => have.includes(x))) return false;
  return !v.exact || have.every((x) => v.values.includes(x));
}
