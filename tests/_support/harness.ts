/** Checks of an installed harness-hello (from the Spack 1.2 fixtures) against MANIFEST.md. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { HARNESS } from "./fixtures.ts";

/** Prefixes of the harness packages under install root `root` (default projection). */
export function harnessPrefixes(root: string): { H: string; D: string } {
  return {
    H: `${root}/linux-x86_64/harness-hello-1.0-${HARNESS.hello}`,
    D: `${root}/linux-x86_64/harness-libdep-1.0-${HARNESS.libdep}`,
  };
}

/** The exact output MANIFEST.md gives for a correct install with prefixes H and D. */
export function expectedHelloOutput(H: string, D: string): string {
  return [
    "harness-hello 1.0",
    `prefix=${H}`,
    `lib_prefix=${H}`,
    `dep_prefix=${D}`,
    "check exe-prefix-is-where-this-binary-runs: ok",
    "check lib-prefix-equals-exe-prefix: ok",
    "check libharness_hello-loaded-from-prefix: ok",
    "check libharness_dep-loaded-from-dep-prefix: ok",
    "check config: ok",
    "config| greeting=Hello from harness-hello",
    `config| prefix=${H}`,
    `config| dep_prefix=${D}`,
    "check dep-data: ok",
    "dep-data| harness-libdep 1.0 data file",
    `dep-data| installed-at ${D}`,
    "RESULT OK",
    "",
  ].join("\n");
}

async function run(cmd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { clearEnv: true, env: {} }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `${cmd} failed: ${new TextDecoder().decode(out.stderr)}\n${stdout}`);
  return stdout;
}

/**
 * Asserts everything MANIFEST.md says a correct install of harness-hello under the store root
 * `root` holds; `unpaddedRoot` is where sbang lives (differs from `root` when padded).
 */
export async function assertHarnessInstalled(root: string, unpaddedRoot = root): Promise<void> {
  const { H, D } = harnessPrefixes(root);
  const expected = expectedHelloOutput(H, D);
  assert.equal(await run(`${H}/bin/hello`), expected);
  assert.equal(await run(`${H}/bin/hello-wrapper`), expected);
  const script = await Deno.readTextFile(`${H}/bin/hello-long-shebang`);
  assert.ok(script.startsWith(`#!/bin/sh ${unpaddedRoot}/bin/sbang\n`), script.split("\n")[0]);
  const long = await run(`${H}/bin/hello-long-shebang`);
  assert.ok(long.startsWith(`long-shebang script in ${H}\n`), long);
  assert.ok(long.includes(await Deno.readTextFile(`${D}/share/harness-libdep/data.txt`)));
  assert.equal(
    await Deno.readLink(`${H}/share/harness-hello/dep-data.txt`),
    `${D}/share/harness-libdep/data.txt`,
  );
  const a = await Deno.stat(`${H}/share/harness-hello/config.txt`);
  const b = await Deno.stat(`${H}/share/harness-hello/config-hardlink.txt`);
  assert.equal(a.ino, b.ino);
  assert.ok(
    (await Deno.readTextFile(`${D}/lib/pkgconfig/harness-libdep.pc`)).startsWith(`prefix=${D}`),
  );
  assert.equal(await Deno.readLink(`${D}/bin/harness-sh`), "/bin/sh");
  const db = JSON.parse(await Deno.readTextFile(join(root, ".spack-db/index.json")));
  for (const [hash, prefix] of [[HARNESS.hello, H], [HARNESS.libdep, D]]) {
    const record = db.database.installs[hash];
    assert.equal(record?.path, prefix);
    assert.equal(record?.installed, true);
  }
}
