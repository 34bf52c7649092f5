import assert from "node:assert/strict";
import { join } from "node:path";
import { DigestMismatchError, MirrorNotFoundError } from "../../lib/errors.ts";
import { installSpecs } from "../../lib/install/install.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { OciLayout } from "../../lib/oci/layout.ts";
import { pushSpecs } from "../../lib/push/push.ts";
import { openStore } from "../../lib/store/mod.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { readAll, streamOf } from "../../lib/stream/io.ts";
import { HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { assertHarnessInstalled } from "../_support/harness.ts";
import { startRegistry } from "../_support/registry.ts";
import { storeFromCache } from "../_support/store_from_cache.ts";
import { withTempDir } from "../_support/temp.ts";
import { layoutTags, skopeo } from "./_skopeo.ts";

const LAYOUT = join(SPACK12, "oci", "buildcache");

Deno.test("a directory holding Spack's OCI layout is a mirror: list and install", async () => {
  await withTempDir(async (work) => {
    const mirror = await openMirror(LAYOUT);
    assert.equal(mirror.url, `oci-layout:${LAYOUT}`);
    const specs = await mirror.listSpecs();
    assert.deepEqual(specs.map((s) => s.node.hash).sort(), [HARNESS.hello, HARNESS.libdep].sort());
    const hello = specs.find((s) => s.node.hash === HARNESS.hello)!;
    await installSpecs(mirror, [hello], { root: join(work, "root"), checkSignature: false });
    await assertHarnessInstalled(join(work, "root"));
  });
});

Deno.test("pushing to oci-layout: gives Spack's tags and index, readable by skopeo", async () => {
  await withTempDir(async (work) => {
    const storeDir = join(work, "store");
    await storeFromCache(join(SPACK12, "fs-unsigned"), storeDir);
    const store = await openStore(storeDir);
    const dir = join(work, "cache");
    const mirror = await openMirror(`oci-layout:${dir}`);
    await pushSpecs(mirror, store, store.specs, {
      updateIndex: true,
      spackPrefix: "/opt/spack-1.2",
    });

    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(dir, "oci-layout"))), {
      imageLayoutVersion: "1.0.0",
    });
    const tags = await layoutTags(dir);
    assert.deepEqual([...tags].sort(), [...await layoutTags(LAYOUT)].sort());
    // The index image is byte-identical to Spack's, so its manifest digest is too.
    const index = JSON.parse(await Deno.readTextFile(join(dir, "index.json")));
    const digestOf = (doc: typeof index, tag: string) =>
      doc.manifests.find((m: { annotations: Record<string, string> }) =>
        m.annotations["org.opencontainers.image.ref.name"] === tag
      ).digest;
    const theirs = JSON.parse(await Deno.readTextFile(join(LAYOUT, "index.json")));
    assert.equal(digestOf(index, "index.spack"), digestOf(theirs, "index.spack"));

    for (const tag of tags) {
      const info = JSON.parse(await skopeo("inspect", `oci:${dir}:${tag}`));
      assert.equal(info.Digest, digestOf(index, tag));
    }

    // The same directory reopened as a plain path is the same mirror; pushing again skips.
    const reopened = await openMirror(dir);
    const again = await pushSpecs(reopened, store, store.specs, {});
    assert.deepEqual([again.pushed.length, again.skipped.length], [0, 2]);
    // A forced push rewrites the same images (deterministic) without duplicating entries.
    await pushSpecs(reopened, store, store.specs, { force: true, spackPrefix: "/opt/spack-1.2" });
    const after = JSON.parse(await Deno.readTextFile(join(dir, "index.json")));
    assert.deepEqual(after.manifests, index.manifests);

    const root = join(work, "root");
    const hello = (await reopened.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
    await installSpecs(reopened, [hello], { root, checkSignature: false });
    await assertHarnessInstalled(root);

    // skopeo carries the layout's images to a registry unchanged.
    const registry = await startRegistry();
    try {
      const helloTag = tags.find((t) => t.includes(HARNESS.hello))!;
      await skopeo(
        "copy",
        "--quiet",
        "--preserve-digests",
        "--dest-tls-verify=false",
        `oci:${dir}:${helloTag}`,
        `docker://${registry.host}/spack/from-layout:${helloTag}`,
      );
      const fromRegistry = await openMirror(`oci+http://${registry.host}/spack/from-layout`);
      assert.deepEqual((await fromRegistry.listSpecs()).map((s) => s.node.hash), [HARNESS.hello]);
    } finally {
      await registry.stop();
    }
  });
});

Deno.test("OciLayout verifies blobs, refuses bad digests, and keeps concurrent tags", async () => {
  await withTempDir(async (work) => {
    const layout = new OciLayout(join(work, "l"));
    await assert.rejects(layout.listTags(), MirrorNotFoundError);
    const bytes = new TextEncoder().encode("layer bytes");
    const digest = `sha256:${sha256Hex(bytes)}`;
    // A body that does not hash to the digest is refused and leaves nothing.
    await assert.rejects(
      layout.pushBlob(digest, 3, () => streamOf("bad")),
      DigestMismatchError,
    );
    assert.equal(await layout.headBlob(digest), undefined);
    assert.equal(await layout.pushBlob(digest, bytes.length, () => streamOf(bytes)), "uploaded");
    assert.equal(await layout.pushBlob(digest, bytes.length, () => streamOf(bytes)), "exists");

    // Many tags written at once: none is lost.
    const manifests = Array.from(
      { length: 20 },
      (_, i) => new TextEncoder().encode(JSON.stringify({ mediaType: "x", n: i })),
    );
    await Promise.all(manifests.map((m, i) => layout.putManifest(`t${i}`, m, "x")));
    assert.equal((await layout.listTags()).length, 20);
    const got = await layout.getManifest("t7");
    assert.deepEqual(got.bytes, manifests[7]);
    assert.equal((await layout.getManifest(got.digest)).mediaType, "x");

    // A blob altered on disk fails verification while streaming.
    await Deno.writeTextFile(join(work, "l", "blobs", "sha256", digest.slice(7)), "layer bytez");
    await assert.rejects(readAll(await layout.getBlob(digest)), DigestMismatchError);
  });
});
