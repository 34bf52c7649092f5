import assert from "node:assert/strict";
import { join } from "node:path";
import { installSpecs } from "../../lib/install/install.ts";
import { MigrateError, migrateMirror } from "../../lib/maintain/migrate.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { readTrustedKeys, trustCacheKeys } from "../../lib/signing/mod.ts";
import { FsStore } from "../../lib/storage/fs.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { spackle } from "../_support/cli.ts";
import { copyFixture, V2_MIRRORS } from "../_support/fixtures.ts";
import { withTempDir } from "../_support/temp.ts";
import { newKey } from "../signing/_keys.ts";

/** Every key below `dir` of the cache at `root`. */
function keysUnder(root: string, dir: string): Promise<string[]> {
  return Array.fromAsync(new FsStore(root).list(dir));
}

/** sha256 of every `.spack` tarball of a v2 cache. */
async function v2TarballDigests(root: string): Promise<string[]> {
  const keys = (await keysUnder(root, "build_cache")).filter((k) => k.endsWith(".spack"));
  return await Promise.all(keys.map(async (k) => sha256Hex(await Deno.readFile(join(root, k)))));
}

async function withCache(kind: "signed" | "unsigned", fn: (cache: string) => Promise<void>) {
  const cache = await copyFixture(join(V2_MIRRORS, kind));
  try {
    await fn(cache);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
}

Deno.test("migrate --unsigned: the unsigned v2 mirror becomes v3 in place, tarballs unchanged; it lists and installs", async () => {
  await withCache("unsigned", async (cache) => {
    const tarballs = await v2TarballDigests(cache);
    const out = await spackle("migrate", cache, "--unsigned", "--json");
    assert.equal(out.code, 0, out.stderr);
    assert.equal(JSON.parse(out.stdout).migrated.length, 6);
    assert.match(out.stderr, /Migrated 6 specs to layout v3 \(0 already there\); indexed 6/);
    // The tarball blobs are the .spack files, byte for byte; the v2 files stay.
    const blobs = (await keysUnder(cache, "blobs")).map((k) => k.slice(k.lastIndexOf("/") + 1));
    for (const digest of tarballs) assert.ok(blobs.includes(digest), digest);
    assert.equal((await v2TarballDigests(cache)).length, tarballs.length);
    assert.equal((await keysUnder(cache, "v3/manifests/spec")).length, 6);
    assert.ok(await new FsStore(cache).exists("v3/manifests/index/index.manifest.json"));

    // Spack's v2 test mirrors hold nodes edited after hashing: trust the stored hashes.
    const mirror = await openMirror(cache, { verifySpecHashes: false });
    const specs = await mirror.listSpecs();
    assert.equal(specs.length, 6);
    for (const spec of specs) assert.equal((await mirror.getEntry(spec))!.layout, 3);
    await withTempDir(async (dir) => {
      const result = await installSpecs(mirror, specs, {
        root: join(dir, "r"),
        checkSignature: false,
      });
      assert.equal(result.installed.size, specs.length);
    });

    // Again: everything is there already. Then the v2 files go.
    const again = await spackle("migrate", cache, "--unsigned", "--delete-existing");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /Migrated 0 specs to layout v3 \(6 already there\)/);
    await assert.rejects(Deno.stat(join(cache, "build_cache")), Deno.errors.NotFound);
    assert.equal((await (await openMirror(cache)).listSpecs()).length, 6);
  });
});

Deno.test("migrate a signed v2 mirror: refused without a key, re-signed with --key after verifying; installs with the new key trusted", async () => {
  await withCache("signed", async (cache) => {
    await withTempDir(async (dir) => {
      const key = await newKey("Migration Signer");
      const keyFile = join(dir, "migration.key");
      await Deno.writeTextFile(keyFile, key.privateKey);
      // As Spack: no key and no --unsigned is refused; re-signing without trusted keys too.
      assert.equal((await spackle("migrate", cache)).code, 2);
      assert.equal((await spackle("migrate", cache, "--key", keyFile)).code, 2);
      assert.deepEqual(await keysUnder(cache, "v3"), []);

      const out = await spackle("migrate", cache, "--key", keyFile, "--trust-cache-keys");
      assert.equal(out.code, 0, out.stderr);
      for (const manifest of await keysUnder(cache, "v3/manifests/spec")) {
        const text = await Deno.readTextFile(join(cache, manifest));
        assert.ok(text.startsWith("-----BEGIN PGP SIGNED MESSAGE-----"), manifest);
      }
      // Spack's v2 test mirrors hold nodes edited after hashing: trust the stored hashes.
      const mirror = await openMirror(cache, { verifySpecHashes: false });
      const published = await trustCacheKeys(mirror);
      assert.deepEqual(published.map((k) => k.fingerprint), [key.signer.fingerprint]);

      const specs = await mirror.listSpecs();
      assert.equal(specs.length, 6);
      const trustedKeys = await readTrustedKeys(key.publicKey, "migration.pub");
      const result = await installSpecs(mirror, specs, {
        root: join(dir, "r"),
        checkSignature: true,
        trustedKeys,
      });
      assert.equal(result.installed.size, specs.length);
    });
  });
});

Deno.test("migrate: a tampered signed spec file fails alone; the rest is migrated and indexed, the v2 files kept", async () => {
  await withCache("signed", async (cache) => {
    const trustedKeys = await trustCacheKeys(new FsStore(cache));
    const sig = (await keysUnder(cache, "build_cache")).find((k) =>
      k.endsWith(".spec.json.sig") && k.includes("libelf-0.8.13-rqh2vuf")
    )!;
    const text = await Deno.readTextFile(join(cache, sig));
    await Deno.writeTextFile(join(cache, sig), text.replace('"libelf"', '"libelf "'));
    const key = await newKey("Migration Signer");
    const error = await migrateMirror(new FsStore(cache), {
      signer: key.signer,
      trustedKeys,
      deleteExisting: true,
    }).then(() => undefined, (e) => e);
    assert.ok(error instanceof MigrateError, String(error));
    assert.deepEqual(error.failures.map((f) => f.spec), ["libelf@0.8.13/rqh2vuf"]);
    assert.equal(error.result.migrated.length, 5);
    assert.equal(error.result.indexed, 5);
    assert.equal(error.result.deleted, 0);
    assert.ok(await new FsStore(cache).exists(sig));
  });
});
