/**
 * Walks the regular files of an install prefix the way Spack's post-install hooks do: symlinks
 * (to files or directories) are never followed.
 *
 * @module
 */
import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";

/** A regular file found under a prefix. */
export interface PrefixFile {
  /** Full path (prefix joined with `relativePath`). */
  readonly path: string;
  /** Path relative to the prefix, `/`-separated. */
  readonly relativePath: string;
  /** `lstat` of the file. */
  readonly stat: Stats;
}

/** Options of {@link walkRegularFiles}. */
export interface WalkOptions {
  /** Skip the prefix's own `.spack/` metadata directory. */
  readonly skipSpackDir?: boolean;
}

/** Yields every regular file under `prefix`, names sorted, depth first, without following links. */
export async function* walkRegularFiles(
  prefix: string,
  options: WalkOptions = {},
): AsyncGenerator<PrefixFile> {
  yield* walkDir(prefix, "", options);
}

async function* walkDir(
  prefix: string,
  relDir: string,
  options: WalkOptions,
): AsyncGenerator<PrefixFile> {
  const dir = relDir ? `${prefix}/${relDir}` : prefix;
  const names = (await readdir(dir)).sort();
  for (const name of names) {
    if (!relDir && name === ".spack" && options.skipSpackDir) continue;
    const relativePath = relDir ? `${relDir}/${name}` : name;
    const path = `${prefix}/${relativePath}`;
    const stat = await lstat(path);
    if (stat.isDirectory()) yield* walkDir(prefix, relativePath, options);
    else if (stat.isFile()) yield { path, relativePath, stat };
  }
}
