/**
 * Bounded concurrency for the jobs that work through a list of specs (push, copy).
 *
 * @module
 */

/**
 * Calls `task(index)` for every index below `count`, starting them in index order with at most
 * `jobs` (at least 1) running at once; resolves when all have finished. A task that throws stops
 * further tasks from starting and rejects the result with its error, once the running ones end.
 */
export async function forEachConcurrently(
  count: number,
  jobs: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      try {
        await task(next++);
      } catch (e) {
        next = count;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(jobs, count)) }, worker),
  );
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}
