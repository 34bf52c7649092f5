import assert from "node:assert/strict";
import { join } from "node:path";
import { spackle } from "../_support/cli.ts";
import { copyFixture, HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { storeFromCache } from "../_support/store_from_cache.ts";
import { withTempDir } from "../_support/temp.ts";

const HELLO_MANIFEST =
  `v3/manifests/spec/harness-hello/harness-hello-1.0-${HARNESS.hello}.spec.manifest.json`;

Deno.test("check: a directory cache missing one spec of a store, and tarballs differing between caches", async () => {
  await withTempDir(async (work) => {
    const store = join(work, "store");
    await storeFromCache(join(SPACK12, "fs-unsigned"), store);
    const complete = await copyFixture(join(SPACK12, "fs-unsigned"));
    const lacking = await copyFixture(join(SPACK12, "fs-unsigned"));
    try {
      await Deno.remove(join(lacking, HELLO_MANIFEST));

      const out = await spackle("check", "--store", store, "--mirror", lacking, "--json");
      assert.equal(out.code, 1, out.stderr);
      const result = JSON.parse(out.stdout);
      assert.equal(result.checked, 2);
      assert.deepEqual(result.missing.map((m: { hash: string }) => m.hash), [HARNESS.hello]);
      assert.equal(result.missing[0].missingFrom.length, 1);
      assert.match(out.stderr, /Missing harness-hello@1\.0\/hkbptho/);
      assert.deepEqual(result.differing, []);

      // The complete cache has everything: exit 0.
      const ok = await spackle("check", "--store", store, "-m", complete);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stderr, /Checked 2 specs: 0 missing/);

      // Selectors without a store name specs the caches list (the index still names hello).
      const selected = await spackle("check", "harness-libdep", "-m", lacking);
      assert.equal(selected.code, 0, selected.stderr);
      assert.equal((await spackle("check", "harness-hello", "-m", lacking)).code, 1);

      // Spackle's push of the same store gzips differently from Spack: same hashes, other tarballs.
      const pushed = join(work, "pushed");
      const push = await spackle("push", pushed, "--store", store, "--update-index");
      assert.equal(push.code, 0, push.stderr);
      const both = await spackle("check", "--store", store, "-m", complete, "-m", pushed, "--json");
      assert.equal(both.code, 0, both.stderr);
      const differing = JSON.parse(both.stdout).differing;
      assert.deepEqual(
        differing.map((d: { hash: string }) => d.hash).sort(),
        [
          HARNESS.hello,
          HARNESS.libdep,
        ].sort(),
      );
      for (const d of differing) {
        assert.equal(new Set(Object.values(d.digests)).size, 2);
        assert.ok(
          Object.keys(d.digests).some((url) => url.endsWith("/pushed")),
          Object.keys(d.digests).join(),
        );
      }

      // Nothing to check named: bad usage.
      assert.equal((await spackle("check", "-m", complete)).code, 2);
      assert.equal((await spackle("check", "--store", store)).code, 2);
    } finally {
      await Deno.remove(complete, { recursive: true });
      await Deno.remove(lacking, { recursive: true });
    }
  });
});
