/**
 * The single-file CLI: `deno task bundle` writes dist/spackle.js, which then runs with nothing
 * else (an empty directory, a fresh DENO_DIR, no remote or npm modules allowed): push the sample
 * store, list the cache, install from it and run the relocated program.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { SAMPLE_STORE } from "../_support/cli.ts";
import { deno, REPO, run } from "./_run.ts";

Deno.test("dist/spackle.js pushes, lists and installs the sample store on its own", async () => {
  await deno(["task", "bundle"], REPO);
  const host = await Deno.makeTempDir({ prefix: "spackle-airgap-" });
  try {
    // What is carried to the host: the one file.
    await Deno.copyFile(join(REPO, "dist/spackle.js"), join(host, "spackle.js"));
    const env = { DENO_DIR: join(host, ".deno"), HOME: host };
    const spackle = (...args: string[]) =>
      deno(
        ["run", "-A", "--no-remote", "--no-npm", "--no-config", "spackle.js", ...args],
        host,
        env,
      );

    await spackle("push", "./cache", "--store", SAMPLE_STORE, "--update-index", "--unsigned");
    const list = await spackle("list", "./cache", "--json");
    const rows = JSON.parse(list.stdout) as { name: string }[];
    assert.deepEqual(rows.map((r) => r.name).sort(), ["sample-hello", "sample-libgreet"]);

    const install = await spackle(
      "install",
      "./cache",
      "sample-hello",
      "--root",
      join(host, "sw"),
      "--no-check-signature",
    );
    const hello = install.stdout.trim().split("\n").find((p) => p.includes("sample-hello"));
    assert.ok(hello, install.stdout);
    const result = await run(join(hello, "bin/hello"), [], host);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /RESULT OK\n$/);
  } finally {
    await Deno.remove(host, { recursive: true });
  }
});
