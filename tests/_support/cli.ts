/** Runs the `spackle` CLI in a subprocess, as a user would. */
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../cli.ts", import.meta.url));

/** The committed sample store (real ELF programs at a padded root). */
export const SAMPLE_STORE = fileURLToPath(
  new URL("../../examples/sample-store/data", import.meta.url),
);

/** Runs `spackle ARGS…`; returns the exit code and the decoded output. */
export function spackle(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return spackleWithEnv({}, ...args);
}

/** Runs `spackle ARGS…` with `env` added to the environment. */
export function spackleWithEnv(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return spackleIn({ env }, ...args);
}

/** Runs `spackle ARGS…` in the directory `cwd` (default: the test's), with `env` added. */
export async function spackleIn(
  { cwd, env = {} }: { cwd?: string; env?: Record<string, string> },
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env,
    cwd,
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
