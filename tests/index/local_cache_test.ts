import assert from "node:assert/strict";
import { join } from "node:path";
import { UrlMirror } from "../../lib/mirror/url.ts";
import { FsStore } from "../../lib/storage/fs.ts";
import { HttpStore } from "../../lib/storage/http.ts";
import { startStaticServer } from "../_support/http_server.ts";
import { withTempDir } from "../_support/temp.ts";
import { pushSynthetic, syntheticSpecs } from "./_synthetic.ts";

/** An HTTP store that records the keys it fetches. */
class RecordingHttpStore extends HttpStore {
  readonly fetched: string[] = [];
  override get(key: string) {
    this.fetched.push(key);
    return super.get(key);
  }
}

Deno.test("a second list of an unchanged remote cache downloads no blob (index from the local cache); damaged copies are fetched again", async () => {
  await withTempDir(async (dir) => {
    const cache = join(dir, "cache");
    const local = join(dir, "local");
    const writer = new UrlMirror(new FsStore(cache));
    await pushSynthetic(writer, syntheticSpecs(10, 5));
    await writer.updateIndex();
    const server = await startStaticServer(cache);
    try {
      const list = async (localCache: string | false) => {
        const store = new RecordingHttpStore(server.url);
        const specs = await new UrlMirror(store, { localCache }).listSpecs();
        return {
          hashes: specs.map((s) => s.node.hash).sort(),
          blobs: store.fetched.filter((k) => k.startsWith("blobs/")),
        };
      };
      const first = await list(local);
      assert.equal(first.hashes.length, 10);
      assert.equal(first.blobs.length, 1, "the index blob is downloaded once");
      const second = await list(local);
      assert.deepEqual(second, { hashes: first.hashes, blobs: [] });
      assert.deepEqual((await list(false)).blobs, first.blobs);

      // A damaged local copy is not used: the blob is downloaded and kept again.
      const hex = first.blobs[0].split("/").pop()!;
      const copy = join(local, "blobs/sha256", hex.slice(0, 2), hex);
      await Deno.writeTextFile(copy, "damaged");
      assert.deepEqual(await list(local), first);
      assert.deepEqual((await list(local)).blobs, []);

      // Spec blobs of entries fetched for install are kept too.
      const spec =
        (await new UrlMirror(new HttpStore(server.url), { localCache: local }).listSpecs())[0];
      const store = new RecordingHttpStore(server.url);
      const entry = await new UrlMirror(store, { localCache: local }).getEntry(spec);
      assert.equal(entry?.spec.node.hash, spec.node.hash);
      const again = new RecordingHttpStore(server.url);
      await new UrlMirror(again, { localCache: local }).getEntry(spec);
      assert.equal(again.fetched.filter((k) => k.startsWith("blobs/")).length, 0);
      assert.equal(store.fetched.filter((k) => k.startsWith("blobs/")).length, 1);
    } finally {
      await server.stop();
    }
  });
});
