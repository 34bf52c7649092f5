/**
 * Squashing package layers into one: the members of several gzip tarballs written as a single
 * tar, recompressed once. The only place an image needs new compression, for images whose specs
 * would exceed the layer limit of container runtimes.
 *
 * @module
 */
import { FormatError } from "../errors.ts";
import { hashTap } from "../stream/digest.ts";
import { gunzipStream, gzipStream } from "../stream/gzip.ts";
import { TarReader } from "../tar/reader.ts";
import { createTarStream, type TarEntry } from "../tar/writer.ts";
import type { ImageLayer } from "./types.ts";

/** One tarball to squash: a name for messages and a way to open its gzip bytes. */
export interface SquashSource {
  /** Names the tarball in errors (a spec, a digest). */
  readonly name: string;
  /** Opens a fresh stream of the gzip tarball. */
  open(): Promise<ReadableStream<Uint8Array>>;
}

/**
 * Writes the members of `sources`, in order, as one gzip tar layer to the file `path` and
 * returns its digests. Directories shared by several tarballs (the install tree's parents)
 * appear once; everything else is kept as stored, hard links included (their targets are
 * member names, which stay unique since every package has its own prefix). Streams: one member
 * body at a time is in flight.
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
 * @throws {FormatError} for a corrupt tarball or a member kind a layer cannot carry.
 */
export async function squashLayers(
  sources: readonly SquashSource[],
  path: string,
): Promise<ImageLayer> {
  const tar = hashTap();
  const gz = hashTap();
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  await createTarStream(members(sources))
    .pipeThrough(tar.stream)
    .pipeThrough(gzipStream())
    .pipeThrough(gz.stream)
    .pipeTo(file.writable);
  const [layer, raw] = await Promise.all([gz.digest, tar.digest]);
  return { digest: `sha256:${layer.sha256}`, size: layer.size, diffId: `sha256:${raw.sha256}` };
}

async function* members(sources: readonly SquashSource[]): AsyncGenerator<TarEntry> {
  const directories = new Set<string>();
  for (const source of sources) {
    const reader = new TarReader((await source.open()).pipeThrough(gunzipStream()), source.name);
    for (let member = await reader.next(); member; member = await reader.next()) {
      const name = member.name.replace(/\/+$/, "");
      if (member.type === "unsupported") {
        throw new FormatError(source.name, `cannot squash ${name} (tar type ${member.typeflag})`);
      }
      if (member.type === "directory") {
        if (directories.has(name)) continue;
        directories.add(name);
      }
      yield {
        name,
        type: member.type,
        mode: member.mode,
        size: member.size,
        linkname: member.linkname || undefined,
        body: member.size > 0 ? ReadableStream.from(reader.body()) : undefined,
      };
    }
  }
}
