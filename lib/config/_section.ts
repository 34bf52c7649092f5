/**
 * The `mirrors` section of one parsed configuration file (a scope's `mirrors.yaml` or an
 * environment's `spack.yaml`), checked against Spack 1.2's schema.
 */
import { MirrorConfigError } from "./errors.ts";
import type { PathContext } from "./paths.ts";
import { checkMirrorsSection } from "./_schema.ts";
import { mirrorsSectionPath, plainValue, splitKey, typeName, type YamlFile } from "./_yaml.ts";
import type { ConfigScope } from "./types.ts";

/** A scope's `mirrors` section: checked, URLs canonical, key suffixes kept for merging. */
export interface ScopeSection {
  /** The scope it came from. */
  readonly scope: ConfigScope;
  /** Mirror entries by key as written (with `::`/`+`/`-` suffixes). */
  readonly mirrors: Map<string, unknown>;
  /** `mirrors::`: the section replaces everything from lower scopes. */
  readonly override: boolean;
}

/**
 * Reads the `mirrors` section of `file`; a missing section reads as empty. Without `paths`, mirror
 * URLs are kept as written (checking only).
 *
 * @throws {MirrorConfigError} for a structure or value Spack 1.2 rejects.
 */
export function mirrorsSection(
  file: YamlFile,
  paths?: PathContext,
): Omit<ScopeSection, "scope"> {
  const sectionPath = mirrorsSectionPath(file);
  let node: unknown = plainValue(file);
  let override = false;
  for (const [depth, name] of sectionPath.entries()) {
    if (node === null || node === undefined) return { mirrors: new Map(), override };
    if (!(node instanceof Map)) {
      throw new MirrorConfigError(
        file.path,
        sectionPath.slice(0, depth).join("."),
        `expected a mapping, got ${typeName(node)}`,
      );
    }
    const map = node as Map<string, unknown>;
    if (depth === 0 && name === "mirrors") {
      for (const key of map.keys()) {
        if (splitKey(key).name !== "mirrors") {
          throw new MirrorConfigError(
            file.path,
            splitKey(key).name,
            "unknown top-level key (a mirrors.yaml scope file holds only `mirrors:`)",
          );
        }
      }
    }
    const key = [...map.keys()].find((k) => splitKey(k).name === name);
    override = key !== undefined && splitKey(key).mode === "override";
    node = key === undefined ? null : map.get(key);
  }
  const mirrors = checkMirrorsSection(node, {
    file: file.path,
    keyPath: sectionPath.join("."),
    paths,
  });
  return { mirrors, override };
}
