/**
 * Selecting specs the way users name them on the command line: `name`, `name@version` or
 * `/hashprefix` (a DAG hash prefix).
 *
 * @module
 */
import { NotFoundError, UsageError } from "../errors.ts";
import { shortSpec, type SpecNode } from "./spec.ts";

/**
 * True when `node` matches `selector` (`name`, `name@version` or `/hashprefix`).
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { matchesSelector } from "@spackle/spackle/spec";
 * const specs = await (await openMirror("./cache")).listSpecs();
 * const zlibs = specs.filter((spec) => matchesSelector(spec.node, "zlib-ng"));
 * ```
 */
export function matchesSelector(node: SpecNode, selector: string): boolean {
  if (selector.startsWith("/")) {
    return selector.length > 1 && node.hash.startsWith(selector.slice(1));
  }
  const at = selector.indexOf("@");
  if (at < 0) return node.name === selector;
  return node.name === selector.slice(0, at) &&
    node.version === selector.slice(at + 1).replace(/^=/, "");
}

/**
 * Resolves each selector to exactly one item of `available` (anything with a spec `node`).
 *
 * @param where Names the searched collection in errors (a mirror URL, a store path).
 * @throws {NotFoundError} when a selector matches nothing.
 * @throws {UsageError} when a selector matches several specs; the message lists them.
 *
 * @example
 * ```ts
 * import { openMirror, selectSpecs } from "@spackle/spackle";
 * const mirror = await openMirror("./cache");
 * const [zlib, hello] = selectSpecs(await mirror.listSpecs(), ["zlib-ng@2.2.4", "/hkbp"], mirror.url);
 * ```
 */
export function selectSpecs<T extends { node: SpecNode }>(
  available: readonly T[],
  selectors: readonly string[],
  where: string,
): T[] {
  return selectors.map((selector) => {
    const matches = available.filter((item) => matchesSelector(item.node, selector));
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
