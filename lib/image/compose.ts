/**
 * `composeImage`: a runnable container image from specs already in a build cache, without
 * Docker and without installing anything: a base image, then one layer per spec (the package
 * tarballs of the cache, reused by digest), the sbang launcher and optionally a view, and a
 * config whose run environment is Spack's; specs of several platforms give an image index
 * (build cache format reference §4.4–§4.7).
 *
 * @module
 */
import { forEachConcurrently } from "../concurrency.ts";
import { join } from "node:path";
import { FormatError, NotFoundError, UsageError } from "../errors.ts";
import type { ProgressListener } from "../events.ts";
import { blameBlob } from "../mirror/blame.ts";
import { OciMirror } from "../mirror/oci.ts";
import type { Mirror } from "../mirror/types.ts";
import {
  DEFAULT_IMAGE_TAG,
  formatImageLocation,
  type ImageLocation,
  openImageRepository,
  parseImageLocation,
} from "../oci/open.ts";
import type { ImageRepository } from "../oci/repository.ts";
import type { RegistryClientOptions } from "../registry/client.ts";
import { compactJson } from "../spec/json.ts";
import { type ConcreteSpec, shortSpec, specFromNodes, type SpecNode } from "../spec/spec.ts";
import { sha256Hex } from "../stream/digest.ts";
import { streamOf } from "../stream/io.ts";
import { verifyLength } from "../stream/limit.ts";
import { assertDisjointPrefixes } from "../tar/member_policy.ts";
import { type BaseImage, resolveBaseImage, SCRATCH } from "../oci/image/base.ts";
import { imageConfig, imageCreated } from "../oci/image/config.ts";
import { MAX_IMAGE_LAYERS, TooManyLayersError } from "./errors.ts";
import { DOCKER_FORMAT, imageIndex, imageManifest } from "../oci/image/manifest.ts";
import { DOCKER_MANIFEST_LIST, OCI_INDEX } from "../registry/media_types.ts";
import { imageLayerOrder } from "../oci/image/order.ts";
import { formatPlatform, type ImagePlatform, specsPlatform } from "../oci/image/platform.ts";
import { squashLayers } from "./squash.ts";
import { inspectPackageTarball, type PackageTarballInfo } from "../oci/image/tarball.ts";
import type { LayerMember } from "../oci/image/tarball.ts";
import type { ImageLayer } from "../oci/image/types.ts";
import { type BlobSource, copyBlob, repositoryBlob } from "../oci/_blob_copy.ts";
import { type MemoryLayer, sbangLayer, viewLayer } from "./_extra_layers.ts";
import { LayerTree } from "./_layer_tree.ts";
import { planView } from "../view/view.ts";
import { runSearchPaths } from "./_run_env.ts";

/** Config label and manifest annotation listing the specs of a composed image. */
export const SPECS_LABEL = "dev.spackle.specs";

/** Options of {@link composeImage}. */
export interface ComposeOptions {
  /**
   * Base image: a reference (`ubuntu:24.04`), an `oci://`/`oci+http://` URL or
   * `oci-layout:PATH[:TAG]`. An index resolves to the entry for the specs' platform. None:
   * the image holds the spec layers alone.
   */
  readonly base?: string | ImageLocation;
  /** The build cache holding the specs. OCI caches give layers by digest, with their diff_ids. */
  readonly mirror: Mirror;
  /** The specs to put into the image; their link and run dependencies come along. */
  readonly specs: readonly ConcreteSpec[];
  /**
   * Where the image goes: a registry reference with tag (`oci+http://host/repo:tag`,
   * `host/repo:tag`) or `oci-layout:DIR[:TAG]` (see `imageTarget`). Default tag `latest`.
   */
  readonly target: string | ImageLocation;
  /** Environment variables set or overridden in the image (after the search paths). */
  readonly env?: Readonly<Record<string, string>>;
  /** `Entrypoint` of the image. */
  readonly entrypoint?: readonly string[];
  /** `Cmd` of the image. */
  readonly cmd?: readonly string[];
  /** Labels added to the config (over the base's, the OCI ones and {@link SPECS_LABEL}). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Annotations added to the manifest, over the computed ones (OCI format only). */
  readonly annotations?: Readonly<Record<string, string>>;
  /**
   * Absolute path of a view of the specs (Spack's default view: link and run dependencies, no
   * projections, symlinks), added as one layer; the run environment then points at the view
   * instead of at every prefix. Default: no view.
   */
  readonly view?: string;
  /** Put all spec layers into one (recompressed) layer, e.g. to stay within 127 layers. */
  readonly squash?: boolean;
  /** RFC 3339 `created` time. Default: the base's, else `SOURCE_DATE_EPOCH`, else the epoch. */
  readonly created?: string;
  /** Settings of the registry clients (credentials, retries, concurrency). */
  readonly registry?: RegistryClientOptions;
  /** Receives one message per layer copied. */
  readonly onProgress?: ProgressListener;
}

/** One platform's image of a {@link ComposeResult}. */
export interface ComposedPlatform {
  /** Its platform (`os`, GOARCH `architecture`). */
  readonly platform: ImagePlatform;
  /** `sha256:` digest of its manifest. */
  readonly digest: string;
  /** Number of layers, base layers included. */
  readonly layers: number;
}

/** The image (or, for specs of several platforms, the image index) {@link composeImage} wrote. */
export interface ComposeResult {
  /** Where it is: `host/repo:tag` (with `oci+http://` for plain HTTP) or `oci-layout:DIR:TAG`. */
  readonly reference: string;
  /** `sha256:` digest of the manifest or index. */
  readonly digest: string;
  /**
   * Media type: of the manifest (the base's format), or of the index (Docker manifest list when
   * every image is in Docker format, else OCI image index).
   */
  readonly mediaType: string;
  /** Size of the manifest or index in bytes. */
  readonly size: number;
  /** Number of layers, base layers included (for an index, of its largest image). */
  readonly layers: number;
  /** The image of each platform, in the index's order (one entry for a single image). */
  readonly platforms: readonly ComposedPlatform[];
}

/** A package layer ready to copy: its spec, blob, install prefix, members and where to read it. */
interface PackageLayer {
  readonly node: SpecNode;
  readonly layer: ImageLayer;
  readonly prefix: string;
  readonly source: BlobSource;
  readonly members: readonly LayerMember[];
  /** The sbang launchers its scripts run through. */
  readonly sbang: readonly string[];
}

// Tarballs inspected at once (each one a stream, and for URL caches a gunzip).
const INSPECT_JOBS = 4;

/**
 * Composes an image of `specs` from the build cache `mirror` onto a base image and tags it at
 * `target`. Layers: the base's, then one per spec of the closure (link and run dependencies,
 * dependencies first, externals left out), each the spec's package tarball from the cache,
 * copied by digest: skipped when the target has it, mounted when it is in another repository
 * of the same registry, else streamed, never recompressed (except with `squash`); then, when a
 * script was rewritten to run through `<root>/bin/sbang`, a small layer holding that launcher
 * (the same digest for every image of the cache); then, with `view`, one layer of Spack's
 * default view of the specs (directories and symlinks into the prefixes). Config: the base's
 * config with `rootfs.diff_ids`, one `history` entry per added layer; `Env` with Spack's prefix
 * inspections (PATH, MANPATH, ACLOCAL_PATH, PKG_CONFIG_PATH, CMAKE_PREFIX_PATH) of the view, or
 * else of every prefix (roots first), only for directories the layers hold, each once, ahead
 * of the base's values, then `env`; a deterministic `created`; labels and OCI annotations
 * (`org.opencontainers.image.title`, `.version`, `.description`, `.created`, `.base.name`,
 * `.base.digest`, {@link SPECS_LABEL}); entrypoint, command and labels as given. Media
 * types follow the base (Docker base, Docker types throughout). Composing the same inputs twice
 * gives the same digest. The manifest is written last, once every blob is in place, so a
 * failure leaves nothing tagged.
 *
 * Specs built for several platforms (targets of different families, e.g. x86_64 and aarch64):
 * one image per platform, each on the base's entry for that platform, stored by digest, and an
 * image index over them (a Docker manifest list when every image is in Docker format) tagged
 * at `target`; the result lists each platform's image.
 *
 * @example
 * ```ts
 * import { openMirror, selectSpecs } from "@spackle/spackle";
 * import { composeImage } from "@spackle/spackle/image";
 * const mirror = await openMirror("oci://ghcr.io/acme/buildcache");
 * const specs = selectSpecs(await mirror.listSpecs(), ["hdf5"], mirror.url);
 * const image = await composeImage({
 *   base: "ubuntu:24.04",
 *   mirror,
 *   specs,
 *   target: "oci://ghcr.io/acme/images:hdf5",
 *   cmd: ["h5dump", "--version"],
 * });
 * console.log(image.reference, image.digest);
 * ```
 *
 * @throws {UsageError} when no spec has a layer (none given, or only externals).
 * @throws {NotFoundError} when the base image, a spec, or a blob is missing.
 * @throws {PlatformMismatchError} when the base has no image for the specs' platform, or one
 *   spec's closure spans several platforms.
 * @throws {TooManyLayersError} when the image would exceed {@link MAX_IMAGE_LAYERS} layers.
 * @throws {FormatError} for a legacy (layout 2) cache entry or a malformed image or tarball.
 * @throws {UnsafeMemberError} naming the member, when a package tarball has a member that
 *   install would refuse, or setuid/setgid bits without `squash` (a layer reused unchanged
 *   cannot have them stripped), or when two specs' prefixes are equal or nested (one layer
 *   could then write through another's symlink); checked before any blob is written, so
 *   nothing is tagged.
 */
export async function composeImage(options: ComposeOptions): Promise<ComposeResult> {
  const target = openTarget(options.target, options.registry ?? {});
  const groups = platformGroups(options.specs);
  if (groups.length <= 1) {
    const image = await composeOne(options, options.specs, target, target.tag);
    return { reference: target.reference, ...image };
  }
  const images: ComposedImage[] = [];
  for (const specs of groups) images.push(await composeOne(options, specs, target));
  const docker = images.every((i) => i.mediaType === DOCKER_FORMAT.manifest);
  const mediaType = docker ? DOCKER_MANIFEST_LIST : OCI_INDEX;
  const index = imageIndex({
    mediaType,
    manifests: images.map((i) => ({
      mediaType: i.mediaType,
      digest: i.digest,
      size: i.size,
      platform: i.platforms[0].platform,
    })),
    annotations: { [SPECS_LABEL]: images.map((i) => i.roots).join(" "), ...options.annotations },
  });
  const digest = await target.repository.putManifest(target.tag, index, mediaType);
  return {
    reference: target.reference,
    digest,
    mediaType,
    size: index.length,
    layers: Math.max(...images.map((i) => i.layers)),
    platforms: images.flatMap((i) => i.platforms),
  };
}

/** The specs grouped by the platform of their closure, in order of first appearance. */
function platformGroups(specs: readonly ConcreteSpec[]): ConcreteSpec[][] {
  const groups = new Map<string, ConcreteSpec[]>();
  for (const spec of specs) {
    const nodes = imageLayerOrder([spec]);
    if (nodes.length === 0) continue;
    const key = formatPlatform(specsPlatform(nodes));
    groups.set(key, [...groups.get(key) ?? [], spec]);
  }
  return [...groups.values()];
}

/** One image as {@link composeOne} wrote it. */
interface ComposedImage extends Omit<ComposeResult, "reference"> {
  readonly platforms: readonly ComposedPlatform[];
  /** The {@link SPECS_LABEL} value. */
  readonly roots: string;
}

/**
 * The image of `specs` (one platform) in `target`, tagged `tag`, or stored by digest only
 * without one (an entry of an index).
 */
async function composeOne(
  options: ComposeOptions,
  specs: readonly ConcreteSpec[],
  target: ReturnType<typeof openTarget>,
  tag?: string,
): Promise<ComposedImage> {
  const registry = options.registry ?? {};
  const nodes = imageLayerOrder(specs);
  if (nodes.length === 0) {
    throw new UsageError("no specs to put into the image (externals have no layers)");
  }
  const platform = specsPlatform(nodes);
  const baseLocation = typeof options.base === "string"
    ? parseImageLocation(options.base)
    : options.base;
  const base = baseLocation ? await resolveBaseImage(baseLocation, platform, registry) : SCRATCH;
  const viewRoot = options.view === undefined ? undefined : checkViewRoot(options.view);
  const specLayers = (options.squash ? 1 : nodes.length) + (viewRoot ? 1 : 0);
  checkLayerCount(base, specLayers, options.squash);
  const say = (text: string) => options.onProgress?.({ kind: "message", level: "info", text });

  const pool = new Map<string, SpecNode>();
  for (const spec of specs) for (const [hash, node] of spec.nodes) pool.set(hash, node);
  const packages = await inspectAll(
    nodes.map((node) => specFromNodes(node.hash, pool)),
    options.mirror,
    options.squash ?? false,
  );
  // Nothing the image adds may lie in (or hold) a package's prefix: no layer may then replace
  // another's files or write through its symlinks.
  assertDisjointPrefixes([
    ...packages.map((p) => ({ source: shortSpec(p.node), prefix: p.prefix })),
    ...sbangPaths(packages).map((path) => ({ source: "the sbang launcher", prefix: path })),
    ...viewRoot ? [{ source: "the view", prefix: viewRoot }] : [],
  ]);
  await checkBaseBlobs(base, target.repository);
  const tree = new LayerTree();
  for (const p of packages) tree.add(p.members);
  const extra = await extraLayers(packages, tree, specs, viewRoot);
  checkLayerCount(base, specLayers + extra.length - (viewRoot ? 1 : 0), options.squash);
  const searchPaths = runSearchPaths(viewRoot ? [viewRoot] : packages.map((p) => p.prefix), tree);

  const scratch = options.squash
    ? await Deno.makeTempDir({ prefix: "spackle-squash-" })
    : undefined;
  try {
    const added = scratch === undefined
      ? packages.map((p) => ({
        layer: p.layer,
        source: p.source,
        createdBy: `spackle image compose ${shortSpec(p.node)}`,
        what: shortSpec(p.node),
      }))
      : [await squashPackages(packages, join(scratch, "layer.tar.gz"))];
    added.push(...extra);
    await Promise.all([
      ...base.layers.map(async (l) => {
        const source = repositoryBlob(base.repository!, l.digest);
        const how = await copyBlob(target.repository, l.digest, l.size, source);
        say(`base layer ${l.digest}: ${how}`);
      }),
      ...added.map(async (a) => {
        const how = await copyBlob(target.repository, a.layer.digest, a.layer.size, a.source);
        say(`${a.what} ${a.layer.digest}: ${how}`);
      }),
    ]);

    const roots = rootsLabel(specs, nodes);
    const created = imageCreated(base.config, options.created);
    const described = { ...describeImage(specs, nodes, created), [SPECS_LABEL]: roots };
    const config = new TextEncoder().encode(compactJson(imageConfig({
      base: base.config,
      baseLayers: base.layers.length,
      platform,
      added: added.map((a) => ({ diffId: a.layer.diffId, createdBy: a.createdBy })),
      searchPaths,
      env: options.env,
      entrypoint: options.entrypoint,
      cmd: options.cmd,
      labels: { ...described, ...options.labels },
      created,
    })));
    const configDigest = `sha256:${sha256Hex(config)}`;
    await target.repository.pushBlob(configDigest, config.length, () => streamOf(config));
    const { format } = base;
    const manifest = imageManifest({
      mediaType: format.manifest,
      config: { mediaType: format.config, digest: configDigest, size: config.length },
      layers: [
        ...base.layers,
        ...added.map((a) => ({
          mediaType: format.layer,
          digest: a.layer.digest,
          size: a.layer.size,
        })),
      ],
      annotations: {
        ...described,
        ...baseAnnotations(base, baseLocation),
        ...options.annotations,
      },
    });
    const digest = await target.repository.putManifest(
      tag ?? `sha256:${sha256Hex(manifest)}`,
      manifest,
      format.manifest,
    );
    const layers = base.layers.length + added.length;
    return {
      digest,
      mediaType: format.manifest,
      size: manifest.length,
      layers,
      platforms: [{ platform, digest, layers }],
      roots,
    };
  } finally {
    if (scratch !== undefined) await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

/** The sbang launchers the packages' scripts run through, sorted, each once. */
function sbangPaths(packages: readonly PackageLayer[]): string[] {
  return [...new Set(packages.flatMap((p) => p.sbang))].sort();
}

/** A layer added on top of the base, with where to read it and what to call it. */
interface AddedLayer {
  readonly layer: ImageLayer;
  readonly source: BlobSource;
  readonly createdBy: string;
  readonly what: string;
}

/** `view` normalised: an absolute path other than `/`. */
function checkViewRoot(view: string): string {
  const root = view.replace(/\/+$/, "");
  if (!root.startsWith("/") || root.split("/").some((p) => p === "." || p === "..")) {
    throw new UsageError(`the view must be an absolute path without . or .., not ${view}`);
  }
  return root.replace(/\/{2,}/g, "/");
}

function checkLayerCount(base: BaseImage, added: number, squash = false): void {
  if (base.layers.length + added > MAX_IMAGE_LAYERS) {
    throw new TooManyLayersError(base.layers.length, added, squash);
  }
}

/**
 * The layers after the packages': the sbang launcher when a script runs through it, and the
 * view at `viewRoot` when asked for. Their members are added to `tree`.
 */
async function extraLayers(
  packages: readonly PackageLayer[],
  tree: LayerTree,
  specs: readonly ConcreteSpec[],
  viewRoot: string | undefined,
): Promise<AddedLayer[]> {
  const out: AddedLayer[] = [];
  const add = (made: MemoryLayer, createdBy: string, what: string) => {
    tree.add(made.members);
    out.push({
      layer: made.layer,
      source: { open: () => Promise.resolve(streamOf(made.bytes)) },
      createdBy,
      what,
    });
  };
  const sbang = sbangPaths(packages);
  if (sbang.length) {
    add(await sbangLayer(sbang), `spackle image compose: sbang ${sbang.join(" ")}`, "sbang layer");
  }
  if (viewRoot) {
    const prefixes = new Map(packages.map((p) => [p.node.hash, p.prefix]));
    const plan = await planView({
      root: viewRoot,
      specs,
      prefixOf: (node) => prefixes.get(node.hash) ?? `/.spackle-not-in-image/${node.hash}`,
      tree,
    });
    add(await viewLayer(viewRoot, plan), `spackle image compose --view ${viewRoot}`, "view layer");
  }
  return out;
}

/** The repository, tag and printable reference of an image location (tag `latest` by default). */
function openTarget(
  location: string | ImageLocation,
  registry: RegistryClientOptions,
): { repository: ImageRepository; tag: string; reference: string } {
  const target = typeof location === "string" ? parseImageLocation(location) : location;
  const repository = openImageRepository(target, registry);
  if (target.kind === "layout") {
    const tag = target.tag ?? DEFAULT_IMAGE_TAG;
    return { repository, tag, reference: formatImageLocation({ ...target, tag }) };
  }
  return { repository, tag: target.reference.tag, reference: formatImageLocation(target) };
}

/** The one layer of all `packages`, written to `path`, with its history entry. */
async function squashPackages(
  packages: readonly PackageLayer[],
  path: string,
): Promise<{ layer: ImageLayer; source: BlobSource; createdBy: string; what: string }> {
  const names = packages.map((p) => shortSpec(p.node));
  const layer = await squashLayers(
    packages.map((p, i) => ({ name: names[i], open: () => p.source.open() })),
    path,
  );
  return {
    layer,
    source: { open: async () => (await Deno.open(path)).readable },
    createdBy: `spackle image compose --squash ${names.join(" ")}`,
    what: `squashed layer of ${packages.length} specs`,
  };
}

/**
 * The OCI annotations registry UIs show, from the root specs that have a layer: `title` (their
 * names), `version` (of a single root), `description` (roots and number of dependencies) and
 * `created` (the image's, deterministic).
 */
function describeImage(
  specs: readonly ConcreteSpec[],
  nodes: readonly SpecNode[],
  created: string,
): Record<string, string> {
  const layered = new Set(nodes.map((n) => n.hash));
  const roots = [...new Map(
    specs.filter((s) => layered.has(s.node.hash)).map((s) => [s.node.hash, s.node]),
  ).values()];
  const deps = nodes.length - roots.length;
  const out: Record<string, string> = {
    "org.opencontainers.image.title": [...new Set(roots.map((n) => n.name))].join(" "),
  };
  if (roots.length === 1 && roots[0].version) {
    out["org.opencontainers.image.version"] = roots[0].version;
  }
  out["org.opencontainers.image.description"] = `Spack packages ${
    roots.map((n) => `${n.name}@${n.version ?? "?"}`).join(", ")
  }${deps ? ` and ${deps} ${deps === 1 ? "dependency" : "dependencies"}` : ""}`;
  out["org.opencontainers.image.created"] = created;
  return out;
}

/** `name@version/hash` of each spec that has a layer, once, space-separated. */
function rootsLabel(specs: readonly ConcreteSpec[], nodes: readonly SpecNode[]): string {
  const layered = new Set(nodes.map((n) => n.hash));
  const names = specs.filter((s) => layered.has(s.node.hash))
    .map((s) => `${s.node.name}@${s.node.version ?? "?"}/${s.node.hash}`);
  return [...new Set(names)].join(" ");
}

/** The OCI annotations naming the base image: its digest, and its reference if in a registry. */
function baseAnnotations(base: BaseImage, location?: ImageLocation): Record<string, string> {
  const out: Record<string, string> = {};
  if (base.digest) out["org.opencontainers.image.base.digest"] = base.digest;
  if (location?.kind === "registry") {
    out["org.opencontainers.image.base.name"] = location.reference.toString();
  }
  return out;
}

/** Every base layer the target lacks must be readable from the base's repository. */
async function checkBaseBlobs(
  base: BaseImage,
  repo: ImageRepository,
): Promise<void> {
  await Promise.all(base.layers.map(async (l) => {
    if (await repo.headBlob(l.digest) !== undefined) return;
    if (await base.repository!.headBlob(l.digest) === undefined) {
      throw new NotFoundError(`layer ${l.digest} of base image ${base.name}`);
    }
  }));
}

/** {@link inspectPackage} for each spec, a few at a time, in order. */
async function inspectAll(
  specs: readonly ConcreteSpec[],
  mirror: Mirror,
  rewritten: boolean,
): Promise<PackageLayer[]> {
  const out: PackageLayer[] = new Array(specs.length);
  await forEachConcurrently(specs.length, INSPECT_JOBS, async (i) => {
    out[i] = await inspectPackage(specs[i], mirror, rewritten);
  });
  return out;
}

/**
 * The layer of `spec` in `mirror`: from an OCI cache, the spec image's last layer and diff_id;
 * from a URL-layout cache, the tarball blob. Either is read whole once, for its prefix and
 * diff_id and to refuse an unsafe member before anything is written to the target (setuid and
 * setgid bits too, unless the layers are `rewritten` by squashing, which strips them).
 */
async function inspectPackage(
  spec: ConcreteSpec,
  mirror: Mirror,
  rewritten: boolean,
): Promise<PackageLayer> {
  const name = shortSpec(spec.node);
  if (mirror instanceof OciMirror) {
    const layer = await mirror.specLayer(spec.node);
    if (!layer) throw new NotFoundError(`${name} in ${mirror.url}`);
    const source = repositoryBlob(mirror.repository, layer.digest);
    let blob;
    try {
      blob = await source.open();
    } catch (e) {
      if (e instanceof NotFoundError) {
        throw new NotFoundError(`tarball layer ${layer.digest} of ${name} in ${mirror.url}`);
      }
      throw e;
    }
    const where = `${name} layer ${layer.digest}`;
    const info = await inspectPackageTarball(
      blob.pipeThrough(verifyLength(layer.size, where)),
      where,
      { whole: true, rewritten, listing: true },
    ).catch(async (e) => {
      throw await blameBlob(() => mirror.fetchBlob(layer.digest, layer.size), e);
    });
    if (info.diffId !== layer.diffId) {
      throw new FormatError(
        where,
        `diff_id is ${info.diffId}, the spec image says ${layer.diffId}`,
      );
    }
    return { node: spec.node, layer, source, ...listed(info) };
  }
  const entry = await mirror.getEntry(spec);
  if (!entry) throw new NotFoundError(`${name} in ${mirror.url}`);
  if (entry.layout !== 3) {
    throw new FormatError(
      entry.source,
      "a legacy (layout 2) tarball is not an image layer; migrate the cache to layout 3 first",
    );
  }
  if (!await mirror.hasSpec(spec.node)) {
    throw new NotFoundError(`tarball ${entry.tarball.digest} of ${name} in ${mirror.url}`);
  }
  const open = () => mirror.openTarball(entry);
  const info = await inspectPackageTarball(await open(), entry.source, {
    whole: true,
    rewritten,
    listing: true,
  }).catch(async (e) => {
    throw await blameBlob(open, e);
  });
  return {
    node: spec.node,
    layer: { digest: entry.tarball.digest, size: info.size!, diffId: info.diffId! },
    source: { open },
    ...listed(info),
  };
}

function listed(info: PackageTarballInfo): Pick<PackageLayer, "prefix" | "members" | "sbang"> {
  return { prefix: info.prefix, members: info.members!, sbang: info.sbang! };
}
