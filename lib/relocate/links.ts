/**
 * Symlink relocation as Spack's `relocate_links` does it (Spack relocation reference §1.8,
 * acceptance cases L01–L11).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { readlink, symlink, unlink } from "node:fs/promises";
import { encodePrefixMap, replaceLeadingPrefix } from "./_leading_prefix.ts";

const SLASH = 0x2f;

/**
 * Re-points the symlink at `path` if its target is absolute and starts with a key of
 * `prefixMap` (first key in map order wins, no boundary rule: `/old/storefront/x` with key
 * `/old/store` becomes `/NEWROOTfront/x`). Only that key is replaced; the rest of the target is
 * kept byte for byte, without normalisation (`/old/pkg/../dep/x` → `/new/pkg/../dep/x`).
 * Relative targets and targets that match no key are left alone.
 *
 * As in Spack the link is replaced by `unlink` then `symlink`, so it gets a new inode, and a
 * hard link to the old symlink keeps the old target (reference §1.10).
 *
 * Returns whether the link was replaced. Throws the file system's error if `path` is not a
 * symlink or cannot be replaced. Deno reads only UTF-8 link targets: a target that is not valid
 * UTF-8 makes the runtime throw (`InvalidData`) and the link is left as it was.
 *
 * @example
 * ```ts
 * const map = new Map([["/old/store/pkg-h1", "/new/store/pkg-h1"], ["/old/store", "/NEWROOT"]]);
 * // lib/libz.so -> /old/store/pkg-h1/lib/libz.so.1 now points to /new/store/pkg-h1/lib/libz.so.1
 * await relocateLink("/new/store/pkg-h1/lib/libz.so", map);
 * ```
 */
export async function relocateLink(
  path: string,
  prefixMap: ReadonlyMap<string, string>,
): Promise<boolean> {
  const pairs = encodePrefixMap(prefixMap);
  if (pairs.length === 0) return false;
  const target = await readlink(path, { encoding: "buffer" });
  if (target[0] !== SLASH) return false;
  const next = replaceLeadingPrefix(target, pairs);
  if (!next) return false;
  await unlink(path);
  await symlink(Buffer.from(next.buffer, next.byteOffset, next.byteLength), path);
  return true;
}
