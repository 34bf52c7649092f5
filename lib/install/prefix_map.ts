/**
 * The ordered old → new prefix map Spack builds before relocating a package
 * (relocation reference §1.3, build cache format reference §2.7).
 *
 * @module
 */
import type { BuildInfo } from "../buildcache/buildinfo.ts";
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
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { parseBuildInfo } from "@spackle/spackle/buildcache";
 * import { buildPrefixMap } from "@spackle/spackle/relocate";
 * const [spec] = await (await openMirror("./cache")).listSpecs();
 * const path = "/opt/sw/pkg/.spack/binary_distribution";
 * const map = buildPrefixMap(parseBuildInfo(await Deno.readTextFile(path), path), spec, {
 *   storeRoot: "/opt/sw",
 *   unpaddedRoot: "/opt/sw",
 *   prefixOf: (node) => `/opt/sw/${node.name}-${node.hash}`,
 * });
 * ```
 */
export function buildPrefixMap(
  info: BuildInfo,
  spec: ConcreteSpec,
  layout: InstallLayout,
): Map<string, string> {
  const map = new Map<string, string>();
  if (info.sbang_install_path) map.set(info.sbang_install_path, `${layout.unpaddedRoot}/bin/sbang`);
  for (const node of specsToRelocate(spec)) {
    const old = info.hash_to_prefix[node.hash];
    if (old) map.set(old, layout.prefixOf(node));
  }
  if (info.buildpath) map.set(info.buildpath, layout.storeRoot);
  for (const [from, to] of map) if (from === to) map.delete(from);
  return map;
}
