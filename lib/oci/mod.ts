/**
 * Where OCI images live: one {@link ImageRepository} interface over a registry repository or an
 * OCI image-layout directory, the image locations users write (`oci://`, `oci+http://`,
 * `oci-layout:PATH[:TAG]`, bare references), and registry housekeeping in crane's terms: tags,
 * digests, deletion, the catalog, and digest-preserving copies of images and indexes.
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
