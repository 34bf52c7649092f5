/**
 * What an image needs to know about a Spack package tarball used as a layer: the install prefix
 * it unpacks to, and the digest of its uncompressed tar (`diff_id`); and, for a layer reused
 * unchanged, that every member passes the member policy that install applies.
 *
 * @module
 */
import { FormatError, SpackleError } from "../../errors.ts";
import { hashTap } from "../../stream/digest.ts";
import { gunzipStream } from "../../stream/gzip.ts";
import { MemberPolicy } from "../../tar/member_policy.ts";
import { TarReader } from "../../tar/reader.ts";

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

/** Options of {@link inspectPackageTarball}. */
export interface InspectTarballOptions {
  /**
   * Read the whole tarball: check every member with {@link MemberPolicy}, take the prefix that
   * extraction would use, and report the `diff_id` and compressed size. Default false: stop at
   * the first `<prefix>/.spack/` file (nothing is checked).
   */
  readonly whole?: boolean;
  /**
   * With `whole`: the layer is rewritten (squashed), so setuid/setgid bits will be stripped and
   * are not refused here. Default false: the layer is reused unchanged and they are refused.
   */
  readonly rewritten?: boolean;
}

/**
 * Reads the gzip tarball `stream` far enough to find the install prefix, or, with
 * `options.whole`, to the end: then every member is checked with {@link MemberPolicy} (what
 * install refuses is refused, and setuid/setgid bits too unless the layer is `rewritten`, since
 * a layer reused by digest cannot have them stripped), the prefix is the one extraction would
 * use, and the `diff_id` and compressed size are reported. Reading stops (the stream is
 * cancelled) as soon as nothing more is needed.
 *
 * @example
 * ```ts
 * import { inspectPackageTarball } from "@spackle/spackle/oci";
 * const file = await Deno.open("zlib.tar.gz");
 * const { prefix, diffId } = await inspectPackageTarball(file.readable, "zlib.tar.gz", {
 *   whole: true,
 * });
 * ```
 *
 * @param source Names the tarball in errors.
 * @throws {UnsafeMemberError} with `whole`, naming the first member the policy refuses.
 * @throws {FormatError} when the tarball is corrupt or holds no `<prefix>/.spack/` file.
 */
export async function inspectPackageTarball(
  stream: ReadableStream<Uint8Array>,
  source: string,
  options: InspectTarballOptions = {},
): Promise<PackageTarballInfo> {
  const compressed = hashTap();
  const tar = hashTap();
  const reader = new TarReader(
    stream.pipeThrough(compressed.stream).pipeThrough(gunzipStream()).pipeThrough(tar.stream),
    source,
  );
  const policy = options.whole
    ? new MemberPolicy(source, { unchanged: !options.rewritten })
    : undefined;
  let prefix: string | undefined;
  try {
    for (let member = await reader.next(); member; member = await reader.next()) {
      if (policy) {
        policy.check(member);
        continue;
      }
      const match = member.type === "file" &&
        METADATA_FILE.exec(member.name.replace(/^(\.?\/)+/, ""));
      if (match) {
        prefix = `/${match[1]}`;
        await reader.cancel(new Error("prefix found"));
        return { prefix };
      }
    }
    if (policy) prefix = `/${policy.finish()}`;
  } catch (e) {
    await reader.cancel(e).catch(() => {});
    throw e instanceof SpackleError
      ? e
      : new FormatError(source, `unreadable tarball: ${(e as Error).message}`, { cause: e });
  }
  if (prefix === undefined) {
    throw new FormatError(source, "not a Spack package tarball (no <prefix>/.spack/ file)");
  }
  const [gz, raw] = await Promise.all([compressed.digest, tar.digest]);
  return { prefix, diffId: `sha256:${raw.sha256}`, size: gz.size };
}
