// `--json` on every command that produces a result: the shapes the library returns (Maps as
// objects), on stdout, parseable, with progress kept on stderr.
import assert from "node:assert/strict";
import { join } from "node:path";
import { SAMPLE_STORE as SAMPLE, spackle } from "../_support/cli.ts";
import { withTempDir } from "../_support/temp.ts";
import { newKey } from "../signing/_keys.ts";

async function json(...args: string[]): Promise<unknown> {
  const run = await spackle(...args, "--json");
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout);
}

Deno.test("--json: install, copy, update-index, keys list|trust, image compose, mirror list", async () => {
  await withTempDir(async (work) => {
    const key = await newKey("Spackle JSON Test");
    const keyFile = join(work, "signing.asc");
    await Deno.writeTextFile(keyFile, key.privateKey);
    const cache = join(work, "cache");
    const push = await spackle("push", cache, "--store", SAMPLE, "--key", keyFile, "-j", "1");
    assert.equal(push.code, 0, push.stderr);

    assert.deepEqual(await json("update-index", cache, "--keys"), {
      specs: 2,
      keys: [key.signer.fingerprint],
    });

    const keys = await json("keys", "list", cache) as Record<string, unknown>[];
    assert.equal(keys.length, 1);
    assert.equal(keys[0].fingerprint, key.signer.fingerprint);
    assert.deepEqual(keys[0].userIds, ["Spackle JSON Test <signing@example.org>"]);
    assert.match(String(keys[0].armored), /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);

    const into = join(work, "trusted");
    assert.deepEqual(await json("keys", "trust", cache, "--into", into), [{
      fingerprint: key.signer.fingerprint,
      userIds: ["Spackle JSON Test <signing@example.org>"],
      path: join(into, `${key.signer.fingerprint}.pub`),
    }]);

    const root = join(work, "root");
    type Installed = { installed: Record<string, string>; skipped: Record<string, string> };
    const install = async () =>
      await json(
        "install",
        cache,
        "sample-hello",
        "--root",
        root,
        "--no-check-signature",
      ) as Installed;
    const installed = await install();
    const hashes = Object.keys(installed.installed).sort();
    assert.equal(hashes.length, 2);
    for (const [hash, prefix] of Object.entries(installed.installed)) {
      assert.ok(prefix.startsWith(`${root}/`) && prefix.endsWith(hash), prefix);
    }
    assert.deepEqual(installed.skipped, {});
    const again = await install();
    assert.deepEqual(again, { installed: {}, skipped: installed.installed });

    const copy = join(work, "copy");
    const copied = await json("copy", cache, copy, "sample-libgreet") as {
      copied: { name: string; version: string; hash: string }[];
      skipped: unknown[];
    };
    assert.deepEqual(copied.copied.map((s) => [s.name, s.version]), [["sample-libgreet", "1.0"]]);
    assert.ok(hashes.includes(copied.copied[0].hash));
    assert.deepEqual(copied.skipped, []);

    const image = await json(
      "image",
      "compose",
      "sample-hello",
      "--from",
      cache,
      "--target",
      join(work, "images"),
      "--tag",
      "hello",
    ) as Record<string, unknown>;
    assert.match(String(image.digest), /^sha256:[0-9a-f]{64}$/);
    assert.equal(image.layers, 3, "two spec layers and the sbang layer");
    assert.match(String(image.reference), /images:hello$/);
    assert.equal(typeof image.size, "number");

    const file = join(work, "mirrors.yaml");
    const add = await spackle("mirror", "add", "--file", file, "--unsigned", "local", cache);
    assert.equal(add.code, 0, add.stderr);
    const mirrors = await json("mirror", "list", "--file", file) as Record<string, unknown>[];
    assert.equal(mirrors.length, 1);
    assert.equal(mirrors[0].name, "local");
    assert.equal((mirrors[0].fetch as { url: string }).url, `file://${cache}`);
    assert.equal(mirrors[0].signed, false);
  });
});
