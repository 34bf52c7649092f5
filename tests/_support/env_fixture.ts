/** The Spack 1.2 fixture environment copied for a test, and a clean shell to run its output in. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SPACK12 } from "./fixtures.ts";

/**
 * The fixture environment (`spack.yaml`, `spack.lock`) in `<dir>/env`, with its mirror
 * `../fs-unsigned` beside it: a link to `cache` (default: the fixture cache itself).
 */
export async function fixtureEnv(
  dir: string,
  cache = join(SPACK12, "fs-unsigned"),
): Promise<string> {
  const envDir = join(dir, "env");
  await Deno.mkdir(envDir);
  for (const f of ["spack.yaml", "spack.lock"]) {
    await Deno.copyFile(join(SPACK12, "env", f), join(envDir, f));
  }
  await Deno.symlink(cache, join(dir, "fs-unsigned"));
  return envDir;
}

/** Runs `script` in `sh` with nothing of this process's environment but a minimal PATH. */
export async function cleanSh(script: string): Promise<string> {
  const out = await new Deno.Command("env", {
    args: ["-i", "PATH=/usr/bin:/bin", "sh", "-c", script],
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `sh failed: ${new TextDecoder().decode(out.stderr)}\n${stdout}`);
  return stdout;
}
