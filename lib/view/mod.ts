/**
 * Filesystem views: one merged tree of links into installed prefixes, built and swapped in
 * atomically as Spack's environment views are.
 *
 * @example
 * ```ts
 * import { buildView } from "./mod.ts";
 * import { openStore } from "../store/mod.ts";
 * const store = await openStore("/opt/spack/opt/spack");
 * await buildView({
 *   root: "./view",
 *   specs: store.specs.map((s) => s.spec),
 *   prefixOf: (node) => store.prefixOf(node),
 * });
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./projection.ts";
export * from "./tree.ts";
export * from "./view.ts";
