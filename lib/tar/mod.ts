/**
 * Spack package tarballs: a writer that produces Python `tarfile`'s exact bytes, the walk that
 * lists an installed prefix in Spack's member order, a streaming reader for untrusted archives,
 * the member rules every consumer of a cache tarball applies, and a safe streaming extractor
 * (Spack build cache format reference §2).
 *
 * @module
 */
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
