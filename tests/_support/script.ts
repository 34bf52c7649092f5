/** Runs Deno scripts in child processes, for tests whose symptom is a process that does not exit. */

/**
 * Runs `script` (a module's source) with `deno run -A -`; the child must exit by itself within
 * `timeoutMs` (default 30 s), else it is killed and its output shows `success: false`.
 */
export async function runDenoScript(
  script: string,
  timeoutMs = 30_000,
): Promise<Deno.CommandOutput> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    return await child.output();
  } finally {
    clearTimeout(timer);
  }
}
