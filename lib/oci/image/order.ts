/**
 * Which specs get a layer in an image, and in which order (build cache format reference §4.4).
 *
 * @module
 */
import { type ConcreteSpec, edgesOf, isExternal, type SpecNode } from "../../spec/spec.ts";

/**
 * The nodes that get a layer in an image of `specs`: each spec and its transitive link and run
 * dependencies, dependencies before dependents (a depth-first post-order, so every spec's layer
 * comes after those of its dependencies), each node once, externals dropped (they are not in
 * the cache). Build-only dependencies are not layered.
 *
 * @example
 * ```ts
 * import { imageLayerOrder } from "@spackle/spackle/oci";
 * const libz = { name: "zlib", hash: "z".repeat(32) };
 * const app = {
 *   name: "app",
 *   hash: "a".repeat(32),
 *   dependencies: [{ name: "zlib", hash: libz.hash, parameters: { deptypes: ["link" as const], virtuals: [] } }],
 * };
 * const order = imageLayerOrder([{ node: app, nodes: new Map([[app.hash, app], [libz.hash, libz]]) }]);
 * console.assert(order.map((n) => n.name).join() === "zlib,app");
 * ```
 */
export function imageLayerOrder(specs: readonly ConcreteSpec[]): SpecNode[] {
  const out: SpecNode[] = [];
  const seen = new Set<string>();
  for (const spec of specs) {
    const visit = (node: SpecNode) => {
      if (seen.has(node.hash)) return;
      seen.add(node.hash);
      for (const edge of edgesOf(node, ["link", "run"])) {
        const dep = spec.nodes.get(edge.hash);
        if (dep) visit(dep);
      }
      if (!isExternal(node)) out.push(node);
    };
    visit(spec.node);
  }
  return out;
}
