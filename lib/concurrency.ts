/**
 * Bounded concurrency for the jobs that work through a list of specs (push, copy).
 *
 * @module
 */

/**
 * Calls `task(index)` for every index below `count`, starting them in index order with at most
 * `jobs` (at least 1) running at once; resolves when all have settled. `task` must not throw:
 * each job records its own failures.
 */
export async function forEachConcurrently(
  count: number,
  jobs: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, count)) }, worker));
}
