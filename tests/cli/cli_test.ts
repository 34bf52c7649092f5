import assert from "node:assert/strict";
import { join } from "node:path";
import { SAMPLE_STORE as SAMPLE, spackle } from "../_support/cli.ts";

Deno.test("CLI: push, list, update-index, install, run — with plain progress lines off a TTY", async () => {
  const work = await Deno.makeTempDir({ prefix: "spackle-cli-" });
  try {
    const cache = join(work, "cache");
    const push = await spackle("push", cache, "--store", SAMPLE, "--update-index", "-j", "1");
    assert.equal(push.code, 0, push.stderr);
    assert.match(
      push.stderr,
      /^\[1\/2\] Pushed sample-libgreet@1\.0\/n2bvs6s: sha256:[0-9a-f]{64} \(/m,
    );
    assert.match(
      push.stderr,
      /^\[2\/2\] Pushed sample-hello@1\.0\/wf75vov: sha256:[0-9a-f]{64} \(/m,
    );
    assert.ok(!push.stderr.includes("\r"), "no carriage returns off a TTY");
    // --update-index wrote the index.
    await Deno.stat(join(cache, "v3", "manifests", "index", "index.manifest.json"));

    const again = await spackle("push", `file://${cache}`, "sample-hello", "--store", SAMPLE);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /All specs are already in the buildcache/);

    const list = await spackle("list", cache, "--json");
    assert.equal(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout) as { name: string; hash: string }[];
    assert.deepEqual(rows.map((r) => r.name), ["sample-hello", "sample-libgreet"]);
    const text = await spackle("list", "-l", cache);
    assert.match(
      text.stdout,
      /^-- linux-debian12-x86_64 \/ no compilers -+\nwf75vov sample-hello@1\.0\nn2bvs6s sample-libgreet@1\.0\n$/,
    );

    const index = await spackle("update-index", cache);
    assert.equal(index.code, 0, index.stderr);
    assert.match(index.stderr, /Indexed 2 specs/);

    const root = join(work, "r");
    const refused = await spackle("install", cache, "sample-hello", "--root", root);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^error: cannot install sample-libgreet@1\.0\/n2bvs6s: required signature was not found/m,
    );

    const install = await spackle(
      "install",
      cache,
      "/wf75",
      "--root",
      root,
      "--no-check-signature",
    );
    assert.equal(install.code, 0, install.stderr);
    const prefixes = install.stdout.trim().split("\n");
    assert.equal(prefixes.length, 2);
    const hello = prefixes.find((p) => p.includes("sample-hello"))!;
    const run = await new Deno.Command(join(hello, "bin/hello"), { clearEnv: true, env: {} })
      .output();
    assert.ok(run.success);
    assert.match(new TextDecoder().decode(run.stdout), /RESULT OK\n$/);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("CLI: errors are one clear line with exit status 1; bad usage exits 2", async () => {
  const work = await Deno.makeTempDir({ prefix: "spackle-cli-" });
  try {
    await Deno.mkdir(join(work, "empty")); // an empty cache: it exists, the spec is not in it
    const missing = await spackle(
      "install",
      join(work, "empty"),
      "zlib@1.3",
      "--root",
      join(work, "r"),
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: not found: spec zlib@1\.3 in file:\/\/.*empty/m);

    const noStore = await spackle("push", join(work, "cache"));
    assert.equal(noStore.code, 2);
    assert.match(noStore.stderr, /--store/);

    const badScheme = await spackle("list", "gopher://example/cache");
    assert.equal(badScheme.code, 2);
    assert.match(badScheme.stderr, /gopher/);

    const badJobs = await spackle("push", join(work, "cache"), "--store", SAMPLE, "-j", "0");
    assert.equal(badJobs.code, 2);

    const badSelector = await spackle("push", join(work, "cache"), "nosuch", "--store", SAMPLE);
    assert.equal(badSelector.code, 1);
    assert.match(badSelector.stderr, /nosuch/);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
