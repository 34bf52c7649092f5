/**
 * Planning a merged view: which directories to make and which files to link, from the prefixes
 * of several packages, with Spack's rules (`SourceMergeVisitor`):
 *
 * - directories merge; a file where another package has a directory (or the reverse) is fatal;
 * - two different files at one path: the first package wins (environment views ignore these
 *   conflicts), unless `strict` (package metadata), where it is fatal; the same file reached
 *   twice (a symlink to it) is no conflict;
 * - every entry named `.spack` is skipped in the package pass; each prefix's `.spack` goes to
 *   `<projection>/.spack/<name>/` in the metadata pass;
 * - a symlink to a directory in the top two levels of a prefix that points deeper into its own
 *   parent is merged as a directory; other symlinks are linked as files.
 */
import { dirname, join } from "node:path";
import { ViewConflictError, type ViewConflictSide } from "./errors.ts";
import type { ViewTree } from "./tree.ts";

/** A source path and the package it belongs to. */
export interface Source {
  /** Absolute path in the prefix. */
  readonly path: string;
  /** `name@version/hash7` of its package. */
  readonly spec: string;
}

/** What to create below the new view root. */
export class MergePlan {
  /** Directories to make (relative), parents first. */
  readonly dirs = new Map<string, Source>();
  /** Files to link (relative destination → source). */
  readonly files = new Map<string, Source & { symlink: boolean }>();
  /** File conflicts that were resolved by keeping the first package's file. */
  readonly ignored: { path: string; kept: Source; dropped: Source }[] = [];

  /** A plan for the view at `root` (named in errors) of prefixes in `tree`. */
  constructor(readonly root: string, private readonly tree: ViewTree) {}

  /** Registers the directories of `projection` itself (made even when empty). */
  addProjection(projection: string, spec: string): void {
    let path = "";
    for (const part of projection.split("/").filter((p) => p !== "")) {
      path = path ? `${path}/${part}` : part;
      const file = this.files.get(path);
      if (file) throw this.conflict(path, file, { path: "<projection>", spec }, DIR_FILE);
      if (!this.dirs.has(path)) this.dirs.set(path, { path: "<projection>", spec });
    }
  }

  /**
   * Walks `dir` into `projection`. `ignoreMeta` skips every entry named `.spack`; `strict`
   * makes file conflicts fatal.
   */
  async merge(
    dir: string,
    projection: string,
    spec: string,
    opts: { ignoreMeta: boolean; strict: boolean },
  ): Promise<void> {
    this.addProjection(projection, spec);
    await this.walk(dir, "", 0, projection, spec, opts);
  }

  private async walk(
    root: string,
    rel: string,
    depth: number,
    projection: string,
    spec: string,
    opts: { ignoreMeta: boolean; strict: boolean },
  ): Promise<void> {
    const names = await this.tree.readDir(join(root, rel));
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of names) {
      if (opts.ignoreMeta && entry.name === ".spack") continue;
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      const src: Source = { path: join(root, childRel), spec };
      const dst = projection ? `${projection}/${childRel}` : childRel;
      let asDir = entry.isDirectory;
      if (entry.isSymlink) asDir = depth <= 1 && await this.pointsDeeper(src.path);
      if (asDir) {
        const file = this.files.get(dst);
        if (file) throw this.conflict(dst, file, src, DIR_FILE);
        if (!this.dirs.has(dst)) this.dirs.set(dst, src);
        await this.walk(root, childRel, depth + 1, projection, spec, opts);
      } else {
        await this.addFile(dst, src, entry.isSymlink, opts.strict);
      }
    }
  }

  private async addFile(dst: string, src: Source, symlink: boolean, strict: boolean) {
    const dir = this.dirs.get(dst);
    if (dir) throw this.conflict(dst, dir, src, DIR_FILE);
    const existing = this.files.get(dst);
    if (!existing) {
      this.files.set(dst, { ...src, symlink });
      return;
    }
    if (await this.sameFile(existing.path, src.path)) {
      // Prefer the real file over a symlink to it (what a copy view would need).
      if (!symlink) this.files.set(dst, { ...src, symlink });
      return;
    }
    if (strict) throw this.conflict(dst, existing, src, "two different files");
    this.ignored.push({ path: dst, kept: existing, dropped: src });
  }

  /** Spack follows a symlinked directory only when it points below the symlink's own directory. */
  private async pointsDeeper(path: string): Promise<boolean> {
    const target = await this.tree.resolve(path);
    if (!target?.isDirectory) return false; // a file, or dangling: linked as a file
    const parent = await this.tree.resolve(dirname(path));
    // A plain string prefix test, as Spack's.
    return parent !== undefined && target.realPath.startsWith(parent.realPath);
  }

  private async sameFile(a: string, b: string): Promise<boolean> {
    const [ra, rb] = await Promise.all([this.tree.resolve(a), this.tree.resolve(b)]);
    return ra !== undefined && rb !== undefined && ra.identity === rb.identity;
  }

  private conflict(path: string, a: Source, b: Source, reason: string): ViewConflictError {
    const side = (s: Source): ViewConflictSide => ({ spec: s.spec, source: s.path });
    return new ViewConflictError(this.root, path, side(a), side(b), reason);
  }
}

const DIR_FILE = "a file and a directory";
