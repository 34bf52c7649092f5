/**
 * Filesystem views: one merged tree of links into installed prefixes, built and swapped in
 * atomically as Spack's environment views are.
 *
 * @example
 * ```ts
 * import { buildView } from "./mod.ts";
 * await buildView({ root: "./view", specs, prefixOf: (node) => store.prefixOf(node) });
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./projection.ts";
export * from "./view.ts";
