/**
 * `pruneOciCache`: Spack's `buildcache prune` for OCI build caches. With a keep-list, the spec
 * images of other hashes are deleted (by digest) and `index.spack` is rebuilt. In an OCI
 * image-layout directory, blobs that no remaining manifest references are removed too; a
 * registry reclaims blob space with its own garbage collector, which no client can start.
 *
 * @module
 */
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import {
  EMPTY_CONFIG_DIGEST,
  hashFromSpecTag,
  INDEX_TAG,
  isSpecTag,
} from "../mirror/_oci_image.ts";
import type { OciMirror } from "../mirror/oci.ts";
import { OciLayout } from "../oci/layout.ts";
import type { ImageRepository } from "../oci/repository.ts";
import type { PruneOptions } from "./prune.ts";

/** What {@link pruneOciCache} removed (or, on a dry run, would remove); sorted. */
export interface OciPruneResult {
  /** Spec image tags not on the keep-list. */
  readonly unlisted: string[];
  /** Blobs of an image layout that no manifest references, older than the grace period. */
  readonly orphans: string[];
  /** Bytes of the orphan blobs. */
  readonly bytes: number;
  /** Unreferenced blobs kept because they are younger than the grace period. */
  readonly recent: number;
  /** Specs in the rebuilt index, when images were deleted (not on a dry run). */
  readonly indexed?: number;
  /** True for a registry: blob space comes back only when the registry runs its collector. */
  readonly blobsLeftToRegistry: boolean;
}

interface Descriptor {
  digest: string;
}

/**
 * Prunes the OCI build cache `mirror`: spec images whose DAG hash is not in `options.keep` are
 * deleted by digest (their tags go with them) and the index is rebuilt; then, in an image-layout
 * directory, every blob under `blobs/sha256` that no tagged manifest, config, layer or index
 * child references and that is older than the grace period. Other images (`--tag` environment
 * images, anything else tagged) are kept, and so are the blobs they use.
 *
 * @throws {UsageError} when the registry does not allow deleting manifests.
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { pruneOciCache, readKeepList } from "@spackle/spackle/maintain";
 * import type { OciMirror } from "@spackle/spackle/mirror";
 * const mirror = await openMirror("oci-layout:./images") as OciMirror;
 * const result = await pruneOciCache(mirror, { keep: await readKeepList("keep.txt"), dryRun: true });
 * console.log(result.unlisted, result.orphans.length);
 * ```
 */
export async function pruneOciCache(
  mirror: OciMirror,
  options: PruneOptions = {},
): Promise<OciPruneResult> {
  const repo = mirror.repository;
  const cutoff = (options.now ?? new Date()).getTime() - (options.graceMs ?? 3_600_000);
  const unlisted = (await repo.listTags())
    .filter((tag) => isSpecTag(tag) && options.keep && !options.keep.has(hashFromSpecTag(tag)))
    .sort();
  let indexed: number | undefined;
  if (!options.dryRun && unlisted.length) {
    if (!repo.deleteManifest) throw new UsageError(`${repo.location} cannot delete manifests`);
    for (const tag of unlisted) await repo.deleteManifest((await repo.getManifest(tag)).digest);
    indexed = await mirror.updateIndex();
  }
  if (!(repo instanceof OciLayout)) {
    return { unlisted, orphans: [], bytes: 0, recent: 0, indexed, blobsLeftToRegistry: true };
  }
  // A dry run predicts the real one: the unlisted images gone, and the index image replaced by a
  // new one (whose config is the empty `{}` blob), so the old index's blobs are orphans too.
  const predictNewIndex = options.dryRun && unlisted.length > 0;
  const keptTags = (await repo.listTags()).filter((t) =>
    !options.dryRun || !(unlisted.includes(t) || (predictNewIndex && t === INDEX_TAG))
  );
  const referenced = new Set<string>(predictNewIndex ? [EMPTY_CONFIG_DIGEST] : []);
  for (const tag of keptTags) await collectReferences(repo, tag, referenced);
  const orphans: string[] = [];
  let bytes = 0;
  let recent = 0;
  const dir = join(repo.root, "blobs", "sha256");
  for await (const file of Deno.readDir(dir)) {
    const digest = `sha256:${file.name}`;
    if (!file.isFile || referenced.has(digest)) continue;
    const info = await Deno.stat(join(dir, file.name));
    if ((info.mtime?.getTime() ?? Infinity) > cutoff) {
      recent++;
      continue;
    }
    orphans.push(digest);
    bytes += info.size;
  }
  orphans.sort();
  if (!options.dryRun) {
    for (const digest of orphans) await Deno.remove(join(dir, digest.slice("sha256:".length)));
  }
  return { unlisted, orphans, bytes, recent, indexed, blobsLeftToRegistry: false };
}

/** Adds the digests `ref` reaches (the manifest itself, config, layers, index children). */
async function collectReferences(
  repo: ImageRepository,
  ref: string,
  into: Set<string>,
): Promise<void> {
  const manifest = await repo.getManifest(ref);
  if (into.has(manifest.digest)) return;
  into.add(manifest.digest);
  const doc = JSON.parse(new TextDecoder().decode(manifest.bytes)) as {
    config?: Descriptor;
    layers?: Descriptor[];
    manifests?: Descriptor[];
  };
  if (doc.config) into.add(doc.config.digest);
  for (const layer of doc.layers ?? []) into.add(layer.digest);
  for (const child of doc.manifests ?? []) await collectReferences(repo, child.digest, into);
}
