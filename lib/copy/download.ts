/**
 * `downloadSpec`: one cache entry's package tarball and spec file into a local directory,
 * verified, as Spack's `buildcache download` does (build cache format reference §1.14).
 *
 * @module
 */
import { join } from "node:path";
import { NotFoundError } from "../errors.ts";
import { countBytes, type ProgressListener } from "../events.ts";
import { specBlobJson } from "../buildcache/spec_blob.ts";
import type { CacheEntry, Mirror } from "../mirror/types.ts";
import { compactJson } from "../spec/json.ts";
import { type ConcreteSpec, politeFilename, shortSpec, toSpecFile } from "../spec/spec.ts";
import { streamOf, writeFileAtomic } from "../stream/io.ts";

/** Options of {@link downloadSpec}. */
export interface DownloadOptions {
  /** Receives byte counts of the tarball download. */
  readonly onProgress?: ProgressListener;
}

/** The files {@link downloadSpec} wrote, as absolute or `dir`-relative paths as given. */
export interface DownloadResult {
  /** `name@version/hash7`. */
  readonly spec: string;
  /** Layout of the entry in the cache: 3, or 2 for a legacy mirror. */
  readonly layout: 2 | 3;
  /** The package tarball (gzip), verified against `digest`. */
  readonly tarball: string;
  /** `sha256:<hex>` of the tarball. */
  readonly digest: string;
  /** Tarball size in bytes. */
  readonly size: number;
  /** The spec file: the spec's DAG as JSON (Spack's spec blob; v2 with its tarball checksum). */
  readonly specFile: string;
  /**
   * The clearsigned text as the cache stores it, when the entry is signed: the spec manifest
   * (`.spec.manifest.json`, layout 3) or the spec file (`.spec.json.sig`, layout 2).
   */
  readonly signed?: string;
}

/**
 * Downloads the tarball and spec file of `spec` from `mirror` into directory `dir` (created when
 * missing). Files are named `<name>-<version>-<hash>` plus `.tar.gz` (`.spack` for layout 2),
 * `.spec.json`, and for signed entries `.spec.manifest.json` or `.spec.json.sig`. The tarball is
 * checked against its sha256 while it streams; everything is written in a staging directory
 * inside `dir` and renamed into place at the end, so a failure leaves no file behind.
 *
 * @throws {NotFoundError} when the mirror has no entry for `spec`.
 * @throws {DigestMismatchError} when the tarball does not match its digest.
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { downloadSpec } from "@spackle/spackle/maintain";
 * const mirror = await openMirror("oci://ghcr.io/acme/cache");
 * const [zlib] = (await mirror.listSpecs()).filter((s) => s.node.name === "zlib-ng");
 * const { tarball } = await downloadSpec(mirror, zlib, "./downloads");
 * ```
 */
export async function downloadSpec(
  mirror: Mirror,
  spec: ConcreteSpec,
  dir: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const name = shortSpec(spec.node);
  const entry = await mirror.getEntry(spec);
  if (!entry) throw new NotFoundError(`${name} in ${mirror.url}`);
  const version = (spec.node.version ?? "").replace(/^=/, "");
  const stem = politeFilename(`${spec.node.name}-${version}-${spec.node.hash}`);
  const files = {
    tarball: `${stem}${entry.layout === 2 ? ".spack" : ".tar.gz"}`,
    specFile: `${stem}.spec.json`,
    signed: entry.signedText === undefined
      ? undefined
      : `${stem}${entry.layout === 2 ? ".spec.json.sig" : ".spec.manifest.json"}`,
  };
  await Deno.mkdir(dir, { recursive: true });
  const staging = await Deno.makeTempDir({ dir, prefix: ".spackle-download-" });
  try {
    const tarball = (await mirror.openTarball(entry))
      .pipeThrough(countBytes(name, options.onProgress, entry.tarball.size));
    await writeFileAtomic(join(staging, files.tarball), tarball);
    const { size } = await Deno.stat(join(staging, files.tarball));
    await writeFileAtomic(join(staging, files.specFile), streamOf(specFileText(entry)));
    if (files.signed) {
      await writeFileAtomic(join(staging, files.signed), streamOf(entry.signedText!));
    }
    // The spec file goes last: its presence means the download is complete.
    for (const file of [files.tarball, files.signed, files.specFile]) {
      if (file) await Deno.rename(join(staging, file), join(dir, file));
    }
    return {
      spec: name,
      layout: entry.layout,
      tarball: join(dir, files.tarball),
      digest: entry.tarball.digest,
      size,
      specFile: join(dir, files.specFile),
      signed: files.signed && join(dir, files.signed),
    };
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
}

/** The spec file text: the spec blob of layout 3, or the v2 spec file with its tarball checksum. */
function specFileText(entry: CacheEntry): string {
  if (entry.layout === 3) return specBlobJson(entry.spec);
  return compactJson({
    ...toSpecFile(entry.spec),
    buildcache_layout_version: 2,
    binary_cache_checksum: {
      hash_algorithm: "sha256",
      hash: entry.tarball.digest.slice("sha256:".length),
    },
  });
}
