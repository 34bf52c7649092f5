/**
 * Where OCI images live: one {@link ImageRepository} interface over a registry repository or an
 * OCI image-layout directory, the image locations users write (`oci://`, `oci+http://`,
 * `oci-layout:PATH[:TAG]`, bare references), and registry housekeeping in crane's terms: tags,
 * digests, deletion, the catalog, and digest-preserving copies of images and indexes; and the
 * image model both build caches and composed images are made of: manifests and configs in OCI
 * or Docker format, platforms, base image resolution, the layer order of a spec closure, and
 * the inspection of a package tarball used as a layer.
 *
 * @example
 * ```ts
 * import { openImageRepository, parseImageLocation } from "@spackle/spackle/oci";
 * const repo = openImageRepository(parseImageLocation("oci-layout:./images"));
 * console.log(await repo.listTags());
 * ```
 *
 * @module
 */
export * from "./repository.ts";
export * from "./layout.ts";
export * from "./open.ts";
export * from "./housekeeping.ts";
export * from "./copy_image.ts";
export * from "./image/base.ts";
export * from "./image/config.ts";
export * from "./image/errors.ts";
export * from "./image/manifest.ts";
export * from "./image/order.ts";
export * from "./image/platform.ts";
export * from "./image/tarball.ts";
export type * from "./image/types.ts";
