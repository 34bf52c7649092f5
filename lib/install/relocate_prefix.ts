/**
 * Applies relocation to an extracted package directory, in Spack's order: ELF RPATH/RUNPATH and
 * interpreter, symlinks, text files, then binary strings (relocation reference §1.1).
 *
 * The file lists come from the tarball (untrusted): every path must stay inside the package
 * directory and name the kind of file it claims to be, so relocation never writes through a
 * symlink.
 *
 * @module
 */
import { join, normalize } from "node:path";
import type { BuildInfo } from "../buildcache/buildinfo.ts";
import { RelocationError, UnsafeTarballError } from "../errors.ts";
import { relocateBinaryFile } from "../relocate/binary.ts";
import { relocateTextFile } from "../relocate/text.ts";
import { relocateElfFile } from "../relocate/elf.ts";
import { relocateLink } from "../relocate/links.ts";

/** Counts of what relocation changed. */
export interface RelocationSummary {
  /** Binaries whose strings were rewritten. */
  binaries: number;
  /** Symlinks re-pointed. */
  links: number;
  /** Text files rewritten. */
  textFiles: number;
}

/**
 * Relocates the package extracted at `dir` with the ordered prefix `map`. A path listed more
 * than once (or under several spellings, `a/b` and `./a//b`) is relocated once.
 *
 * @param source Names the tarball in errors.
 * @throws {UnsafeTarballError} when a listed path escapes `dir` or is not the expected file type.
 * @throws {RelocationError} when a prefix cannot be rewritten exactly (e.g. it would grow in a binary).
 *
 * @example
 * ```ts
 * import { parseBuildInfo } from "@spackle/spackle/buildcache";
 * import { relocatePrefix } from "@spackle/spackle/relocate";
 * const dir = "/opt/sw/zlib-ng-2.2.4-abc";
 * const info = parseBuildInfo(await Deno.readTextFile(`${dir}/.spack/binary_distribution`), dir);
 * const map = new Map([[info.hash_to_prefix["abc"], dir]]);
 * const { binaries, links, textFiles } = await relocatePrefix(dir, info, map, "zlib-ng tarball");
 * ```
 */
export async function relocatePrefix(
  dir: string,
  info: BuildInfo,
  map: ReadonlyMap<string, string>,
  source: string,
): Promise<RelocationSummary> {
  const summary = { binaries: 0, links: 0, textFiles: 0 };
  if (map.size === 0) return summary;
  const dedupe = info.hardlinks_deduped !== true;
  const binaries = await listed(dir, info.relocate_binaries, "file", source, dedupe);
  const links = await listed(dir, info.relocate_links, "symlink", source, false);
  const texts = await listed(dir, info.relocate_textfiles, "file", source, dedupe);
  for (const path of binaries) await relocateElfFile(path, map);
  for (const path of links) if (await relocateLink(path, map)) summary.links++;
  for (const path of texts) if (await relocateTextFile(path, map)) summary.textFiles++;
  for (const path of binaries) {
    try {
      if (await relocateBinaryFile(path, map)) summary.binaries++;
    } catch (e) {
      if (e instanceof RelocationError && !e.file) {
        throw new RelocationError(e.code, e.message, path);
      }
      throw e;
    }
  }
  return summary;
}

async function listed(
  dir: string,
  paths: readonly string[],
  kind: "file" | "symlink",
  source: string,
  dedupeInodes: boolean,
): Promise<string[]> {
  const out: string[] = [];
  const inodes = new Set<string>();
  // A list may repeat a path any number of times: each file is checked and relocated once.
  const seen = new Set<string>();
  for (const rel of paths) {
    const clean = normalize(rel);
    if (seen.has(clean)) continue;
    seen.add(clean);
    if (clean.startsWith("/") || clean === ".." || clean.startsWith("../")) {
      throw new UnsafeTarballError(source, rel, "relocation list entry outside the prefix");
    }
    const path = join(dir, clean);
    const st = await Deno.lstat(path).catch(() => undefined);
    if (!st) throw new RelocationError("MISSING_FILE", `listed for relocation but missing: ${rel}`);
    if (kind === "file" ? !st.isFile : !st.isSymlink) {
      throw new UnsafeTarballError(
        source,
        rel,
        `listed for relocation as a ${kind} but is not one`,
      );
    }
    await assertNoSymlinkParents(dir, clean, source);
    if (dedupeInodes && (st.nlink ?? 1) > 1) {
      const id = `${st.dev}:${st.ino}`;
      if (inodes.has(id)) continue;
      inodes.add(id);
    }
    out.push(path);
  }
  return out;
}

async function assertNoSymlinkParents(dir: string, rel: string, source: string): Promise<void> {
  const parts = rel.split("/");
  let path = dir;
  for (const part of parts.slice(0, -1)) {
    path = join(path, part);
    if ((await Deno.lstat(path)).isSymlink) {
      throw new UnsafeTarballError(source, rel, "relocation list entry goes through a symlink");
    }
  }
}
