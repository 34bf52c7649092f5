/**
 * A build cache in an OCI registry, the way Spack 1.2 lays it out: one image per spec tagged
 * `<name>-<version>-<hash>.spack` (config = the spec file, last layer = the package tarball)
 * and an `index.spack` image whose single layer is the cache index
 * (build cache format reference §4).
 *
 * @module
 */
import { forEachConcurrently } from "../concurrency.ts";
import { FormatError, NotFoundError } from "../errors.ts";
import { checkEntrySpec } from "../buildcache/identity.ts";
import { IndexBuilder, type IndexRecord, parseIndex } from "../buildcache/index.ts";
import { parseSpecBlob } from "../buildcache/spec_blob.ts";
import {
  DOCKER_MANIFEST,
  formatOciMirrorUrl,
  OCI_MANIFEST,
  type RegistryClientOptions,
} from "../registry/mod.ts";
import {
  type ImageLocation,
  OCI_LAYOUT_SCHEME,
  openImageRepository,
  parseImageLocation,
} from "../oci/open.ts";
import type { ImageRepository } from "../oci/repository.ts";
import { type BaseImage, resolveBaseImage } from "../oci/image/base.ts";
import { imageConfig, imageCreated } from "../oci/image/config.ts";
import { imageManifest as formatManifest } from "../oci/image/manifest.ts";
import { type ImagePlatform, specsPlatform } from "../oci/image/platform.ts";
import { inspectPackageTarball } from "../oci/image/tarball.ts";
import type { ImageLayer } from "../oci/image/types.ts";
import { copyBlob, repositoryBlob } from "../oci/_blob_copy.ts";
import { compactJson } from "../spec/json.ts";
import { type ConcreteSpec, shortSpec, specFromNodes, type SpecNode } from "../spec/spec.ts";
import { sha256Hex } from "../stream/digest.ts";
import { readAll, streamOf } from "../stream/io.ts";
import { verifyLength } from "../stream/limit.ts";
import { type LocalBlobCache, localCacheFor } from "./_local_cache.ts";
import type {
  CacheEntry,
  Mirror,
  PushedTarball,
  PushReceipt,
  UpdateIndexOptions,
} from "./types.ts";
import {
  archiveTimestamp,
  configDescriptor,
  describeSpec,
  descriptionAnnotation,
  EMPTY_CONFIG,
  EMPTY_CONFIG_DIGEST,
  hashFromSpecTag,
  type ImageManifest,
  imageManifest,
  INDEX_TAG,
  isSpecTag,
  type Layer,
  layerDescriptor,
  layeredDependencies,
  parseImageManifest,
  specConfigKeys,
  specImageConfig,
  specTag,
} from "./_oci_image.ts";

/** Options of {@link OciMirror}. */
export interface OciMirrorOptions {
  /** Settings of the registry client (credentials, retries, concurrency). */
  registry?: RegistryClientOptions;
  /**
   * `archive_timestamp` written into image configs. Default: `SOURCE_DATE_EPOCH` as UTC, else
   * `1970-01-01T00:00:00+00:00`, so pushing the same tarball twice yields the same image.
   */
  archiveTimestamp?: string;
  /** Called with non-fatal problems (an unreadable spec image skipped while listing). */
  onWarning?: (message: string) => void;
  /**
   * Base image of every pushed spec image (Spack's `--base-image`, §4.6): a reference such as
   * `ubuntu:24.04`, an `oci://`/`oci+http://` URL or `oci-layout:PATH:TAG`. Each spec image then
   * starts with the base's layers (copied into this repository), keeps the base's config with
   * `rootfs.diff_ids`, `history` and `Env` PATH (the specs' `bin` directories) extended, and
   * the base's manifest format (Docker media types for a Docker base). An index resolves to
   * the entry for the spec's architecture.
   */
  baseImage?: string | ImageLocation;
  /**
   * Recompute the DAG hashes of spec images from their config (default true; see
   * `checkEntrySpec`). False trusts the stored hashes; the tag and request must still agree.
   */
  verifySpecHashes?: boolean;
  /** Spec images read at once when scanning the repository (default 8). */
  jobs?: number;
  /**
   * How long (ms) {@link OciMirror.updateIndex} waits after tagging `index.spack` before reading
   * the tag back to see whether another writer replaced it (default 250).
   */
  indexSettleMs?: number;
  /**
   * Directory keeping the `index.spack` layers and spec configs downloaded from registries by
   * digest, so an unchanged cache is listed by reading the index manifest only; `false` for
   * none. Default: `$SPACKLE_CACHE_DIR` when set, else none.
   */
  localCache?: string | false;
}

/** Spec images read at once while scanning, unless told otherwise. */
const DEFAULT_JOBS = 8;
/** Rounds of write, wait, re-read and merge of `index.spack` while other writers replace it. */
const INDEX_ROUNDS = 8;

// Spack's reader asks for single manifests only (§4.9).
const SPEC_MANIFEST_TYPES = [OCI_MANIFEST, DOCKER_MANIFEST];

/** A spec image as read back: its manifest and the spec file in its config. */
interface SpecImage {
  manifest: ImageManifest;
  spec: ConcreteSpec;
  /** The spec's own tarball layer (`layers[-1]`, `rootfs.diff_ids[-1]`). */
  layer: Layer;
}

/**
 * {@link Mirror} over an OCI registry repository, for `oci://host[:port]/repo` (HTTPS) and
 * `oci+http://host[:port]/repo` (plain HTTP) URLs (build cache format reference §4).
 *
 * @example
 * ```ts
 * import { OciMirror } from "@spackle/spackle/mirror";
 * const mirror = new OciMirror("oci+http://127.0.0.1:5000/spack/cache");
 * for (const spec of await mirror.listSpecs()) console.log(spec.node.name);
 * ```
 */
export class OciMirror implements Mirror {
  /** Always true: whether the registry grants push rights shows only on the first upload. */
  readonly writable = true;
  /** See {@link Mirror.url}: `oci://` or `oci+http://` with host and repository, or `oci-layout:PATH`. */
  readonly url: string;
  readonly #repo: ImageRepository;
  readonly #timestamp: string;
  readonly #warn: (message: string) => void;
  readonly #registry: RegistryClientOptions;
  readonly #baseImage?: string | ImageLocation;
  readonly #rehash: boolean;
  readonly #jobs: number;
  readonly #settleMs: number;
  readonly #localCache?: LocalBlobCache;
  // Blobs known to be in the repository (pushed or seen in this session): not asked for again.
  readonly #knownBlobs = new Set<string>();
  // Nodes of the specs tagged through this instance, by DAG hash (one table, no per-spec DAGs):
  // the next index update takes them from here instead of reading their images back.
  readonly #pushedNodes = new Map<string, SpecNode>();
  // Own layers of dependencies found in the repository, by DAG hash: each image is read once.
  readonly #foundLayers = new Map<string, Promise<Layer | undefined>>();
  // Base images resolved and copied into this repository, by architecture.
  readonly #bases = new Map<string, Promise<BaseImage>>();
  // Install prefixes of packages layered on a base image, by DAG hash (for PATH).
  readonly #prefixes = new Map<string, Promise<string>>();
  // Own layers of the specs pushed through this instance, by DAG hash.
  readonly #pushed = new Map<string, Layer>();
  // Specs pushed through this instance whose image lacks a dependency layer (pushed
  // concurrently): re-tagged once that dependency arrives.
  readonly #incomplete = new Map<string, { spec: ConcreteSpec; layer: Layer }>();

  /**
   * Opens the mirror at `url`; nothing is fetched until the first call.
   *
   * @throws {FormatError} when `url` is not an `oci://`, `oci+http://` or `oci-layout:` location.
   */
  constructor(url: string, options: OciMirrorOptions = {}) {
    const location = parseImageLocation(url);
    this.url = location.kind === "layout"
      ? `${OCI_LAYOUT_SCHEME}${location.path}`
      : formatOciMirrorUrl(location);
    this.#repo = openImageRepository(location, options.registry);
    this.#timestamp = options.archiveTimestamp ?? archiveTimestamp();
    this.#warn = options.onWarning ?? (() => {});
    this.#registry = options.registry ?? {};
    this.#baseImage = options.baseImage;
    this.#rehash = options.verifySpecHashes ?? true;
    this.#jobs = options.jobs ?? DEFAULT_JOBS;
    this.#settleMs = options.indexSettleMs ?? 250;
    this.#localCache = localCacheFor(options.localCache, this.url);
  }

  /** The registry repository or layout directory holding the images. */
  get repository(): ImageRepository {
    return this.#repo;
  }

  #where(ref: string): string {
    return `${this.#repo.location}${ref.startsWith("sha256:") ? "@" : ":"}${ref}`;
  }

  /**
   * See {@link Mirror.fetchBlob}: the registry verifies the digest while streaming, and the
   * descriptor's `size`, when given, bounds what is read.
   */
  async fetchBlob(digest: string, size?: number): Promise<ReadableStream<Uint8Array>> {
    const blob = await this.#repo.getBlob(digest);
    return size === undefined ? blob : blob.pipeThrough(verifyLength(size, this.#where(digest)));
  }

  async #readBlob(digest: string, size?: number): Promise<Uint8Array> {
    const download = async () => await readAll(await this.fetchBlob(digest, size));
    if (!this.#localCache || !digest.startsWith("sha256:")) return await download();
    return await this.#localCache.through(digest.slice("sha256:".length), download);
  }

  /**
   * See {@link Mirror.listSpecs}: from `index.spack` (for `oci+http` too, unlike Spack), else
   * from the config of every spec tag. An absent repository throws `MirrorNotFoundError`.
   */
  async listSpecs(): Promise<ConcreteSpec[]> {
    let manifest: ImageManifest;
    try {
      const fetched = await this.#repo.getManifest(INDEX_TAG, [OCI_MANIFEST]);
      manifest = parseImageManifest(fetched.bytes, this.#where(INDEX_TAG));
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      return (await this.#scan()).map((image) => image.spec);
    }
    const { digest, size } = manifest.layers[0];
    const text = new TextDecoder().decode(await this.#readBlob(digest, size));
    const records = parseIndex(text, this.#where(digest));
    const pool = new Map([...records].map(([hash, r]) => [hash, r.node]));
    return [...records].filter(([, r]) => r.inBuildcache).map(([hash]) =>
      specFromNodes(hash, pool)
    );
  }

  /** Every readable spec image, in tag order. */
  async #scan(): Promise<SpecImage[]> {
    const tags = (await this.#repo.listTags()).filter(isSpecTag).sort();
    const images: (SpecImage | undefined)[] = new Array(tags.length);
    await this.#readImages(tags, this.#jobs, (image, i) => images[i] = image);
    return images.filter((i): i is SpecImage => i !== undefined);
  }

  /**
   * Reads the spec images `tags`, `jobs` at a time, handing each readable one to `found`; an
   * unreadable one is skipped with a warning.
   */
  async #readImages(
    tags: readonly string[],
    jobs: number,
    found: (image: SpecImage, index: number) => void,
  ): Promise<void> {
    await forEachConcurrently(tags.length, jobs, async (i) => {
      try {
        found(await this.#readImage(tags[i]), i);
      } catch (e) {
        this.#warn(`unable to read spec image ${this.#where(tags[i])}: ${(e as Error).message}`);
      }
    });
  }

  /**
   * Manifest and verified config of spec image `tag`, checked to hold the spec the tag names
   * and, when given, `wanted`.
   *
   * @throws {NotFoundError} when the tag is absent.
   * @throws {FormatError} when the image is not a spec image.
   * @throws {SpecMismatchError} when it holds another spec.
   */
  async #readImage(tag: string, wanted?: SpecNode): Promise<SpecImage> {
    const source = this.#where(tag);
    const fetched = await this.#repo.getManifest(tag, SPEC_MANIFEST_TYPES);
    const manifest = parseImageManifest(fetched.bytes, source);
    const configBytes = await this.#readBlob(manifest.config.digest, manifest.config.size);
    const configText = new TextDecoder().decode(configBytes);
    const spec = parseSpecBlob(configText, this.#where(manifest.config.digest));
    checkEntrySpec(spec, {
      key: source,
      keyHash: hashFromSpecTag(tag),
      wanted,
      rehash: this.#rehash,
    });
    const diffIds = (JSON.parse(configText) as { rootfs?: { diff_ids?: unknown } }).rootfs
      ?.diff_ids;
    const own = manifest.layers[manifest.layers.length - 1];
    const diffId = Array.isArray(diffIds) ? diffIds[diffIds.length - 1] : undefined;
    if (typeof diffId !== "string") throw new FormatError(source, "config has no rootfs.diff_ids");
    return { manifest, spec, layer: { digest: own.digest, size: own.size, diffId } };
  }

  /**
   * The image of `node`, or `undefined` when its tag is absent.
   *
   * @throws {SpecMismatchError} when the tag holds another spec.
   */
  async #findImage(node: SpecNode): Promise<SpecImage | undefined> {
    try {
      return await this.#readImage(specTag(node), node);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  /**
   * The package tarball layer of `node`'s spec image: `layers[-1]` with `rootfs.diff_ids[-1]`
   * (§4.9), or `undefined` when the cache has no image for it.
   */
  async specLayer(node: SpecNode): Promise<ImageLayer | undefined> {
    return (await this.#findImage(node))?.layer;
  }

  /** See {@link Mirror.getEntry}: the spec file is the image config, the tarball `layers[-1]`. */
  async getEntry(spec: ConcreteSpec): Promise<CacheEntry | undefined> {
    const image = await this.#findImage(spec.node);
    if (!image) return undefined;
    return {
      spec: image.spec,
      layout: 3,
      tarball: { digest: image.layer.digest, size: image.layer.size },
      source: `${this.url}:${specTag(spec.node)}`,
    };
  }

  /** See {@link Mirror.openTarball}: digest and descriptor size checked. */
  openTarball(entry: CacheEntry): Promise<ReadableStream<Uint8Array>> {
    return this.fetchBlob(entry.tarball.digest, entry.tarball.size);
  }

  /** See {@link Mirror.hasSpec}: manifest and config readable, tarball layer present. */
  async hasSpec(node: SpecNode): Promise<boolean> {
    try {
      const image = await this.#findImage(node);
      if (image === undefined) return false;
      if (await this.#repo.headBlob(image.layer.digest) === undefined) return false;
      this.#knownBlobs.add(image.layer.digest);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * See {@link Mirror.pushSpec}: uploads the tarball layer (skipped when present), then the
   * image config and the manifest tagged with the spec tag. Dependency layers come first, taken
   * from this push session or from the dependencies' images in the registry (§4.3, §4.4).
   */
  async pushSpec(spec: ConcreteSpec, tarball: PushedTarball): Promise<PushReceipt[]> {
    const layer: Layer = {
      digest: `sha256:${tarball.sha256}`,
      size: tarball.size,
      diffId: `sha256:${tarball.diffId}`,
    };
    const uploaded = this.#pushBlob(
      layer.digest,
      layer.size,
      () => Deno.openSync(tarball.path).readable,
    );
    // Awaited below; this keeps a failure elsewhere first from leaving it unhandled.
    uploaded.catch(() => {});
    // Spec images on a base read layers back from the repository: the tarball goes first.
    if (this.#baseImage !== undefined) await uploaded;
    if (this.#baseImage !== undefined) {
      // The local file is at hand: read the prefix there rather than from the registry.
      const file = await Deno.open(tarball.path);
      this.#remember(
        this.#prefixes,
        spec.node.hash,
        inspectPackageTarball(file.readable, tarball.path).then((info) => info.prefix),
      );
    }
    // The config uploads while the tarball does; the manifest waits for both.
    const receipts = [await this.#tagImage(spec, layer, uploaded)];
    this.#pushed.set(spec.node.hash, layer);
    for (const [hash, node] of spec.nodes) this.#pushedNodes.set(hash, node);
    // Dependents pushed before this spec get their missing layer now, and a new digest.
    for (const waiting of [...this.#incomplete.values()]) {
      if (waiting.spec.nodes.has(spec.node.hash)) {
        receipts.push(await this.#tagImage(waiting.spec, waiting.layer));
      }
    }
    return receipts;
  }

  /** Writes the spec image of `spec` under its tag. */
  async #tagImage(
    spec: ConcreteSpec,
    layer: Layer,
    uploaded: Promise<void> = Promise.resolve(),
  ): Promise<PushReceipt> {
    const digest = await this.#putSpecImage(spec, layer, uploaded);
    return { spec: shortSpec(spec.node), reference: this.#where(specTag(spec.node)), digest };
  }

  /**
   * Puts the manifest (and config) of the image of `spec`, once `uploaded` (its tarball layer)
   * resolves; returns the manifest digest.
   */
  async #putSpecImage(spec: ConcreteSpec, layer: Layer, uploaded: Promise<void>): Promise<string> {
    const deps = layeredDependencies(spec);
    const found = await Promise.all(
      deps.map((d) => this.#pushed.get(d.hash) ?? this.#dependencyLayer(d)),
    );
    // Checked and recorded without an await in between, so a dependency whose push ends
    // meanwhile either is seen here or sees this spec in #incomplete.
    const layers = deps.map((d, i) => found[i] ?? this.#pushed.get(d.hash));
    if (layers.some((l) => l === undefined)) this.#incomplete.set(spec.node.hash, { spec, layer });
    else this.#incomplete.delete(spec.node.hash);
    const nodes = [...deps.filter((_, i) => layers[i] !== undefined), spec.node];
    const all = [...layers.filter((l): l is Layer => l !== undefined), layer];
    if (this.#baseImage !== undefined) return await this.#tagOnBase(spec, nodes, all);

    const config = specImageConfig(spec, all, this.#timestamp);
    const configDigest = `sha256:${sha256Hex(config)}`;
    await Promise.all([
      uploaded,
      this.#pushBlob(configDigest, config.length, () => streamOf(config)),
    ]);
    const manifest = imageManifest(
      configDescriptor(configDigest, config.length),
      all.map((l) => layerDescriptor(l.digest, l.size)),
      describeSpec(spec.node),
    );
    return await this.#repo.putManifest(specTag(spec.node), manifest, OCI_MANIFEST);
  }

  /**
   * Tags the image of `spec` built on the base image (§4.6): base layers first, then `layers`
   * (of `nodes`, the spec's last); the config is the base's, extended, plus the spec keys.
   */
  async #tagOnBase(spec: ConcreteSpec, nodes: SpecNode[], layers: Layer[]): Promise<string> {
    const platform = specsPlatform([spec.node]);
    const base = await this.#base(platform);
    const prefixes = await Promise.all(
      nodes.map((node, i) => this.#prefixOf(node, layers[i])),
    );
    const image = imageConfig({
      base: base.config,
      baseLayers: base.layers.length,
      platform,
      added: nodes.map((node, i) => ({
        diffId: layers[i].diffId,
        createdBy: `spackle push ${shortSpec(node)}`,
      })),
      path: prefixes.map((prefix) => `${prefix}/bin`).reverse(),
      created: imageCreated(base.config),
    });
    const config = new TextEncoder().encode(compactJson({
      ...image,
      ...specConfigKeys(spec, layers[layers.length - 1], this.#timestamp),
    }));
    const configDigest = `sha256:${sha256Hex(config)}`;
    await this.#pushBlob(configDigest, config.length, () => streamOf(config));
    const manifest = formatManifest({
      mediaType: base.format.manifest,
      config: { mediaType: base.format.config, digest: configDigest, size: config.length },
      layers: [
        ...base.layers,
        ...layers.map((l) => ({ mediaType: base.format.layer, digest: l.digest, size: l.size })),
      ],
      annotations: descriptionAnnotation(describeSpec(spec.node)),
    });
    return await this.#repo.putManifest(specTag(spec.node), manifest, base.format.manifest);
  }

  /**
   * The own layer of dependency `node` from its image in the repository (`undefined` when it
   * has none yet), read once per session unless it was absent.
   */
  #dependencyLayer(node: SpecNode): Promise<Layer | undefined> {
    const known = this.#foundLayers.get(node.hash);
    if (known) return known;
    const found = this.#findImage(node).then((image) => image?.layer);
    this.#foundLayers.set(node.hash, found);
    found.then((layer) => layer ?? this.#foundLayers.delete(node.hash), () => {
      this.#foundLayers.delete(node.hash);
    });
    return found;
  }

  /** Pushes a blob unless this session already knows the repository has it. */
  async #pushBlob(
    digest: string,
    size: number,
    body: () => ReadableStream<Uint8Array>,
  ): Promise<void> {
    if (this.#knownBlobs.has(digest)) return;
    await this.#repo.pushBlob(digest, size, body);
    this.#knownBlobs.add(digest);
  }

  /** The base image for `platform`, resolved once and copied into this repository. */
  #base(platform: ImagePlatform): Promise<BaseImage> {
    return this.#bases.get(platform.architecture) ?? this.#remember(
      this.#bases,
      platform.architecture,
      resolveBaseImage(this.#baseImage!, platform, this.#registry).then(async (image) => {
        await Promise.all(
          image.layers.map((l) =>
            copyBlob(this.#repo, l.digest, l.size, repositoryBlob(image.repository!, l.digest))
          ),
        );
        return image;
      }),
    );
  }

  /**
   * Install prefix of `node`, from its tarball `layer` (read once). The layer goes into a runnable
   * image unchanged, so every member is checked, not only the head.
   */
  #prefixOf(node: SpecNode, layer: Layer): Promise<string> {
    return this.#prefixes.get(node.hash) ?? this.#remember(
      this.#prefixes,
      node.hash,
      this.#repo.getBlob(layer.digest)
        .then((blob) => inspectPackageTarball(blob, this.#where(layer.digest), { whole: true }))
        .then((info) => info.prefix),
    );
  }

  /** Caches `promise` under `key` until it fails, so a failure is retried by the next spec. */
  #remember<T>(cache: Map<string, Promise<T>>, key: string, promise: Promise<T>): Promise<T> {
    cache.set(key, promise);
    promise.catch(() => cache.delete(key));
    return promise;
  }

  /**
   * See {@link Mirror.updateIndex}: brings `index.spack` up to date with the spec tags (§4.8):
   * the index JSON as its single layer, the config `{}`. Entries of the current index whose
   * tags are still there are kept, the other spec images are read (`jobs` at a time).
   *
   * Registries have no compare-and-swap on tags, so after tagging, the update waits
   * `indexSettleMs` and reads the tag back; when another writer's index replaced it, the update
   * merges again from that index (up to 8 rounds). What remains: a writer that listed the tags
   * before this one's spec images were tagged, and tags its index after this one's read-back,
   * drops this one's new specs from the index until the next update (the images stay).
   */
  async updateIndex(options: UpdateIndexOptions = {}): Promise<number> {
    const jobs = options.jobs ?? this.#jobs;
    let full = options.full ?? false;
    for (let round = 1;; round++) {
      const current = await this.#currentIndex(full);
      const builder = await this.#collect(current.records, jobs);
      const written = await this.#putIndex(builder.text(), current.digest);
      if (written === current.digest) return builder.size;
      await new Promise((r) => setTimeout(r, this.#settleMs));
      if ((await this.#currentIndex(true)).digest === written) return builder.size;
      if (round === INDEX_ROUNDS) {
        this.#warn(
          `${this.#where(INDEX_TAG)} was replaced by other writers ${round} times during this ` +
            "update; it may lack specs until the next update-index",
        );
        return builder.size;
      }
      full = false;
    }
  }

  /**
   * The digest of the `index.spack` manifest and, unless `digestOnly`, its records (none when
   * absent or unreadable: then every spec image is read).
   */
  async #currentIndex(
    digestOnly: boolean,
  ): Promise<{ records?: Map<string, IndexRecord>; digest?: string }> {
    let digest: string | undefined;
    try {
      const fetched = await this.#repo.getManifest(INDEX_TAG, [OCI_MANIFEST]);
      digest = fetched.digest;
      if (digestOnly) return { digest };
      const { digest: layer, size } = parseImageManifest(fetched.bytes, this.#where(INDEX_TAG))
        .layers[0];
      const text = new TextDecoder().decode(await this.#readBlob(layer, size));
      return { records: parseIndex(text, this.#where(layer)), digest };
    } catch (e) {
      if (e instanceof NotFoundError) return { digest };
      this.#warn(
        `unable to read the current index, reading every spec image: ${(e as Error).message}`,
      );
      return { digest };
    }
  }

  /**
   * The index of the spec tags listed now: entries of `records` kept, specs pushed through this
   * instance taken as pushed, other images read.
   */
  async #collect(
    records: ReadonlyMap<string, IndexRecord> | undefined,
    jobs: number,
  ): Promise<IndexBuilder> {
    const builder = new IndexBuilder();
    const unread: string[] = [];
    for (const tag of (await this.#repo.listTags()).filter(isSpecTag).sort()) {
      const pushed = { roots: this.#pushed, nodes: this.#pushedNodes };
      if (!builder.addKnown(tag, hashFromSpecTag(tag), records, pushed)) unread.push(tag);
    }
    await this.#readImages(unread, jobs, (image, i) => {
      builder.add(unread[i], image.spec.node, image.spec.nodes.values());
    });
    return builder;
  }

  /**
   * Tags `text` as `index.spack` unless the manifest would be `current` (the digest there now);
   * returns the manifest digest.
   */
  async #putIndex(text: string, current: string | undefined): Promise<string> {
    const index = new TextEncoder().encode(text);
    const indexDigest = `sha256:${sha256Hex(index)}`;
    const manifest = imageManifest(
      configDescriptor(EMPTY_CONFIG_DIGEST, EMPTY_CONFIG.length),
      [layerDescriptor(indexDigest, index.length)],
    );
    const digest = `sha256:${sha256Hex(manifest)}`;
    if (digest === current) return digest;
    await this.#pushBlob(indexDigest, index.length, () => streamOf(index));
    await this.#pushBlob(EMPTY_CONFIG_DIGEST, EMPTY_CONFIG.length, () => streamOf(EMPTY_CONFIG));
    return await this.#repo.putManifest(INDEX_TAG, manifest, OCI_MANIFEST);
  }
}
