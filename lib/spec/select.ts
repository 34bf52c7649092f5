/**
 * Selecting specs the way users name them on the command line: one spec in Spack's spec syntax
 * per selector (`zlib`, `zlib@1.2:`, `/hashprefix`, `hdf5 +mpi ^openmpi@4 %gcc`; see
 * `parseSpecQuery`).
 *
 * @module
 */
import { NotFoundError, UsageError } from "../errors.ts";
import { matchesQuery, parseSpecQuery, type SpecQuery } from "./query.ts";
import { type ConcreteSpec, shortSpec, type SpecNode } from "./spec.ts";

/** Something holding a spec: a {@link ConcreteSpec}, or a record with its root and `spec`. */
export interface SpecHolder {
  /** The root node. */
  readonly node: SpecNode;
  /** Every node of the DAG by hash, when the holder is a {@link ConcreteSpec}. */
  readonly nodes?: ReadonlyMap<string, SpecNode>;
  /** The concrete spec, when the holder wraps one (an installed spec, say). */
  readonly spec?: Pick<ConcreteSpec, "nodes">;
}

/** The DAG of `item`: its own `nodes`, its `spec`'s, or just the root. */
function dagOf(item: SpecHolder): ReadonlyMap<string, SpecNode> {
  return item.nodes ?? item.spec?.nodes ?? new Map([[item.node.hash, item.node]]);
}

/**
 * True when `node` matches `selector`, a spec query such as `name`, `name@1.2:`, `/hashprefix`
 * or `name +variant ^dependency`. `^`/`%` constraints are checked against `nodes` (the DAG by
 * hash); without it only the root node is known, so they match nothing.
 *
 * @throws {SpecSyntaxError} when `selector` does not parse.
 * @example
 * ```ts
 * import { matchesSelector, type SpecNode } from "@spackle/spackle/spec";
 * const node: SpecNode = { name: "zlib", version: "1.3.1", hash: "abcdefghijklmnopqrstuvwxyz234567" };
 * matchesSelector(node, "zlib@1.3"); // true
 * ```
 */
export function matchesSelector(
  node: SpecNode,
  selector: string,
  nodes?: ReadonlyMap<string, SpecNode>,
): boolean {
  return matchesQuery({ node, nodes: nodes ?? dagOf({ node }) }, selector);
}

/**
 * Resolves each selector (one spec in Spack's syntax) to exactly one item of `available`.
 * Items are matched with their whole DAG when they carry it (`nodes`, or `spec.nodes`).
 *
 * @param where Names the searched collection in errors (a mirror URL, a store path).
 * @throws {SpecSyntaxError} when a selector does not parse (column and caret in the message).
 * @throws {NotFoundError} when a selector matches nothing.
 * @throws {UsageError} when a selector matches several specs; the message lists them.
 * @example
 * ```ts
 * import { openMirror, selectSpecs } from "@spackle/spackle";
 * const mirror = await openMirror("file:///srv/buildcache");
 * const [hdf5] = selectSpecs(await mirror.listSpecs(), ["hdf5 +mpi ^openmpi@4"], mirror.url);
 * ```
 */
export function selectSpecs<T extends SpecHolder>(
  available: readonly T[],
  selectors: readonly string[],
  where: string,
): T[] {
  return selectors.map((selector) => {
    const query: SpecQuery = parseSpecQuery(selector);
    const matches = available.filter((item) =>
      matchesQuery({ node: item.node, nodes: dagOf(item) }, query)
    );
    if (matches.length === 0) throw new NotFoundError(`spec ${selector} in ${where}`);
    if (matches.length > 1) {
      throw new UsageError(
        `${selector} matches ${matches.length} specs in ${where}: ${
          matches.map((m) => shortSpec(m.node)).join(", ")
        }`,
      );
    }
    return matches[0];
  });
}
