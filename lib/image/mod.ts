/**
 * Container images from build caches: {@link composeImage} puts specs already in a cache onto a
 * base image (one layer per spec, the cache's tarballs reused by digest), and the pieces it is
 * made of: base image resolution, image configs and manifests in OCI or Docker format, the
 * layer order of a spec closure, layer squashing.
 *
 * @example
 * ```ts
 * import { composeImage, imageTarget } from "@spackle/spackle/image";
 * import { openMirror } from "@spackle/spackle";
 * const mirror = await openMirror("./buildcache");
 * const image = await composeImage({
 *   base: "debian:12",
 *   mirror,
 *   specs: await mirror.listSpecs(),
 *   target: imageTarget("./images", "all"),
 * });
 * ```
 *
 * @module
 */
export * from "./base.ts";
export * from "./compose.ts";
export * from "./config.ts";
export * from "./errors.ts";
export * from "./location.ts";
export * from "./manifest.ts";
export * from "./order.ts";
export * from "./platform.ts";
export * from "./squash.ts";
export * from "./tarball.ts";
export type * from "./types.ts";
