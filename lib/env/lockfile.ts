/**
 * Reading Spack environment lockfiles (`spack.lock`, `_meta.lockfile-version` 1 to 6) into
 * concrete specs.
 *
 * The versions differ in how `concrete_specs` is keyed and which spec node format the values use
 * (Spack release ranges are indicative):
 *
 * | lockfile | Spack     | key of `concrete_specs`   | node format                                             |
 * | -------- | --------- | ------------------------- | ------------------------------------------------------- |
 * | 1        | ≤ 0.15    | DAG hash (old definition) | spec v1 `{name: {…}}`, deps `{dep: {hash, type}}`       |
 * | 2        | 0.16      | build hash                | spec v1, deps may name `build_hash`                     |
 * | 3        | 0.17      | build hash                | spec v2: `name` key, deps `[{name, build_hash, type}]`  |
 * | 4        | 0.18–0.20 | DAG hash                  | spec v3: deps `[{name, hash, type}]`                    |
 * | 5        | 0.21–0.23 | DAG hash                  | spec v4: deps `[{name, hash, parameters}]`              |
 * | 6        | 1.x       | DAG hash                  | spec v5                                                 |
 *
 * Like Spack, an edge is resolved to whichever of its hash keys (`hash`, `build_hash`,
 * `full_hash`, `process_hash`) names an entry of `concrete_specs`; a node's DAG hash is its own
 * `hash` key, or the lockfile key when the node has none (v1). Hashes are never recomputed.
 * Included environments (`include_concrete: {<path>: {roots, concrete_specs}}`) are read the same
 * way, recursively.
 *
 * @module
 */
import type { ConcreteSpec, DepType, SpecEdge, SpecNode } from "../spec/spec.ts";
import { LockfileError } from "./errors.ts";

/** Lockfile versions this module reads (Spack 1.2 writes 6). */
export const LOCKFILE_VERSIONS: readonly number[] = [1, 2, 3, 4, 5, 6];

/** One root of an environment: the spec as the user wrote it and its concretization. */
export interface LockedRoot {
  /** The abstract spec as written in `spack.yaml` (`roots[].spec`), e.g. `zlib@1.3`. */
  readonly spec: string;
  /** DAG hash of the concrete root. */
  readonly hash: string;
  /** The concrete root with its whole DAG. */
  readonly concrete: ConcreteSpec;
  /** Path of the included environment this root comes from; absent for the environment's own. */
  readonly includedFrom?: string;
}

/** The concretization of one environment (its own, or an included one). */
export interface LockedEnvironment {
  /** Roots in lockfile order. */
  readonly roots: readonly LockedRoot[];
  /** Every node of `concrete_specs`, by DAG hash. */
  readonly nodes: ReadonlyMap<string, SpecNode>;
  /** Environments included with `include_concrete`, in lockfile order. */
  readonly included: readonly IncludedEnvironment[];
}

/** An environment included with `include_concrete`, as recorded in the including lockfile. */
export interface IncludedEnvironment extends LockedEnvironment {
  /** The included environment's path, as the lockfile keys it. */
  readonly path: string;
}

/** A parsed `spack.lock`. */
export interface Lockfile extends LockedEnvironment {
  /** Where it was read from (used in errors). */
  readonly source: string;
  /** `_meta.lockfile-version`. */
  readonly version: number;
  /** `_meta.specfile-version`, when recorded (lockfile v5 and later). */
  readonly specfileVersion?: number;
  /** `spack.version` of the Spack that wrote it, when recorded. */
  readonly spackVersion?: string;
}

/**
 * Reads and parses the lockfile at `path`.
 *
 * @example
 * ```ts
 * import { readLockfile } from "@spackle/spackle/env";
 * const lock = await readLockfile("./myenv/spack.lock");
 * for (const root of lock.roots) console.log(root.spec, root.hash);
 * ```
 * @throws {LockfileError} for invalid JSON or anything {@link parseLockfile} rejects.
 * @throws {Deno.errors.NotFound} when the file does not exist.
 */
export async function readLockfile(path: string): Promise<Lockfile> {
  const text = await Deno.readTextFile(path);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new LockfileError(path, "", `invalid JSON: ${(e as Error).message}`);
  }
  return parseLockfile(doc, path);
}

/**
 * Parses a decoded lockfile document into roots with their full DAGs. `source` names the file
 * in errors.
 *
 * @example
 * ```ts
 * import { parseLockfile } from "@spackle/spackle/env";
 * const lock = parseLockfile(JSON.parse(await Deno.readTextFile("spack.lock")), "spack.lock");
 * const [root] = lock.roots;
 * console.log(root.concrete.node.name, root.concrete.nodes.size);
 * ```
 * @throws {LockfileError} naming `source` and the key: a version outside 1–6, `roots` or
 *   `concrete_specs` missing or of the wrong type, a root or edge whose hash names no entry, a
 *   node without a name.
 */
export function parseLockfile(doc: unknown, source: string): Lockfile {
  const top = asObject(doc, source, "");
  const meta = asObject(top._meta, source, "_meta");
  const version = meta["lockfile-version"];
  if (typeof version !== "number" || !LOCKFILE_VERSIONS.includes(version)) {
    throw new LockfileError(
      source,
      "_meta.lockfile-version",
      `unsupported lockfile version ${JSON.stringify(version)} (readable: 1 to 6)`,
    );
  }
  const specfileVersion = meta["specfile-version"];
  const spackVersion = (top.spack as { version?: unknown } | undefined)?.version;
  return {
    source,
    version,
    ...(typeof specfileVersion === "number" ? { specfileVersion } : {}),
    ...(typeof spackVersion === "string" ? { spackVersion } : {}),
    ...parseEnvironment(top, source, ""),
  };
}

/** Roots of the lockfile and of every included environment (own first), each DAG hash once. */
export function allLockedRoots(lock: LockedEnvironment): LockedRoot[] {
  const out = new Map<string, LockedRoot>();
  const add = (env: LockedEnvironment) => {
    for (const root of env.roots) if (!out.has(root.hash)) out.set(root.hash, root);
    for (const inc of env.included) add(inc);
  };
  add(lock);
  return [...out.values()];
}

/** One `concrete_specs` entry, its body flattened and its DAG hash known. */
interface Entry {
  readonly key: string;
  readonly body: Record<string, unknown>;
  readonly hash: string;
}

function parseEnvironment(
  top: Record<string, unknown>,
  source: string,
  at: string,
  includedFrom?: string,
): LockedEnvironment {
  const path = (key: string) => (at ? `${at}.${key}` : key);
  const raw = asObject(top.concrete_specs, source, path("concrete_specs"));
  const entries = new Map<string, Entry>();
  for (const [key, value] of Object.entries(raw)) {
    const body = flatNode(value, source, path(`concrete_specs.${key}`));
    const hash = typeof body.hash === "string" ? body.hash : key;
    entries.set(key, { key, body, hash });
  }
  const byHash = new Map<string, string>();
  for (const e of entries.values()) if (!byHash.has(e.hash)) byHash.set(e.hash, e.key);
  const resolve = (candidates: string[]) => {
    for (const c of candidates) if (entries.has(c)) return c;
    for (const c of candidates) if (byHash.has(c)) return byHash.get(c);
    return undefined;
  };

  const nodes = new Map<string, SpecNode>();
  const nodeOf = new Map<string, SpecNode>();
  const depKeys = new Map<string, string[]>();
  for (const e of entries.values()) {
    const where = path(`concrete_specs.${e.key}`);
    const edges: SpecEdge[] = [];
    const keys: string[] = [];
    for (const edge of rawEdges(e.body, source, where)) {
      const key = resolve(edge.candidates);
      if (!key) {
        throw new LockfileError(
          source,
          `${where}.dependencies.${edge.name}`,
          `no concrete spec with hash ${edge.candidates.join(" or ")}`,
        );
      }
      keys.push(key);
      edges.push({ name: edge.name, hash: entries.get(key)!.hash, parameters: edge.parameters });
    }
    depKeys.set(e.key, keys);
    const node = normalisedNode(e, edges);
    if (!nodes.has(node.hash)) nodes.set(node.hash, node);
    nodeOf.set(e.key, node);
  }

  const rootsRaw = top.roots;
  if (!Array.isArray(rootsRaw)) {
    throw new LockfileError(source, path("roots"), "expected a list of {hash, spec}");
  }
  const roots = rootsRaw.map((r, i): LockedRoot => {
    const root = r as { hash?: unknown; spec?: unknown };
    if (typeof root?.hash !== "string" || typeof root.spec !== "string") {
      throw new LockfileError(source, path(`roots.${i}`), "expected {hash, spec} strings");
    }
    const key = resolve([root.hash]);
    if (!key) {
      throw new LockfileError(
        source,
        path(`roots.${i}`),
        `root ${root.spec} has hash ${root.hash}, which is not in concrete_specs`,
      );
    }
    const concrete = dagFrom(key, nodeOf, depKeys);
    return {
      spec: root.spec,
      hash: concrete.node.hash,
      concrete,
      ...(includedFrom !== undefined ? { includedFrom } : {}),
    };
  });

  const included: IncludedEnvironment[] = [];
  if (top.include_concrete !== undefined) {
    const inc = asObject(top.include_concrete, source, path("include_concrete"));
    for (const [envPath, data] of Object.entries(inc)) {
      const where = path(`include_concrete.${envPath}`);
      const env = parseEnvironment(asObject(data, source, where), source, where, envPath);
      included.push({ path: envPath, ...env });
    }
  }
  return { roots, nodes, included };
}

/**
 * The DAG reachable from the entry `rootKey`, walking lockfile keys. Two keys may share a DAG
 * hash (v2/v3 keyed by build hash): the first one reached wins, as in Spack.
 */
function dagFrom(
  rootKey: string,
  nodeOf: ReadonlyMap<string, SpecNode>,
  depKeys: ReadonlyMap<string, string[]>,
): ConcreteSpec {
  const dag = new Map<string, SpecNode>();
  const seen = new Set<string>();
  const stack = [rootKey];
  while (stack.length) {
    const key = stack.pop()!;
    if (seen.has(key)) continue;
    seen.add(key);
    const node = nodeOf.get(key)!;
    if (!dag.has(node.hash)) dag.set(node.hash, node);
    stack.push(...[...depKeys.get(key)!].reverse());
  }
  return { node: nodeOf.get(rootKey)!, nodes: dag };
}

/** The node as {@link SpecNode}: kept as read when already in the v4/v5 shape. */
function normalisedNode(e: Entry, edges: SpecEdge[]): SpecNode {
  const old = e.body.dependencies;
  const unchanged = typeof e.body.hash === "string" &&
    (old === undefined ||
      (Array.isArray(old) &&
        old.every((d, i) =>
          (d as SpecEdge).parameters !== undefined && (d as SpecEdge).hash === edges[i].hash
        )));
  if (unchanged) return e.body as SpecNode;
  const node: Record<string, unknown> = { ...e.body };
  if (edges.length || old !== undefined) node.dependencies = edges;
  node.hash = e.hash;
  return node as SpecNode;
}

/** A node dict in the flat shape (`name` key); spec v1's `{name: {…}}` is unwrapped. */
function flatNode(value: unknown, source: string, where: string): Record<string, unknown> {
  const obj = asObject(value, source, where);
  if (typeof obj.name === "string") return obj;
  const keys = Object.keys(obj);
  const inner = obj[keys[0]];
  if (keys.length === 1 && inner && typeof inner === "object" && !Array.isArray(inner)) {
    return { name: keys[0], ...(inner as Record<string, unknown>) };
  }
  throw new LockfileError(source, where, "spec node without a name");
}

/** The hash keys an old edge may carry, in the order Spack tries them. */
const EDGE_HASH_KEYS = ["hash", "process_hash", "full_hash", "build_hash"] as const;

interface RawEdge {
  name: string;
  candidates: string[];
  parameters: SpecEdge["parameters"];
}

/** Edges of every format: v1 `{dep: {hash, type}}`, v2/v3 `[{name, …hash, type}]`, v4+. */
function rawEdges(body: Record<string, unknown>, source: string, where: string): RawEdge[] {
  const deps = body.dependencies;
  if (deps === undefined || deps === null) return [];
  const items: [string, Record<string, unknown>][] = Array.isArray(deps)
    ? deps.map((d, i) => {
      const edge = asObject(d, source, `${where}.dependencies.${i}`);
      if (typeof edge.name !== "string") {
        throw new LockfileError(source, `${where}.dependencies.${i}`, "edge without a name");
      }
      return [edge.name, edge];
    })
    : Object.entries(asObject(deps, source, `${where}.dependencies`)).map((
      [name, d],
    ) => [name, asObject(d, source, `${where}.dependencies.${name}`)]);
  return items.map(([name, edge]) => {
    const candidates = EDGE_HASH_KEYS.map((k) => edge[k]).filter((h): h is string =>
      typeof h === "string"
    );
    if (!candidates.length) {
      throw new LockfileError(source, `${where}.dependencies.${name}`, "edge without a hash");
    }
    const params = edge.parameters as SpecEdge["parameters"] | undefined;
    const types = params?.deptypes ?? edge.type ?? [];
    return {
      name,
      candidates,
      parameters: params ?? {
        deptypes: (Array.isArray(types) ? types : [types]) as DepType[],
        virtuals: [],
      },
    };
  });
}

function asObject(value: unknown, source: string, where: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new LockfileError(source, where, `expected an object, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}
