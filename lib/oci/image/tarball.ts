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

/** A member of a package tarball as {@link inspectPackageTarball} lists it. */
export interface LayerMember {
  /** Normalised name without a leading `/`, e.g. `opt/sw/zlib-1.3-abc/lib`. */
  readonly name: string;
  /** Kind of member. */
  readonly type: "file" | "directory" | "symlink" | "hardlink";
  /** Symlink target verbatim, hardlink target normalised like `name`, else `""`. */
  readonly linkname: string;
}

/** What {@link inspectPackageTarball} found. */
export interface PackageTarballInfo {
  /** The install prefix (absolute), where the layer puts the package. */
  readonly prefix: string;
  /** `sha256:<hex>` of the uncompressed tar, when the whole tarball was read. */
  readonly diffId?: string;
  /** Size of the gzip bytes, when the whole tarball was read. */
  readonly size?: number;
  /** With `listing`: every member, in archive order. */
  readonly members?: readonly LayerMember[];
  /**
   * With `listing`: the sbang launchers (`<root>/bin/sbang`, absolute) that executable scripts
   * rewritten by Spack's sbang hook (first line `#!/bin/sh <root>/bin/sbang`) run through.
   */
  readonly sbang?: readonly string[];
}

// `<prefix>/.spack/<file>`: the first file of the prefix's metadata directory. Members come
// in Spack's order (build cache format reference §2.3): the parent directories, the prefix's own
// files, then its sub-directories with `.spack` first, so this match comes early.
const METADATA_FILE = /^(.+)\/\.spack\/[^/]+$/;

// Spack's sbang line: `#!/bin/sh <sbang>\n`, the sbang path at most 127 bytes.
const SBANG_LINE = /^#!\/bin\/sh (\/[^\s]*\/bin\/sbang)\n/;
const SBANG_LINE_MAX = 140;
const EXECUTE_BITS = 0o111;

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
  /**
   * With `whole`: also report the members and the sbang launchers scripts need (members'
   * first bytes are read for this). Default false.
   */
  readonly listing?: boolean;
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
  const members: LayerMember[] = [];
  const sbang = new Set<string>();
  try {
    for (let member = await reader.next(); member; member = await reader.next()) {
      if (policy) {
        const checked = policy.check(member);
        if (!options.listing) continue;
        members.push({ name: checked.name, type: checked.type, linkname: checked.linkname });
        if (checked.type === "file" && (checked.mode & EXECUTE_BITS) !== 0) {
          const launcher = sbangOf(await readHead(reader.body(), SBANG_LINE_MAX));
          if (launcher) sbang.add(launcher);
        }
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
  const info = { prefix, diffId: `sha256:${raw.sha256}`, size: gz.size };
  return options.listing ? { ...info, members, sbang: [...sbang] } : info;
}

/** The first `max` bytes (or fewer) of a member body. */
async function readHead(body: AsyncGenerator<Uint8Array>, max: number): Promise<Uint8Array> {
  const head = new Uint8Array(max);
  let length = 0;
  for await (const chunk of body) {
    const take = Math.min(chunk.length, max - length);
    head.set(chunk.subarray(0, take), length);
    length += take;
    if (length === max) break;
  }
  return head.subarray(0, length);
}

/** The launcher path of a script whose first line is Spack's `#!/bin/sh <root>/bin/sbang`. */
function sbangOf(head: Uint8Array): string | undefined {
  const match = SBANG_LINE.exec(new TextDecoder("latin1").decode(head));
  return match?.[1];
}
