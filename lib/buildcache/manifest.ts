/**
 * Build cache manifests (`*.manifest.json`): a version and a list of blob records, possibly
 * clearsigned (build cache format reference §1.3, §1.9).
 *
 * @module
 */
import { FormatError, NotFoundError } from "../errors.ts";
import { indent0Json } from "../spec/json.ts";
import { LAYOUT_VERSION } from "./layout.ts";

/** One blob described by a manifest; keys in Spack's order. */
export interface BlobRecord {
  /** Size in bytes of the stored blob (compressed size for gzip blobs). */
  contentLength: number;
  /** What the blob is (exact media type string). */
  mediaType: string;
  /** `"gzip"` or `"none"`: what was applied to produce the stored bytes. */
  compression: string;
  /** Hash algorithm, `"sha256"`; also the blob directory name. */
  checksumAlgorithm: string;
  /** Hex digest of the stored bytes. */
  checksum: string;
}

/** A parsed build cache manifest (Spack layout v3) and whether it came clearsigned. */
export interface BuildcacheManifest {
  /** Layout version (3). */
  version: number;
  /** Blob records in file order. */
  data: BlobRecord[];
  /** The signed text as stored, when the manifest was clearsigned. */
  signed?: string;
}

const BEGIN_SIGNED = "-----BEGIN PGP SIGNED MESSAGE-----";
const CLEARSIGN =
  /^-----BEGIN PGP SIGNED MESSAGE-----\s+Hash:\s+\S+\s+(.+)-----BEGIN PGP SIGNATURE-----/ms;

/**
 * The JSON text inside a clearsigned document, as Spack extracts it; plain text is returned as is.
 *
 * @example
 * ```ts
 * import { stripClearsign } from "@spackle/spackle/buildcache";
 * const path = "cache/v3/manifests/index/index.manifest.json";
 * const json = JSON.parse(stripClearsign(await Deno.readTextFile(path), path));
 * ```
 */
export function stripClearsign(text: string, source: string): string {
  if (!text.startsWith(BEGIN_SIGNED)) return text;
  const m = CLEARSIGN.exec(text);
  if (!m) throw new FormatError(source, "malformed clearsigned document");
  return m[1];
}

/**
 * Parses a manifest (plain or clearsigned). Requires `version` 3 and well-formed records.
 *
 * @throws {FormatError} naming `source` on malformed JSON, a wrong version or a bad record.
 *
 * @example
 * ```ts
 * import { parseManifest } from "@spackle/spackle/buildcache";
 * const path = "cache/v3/manifests/index/index.manifest.json";
 * const { data, signed } = parseManifest(await Deno.readTextFile(path), path);
 * console.log(data.map((r) => `${r.mediaType} ${r.checksum}`), signed !== undefined);
 * ```
 */
export function parseManifest(text: string, source: string): BuildcacheManifest {
  const signed = text.startsWith(BEGIN_SIGNED) ? text : undefined;
  let doc: { version?: unknown; data?: unknown };
  try {
    doc = JSON.parse(stripClearsign(text, source));
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(source, `malformed manifest JSON: ${(e as Error).message}`);
  }
  if (doc?.version !== LAYOUT_VERSION) {
    throw new FormatError(source, `layout version mismatch in manifest: ${doc?.version}`);
  }
  if (!Array.isArray(doc.data)) throw new FormatError(source, "manifest without data list");
  for (const r of doc.data as BlobRecord[]) {
    if (
      typeof r?.contentLength !== "number" || typeof r.mediaType !== "string" ||
      typeof r.compression !== "string" || typeof r.checksumAlgorithm !== "string" ||
      !/^[0-9a-f]+$/.test(String(r.checksum)) || !Number.isSafeInteger(r.contentLength) ||
      r.contentLength < 0
    ) {
      throw new FormatError(source, `bad blob record ${JSON.stringify(r)}`);
    }
    // Spack writes and checks sha256 only; a record naming another algorithm would have its
    // checksum taken for a sha256 digest, or not checked at all.
    if (r.checksumAlgorithm !== "sha256" || r.checksum.length !== 64) {
      throw new FormatError(
        source,
        `unsupported checksum ${r.checksumAlgorithm}:${r.checksum} (Spack build caches use sha256)`,
      );
    }
  }
  return { version: LAYOUT_VERSION, data: doc.data as BlobRecord[], signed };
}

/**
 * Serialises records as Spack does: indent-0 JSON, no trailing newline.
 *
 * @example
 * ```ts
 * import { parseManifest, serializeManifest } from "@spackle/spackle/buildcache";
 * const path = "cache/v3/manifests/index/index.manifest.json";
 * const { data } = parseManifest(await Deno.readTextFile(path), path);
 * await Deno.writeTextFile("unsigned.manifest.json", serializeManifest(data));
 * ```
 */
export function serializeManifest(data: readonly BlobRecord[]): string {
  return indent0Json({
    version: LAYOUT_VERSION,
    data: data.map((r) => ({
      contentLength: r.contentLength,
      mediaType: r.mediaType,
      compression: r.compression,
      checksumAlgorithm: r.checksumAlgorithm,
      checksum: r.checksum,
    })),
  });
}

/**
 * The first record with media type `mediaType`. For spec records any
 * `application/vnd.spack.spec.v*+json` is accepted, so older and newer writers are read.
 *
 * @throws {NotFoundError} when the manifest has no such record.
 *
 * @example
 * ```ts
 * import { blobKey, findRecord, MEDIA_TARBALL, parseManifest } from "@spackle/spackle/buildcache";
 * const path = "cache/v3/manifests/spec/zlib-ng/zlib-ng-2.2.4-abc.spec.manifest.json";
 * const manifest = parseManifest(await Deno.readTextFile(path), path);
 * const tarball = findRecord(manifest, MEDIA_TARBALL, path);
 * console.log(blobKey(tarball.checksumAlgorithm, tarball.checksum), tarball.contentLength);
 * ```
 */
export function findRecord(
  manifest: BuildcacheManifest,
  mediaType: string,
  source: string,
): BlobRecord {
  const specLike = /^application\/vnd\.spack\.spec\.v\d+\+json$/;
  const found = manifest.data.find((r) => r.mediaType === mediaType) ??
    (specLike.test(mediaType) ? manifest.data.find((r) => specLike.test(r.mediaType)) : undefined);
  if (!found) throw new NotFoundError(`${mediaType} record in ${source}`);
  return found;
}
