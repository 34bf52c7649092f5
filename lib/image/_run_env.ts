// The run environment of an image: Spack's prefix inspections of the image's prefixes (or of its
// view), kept only where the directory is in the layers.

import { PREFIX_INSPECTIONS } from "../env/prefix_inspections.ts";
import type { LayerTree } from "./_layer_tree.ts";

/**
 * For each search-path variable, the directories to put ahead of the base's value, first one
 * first. `prefixes` come dependencies first; Spack prepends each prefix's inspected directories
 * in that order, so the last prefix (a root) ends up first. Each directory appears once.
 */
export function runSearchPaths(
  prefixes: readonly string[],
  tree: LayerTree,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const prefix of prefixes) {
    for (const { path, variables } of PREFIX_INSPECTIONS) {
      const dir = path === "" ? prefix : `${prefix}/${path}`;
      if (!tree.isDirectory(dir)) continue;
      for (const variable of variables) (out[variable] ??= []).unshift(dir);
    }
  }
  for (const [variable, dirs] of Object.entries(out)) out[variable] = [...new Set(dirs)];
  return out;
}
