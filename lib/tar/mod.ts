/**
 * Spack package tarballs: a writer that produces Python `tarfile`'s exact bytes, the walk that
 * lists an installed prefix in Spack's member order, {@link createSpecTarball} that makes a
 * spec's whole gzip tarball from its prefix, a streaming reader for untrusted archives, the member
 * rules every consumer of a cache tarball applies ({@link MemberPolicy}), and a safe streaming
 * extractor (Spack build cache format reference §2).
 *
 * @example
 * ```ts
 * import { createTarStream, walkPrefix } from "@spackle/spackle/tar";
 * import { gzipStream } from "@spackle/spackle/stream";
 * const prefix = "/opt/spack/zlib-1.3-abc";
 * const tar = createTarStream(walkPrefix(prefix, { memberPrefix: prefix.slice(1) }));
 * await tar.pipeThrough(gzipStream()).pipeTo((await Deno.create("zlib.tar.gz")).writable);
 * ```
 *
 * @module
 */
export { createSpecTarball, type SpecTarball, type TarballBuildInfo } from "../push/tarball.ts";
export { createTarStream, type TarEntry, TarEntryError } from "./writer.ts";
export { type WalkedEntry, walkPrefix, type WalkPrefixOptions } from "./walk.ts";
export { type TarMember, TarReader } from "./reader.ts";
export {
  assertDisjointPrefixes,
  type CheckedMember,
  MemberPolicy,
  type MemberPolicyOptions,
  UnsafeMemberError,
} from "./member_policy.ts";
export {
  type ExtractedPackage,
  type ExtractPackageOptions,
  extractPackageTarball,
} from "./extract.ts";
