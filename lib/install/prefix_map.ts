/**
 * The ordered old → new prefix map Spack builds before relocating a package
 * (relocation reference §1.3, build cache format reference §2.7).
 *
 * @module
 */
import type { BuildInfo } from "../buildcache/buildinfo.ts";
import { PrefixMapError } from "../errors.ts";
import { type ConcreteSpec, type SpecNode, specsToRelocate } from "../spec/spec.ts";

/** Where things go on this machine. */
export interface InstallLayout {
  /** The store root, padded when the install tree pads. */
  storeRoot: string;
  /** The unpadded store root (the sbang script lives at `<unpaddedRoot>/bin/sbang`). */
  unpaddedRoot: string;
  /** The local prefix of a node. */
  prefixOf(node: SpecNode): string;
}

/**
 * Builds the prefix map for relocating `spec`, in Spack's order: the old sbang path, then the
 * prefixes of the spec, its link dependencies breadth-first and its direct run dependencies (those
 * recorded in `hash_to_prefix`), then the old store root as the generic fallback. Identity pairs
 * are dropped; an empty map means nothing needs relocating.
 *
 * The buildinfo comes from the tarball, so every old path that enters the map is checked first
 * ({@link checkOldPrefix}): relocation replaces it in every listed file, and `/` or `/usr`
 * there would rewrite any absolute path.
 *
 * @example
 * ```ts
 * import type { ConcreteSpec } from "@spackle/spackle";
 * import { parseBuildInfo } from "@spackle/spackle/buildcache";
 * import { buildPrefixMap } from "@spackle/spackle/relocate";
 * declare const spec: ConcreteSpec;
 * const info = parseBuildInfo("{buildpath: /old/store, hash_to_prefix: {}}", "buildinfo");
 * const map = buildPrefixMap(info, spec, {
 *   storeRoot: "/opt/sw",
 *   unpaddedRoot: "/opt/sw",
 *   prefixOf: (node) => `/opt/sw/${node.name}-${node.hash}`,
 * });
 * ```
 *
 * @throws {PrefixMapError} naming `options.source` and the prefix: an old prefix that is not
 * plausible; the spec's own old prefix other than `options.memberPrefix`; an empty `buildpath`
 * while files are listed for relocation.
 */
export function buildPrefixMap(
  info: BuildInfo,
  spec: ConcreteSpec,
  layout: InstallLayout,
  options: {
    /**
     * The prefix the tarball's members live in (`ExtractedPackage.oldPrefix`): the spec's own
     * old prefix in the buildinfo must be this one.
     */
    memberPrefix?: string;
    /** Names the tarball in errors (default `"buildinfo"`). */
    source?: string;
  } = {},
): Map<string, string> {
  const source = options.source ?? "buildinfo";
  const map = new Map<string, string>();
  const add = (from: string, to: string) => {
    checkOldPrefix(from, source);
    map.set(from, to);
  };
  if (info.sbang_install_path) add(info.sbang_install_path, `${layout.unpaddedRoot}/bin/sbang`);
  for (const node of specsToRelocate(spec)) {
    const old = info.hash_to_prefix[node.hash];
    if (old) add(old, layout.prefixOf(node));
  }
  const own = info.hash_to_prefix[spec.node.hash];
  if (own && options.memberPrefix !== undefined && own !== options.memberPrefix) {
    throw new PrefixMapError(
      source,
      own,
      `the package's old prefix is not the one its tarball members live in (${options.memberPrefix})`,
    );
  }
  if (info.buildpath) add(info.buildpath, layout.storeRoot);
  else if (info.buildpath !== undefined && relocates(info)) {
    throw new PrefixMapError(source, "", "empty buildpath while files are listed for relocation");
  }
  for (const [from, to] of map) if (from === to) map.delete(from);
  return map;
}

function relocates(info: BuildInfo): boolean {
  return info.relocate_binaries.length + info.relocate_links.length +
      info.relocate_textfiles.length > 0;
}

/**
 * System directories: never an install prefix, though packages mention paths below them.
 * Together with the two-component minimum this also refuses every parent of one.
 */
const SYSTEM_DIRS = new Set([
  "/usr/bin",
  "/usr/include",
  "/usr/lib",
  "/usr/lib32",
  "/usr/lib64",
  "/usr/libexec",
  "/usr/local",
  "/usr/sbin",
  "/usr/share",
  "/usr/src",
  "/var/cache",
  "/var/lib",
  "/var/log",
  "/var/tmp",
]);

/**
 * Throws unless `prefix` is a plausible old install prefix (or store root, or sbang path) to
 * relocate from: absolute, normalised (no empty, `.` or `..` component, no trailing `/`), at
 * least two components (so not `/`, `/usr`, `/opt`, `/home`, `/tmp`, …) and not a system
 * directory such as `/usr/lib` or `/usr/local`.
 *
 * @example
 * ```ts
 * import { checkOldPrefix } from "@spackle/spackle/relocate";
 * checkOldPrefix("/opt/spack/store", "buildinfo"); // fine
 * ```
 *
 * @throws {PrefixMapError} naming `source` and `prefix`.
 */
export function checkOldPrefix(prefix: string, source: string): void {
  const refuse = (reason: string) => {
    throw new PrefixMapError(source, prefix, reason);
  };
  if (typeof prefix !== "string" || !prefix.startsWith("/")) refuse("not an absolute path");
  const parts = prefix.slice(1).split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) refuse("not a normalised path");
  if (parts.length < 2) refuse("a top-level directory is not an install prefix");
  if (SYSTEM_DIRS.has(prefix)) refuse("a system directory is not an install prefix");
}
