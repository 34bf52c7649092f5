/**
 * `check` and `download` against every backend the cache-keeping commands name: a directory,
 * S3 (s3rver), the loopback registry and an OCI image-layout directory, each holding a copy of
 * the Spack 1.2 fixture (harness-hello and harness-libdep).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FsStore } from "../../lib/storage/fs.ts";
import { S3Store } from "../../lib/storage/s3.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { spackleWithEnv } from "../_support/cli.ts";
import { HARNESS, SPACK12, V2_MIRRORS } from "../_support/fixtures.ts";
import { startRegistry } from "../_support/registry.ts";
import { s3ProcessEnv, S3RVER_KEYS, startS3 } from "../_support/s3.ts";
import { withTempDir } from "../_support/temp.ts";

Deno.test("check and download work on a directory, S3, a registry and an OCI layout", async () => {
  const registry = await startRegistry();
  const s3 = await startS3(["bucket"]);
  const env = s3ProcessEnv(s3);
  const run = (...args: string[]) => spackleWithEnv(env, ...args);
  try {
    await withTempDir(async (work) => {
      const source = join(SPACK12, "fs-unsigned");
      const caches = {
        directory: join(work, "dir"),
        s3: "s3://bucket/cache",
        registry: `oci+http://${registry.host}/cache`,
        layout: `oci-layout:${join(work, "layout")}`,
      };
      for (const url of Object.values(caches)) {
        const copied = await run("copy", source, url);
        assert.equal(copied.code, 0, `${url}: ${copied.stderr}`);
      }
      const tarball = new Map<string, string>();
      for (const [name, url] of Object.entries(caches)) {
        // check: everything of the fixture is there (exit 0), per backend.
        const checked = await run("check", "harness-hello", "-m", source, "-m", url, "--json");
        assert.equal(checked.code, 0, `${name}: ${checked.stderr}`);
        assert.deepEqual(JSON.parse(checked.stdout).missing, [], name);
        // download: the tarball, verified, the same bytes from every backend.
        const dir = join(work, `dl-${name}`);
        const got = await run("download", url, "harness-libdep", "--dir", dir, "--json");
        assert.equal(got.code, 0, `${name}: ${got.stderr}`);
        const result = JSON.parse(got.stdout);
        tarball.set(name, sha256Hex(await Deno.readFile(result.tarball)));
        assert.equal(`sha256:${tarball.get(name)}`, result.digest, name);
      }
      assert.equal(new Set(tarball.values()).size, 1, "one tarball, whatever the backend");

      // A cache that lacks a spec: check exits 1 and names it, on a backend other than disk.
      const partial = `oci-layout:${join(work, "partial")}`;
      assert.equal((await run("copy", source, partial, "harness-libdep")).code, 0);
      const missing = await run("check", "harness-hello", "-m", source, "-m", partial, "--json");
      assert.equal(missing.code, 1, missing.stderr);
      const report = JSON.parse(missing.stdout);
      assert.deepEqual(report.missing.map((m: { hash: string }) => m.hash), [HARNESS.hello]);
    });
  } finally {
    await s3.stop();
    await registry.stop();
  }
});

Deno.test("migrate works on an S3 cache: a legacy v2 mirror in a bucket becomes layout v3", async () => {
  const s3 = await startS3(["bucket"]);
  const env = s3ProcessEnv(s3);
  try {
    const v2 = new FsStore(join(V2_MIRRORS, "unsigned"));
    const bucket = new S3Store("s3://bucket/v2", {
      endpointUrl: s3.endpoint,
      env: {},
      ...S3RVER_KEYS,
    });
    for await (const key of v2.list("build_cache")) await bucket.put(key, (await v2.get(key))!);
    const migrated = await spackleWithEnv(env, "migrate", "s3://bucket/v2", "--unsigned");
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.match(migrated.stderr, /Migrated 6 specs to layout v3/);
    assert.ok(await bucket.exists("v3/manifests/index/index.manifest.json"));
    const listed = await spackleWithEnv(env, "list", "-a", "s3://bucket/v2", "--json");
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout).length, 6);
  } finally {
    await s3.stop();
  }
});
