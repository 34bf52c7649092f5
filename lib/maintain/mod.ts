/**
 * Keeping a build cache: which specs a cache lacks ({@link checkSpecs}), removing what nobody
 * references ({@link pruneCache}), moving legacy layout v2 caches to v3 ({@link migrateMirror}),
 * and fetching one entry's tarball and spec file by hand ({@link downloadSpec}). These are the
 * library side of `spackle check`, `prune`, `migrate` and `download` (Spack's `buildcache check`,
 * `prune`, `migrate` and `download`).
 *
 * @example
 * ```ts
 * import { openMirror, openStore } from "@spackle/spackle";
 * import { checkSpecs, specsToCheck } from "@spackle/spackle/maintain";
 * const store = await openStore("/opt/spack/opt/spack");
 * const mirror = await openMirror("./buildcache");
 * const installed = store.specs.map((s) => s.spec);
 * const result = await checkSpecs([mirror], specsToCheck(installed, installed));
 * console.log(result.missing.map((m) => m.spec));
 * ```
 *
 * @module
 */
export * from "./check.ts";
export * from "./migrate.ts";
export * from "./prune.ts";
export * from "../copy/download.ts";
export * from "./store.ts";
export * from "./prune_oci.ts";
