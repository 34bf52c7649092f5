/**
 * Where OCI images live: one {@link ImageRepository} interface over a registry repository or an
 * OCI image-layout directory, and the image locations users write (`oci://`, `oci+http://`,
 * `oci-layout:PATH[:TAG]`, bare references).
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
