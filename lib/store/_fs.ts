/**
 * File primitives of the install-tree database: an exclusive lock on a lock file, and atomic
 * replacement of a file (temp file in the same directory, then rename).
 *
 * @module
 */

/**
 * Runs `fn` while holding an exclusive lock on `lockPath` (created if missing). Deno's
 * `FsFile.lock` is `flock(2)`: it excludes other Spackle writers, in this process and others,
 * but not Spack's own `fcntl` byte-range locks on the same file.
 */
export async function withExclusiveLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  const file = await Deno.open(lockPath, { read: true, write: true, create: true });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close(); // closing the descriptor releases the lock
  }
}

/**
 * Replaces `path` with `text` atomically: readers see the old or the new content, never a part.
 * The temp file sits beside the target so the rename stays on one filesystem.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.temp`;
  try {
    await Deno.writeTextFile(temp, text, { createNew: true, mode: 0o644 });
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}
