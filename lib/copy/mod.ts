/**
 * Copying build cache entries between caches of any backend (directory, OCI registry, OCI image
 * layout), tarball blobs unchanged: {@link copySpecs}.
 *
 * @example
 * ```ts
 * import { copySpecs, openMirror } from "@spackle/spackle";
 * await copySpecs(await openMirror("oci://ghcr.io/acme/cache"), await openMirror("./cache"));
 * ```
 *
 * @module
 */
export { CopyError, type CopyOptions, type CopyResult, copySpecs } from "./copy.ts";
