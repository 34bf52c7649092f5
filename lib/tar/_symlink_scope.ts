/**
 * Whether a relative symlink stays inside the tree it was extracted into, following the other
 * symlinks of the same tree the way the kernel would (a chain of links that each look harmless
 * can still climb out: `a -> ..` next to `b -> a/../..`).
 *
 * @module
 */

/** Kernel limit on symlinks followed while resolving one path (Linux `MAXSYMLINKS`). */
const MAX_HOPS = 40;

/**
 * True when resolving `target` from the symlink at `linkPath` goes above the root of the tree.
 * Paths are `/`-separated and relative to that root; `symlinks` maps every symlink in the tree to
 * its target. Resolution stops (not escaping) at an absolute target — those point at system
 * paths or old prefixes and are relocated later — and at a symlink loop, which the kernel refuses
 * to resolve anyway.
 */
export function escapesTree(
  linkPath: string,
  target: string,
  symlinks: ReadonlyMap<string, string>,
): boolean {
  const resolved = linkPath.split("/").slice(0, -1);
  const pending = target.split("/").reverse();
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (resolved.length === 0) return true;
      resolved.pop();
      continue;
    }
    resolved.push(part);
    const next = symlinks.get(resolved.join("/"));
    if (next === undefined) continue;
    if (next.startsWith("/") || ++hops > MAX_HOPS) return false;
    resolved.pop();
    pending.push(...next.split("/").reverse());
  }
  return false;
}
