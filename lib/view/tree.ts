/**
 * The file trees a view is planned from: the installed prefixes on disk, or any other tree of
 * directories, files and symlinks (such as the layers of an image) that answers the same few
 * questions.
 *
 * @module
 */
import { exists } from "../stream/io.ts";
/** One entry of a directory, as `lstat` sees it (a symlink is neither file nor directory). */
export interface ViewTreeEntry {
  /** The entry's name (one path component). */
  readonly name: string;
  /** A real directory (not a symlink to one). */
  readonly isDirectory: boolean;
  /** A symbolic link. */
  readonly isSymlink: boolean;
}

/** Where a path leads once every symlink on the way is followed. */
export interface ResolvedPath {
  /** The canonical absolute path. */
  readonly realPath: string;
  /** It is a directory. */
  readonly isDirectory: boolean;
  /** Equal for two paths exactly when they are the same file (hard links included). */
  readonly identity: string;
}

/**
 * A read-only tree of absolute paths a view is planned from (see `planView`).
 *
 * @example
 * ```ts
 * import { diskTree } from "@spackle/spackle/view";
 * const entries = await diskTree.readDir("/opt/spack/linux-x86_64/zlib-1.3-abc");
 * console.log(entries.map((e) => e.name));
 * ```
 */
export interface ViewTree {
  /** The entries of directory `path` (symlinks on the way followed), in any order. */
  readDir(path: string): Promise<ViewTreeEntry[]>;
  /** Whether `path` exists (a dangling symlink exists). */
  exists(path: string): Promise<boolean>;
  /** `path` with every symlink followed; `undefined` when it leads nowhere. */
  resolve(path: string): Promise<ResolvedPath | undefined>;
}

/**
 * The local filesystem as a {@link ViewTree}: `Deno.readDir`, `lstat`, `stat` and `realPath`;
 * file identity is device and inode.
 *
 * @example
 * ```ts
 * import { diskTree } from "@spackle/spackle/view";
 * const bin = await diskTree.resolve("/usr/bin");
 * console.log(bin?.isDirectory, bin?.realPath);
 * ```
 */
export const diskTree: ViewTree = {
  async readDir(path) {
    const out: ViewTreeEntry[] = [];
    for await (const e of Deno.readDir(path)) {
      out.push({ name: e.name, isDirectory: e.isDirectory, isSymlink: e.isSymlink });
    }
    return out;
  },
  exists,
  async resolve(path) {
    try {
      const [info, realPath] = await Promise.all([Deno.stat(path), Deno.realPath(path)]);
      return { realPath, isDirectory: info.isDirectory, identity: `${info.dev}:${info.ino}` };
    } catch {
      return undefined;
    }
  },
};
