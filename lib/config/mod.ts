/**
 * Spack's mirror configuration without Spack: load the merged `mirrors` configuration of the
 * site, user and environment scopes, resolve a mirror name to a URL and credentials (secrets
 * only from environment variables), edit a scope file or `spack.yaml` as `spack mirror
 * add|set|set-url|remove` do while keeping the user's comments and formatting, and read
 * Stackinator's `mirrors.yaml`.
 *
 * Source: Spack build cache format reference §5 and §7.
 *
 * @example
 * ```ts
 * import { loadMirrorsConfig, resolveMirror } from "@spackle/spackle/config";
 * const config = await loadMirrorsConfig({ envFile: "./spack.yaml" });
 * const { url, credentials } = resolveMirror("my-cache", config, "push");
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
export * from "./load.ts";
export * from "./resolve.ts";
export * from "./list.ts";
export * from "./edit.ts";
export * from "./stackinator.ts";
export * from "./open.ts";
