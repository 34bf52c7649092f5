/**
 * The members of a Spack package tarball, in Spack's order, read from an installed prefix
 * (Spack build cache format reference §2.2–§2.3).
 *
 * @module
 */
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { lazyFileBody } from "./_file_body.ts";
import type { TarEntry } from "./writer.ts";

/** A tar entry produced by {@link walkPrefix}, with where it came from. */
export interface WalkedEntry extends TarEntry {
  /** Path on disk the entry was read from; absent for the synthesised parent directories. */
  sourcePath?: string;
  /**
   * Path relative to the walked directory, `/`-separated: `"."` for the directory itself,
   * e.g. `"lib/libz.so"` below it, and `".."`, `"../.."`, … for the parent directories of the
   * member prefix.
   */
  relativePath: string;
}

/** Options of {@link walkPrefix}. */
export interface WalkPrefixOptions {
  /**
   * Member name of the walked directory: the install prefix at build time without its leading
   * `/`, e.g. `opt/spack/linux-x86_64/zlib-1.3-abc`. Independent of where `dir` is on disk.
   */
  memberPrefix: string;
}

const BUILDINFO = join(".spack", "binary_distribution");

/**
 * Walks the installed prefix `dir` and yields the tar entries Spack puts in a package tarball,
 * in Spack's order (`reproducible_tarfile_from_prefix`):
 *
 * 1. every parent directory of `memberPrefix`, from the top (`opt/`, `opt/spack/`, …);
 * 2. a depth-first pre-order walk of `dir`: a directory, then its non-directory children in
 *    code-point order of their names, then its sub-directories in that order.
 *
 * Names are `memberPrefix + "/" + relativePath`. Directories and symlinks get mode 0755, files
 * 0755 when owner-executable and 0644 otherwise. Symlinks are never followed (`linkname` is the
 * `readlink` text). A file whose (dev, ino) was seen before becomes a `hardlink` to the first
 * member's name. FIFOs, sockets and devices are skipped, and so is `<dir>/.spack/binary_distribution`
 * (matched by inode, like Spack): the caller appends a fresh one as the last entry.
 *
 * Entries are produced lazily (one directory listing in memory at a time), and file bodies open
 * their file only when the writer reads them, so memory stays constant whatever the prefix size.
 * The metadata calls are synchronous: an async Deno call per entry (a thread-pool round trip)
 * cost more than the work itself on prefixes with many small files.
 *
 * @throws {UsageError} if `memberPrefix` is empty, absolute, or has `.`/`..`/empty components.
 * File system errors (e.g. `Deno.errors.NotFound` for `dir`) propagate unchanged.
 *
 * @example
 * ```ts
 * import { createTarStream, walkPrefix } from "@spackle/spackle/tar";
 * const dir = await Deno.makeTempDir();
 * const tar = createTarStream(walkPrefix(dir, { memberPrefix: "opt/spack/zlib-1.3-abc" }));
 * await new Response(tar).arrayBuffer();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function* walkPrefix(
  dir: string,
  options: WalkPrefixOptions,
): AsyncGenerator<WalkedEntry, void, undefined> {
  const parts = options.memberPrefix.split("/");
  if (parts.some((part) => part === "" || part === "." || part === "..")) {
    throw new UsageError(
      `member prefix ${JSON.stringify(options.memberPrefix)} must be a relative path ` +
        `without empty, "." or ".." components (an install prefix without its leading "/")`,
    );
  }
  for (let depth = 1; depth < parts.length; depth++) {
    yield {
      name: parts.slice(0, depth).join("/"),
      type: "directory",
      mode: 0o755,
      size: 0,
      relativePath: Array(parts.length - depth).fill("..").join("/"),
    };
  }
  const skipped = inodeKey(join(dir, BUILDINFO));
  /** (dev, ino) of files with several links → member name of their first occurrence. */
  const firstLinks = new Map<string, string>();
  // Spack's explicit stack: pop a directory, emit it and its non-directory children, then push
  // its sub-directories in reverse so they pop in sorted order.
  const pending: Place[] = [{ path: dir, relative: ".", name: options.memberPrefix }];
  for (let place = pending.pop(); place; place = pending.pop()) {
    const { path, relative, name } = place;
    yield {
      name,
      type: "directory",
      mode: 0o755,
      size: 0,
      sourcePath: path,
      relativePath: relative,
    };
    const children = [...Deno.readDirSync(path)].sort((a, b) => compareCodePoints(a.name, b.name));
    const subdirectories: Place[] = [];
    for (const child of children) {
      const at: Place = {
        path: join(path, child.name),
        relative: relative === "." ? child.name : `${relative}/${child.name}`,
        name: `${name}/${child.name}`,
      };
      if (child.isDirectory) {
        subdirectories.push(at);
      } else if (child.isSymlink) {
        yield {
          name: at.name,
          type: "symlink",
          mode: 0o755,
          size: 0,
          linkname: Deno.readLinkSync(at.path),
          sourcePath: at.path,
          relativePath: at.relative,
        };
      } else if (child.isFile) {
        const entry = fileEntry(at, skipped, firstLinks);
        if (entry) yield entry;
      }
      // Anything else (FIFO, socket, device) is not archived, as in Spack.
    }
    pending.push(...subdirectories.reverse());
  }
}

/** A directory entry's path on disk, relative path and member name. */
interface Place {
  path: string;
  relative: string;
  name: string;
}

/** A regular file, a `hardlink` to an earlier member, or undefined for the skipped buildinfo. */
function fileEntry(
  at: Place,
  skipped: string | undefined,
  firstLinks: Map<string, string>,
): WalkedEntry | undefined {
  const info = Deno.lstatSync(at.path);
  const key = `${info.dev}:${info.ino}`;
  if (key === skipped) return undefined;
  const mode = (info.mode ?? 0) & 0o100 ? 0o755 : 0o644;
  const common = { name: at.name, mode, sourcePath: at.path, relativePath: at.relative };
  if ((info.nlink ?? 1) > 1) {
    const first = firstLinks.get(key);
    if (first !== undefined) return { ...common, type: "hardlink", size: 0, linkname: first };
    firstLinks.set(key, at.name);
  }
  return { ...common, type: "file", size: info.size, body: lazyFileBody(at.path, info.size) };
}

/** `"dev:ino"` of the path (not following symlinks), or undefined when it does not exist. */
function inodeKey(path: string): string | undefined {
  try {
    const info = Deno.lstatSync(path);
    return `${info.dev}:${info.ino}`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
}

/** Python's `str` ordering: by code point (JS `<` compares UTF-16 code units instead). */
function compareCodePoints(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  while (true) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return (x.done ? 0 : 1) - (y.done ? 0 : 1);
    const difference = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
}
