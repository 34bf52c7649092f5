/**
 * Squashing package layers into one: the members of several gzip tarballs written as a single
 * tar, recompressed once. The only place an image needs new compression, for images whose specs
 * would exceed the layer limit of container runtimes.
 *
 * @module
 */
import { hashTap } from "../stream/digest.ts";
import { gunzipStream, gzipStream } from "../stream/gzip.ts";
import { MemberPolicy } from "../tar/member_policy.ts";
import { TarReader } from "../tar/reader.ts";
import { createTarStream, type TarEntry } from "../tar/writer.ts";
import type { ImageLayer } from "../oci/image/types.ts";

/** One tarball to squash: a name for messages and a way to open its gzip bytes. */
export interface SquashSource {
  /** Names the tarball in errors (a spec, a digest). */
  readonly name: string;
  /** Opens a fresh stream of the gzip tarball. */
  open(): Promise<ReadableStream<Uint8Array>>;
}

/**
 * Writes the members of `sources`, in order, as one gzip tar layer to the file `path` and
 * returns its digests. Every member passes {@link MemberPolicy} as in install: per tarball (the
 * package prefix rules), and over the whole layer (no member of one tarball replaces or is
 * written through a symlink or file of an earlier one). Names are written normalised and modes
 * without setuid, setgid and sticky bits, as install would apply them. Directories shared by
 * several tarballs (the install tree's parents) appear once; hard links are kept (their targets
 * are earlier members of the same package). Streams: one member body at a time is in flight. On
 * failure `path` is removed.
 *
 * @example
 * ```ts
 * import { squashLayers } from "@spackle/spackle/image";
 * const open = (path: string) => async () => (await Deno.open(path)).readable;
 * const layer = await squashLayers(
 *   [{ name: "a", open: open("a.tar.gz") }, { name: "b", open: open("b.tar.gz") }],
 *   "squashed.tar.gz",
 * );
 * ```
 *
 * @throws {UnsafeMemberError} naming the tarball and member that breaks a rule.
 * @throws {FormatError} for a corrupt tarball.
 */
export async function squashLayers(
  sources: readonly SquashSource[],
  path: string,
): Promise<ImageLayer> {
  const tar = hashTap();
  const gz = hashTap();
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    await createTarStream(members(sources))
      .pipeThrough(tar.stream)
      .pipeThrough(gzipStream())
      .pipeThrough(gz.stream)
      .pipeTo(file.writable);
  } catch (e) {
    await Deno.remove(path).catch(() => {});
    throw e;
  }
  const [layer, raw] = await Promise.all([gz.digest, tar.digest]);
  return { digest: `sha256:${layer.sha256}`, size: layer.size, diffId: `sha256:${raw.sha256}` };
}

async function* members(sources: readonly SquashSource[]): AsyncGenerator<TarEntry> {
  const layer = new MemberPolicy("squashed layer");
  const directories = new Set<string>();
  for (const source of sources) {
    const reader = new TarReader((await source.open()).pipeThrough(gunzipStream()), source.name);
    const policy = new MemberPolicy(source.name);
    try {
      for (let member = await reader.next(); member; member = await reader.next()) {
        const checked = policy.check(member);
        layer.check(member);
        if (checked.type === "directory") {
          if (checked.name === "" || directories.has(checked.name)) continue;
          directories.add(checked.name);
        }
        yield {
          name: checked.name,
          type: checked.type,
          mode: checked.mode,
          size: checked.size,
          linkname: checked.linkname || undefined,
          body: checked.size > 0 ? ReadableStream.from(reader.body()) : undefined,
        };
      }
      policy.finish();
    } catch (e) {
      await reader.cancel(e).catch(() => {});
      throw e;
    }
  }
}
