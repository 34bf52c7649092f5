// Pieces of Spack's OCI build cache images (build cache format reference §4.2–§4.4, §4.6, §4.8):
// tags, image configs, manifests and the `index.spack` image. Pure functions, no I/O.

import { FormatError } from "../errors.ts";
import { imageManifest as formatManifest } from "../oci/image/manifest.ts";
import { imageLayerOrder } from "../oci/image/order.ts";
import { goArch } from "../oci/image/platform.ts";
import type { ContentDescriptor, ImageLayer } from "../oci/image/types.ts";
import { OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST } from "../registry/media_types.ts";
import { compactJson } from "../spec/json.ts";
import { type ConcreteSpec, type SpecNode, toSpecFile } from "../spec/spec.ts";

/** Tag of the index image. */
export const INDEX_TAG = "index.spack";

/** The 2-byte config `{}` of the index image, and its digest (§4.8). */
export const EMPTY_CONFIG = new TextEncoder().encode("{}");
/** `sha256:` digest of {@link EMPTY_CONFIG}. */
export const EMPTY_CONFIG_DIGEST =
  "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/** One image layer: the gzip blob and the sha256 of the tar inside (`diff_id`). */
export type Layer = ImageLayer;

/** A manifest descriptor as Spack writes it (key order `mediaType, digest, size`). */
type Descriptor = ContentDescriptor;

/** The fields of an image manifest this module reads. */
export interface ImageManifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

/**
 * Spack's `ensure_valid_tag(f"{name}-{version}-{hash}.spack")`: characters outside `[\w.-]`
 * become `_`; over 128 characters, the first 64 and last 64 are kept (§4.2).
 */
export function specTag(node: SpecNode): string {
  const tag = `${node.name}-${node.version ?? ""}-${node.hash}.spack`
    .replace(/[^\p{L}\p{N}_.-]/gu, "_");
  return tag.length > 128 ? tag.slice(0, 64) + tag.slice(-64) : tag;
}

/**
 * The DAG hash a spec tag names: the 32 characters before `.spack` (kept by the shortening of
 * {@link specTag}, which keeps the last 64 characters).
 */
export function hashFromSpecTag(tag: string): string {
  return tag.slice(-".spack".length - 32, -".spack".length);
}

/** Whether `tag` names a spec image: ends with `.spack` and is not the index (§4.2). */
export function isSpecTag(tag: string): boolean {
  return tag.endsWith(".spack") && tag !== INDEX_TAG;
}

/**
 * The link/run dependencies of `spec` that get a layer, dependencies first, root excluded,
 * externals dropped (§4.4).
 */
export function layeredDependencies(spec: ConcreteSpec): SpecNode[] {
  return imageLayerOrder([spec]).filter((node) => node.hash !== spec.node.hash);
}

/** Spack's default ISO timestamp for `archive_timestamp`: from `SOURCE_DATE_EPOCH`, else 0. */
export function archiveTimestamp(): string {
  const epoch = Number(Deno.env.get("SOURCE_DATE_EPOCH") ?? 0);
  const date = new Date((Number.isFinite(epoch) ? epoch : 0) * 1000);
  // Python's isoformat(): seconds, then `+00:00` for UTC.
  return date.toISOString().replace(/\.000Z$/, "+00:00").replace(/Z$/, "+00:00");
}

/**
 * The image config of a spec image (§4.3): Spack's default config for the spec's architecture,
 * `rootfs.diff_ids` in layer order, `config.Env` with the default `PATH`, then the spec file
 * merged at top level. Compact JSON bytes.
 */
export function specImageConfig(
  spec: ConcreteSpec,
  layers: readonly Layer[],
  timestamp: string,
): Uint8Array {
  return new TextEncoder().encode(compactJson({
    architecture: goArch(spec.node),
    os: "linux",
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    config: { Env: ["PATH=/bin:/usr/bin"] },
    ...specConfigKeys(spec, layers[layers.length - 1], timestamp),
  }));
}

/**
 * The keys a spec image config adds at top level, after the image config proper (§4.3): the
 * spec file, the layout version and the description of the spec's own tarball layer `own`.
 */
export function specConfigKeys(
  spec: ConcreteSpec,
  own: Layer,
  timestamp: string,
): Record<string, unknown> {
  return {
    spec: toSpecFile(spec).spec,
    buildcache_layout_version: 3,
    binary_cache_checksum: { hash_algorithm: "sha256", hash: own.digest.slice("sha256:".length) },
    archive_size: own.size,
    archive_timestamp: timestamp,
    archive_compression: "gzip",
  };
}

/** An OCI manifest in Spack's key order; `annotations` only when given (§4.3, §4.8). */
export function imageManifest(
  config: Descriptor,
  layers: readonly Descriptor[],
  description?: string,
): Uint8Array {
  return formatManifest({
    mediaType: OCI_MANIFEST,
    config,
    layers,
    annotations: description === undefined ? undefined : descriptionAnnotation(description),
  });
}

/** The manifest annotation Spack writes on spec images: the spec's `format()` (§4.3). */
export function descriptionAnnotation(description: string): Record<string, string> {
  return { "org.opencontainers.image.description": description };
}

/** Descriptor of an image config blob. */
export function configDescriptor(digest: string, size: number): Descriptor {
  return { mediaType: OCI_CONFIG, digest, size };
}

/** Descriptor of a gzip layer (also the media type of the `index.spack` JSON layer). */
export function layerDescriptor(digest: string, size: number): Descriptor {
  return { mediaType: OCI_LAYER_GZIP, digest, size };
}

const FLAG_KEYS = ["cflags", "cppflags", "cxxflags", "fflags", "ldflags", "ldlibs"];

/**
 * An approximation of Spack's `spec.format()` for the image description annotation:
 * `name@=version`, compiler flags, boolean variants, then `key=value` variants sorted by name,
 * then `platform= os= target=`.
 */
export function describeSpec(node: SpecNode): string {
  const params = node.parameters ?? {};
  let text = `${node.name}${node.version === undefined ? "" : `@=${node.version}`}`;
  for (const key of FLAG_KEYS) {
    const flags = params[key];
    if (Array.isArray(flags) && flags.length) text += ` ${key}=${quote(flags.join(" "))}`;
  }
  const names = Object.keys(params).filter((k) => !FLAG_KEYS.includes(k)).sort();
  for (const key of names) {
    if (typeof params[key] === "boolean") text += `${params[key] ? "+" : "~"}${key}`;
  }
  for (const key of names) {
    const value = params[key];
    if (typeof value === "boolean") continue;
    text += ` ${key}=${Array.isArray(value) ? value.join(",") : String(value)}`;
  }
  const arch = node.arch;
  if (arch) {
    const target = typeof arch.target === "string" ? arch.target : arch.target.name;
    text += ` platform=${arch.platform} os=${arch.platform_os} target=${target}`;
  }
  return text;
}

function quote(value: string): string {
  return /\s/.test(value) ? JSON.stringify(value) : value;
}

/**
 * Parses a spec image manifest and checks it has a config and at least one layer.
 *
 * @throws {FormatError} naming `source`.
 */
export function parseImageManifest(bytes: Uint8Array, source: string): ImageManifest {
  let doc: ImageManifest;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new FormatError(source, `malformed manifest JSON: ${(e as Error).message}`);
  }
  if (
    typeof doc?.config?.digest !== "string" || !Array.isArray(doc.layers) ||
    doc.layers.length === 0 || typeof doc.layers[doc.layers.length - 1]?.digest !== "string"
  ) {
    throw new FormatError(source, "not an image manifest with a config and layers");
  }
  return doc;
}
