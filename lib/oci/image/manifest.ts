/**
 * Image manifests in either of the two formats registries serve: OCI image manifests and
 * Docker v2 schema 2. An image keeps the format of its base throughout, since some runtimes
 * (Apptainer) refuse a manifest that mixes them (build cache format reference §4.3).
 *
 * @module
 */
import { FormatError } from "../../errors.ts";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
} from "../../registry/media_types.ts";
import { compactJson } from "../../spec/json.ts";
import type { ImagePlatform } from "./platform.ts";
import type { ContentDescriptor } from "./types.ts";

/** Media types of one manifest format: manifest, config and gzip layer. */
export interface ManifestFormat {
  /** Manifest media type. */
  readonly manifest: string;
  /** Config blob media type. */
  readonly config: string;
  /** Media type of gzip tar layers. */
  readonly layer: string;
}

/** OCI image manifest media types. */
export const OCI_FORMAT: ManifestFormat = {
  manifest: OCI_MANIFEST,
  config: OCI_CONFIG,
  layer: OCI_LAYER_GZIP,
};

/** Docker v2 schema 2 media types. */
export const DOCKER_FORMAT: ManifestFormat = {
  manifest: DOCKER_MANIFEST,
  config: DOCKER_CONFIG,
  layer: DOCKER_LAYER_GZIP,
};

/**
 * The format of manifest media type `mediaType`.
 *
 * @throws {FormatError} naming `source` for anything but an OCI or Docker image manifest.
 *
 * @example
 * ```ts
 * import { manifestFormat } from "@spackle/spackle/oci";
 * manifestFormat("application/vnd.oci.image.manifest.v1+json", "base"); // OCI_FORMAT
 * ```
 */
export function manifestFormat(mediaType: string, source: string): ManifestFormat {
  if (mediaType === OCI_MANIFEST) return OCI_FORMAT;
  if (mediaType === DOCKER_MANIFEST) return DOCKER_FORMAT;
  throw new FormatError(source, `not an image manifest (media type ${mediaType})`);
}

/** What {@link imageManifest} writes. */
export interface ImageManifestInput {
  /** The manifest media type ({@link ManifestFormat.manifest}). */
  readonly mediaType: string;
  /** Descriptor of the config blob. */
  readonly config: ContentDescriptor;
  /** Layer descriptors, bottom layer first. */
  readonly layers: readonly ContentDescriptor[];
  /** Manifest annotations; written for OCI manifests only (Docker's schema has none). */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * A manifest as compact JSON bytes, keys in Spack's order `mediaType, schemaVersion, config,
 * layers, annotations`; empty annotations are left out.
 *
 * @example
 * ```ts
 * import { imageManifest, OCI_FORMAT } from "@spackle/spackle/oci";
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * const bytes = imageManifest({
 *   mediaType: OCI_FORMAT.manifest,
 *   config: { mediaType: OCI_FORMAT.config, digest, size: 2 },
 *   layers: [],
 * });
 * ```
 */
export function imageManifest(input: ImageManifestInput): Uint8Array {
  const annotations = input.mediaType === OCI_MANIFEST && input.annotations &&
      Object.keys(input.annotations).length
    ? input.annotations
    : undefined;
  return new TextEncoder().encode(compactJson({
    mediaType: input.mediaType,
    schemaVersion: 2,
    config: input.config,
    layers: input.layers,
    annotations,
  }));
}

/** What {@link imageIndex} writes. */
export interface ImageIndexInput {
  /** `application/vnd.oci.image.index.v1+json` or Docker's manifest list type. */
  readonly mediaType: string;
  /** One descriptor per image manifest, with the platform it runs on. */
  readonly manifests: readonly (ContentDescriptor & { readonly platform: ImagePlatform })[];
  /** Index annotations; written for OCI indexes only. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * An image index (OCI) or manifest list (Docker) as compact JSON bytes, keys in the order
 * `schemaVersion, mediaType, manifests, annotations`; each entry `mediaType, digest, size,
 * platform` (`architecture, os`). Empty annotations are left out.
 *
 * @throws {FormatError} for a media type that is not an index or manifest list.
 *
 * @example
 * ```ts
 * import { imageIndex, OCI_FORMAT } from "@spackle/spackle/oci";
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * const bytes = imageIndex({
 *   mediaType: "application/vnd.oci.image.index.v1+json",
 *   manifests: [{
 *     mediaType: OCI_FORMAT.manifest,
 *     digest,
 *     size: 2,
 *     platform: { architecture: "arm64", os: "linux" },
 *   }],
 * });
 * ```
 */
export function imageIndex(input: ImageIndexInput): Uint8Array {
  if (input.mediaType !== OCI_INDEX && input.mediaType !== DOCKER_MANIFEST_LIST) {
    throw new FormatError("image index", `not an index media type: ${input.mediaType}`);
  }
  const annotations = input.mediaType === OCI_INDEX && input.annotations &&
      Object.keys(input.annotations).length
    ? input.annotations
    : undefined;
  return new TextEncoder().encode(compactJson({
    schemaVersion: 2,
    mediaType: input.mediaType,
    manifests: input.manifests.map((m) => ({
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.size,
      platform: { architecture: m.platform.architecture, os: m.platform.os },
    })),
    annotations,
  }));
}
