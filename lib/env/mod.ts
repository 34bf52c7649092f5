/**
 * Spack environments without Spack: read `spack.yaml` and `spack.lock` (lockfile versions 1 to 6)
 * into concrete roots, views and mirrors, and print the shell code that activates an
 * environment's view.
 *
 * @example
 * ```ts
 * import { activationScript, openEnvironment } from "./mod.ts";
 * const env = await openEnvironment("./myenv");
 * console.log(env.roots.map((r) => r.spec), env.defaultView?.root);
 * const code = await activationScript({ envDir: env.dir, view: env.defaultView, shell: "sh", env: Deno.env });
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./lockfile.ts";
export * from "./environment.ts";
export * from "./prefix_inspections.ts";
export * from "./activate.ts";
export * from "./install.ts";
