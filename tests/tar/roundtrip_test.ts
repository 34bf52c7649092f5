import assert from "node:assert/strict";
import { join } from "node:path";
import { createTarStream, extractPackageTarball, walkPrefix } from "../../lib/tar/mod.ts";
import { fixtureTarballs, gunzipFile, namesIn, sha256 } from "./_util.ts";

// Spack 1.2 fixture tarballs: extract, walk the result, write it again, and get the very same
// bytes (uncompressed sha256 = OCI diff_id from MANIFEST.md).
for (const fixture of await fixtureTarballs()) {
  Deno.test(`round trip of the ${fixture.name} fixture tarball is byte-identical`, async () => {
    const tmp = await Deno.makeTempDir();
    try {
      const destination = join(tmp, "store", fixture.name);
      const extracted = await extractPackageTarball(await gunzipFile(fixture.blob), destination, {
        source: fixture.blob,
      });
      assert.equal(extracted.oldPrefix, fixture.prefix);
      assert.equal(extracted.buildinfo, fixture.buildinfo + "\n");
      // Nothing but the destination is left next to it (the staging directory is gone).
      assert.deepEqual(await namesIn(join(tmp, "store")), [fixture.name]);

      const memberPrefix = extracted.oldPrefix.slice(1);
      const buildinfo = await Deno.readFile(join(destination, ".spack", "binary_distribution"));
      const tar = createTarStream((async function* () {
        yield* walkPrefix(destination, { memberPrefix });
        yield {
          name: `${memberPrefix}/.spack/binary_distribution`,
          type: "file" as const,
          mode: 0o644,
          size: buildinfo.length,
          body: buildinfo,
        };
      })());
      assert.equal(await sha256(tar), fixture.diffId);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  });
}

Deno.test("the hello fixture extracts its hard link as one inode and keeps symlink targets", async () => {
  const fixture = (await fixtureTarballs()).find((f) => f.name === "harness-hello")!;
  const tmp = await Deno.makeTempDir();
  try {
    const destination = join(tmp, "hello");
    await extractPackageTarball(await gunzipFile(fixture.blob), destination, {
      source: fixture.blob,
    });
    const share = join(destination, "share", "harness-hello");
    const first = await Deno.lstat(join(share, "config-hardlink.txt"));
    const second = await Deno.lstat(join(share, "config.txt"));
    assert.equal(second.ino, first.ino);
    assert.equal(first.nlink, 2);
    assert.equal(
      await Deno.readLink(join(destination, "lib", "libharness_hello.so")),
      "libharness_hello.so.1",
    );
    const libdepPrefix = fixture.prefix.replace(/harness-hello-1\.0-\w+$/, "");
    assert.match(
      await Deno.readLink(join(share, "dep-data.txt")),
      new RegExp(`^${libdepPrefix}harness-libdep-1\\.0-\\w+/share/harness-libdep/data\\.txt$`),
    );
    assert.equal((await Deno.lstat(join(destination, "bin", "hello"))).mode! & 0o7777, 0o755);
    assert.equal((await Deno.lstat(join(share, "config.txt"))).mode! & 0o7777, 0o644);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
