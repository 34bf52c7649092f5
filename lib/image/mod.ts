/**
 * Container images from build caches: {@link composeImage} puts specs already in a cache onto a
 * base image (one layer per spec, the cache's tarballs reused by digest), and the pieces it is
 * made of: layer squashing here, and, re-exported from the image model of
 * `@spackle/spackle/oci`, base image resolution, image configs and manifests in OCI or Docker
 * format, the layer order of a spec closure.
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
export * from "./compose.ts";
export * from "./errors.ts";
export * from "./location.ts";
export * from "./squash.ts";
export { DEFAULT_IMAGE_TAG, formatImageLocation } from "../oci/open.ts";
export * from "../oci/image/base.ts";
export * from "../oci/image/config.ts";
export * from "../oci/image/errors.ts";
export * from "../oci/image/manifest.ts";
export * from "../oci/image/order.ts";
export * from "../oci/image/platform.ts";
export * from "../oci/image/tarball.ts";
export type * from "../oci/image/types.ts";
