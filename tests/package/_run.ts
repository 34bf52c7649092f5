/** Runs Deno (or a program) as a subprocess the way a user would, outside the repository. */
import { fileURLToPath } from "node:url";

/** The repository root (where deno.json is). */
export const REPO = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** Exit code and decoded output of a finished subprocess. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `program args…` in `cwd` with `env` added (colours off); never throws on failure. */
export async function run(
  program: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<RunResult> {
  const out = await new Deno.Command(program, { args, cwd, env: { NO_COLOR: "1", ...env } })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs `deno args…` in `cwd` and fails with its output unless it exits 0. */
export async function deno(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<RunResult> {
  const result = await run(Deno.execPath(), args, cwd, env);
  if (result.code !== 0) {
    throw new Error(`deno ${args.join(" ")} exited ${result.code}:\n${result.stderr}`);
  }
  return result;
}
