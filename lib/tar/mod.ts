/**
 * Spack package tarballs: a writer that produces Python `tarfile`'s exact bytes, the walk that
 * lists an installed prefix in Spack's member order, and a safe streaming extractor (Spack build
 * cache format reference §2).
 *
 * @module
 */
export { createTarStream, type TarEntry, TarEntryError } from "./writer.ts";
export { type WalkedEntry, walkPrefix, type WalkPrefixOptions } from "./walk.ts";
export {
  type ExtractedPackage,
  type ExtractPackageOptions,
  extractPackageTarball,
} from "./extract.ts";
