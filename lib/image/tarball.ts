/**
 * What an image needs to know about a Spack package tarball used as a layer: the install prefix
 * it unpacks to, and the digest of its uncompressed tar (`diff_id`).
 *
 * @module
 */
import { FormatError } from "../errors.ts";
import { hashTap } from "../stream/digest.ts";
import { gunzipStream } from "../stream/gzip.ts";
import { TarReader } from "../tar/reader.ts";

/** What {@link inspectPackageTarball} found. */
export interface PackageTarballInfo {
  /** The install prefix (absolute), where the layer puts the package. */
  readonly prefix: string;
  /** `sha256:<hex>` of the uncompressed tar, when the whole tarball was read. */
  readonly diffId?: string;
  /** Size of the gzip bytes, when the whole tarball was read. */
  readonly size?: number;
}

// `<prefix>/.spack/<file>`: the first file of the prefix's metadata directory. Members come
// in Spack's order (build cache format reference §2.3): the parent directories, the prefix's own
// files, then its sub-directories with `.spack` first, so this match comes early.
const METADATA_FILE = /^(.+)\/\.spack\/[^/]+$/;

/**
 * Reads the gzip tarball `stream` far enough to find the install prefix, or to the end when
 * `whole` is set, then also reporting its `diff_id` and compressed size. Reading stops (the
 * stream is cancelled) as soon as nothing more is needed.
 *
 * @example
 * ```ts
 * import { inspectPackageTarball } from "@spackle/spackle/image";
 * const file = await Deno.open("zlib.tar.gz");
 * const { prefix, diffId } = await inspectPackageTarball(file.readable, "zlib.tar.gz", true);
 * ```
 *
 * @param source Names the tarball in errors.
 * @throws {FormatError} when the tarball is corrupt or holds no `<prefix>/.spack/` file.
 */
export async function inspectPackageTarball(
  stream: ReadableStream<Uint8Array>,
  source: string,
  whole = false,
): Promise<PackageTarballInfo> {
  // Cancelling a gunzip stage mid-stream makes Deno's node-stream adapter enqueue into a closed
  // stream (an uncaught TypeError), so reading stops at the compressed input instead: it is
  // errored and its source cancelled, and the stages after it are left to the collector.
  const input = stream.getReader();
  let stopped = false;
  let feeder!: ReadableStreamDefaultController<Uint8Array>;
  const fed = new ReadableStream<Uint8Array>({
    start(controller) {
      feeder = controller;
    },
    async pull(controller) {
      const { done, value } = await input.read();
      if (stopped) return;
      if (done) controller.close();
      else controller.enqueue(value);
    },
  }, { highWaterMark: 0 });
  const stop = async (reason: unknown) => {
    stopped = true;
    feeder.error(reason);
    await input.cancel(reason).catch(() => {});
  };

  const compressed = hashTap();
  const tar = hashTap();
  const reader = new TarReader(
    fed.pipeThrough(compressed.stream).pipeThrough(gunzipStream()).pipeThrough(tar.stream),
    source,
  );
  let prefix: string | undefined;
  try {
    for (let member = await reader.next(); member; member = await reader.next()) {
      if (prefix !== undefined || member.type !== "file") continue;
      const match = METADATA_FILE.exec(member.name.replace(/^(\.?\/)+/, ""));
      if (!match) continue;
      prefix = `/${match[1]}`;
      if (!whole) {
        await stop(new Error("prefix found"));
        return { prefix };
      }
    }
  } catch (e) {
    await stop(e);
    throw e instanceof FormatError
      ? e
      : new FormatError(source, `unreadable tarball: ${(e as Error).message}`, { cause: e });
  }
  if (prefix === undefined) {
    throw new FormatError(source, "not a Spack package tarball (no <prefix>/.spack/ file)");
  }
  const [gz, raw] = await Promise.all([compressed.digest, tar.digest]);
  return { prefix, diffId: `sha256:${raw.sha256}`, size: gz.size };
}
