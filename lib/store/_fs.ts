/**
 * The install-tree database's lock: an exclusive lock on a lock file.
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
