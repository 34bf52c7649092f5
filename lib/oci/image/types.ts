/**
 * Shapes shared by the image modules: layers and content descriptors.
 *
 * @module
 */

/** One gzip tar layer: the blob and the digest of the tar inside it (`diff_id`). */
export interface ImageLayer {
  /** `sha256:<hex>` of the gzip bytes (the blob digest). */
  readonly digest: string;
  /** Size of the gzip bytes. */
  readonly size: number;
  /** `sha256:<hex>` of the uncompressed tar (`rootfs.diff_ids` entry). */
  readonly diffId: string;
}

/** An OCI content descriptor as written in manifests (key order `mediaType, digest, size`). */
export interface ContentDescriptor {
  /** Media type of the referenced blob. */
  readonly mediaType: string;
  /** `sha256:<hex>` of the blob. */
  readonly digest: string;
  /** Blob size in bytes. */
  readonly size: number;
  /** Other fields (`annotations`, `urls`, `platform`, …), kept when copied from a base image. */
  readonly [key: string]: unknown;
}
