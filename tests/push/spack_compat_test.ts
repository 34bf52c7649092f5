import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { openMirror, openStore, pushSpecs } from "../../mod.ts";
import { parseManifest } from "../../lib/buildcache/mod.ts";
import { sha256Hex } from "../../lib/stream/mod.ts";
import { HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { storeFromCache } from "../_support/store_from_cache.ts";

const DIFF_IDS: Record<string, string> = {
  [HARNESS.libdep]: "fb567162380a9b71b7693302e1384149540220fe5fe41b391a59a0c16dd28025",
  [HARNESS.hello]: "2ea611e62176aeaee8cdd364263dc68fc6d3d790c03c66413dfe9bac8c379a78",
};

Deno.test("pushing the store Spack built reproduces Spack's tarballs, spec blobs and index byte for byte", async () => {
  const work = await Deno.makeTempDir({ prefix: "spackle-compat-" });
  try {
    const storeDir = join(work, "store");
    const { recordedRoot } = await storeFromCache(join(SPACK12, "fs-unsigned"), storeDir);
    const store = await openStore(storeDir);
    assert.equal(store.root, recordedRoot);
    assert.equal(store.specs.length, 2);

    const cacheDir = join(work, "cache");
    const mirror = await openMirror(cacheDir);
    const result = await pushSpecs(mirror, store, store.specs, {
      updateIndex: true,
      spackPrefix: "/opt/spack-1.2",
    });
    assert.equal(result.pushed.length, 2);

    const spack = join(SPACK12, "fs-unsigned");
    for (
      const [hash, name] of [[HARNESS.libdep, "harness-libdep"], [HARNESS.hello, "harness-hello"]]
    ) {
      const key = `v3/manifests/spec/${name}/${name}-1.0-${hash}.spec.manifest.json`;
      const ours = parseManifest(await Deno.readTextFile(join(cacheDir, key)), key).data;
      const theirs = parseManifest(await Deno.readTextFile(join(spack, key)), key).data;
      assert.deepEqual(
        ours.map((r) => [r.mediaType, r.compression]),
        theirs.map((r) => [r.mediaType, r.compression]),
      );
      const blob = (dir: string, checksum: string) =>
        gunzipSync(Deno.readFileSync(join(dir, "blobs/sha256", checksum.slice(0, 2), checksum)));
      // The uncompressed tarball is Spack's, byte for byte (same OCI diff_id).
      assert.equal(sha256Hex(blob(cacheDir, ours[0].checksum)), DIFF_IDS[hash]);
      // The spec blob holds the same JSON.
      assert.equal(
        new TextDecoder().decode(blob(cacheDir, ours[1].checksum)),
        new TextDecoder().decode(blob(spack, theirs[1].checksum)),
      );
    }
    // Same index bytes, so the same index manifest.
    assert.equal(
      await Deno.readTextFile(join(cacheDir, "v3/manifests/index/index.manifest.json")),
      await Deno.readTextFile(join(spack, "v3/manifests/index/index.manifest.json")),
    );
    assert.equal(await Deno.readTextFile(join(cacheDir, "v3/layout.json")), '{"signing": "gpg"}');

    // Pushing again skips both; --force pushes again and yields the same tarball digests.
    const again = await pushSpecs(mirror, store, store.specs, {});
    assert.deepEqual([again.pushed.length, again.skipped.length], [0, 2]);
    const forced = await pushSpecs(mirror, store, store.specs, {
      force: true,
      spackPrefix: "/opt/spack-1.2",
    });
    assert.equal(forced.pushed.length, 2);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
