/**
 * Timing for the ratio benchmarks: wall and CPU seconds of in-process work and of shell
 * pipelines, medians over runs, and a plain-text table. CPU time is reported beside wall time
 * because a shared machine's load moves wall time far more than CPU time.
 *
 * @module
 */
import process from "node:process";

/** Wall and CPU (user + system, all threads or all child processes) seconds of one run. */
export interface Timing {
  /** Wall-clock seconds. */
  wall: number;
  /** CPU seconds, or `NaN` when unknown (no GNU time for a shell command). */
  cpu: number;
  /** Peak resident set size in KiB of the largest process, when measured. */
  maxRssKiB?: number;
}

/** GNU time, used for the CPU time and peak RSS of child processes. */
export const GNU_TIME = "/usr/bin/time";

/** Whether an executable is on `PATH` (or at an absolute path). */
export async function hasCommand(name: string): Promise<boolean> {
  const out = await new Deno.Command("sh", {
    args: ["-c", 'command -v "$1" >/dev/null', "sh", name],
  }).output();
  return out.success;
}

/** Times `fn` in this process; CPU time is `process.cpuUsage()` (every thread of the process). */
export async function timeInProcess(fn: () => Promise<unknown>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await fn();
  const wall = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1e6 };
}

/**
 * Times the shell command line `script` (`sh -c`), under GNU time when it exists, which adds
 * the CPU seconds of every process of the pipeline and the largest one's peak RSS.
 *
 * @throws {Error} with the command's standard error when it fails.
 */
export async function timeShell(script: string, withGnuTime: boolean): Promise<Timing> {
  const args = withGnuTime ? ["-f", "%U %S %M", "sh", "-c", script] : ["-c", script];
  const started = performance.now();
  const out = await new Deno.Command(withGnuTime ? GNU_TIME : "sh", { args, stderr: "piped" })
    .output();
  const wall = (performance.now() - started) / 1000;
  const stderr = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) throw new Error(`${script} failed:\n${stderr}`);
  if (!withGnuTime) return { wall, cpu: NaN };
  const [user, system, rss] = stderr.split("\n").pop()!.split(" ").map(Number);
  return { wall, cpu: user + system, maxRssKiB: rss };
}

/**
 * Runs `prepare` (untimed, e.g. removing the previous run's output and flushing dirty pages),
 * then `measure`, `runs` times; returns the median wall and the median CPU time.
 */
export async function medianOf(
  runs: number,
  prepare: () => Promise<void>,
  measure: () => Promise<Timing>,
): Promise<Timing> {
  const timings: Timing[] = [];
  for (let i = 0; i < runs; i++) {
    await prepare();
    timings.push(await measure());
  }
  return { wall: median(timings.map((t) => t.wall)), cpu: median(timings.map((t) => t.cpu)) };
}

/** The median of `values` (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Writes back dirty pages, so one run's writes are not flushed during the next run. */
export async function syncDisks(): Promise<void> {
  await new Deno.Command("sync").output();
}

/** Formats rows as left-aligned text columns (numbers right-aligned) separated by two spaces. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = (text: string) => /^[-+0-9.x×%]+$/.test(text);
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (numeric(c) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** `n` with `digits` decimals, or `-` for `NaN`. */
export function fixed(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "-";
}

/** `text` quoted for `sh` (single quotes). */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Removes `path` (if there) and flushes dirty pages, before a timed run that writes it. */
export async function removeAndSync(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch(() => {});
  await syncDisks();
}
