import assert from "node:assert/strict";
import { join } from "node:path";
import { INDEX_MANIFEST_KEY, specManifestKey } from "../../lib/buildcache/layout.ts";
import { UrlMirror } from "../../lib/mirror/url.ts";
import { FsStore } from "../../lib/storage/fs.ts";
import { withTempDir } from "../_support/temp.ts";
import { pushSynthetic, syntheticSpecs } from "./_synthetic.ts";

/** A directory store that counts the objects read under a key prefix. */
class CountingStore extends FsStore {
  reads = 0;
  override get(key: string) {
    if (key.startsWith("v3/manifests/spec/")) this.reads++;
    return super.get(key);
  }
}

async function indexBytes(dir: string): Promise<string> {
  const manifest = JSON.parse(await Deno.readTextFile(join(dir, INDEX_MANIFEST_KEY)));
  const checksum = manifest.data[0].checksum as string;
  return await Deno.readTextFile(join(dir, "blobs/sha256", checksum.slice(0, 2), checksum));
}

Deno.test("incremental update-index reads only new manifests and writes the full rebuild's bytes", async () => {
  await withTempDir(async (dir) => {
    const cache = join(dir, "cache");
    const store = new CountingStore(cache);
    const warnings: string[] = [];
    const mirror = new UrlMirror(store, { onWarning: (w) => warnings.push(w) });
    // Other writers push; this one indexes.
    const writer = new UrlMirror(new FsStore(cache));
    const specs = syntheticSpecs(65, 7);
    await pushSynthetic(writer, specs.slice(0, 40));
    assert.equal(await mirror.updateIndex(), 40);

    // Add 20 specs, remove 3 (one of them a dependency of others), break one new manifest.
    await pushSynthetic(writer, specs.slice(40, 60));
    for (const gone of [specs[5], specs[22], specs[39]]) {
      await Deno.remove(join(cache, specManifestKey(gone.node)));
    }
    await Deno.writeTextFile(join(cache, specManifestKey(specs[50].node)), "{not json");
    store.reads = 0;
    assert.equal(await mirror.updateIndex(), 56);
    assert.equal(store.reads, 20, "only the manifests the index lacks are read");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], new RegExp(specs[50].node.hash));
    const incremental = await indexBytes(cache);

    store.reads = 0;
    assert.equal(await mirror.updateIndex({ full: true }), 56);
    assert.equal(store.reads, 57);
    assert.equal(incremental, await indexBytes(cache));

    const listed = new Set((await mirror.listSpecs()).map((s) => s.node.hash));
    assert.equal(listed.size, 56);
    assert.ok(!listed.has(specs[22].node.hash) && !listed.has(specs[50].node.hash));
    assert.ok(listed.has(specs[59].node.hash));

    // Specs this instance pushed are indexed as pushed, without reading them back.
    await pushSynthetic(mirror, specs.slice(60));
    store.reads = 0;
    assert.equal(await mirror.updateIndex(), 61);
    assert.equal(store.reads, 1, "only the broken manifest is read again");
    const afterPush = await indexBytes(cache);
    await new UrlMirror(new FsStore(cache)).updateIndex({ full: true });
    assert.equal(afterPush, await indexBytes(cache));
  });
});

Deno.test("incremental and full update-index agree from an empty cache and with an unreadable index", async () => {
  await withTempDir(async (dir) => {
    const warnings: string[] = [];
    const mirror = new UrlMirror(new FsStore(dir), { onWarning: (w) => warnings.push(w), jobs: 3 });
    assert.equal(await mirror.updateIndex(), 0);
    await pushSynthetic(mirror, syntheticSpecs(12, 3));
    await Deno.writeTextFile(join(dir, INDEX_MANIFEST_KEY), "garbage");
    assert.equal(await mirror.updateIndex(), 12);
    assert.match(warnings.join("\n"), /unable to read the current index/);
    const rebuilt = await indexBytes(dir);
    assert.equal(await mirror.updateIndex({ full: true }), 12);
    assert.equal(rebuilt, await indexBytes(dir));
  });
});
