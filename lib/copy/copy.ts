/**
 * `copySpecs`: copy build cache entries from one cache to another, whatever their backends
 * (directory, registry, OCI image layout), e.g. from a registry to a directory carried to an
 * air-gapped site. Spack's analogue is `spack buildcache sync` (build cache format reference
 * §1.14, §7).
 *
 * @module
 */
import { forEachConcurrently } from "../concurrency.ts";
import { NotFoundError, SpackleError, UsageError } from "../errors.ts";
import { countBytes, type ProgressListener } from "../events.ts";
import type { Mirror } from "../mirror/types.ts";
import {
  type ConcreteSpec,
  type DepType,
  edgesOf,
  isExternal,
  shortSpec,
  type SpecNode,
} from "../spec/spec.ts";
import { UrlMirror } from "../mirror/url.ts";
import { OciMirror } from "../mirror/oci.ts";
import { isSpecTag, specTag } from "../mirror/_oci_image.ts";
import { copyImage } from "../oci/copy_image.ts";
import { copyBlob } from "../oci/_blob_copy.ts";
import { spoolTarball } from "./_spool.ts";
import { copyEntryVerbatim, copyKeys } from "./_verbatim.ts";

/** Options of {@link copySpecs}. */
export interface CopyOptions {
  /**
   * Specs to copy, each with its dependencies (all edge types) that the source holds. Default:
   * every spec the source lists.
   */
  specs?: readonly ConcreteSpec[];
  /** Copy even when the destination already has the spec (overwrites its entry). */
  force?: boolean;
  /** Specs copied concurrently (default 2). */
  jobs?: number;
  /**
   * Rebuild the destination's index afterwards, when anything was copied (default true: an
   * existing index would otherwise hide the new specs; Spack's `sync` leaves it stale).
   */
  updateIndex?: boolean;
  /**
   * Directory for the spooled tarballs (default: the system's). On the filesystem of a
   * directory destination, publishing a tarball is a rename instead of a second copy.
   */
  tempDir?: string;
  /**
   * Between two URL-layout caches, also publish the source's public keys (key blobs, manifests
   * and key index), so verbatim-copied signed entries verify with the same keys.
   */
  keys?: boolean;
  /** Receives progress events (`action: "copy"`). */
  onProgress?: ProgressListener;
}

/** What a copy did, dependencies first. */
export interface CopyResult {
  /** Specs copied now. */
  copied: ConcreteSpec[];
  /** Specs the destination already had. */
  skipped: ConcreteSpec[];
}

/**
 * Some specs could not be copied; the others were (see `result`). `failures` pairs
 * `name@version/hash7` and error; a spec whose link or run dependency failed fails too.
 *
 * @example
 * ```ts
 * import { CopyError, copySpecs, openMirror } from "@spackle/spackle";
 * try {
 *   await copySpecs(await openMirror("oci://ghcr.io/acme/cache"), await openMirror("./cache"));
 * } catch (e) {
 *   if (!(e instanceof CopyError)) throw e;
 *   for (const { spec, error } of e.failures) console.error(spec, error.message);
 *   console.log(e.result); // what was copied before the failures
 * }
 * ```
 */
export class CopyError extends SpackleError {
  /** Creates the error from the failures collected while copying and what did get copied. */
  constructor(
    readonly failures: { spec: string; error: Error }[],
    readonly result: CopyResult,
  ) {
    super(
      "COPY_FAILED",
      `the following ${failures.length} errors occurred while copying specs between build caches:\n` +
        failures.map((f) => `  ${f.spec}: ${f.error.name}: ${f.error.message}`).join("\n"),
    );
  }
}

// Installing a spec needs these dependencies; OCI images carry them as layers (§4.4).
const RUNTIME: readonly DepType[] = ["link", "run"];
const ALL: readonly DepType[] = ["build", "link", "run"];

/**
 * Copies specs from `from` to `to`, dependencies first. Each package tarball is read once and
 * spooled to a temporary file while its sha256 (checked against the source entry) and the
 * sha256 of the tar inside (the OCI `diff_id`) are computed; the gzip bytes are published
 * unchanged, so the tarball blob has the same digest in every backend, and its members are
 * checked with the policy install applies. Between two URL-layout caches (directory, HTTP, S3) a
 * layout v3 entry is copied byte for byte: manifest text, spec blob and tarball, so clearsigned
 * manifests stay signed (`keys` brings the public keys along). Between two OCI locations
 * (registries, layouts) each spec image is copied by digest, blobs mounted within a registry,
 * and a copy of the whole cache brings its other images too (`index.spack`, `--tag` images), all
 * with their digests unchanged. Otherwise the destination writes
 * its own spec metadata: legacy v2 entries become layout v3, OCI entries become URL-layout
 * entries and back, and signatures are not carried (a warning says how many were dropped).
 *
 * @example
 * ```ts
 * import { copySpecs, openMirror } from "@spackle/spackle";
 * const registry = await openMirror("oci://ghcr.io/acme/buildcache");
 * const disk = await openMirror("/media/usb/buildcache");
 * const { copied, skipped } = await copySpecs(registry, disk);
 * console.log(`${copied.length} copied, ${skipped.length} already there`);
 * ```
 *
 * @throws {UsageError} when `to` is read-only or is the same cache as `from`.
 * @throws {CopyError} after copying everything else, when some specs failed (a digest mismatch,
 *   a spec missing from the source, an upload error).
 */
export async function copySpecs(
  from: Mirror,
  to: Mirror,
  options: CopyOptions = {},
): Promise<CopyResult> {
  if (!to.writable) throw new UsageError(`mirror ${to.url} is read-only`);
  if (from.url === to.url) {
    throw new UsageError(`source and destination are the same build cache: ${to.url}`);
  }
  const listed = await from.listSpecs();
  const order = copyOrder(listed, options.specs ?? listed, options.onProgress);
  const states: ("copied" | "skipped" | "failed")[] = [];
  const failures: { spec: string; error: Error }[] = [];
  // Whether each started spec ended up in the destination, by DAG hash.
  const present = new Map<string, Promise<boolean>>();
  let signed = 0;
  // Same format on both sides: entries travel byte for byte, signatures included. Across
  // formats the destination writes its own metadata.
  const verbatim = from instanceof UrlMirror && to instanceof UrlMirror;
  if (options.keys && verbatim) await copyKeys(from, to);
  const ociVerbatim = from instanceof OciMirror && to instanceof OciMirror;
  const tmp = await Deno.makeTempDir({ dir: options.tempDir, prefix: "spackle-copy-" });
  try {
    await forEachConcurrently(order.length, options.jobs ?? 2, async (index) => {
      const spec = order[index];
      const name = shortSpec(spec.node);
      const done = Promise.withResolvers<boolean>();
      present.set(spec.node.hash, done.promise);
      const event = {
        kind: "spec",
        action: "copy",
        spec: name,
        index: index + 1,
        total: order.length,
      } as const;
      try {
        if (!options.force && await to.hasSpec(spec.node)) {
          states[index] = "skipped";
          options.onProgress?.({ ...event, state: "skipped" });
          done.resolve(true);
          return;
        }
        // Dependencies come earlier in `order`, so they have started already.
        for (const edge of edgesOf(spec.node, RUNTIME)) {
          if (await present.get(edge.hash) === false) {
            throw new NotFoundError(
              `dependency ${edge.name}/${edge.hash.slice(0, 7)} in ${to.url}`,
            );
          }
        }
        options.onProgress?.({ ...event, state: "start" });
        const started = performance.now();
        const entry = await from.getEntry(spec);
        if (!entry) throw new NotFoundError(`spec ${name} in ${from.url}`);
        const path = await Deno.makeTempFile({ dir: tmp, suffix: ".tar.gz" });
        const source = (await from.openTarball(entry))
          .pipeThrough(countBytes(name, options.onProgress, entry.tarball.size));
        const tarball = await spoolTarball(
          source,
          path,
          entry.tarball,
          `${entry.source} (tarball ${entry.tarball.digest})`,
        );
        if (verbatim && entry.layout === 3) {
          await copyEntryVerbatim(from as UrlMirror, to as UrlMirror, entry, tarball);
        } else if (ociVerbatim) {
          // The image by digest: config, manifest, base-image layers and all. Its spec layer was
          // checked while spooling, so it goes from the spooled file (or is mounted within one
          // registry) rather than being downloaded again.
          const source = (from as OciMirror).repository;
          const target = (to as OciMirror).repository;
          await copyBlob(target, entry.tarball.digest, tarball.size, {
            open: async () => (await Deno.open(tarball.path)).readable,
            repository: source,
          });
          const tag = specTag(spec.node);
          await copyImage(source, tag, target, tag);
        } else {
          await to.pushSpec(entry.spec, tarball);
          if (entry.signedText) signed++;
        }
        // The destination may have moved the file; bound the spool to one tarball per job.
        await Deno.remove(path).catch(() => {});
        states[index] = "copied";
        options.onProgress?.({
          ...event,
          state: "done",
          bytes: tarball.size,
          seconds: (performance.now() - started) / 1000,
          digest: `sha256:${tarball.sha256}`,
        });
        done.resolve(true);
      } catch (e) {
        states[index] = "failed";
        failures.push({ spec: name, error: e as Error });
        options.onProgress?.({ ...event, state: "failed", error: e as Error });
        done.resolve(false);
      }
    });
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  const result: CopyResult = {
    copied: order.filter((_, i) => states[i] === "copied"),
    skipped: order.filter((_, i) => states[i] === "skipped"),
  };
  if (signed > 0) {
    options.onProgress?.({
      kind: "message",
      level: "warning",
      text: `${signed} signed spec${signed === 1 ? " was" : "s were"} copied without ` +
        `${signed === 1 ? "its signature" : "their signatures"}: ${to.url} holds them unsigned`,
    });
  }
  // A whole OCI cache: its other images (index.spack, `--tag` environment images) too, by digest.
  const wholeOci = ociVerbatim && !options.specs && !failures.length;
  if (wholeOci) await copyOtherImages(from as OciMirror, to as OciMirror);
  if ((options.updateIndex ?? true) && result.copied.length > 0 && !wholeOci) {
    await to.updateIndex();
  }
  if (failures.length) throw new CopyError(failures, result);
  return result;
}

/** Copies the images of `from` that are not spec images, by digest. */
async function copyOtherImages(from: OciMirror, to: OciMirror): Promise<void> {
  for (const tag of await from.repository.listTags()) {
    if (!isSpecTag(tag)) await copyImage(from.repository, tag, to.repository, tag);
  }
}

/**
 * `selected` plus their dependencies (all edge types) that `listed` holds, dependencies first
 * (depth-first post-order). Missing link/run dependencies are reported once each as warnings.
 */
function copyOrder(
  listed: readonly ConcreteSpec[],
  selected: readonly ConcreteSpec[],
  onProgress: ProgressListener | undefined,
): ConcreteSpec[] {
  const available = new Map(listed.map((s) => [s.node.hash, s]));
  const out = new Map<string, ConcreteSpec>();
  const missing = new Set<string>();
  const warnMissing = (node: SpecNode) => {
    if (missing.has(node.hash)) return;
    missing.add(node.hash);
    onProgress?.({
      kind: "message",
      level: "warning",
      text: `${shortSpec(node)} is not in the source build cache; not copied`,
    });
  };
  const visit = (spec: ConcreteSpec) => {
    if (out.has(spec.node.hash)) return;
    for (const edge of edgesOf(spec.node, ALL)) {
      const dep = available.get(edge.hash);
      if (dep) {
        visit(dep);
        continue;
      }
      const node = spec.nodes.get(edge.hash);
      const needed = edge.parameters.deptypes.some((t) => RUNTIME.includes(t));
      if (node && needed && !isExternal(node)) warnMissing(node);
    }
    out.set(spec.node.hash, spec);
  };
  selected.forEach(visit);
  return [...out.values()];
}
