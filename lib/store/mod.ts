/**
 * Spack install trees ("stores"): the default projection and padded roots, the install-tree
 * database (`.spack-db/index.json`), and opening a store to find installed specs and prefixes.
 *
 * @example
 * ```ts
 * import { openStore } from "@spackle/spackle/store";
 * const store = await openStore("/opt/spack/opt/spack");
 * for (const s of store.specs) console.log(s.spec.node.name, s.prefix);
 * ```
 *
 * @module
 */
export * from "./projection.ts";
export * from "./database.ts";
export * from "./store.ts";
