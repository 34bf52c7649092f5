/**
 * Creating a spec's package tarball as Spack does, in one pass over the prefix: each file is
 * read once, streamed into the tar and classified on the way (binary, text with a relocatable
 * prefix, other), and `.spack/binary_distribution` with the resulting relocation lists is
 * appended last (build cache format reference §2, relocation reference §1.2).
 *
 * Stages: walk → tar → (sha256 of tar = diff_id) → gzip on a pool of worker threads → (sha256
 * of blob) → file.
 *
 * @module
 */
import { type BuildInfo, serializeBuildInfo } from "../buildcache/buildinfo.ts";
import { createFileClassifier, isSpackMetadataPath } from "../relocate/classify.ts";
import { hashTap } from "../stream/digest.ts";
import { parallelGzipStream } from "../stream/parallel_gzip.ts";
import { streamOf } from "../stream/io.ts";
import { createTarStream, type TarEntry } from "../tar/writer.ts";
import { walkPrefix } from "../tar/walk.ts";
import type { PushedTarball } from "../mirror/types.ts";

/** What the tarball records about where the spec was built. */
export type TarballBuildInfo = Omit<
  BuildInfo,
  "relocate_binaries" | "relocate_links" | "relocate_textfiles"
>;

/** A tarball written to disk, with the buildinfo it ends with. */
export interface SpecTarball extends PushedTarball {
  /** The `.spack/binary_distribution` written as the last member. */
  buildinfo: BuildInfo;
}

/**
 * Writes the gzip tarball of the prefix on disk at `dir`, whose recorded (install-time) prefix is
 * `prefix`, to `outPath`.
 *
 * @param info The buildinfo header fields; its `hash_to_prefix`, `sbang_install_path` and
 * `buildpath` are the prefixes searched for when classifying files.
 * @param onBytes Called with the running count of compressed bytes written.
 *
 * @example
 * ```ts
 * import { openStore } from "@spackle/spackle";
 * import { createSpecTarball } from "@spackle/spackle/tar";
 * const store = await openStore("/opt/spack/opt/spack");
 * const [{ spec, prefix }] = store.specs;
 * const tarball = await createSpecTarball(prefix, prefix, {
 *   buildpath: store.root,
 *   hash_to_prefix: { [spec.node.hash]: prefix },
 * }, "package.tar.gz");
 * console.log(tarball.sha256, tarball.size, tarball.buildinfo.relocate_textfiles);
 * ```
 */
export async function createSpecTarball(
  dir: string,
  prefix: string,
  info: TarballBuildInfo,
  outPath: string,
  onBytes?: (bytes: number) => void,
): Promise<SpecTarball> {
  const prefixes = [
    ...Object.values(info.hash_to_prefix),
    ...(info.sbang_install_path ? [info.sbang_install_path] : []),
    ...(info.buildpath ? [info.buildpath] : []),
  ];
  const buildinfo: BuildInfo = {
    ...info,
    relocate_binaries: [],
    relocate_links: [],
    relocate_textfiles: [],
  };
  const memberPrefix = prefix.replace(/^\/+/, "");

  async function* entries(): AsyncGenerator<TarEntry> {
    for await (const entry of walkPrefix(dir, { memberPrefix })) {
      const rel = entry.relativePath;
      const metadata = isSpackMetadataPath(rel);
      if (!metadata && entry.type === "symlink" && entry.linkname?.startsWith("/")) {
        if (prefixes.some((p) => entry.linkname!.startsWith(p))) buildinfo.relocate_links.push(rel);
      }
      if (metadata || entry.type !== "file" || !entry.body) {
        yield entry;
        continue;
      }
      const classifier = createFileClassifier(prefixes);
      const classify = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          classifier.update(chunk);
          controller.enqueue(chunk);
        },
        flush() {
          const result = classifier.finish();
          if (!result.listed) return;
          if (result.type === "binary") buildinfo.relocate_binaries.push(rel);
          else buildinfo.relocate_textfiles.push(rel);
        },
      });
      const body = entry.body instanceof Uint8Array ? streamOf(entry.body) : entry.body;
      yield { ...entry, body: body.pipeThrough(classify) };
    }
    // Every file body has been consumed by now: the writer reads entries in order.
    const text = new TextEncoder().encode(serializeBuildInfo(buildinfo));
    yield {
      name: `${memberPrefix}/.spack/binary_distribution`,
      type: "file",
      mode: 0o644,
      size: text.byteLength,
      body: text,
    };
  }

  const tar = hashTap();
  const gz = hashTap();
  let written = 0;
  const file = await Deno.open(outPath, { write: true, createNew: true });
  await createTarStream(entries())
    .pipeThrough(tar.stream)
    .pipeThrough(parallelGzipStream())
    .pipeThrough(gz.stream)
    .pipeThrough(
      new TransformStream({
        transform(chunk, controller) {
          written += chunk.byteLength;
          onBytes?.(written);
          controller.enqueue(chunk);
        },
      }),
    )
    .pipeTo(file.writable);
  const [tarDigest, gzDigest] = await Promise.all([tar.digest, gz.digest]);
  return {
    path: outPath,
    sha256: gzDigest.sha256,
    size: gzDigest.size,
    diffId: tarDigest.sha256,
    buildinfo,
  };
}
