/**
 * Media types of OCI and Docker v2 manifests, indexes, configs and layers, as exact strings
 * (registries and Spack match them byte for byte).
 *
 * Source: OCI image spec (media-types.md), Docker image manifest v2 schema 2, Spack build cache
 * format reference §4.3 and §4.6.
 *
 * @module
 */

/** OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image index (multi-platform list, also the referrers API response). */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** OCI image config. */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** OCI gzip-compressed tar layer (also what Spack labels its `index.spack` JSON layer). */
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
/** OCI empty descriptor (`{}`), used as the config of artifacts. */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
/** Docker image manifest v2, schema 2. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker manifest list (multi-platform). */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Docker image config. */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** Docker gzip-compressed tar layer. */
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/** The four manifest and index types Spack accepts when reading an image (reference §4.6, §4.9). */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  OCI_MANIFEST,
  DOCKER_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST_LIST,
];
