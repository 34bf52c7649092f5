/**
 * Spackle used from outside the repository, before JSR is reachable: a project that links the
 * checkout (`"links"` in its deno.json) imports the package by its public specifiers, and
 * `deno install -g` installs the CLI. Both as the README says.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import denoJson from "../../deno.json" with { type: "json" };
import { HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { deno, REPO, run } from "./_run.ts";

const CACHE = join(SPACK12, "fs-unsigned");

const SCRIPT = `
import { openMirror } from "@spackle/spackle";
import { shortSpec } from "@spackle/spackle/spec";
const mirror = await openMirror(Deno.args[0]);
for (const spec of await mirror.listSpecs()) console.log(shortSpec(spec.node));
`;

Deno.test("a project outside the repository links it and imports @spackle/spackle", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spackle-user-" });
  try {
    assert.ok(!dir.startsWith(REPO + "/"));
    const config = {
      imports: { "@spackle/spackle": `jsr:@spackle/spackle@^${denoJson.version}` },
      links: [REPO],
    };
    await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify(config, null, 2));
    await Deno.writeTextFile(join(dir, "list.ts"), SCRIPT);

    const { stdout } = await deno(["run", "--check", "-A", "list.ts", CACHE], dir);
    assert.deepEqual(stdout.trim().split("\n").sort(), [
      `harness-hello@1.0/${HARNESS.hello.slice(0, 7)}`,
      `harness-libdep@1.0/${HARNESS.libdep.slice(0, 7)}`,
    ]);

    // Only what the library needs is resolved for the user: no test or CLI-only packages.
    const lock = JSON.parse(await Deno.readTextFile(join(dir, "deno.lock")));
    const npm = Object.keys(lock.npm ?? {}).map((p) => p.slice(0, p.lastIndexOf("@")));
    assert.ok(npm.includes("openpgp"), npm.join(", "));
    for (const unwanted of ["s3rver", "commander"]) assert.ok(!npm.includes(unwanted), unwanted);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno install -g installs the spackle command from the checkout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spackle-install-root-" });
  try {
    await deno(
      ["install", "-g", "-A", "-n", "spackle", "--config", `${REPO}/deno.json`, `${REPO}/cli.ts`],
      dir,
      { DENO_INSTALL_ROOT: dir },
    );
    const spackle = join(dir, "bin", "spackle");
    const help = await run(spackle, ["--help"], dir);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: spackle /);
    const list = await run(spackle, ["list", "-l", CACHE], dir);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${HARNESS.hello.slice(0, 7)} harness-hello@1\\.0`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
