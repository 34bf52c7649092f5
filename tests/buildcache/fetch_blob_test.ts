import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DigestMismatchError,
  fetchBlob,
  openMirror,
  SizeMismatchError,
  UsageError,
} from "../../mod.ts";
import { sha256Hex } from "../../lib/stream/mod.ts";
import { readAll } from "../../lib/stream/io.ts";
import { copyFixture, HARNESS, SPACK12 } from "../_support/fixtures.ts";

/** The hello tarball's digest and size as the cache records them, for each fixture backend. */
async function helloTarball(url: string): Promise<{ digest: string; size: number }> {
  const mirror = await openMirror(url);
  const hello = (await mirror.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
  const { tarball } = (await mirror.getEntry(hello))!;
  assert.ok(tarball.size !== undefined, `${url} records the tarball's size`);
  return { digest: tarball.digest, size: tarball.size };
}

const BACKENDS = {
  "URL layout": join(SPACK12, "fs-unsigned"),
  "OCI image layout": join(SPACK12, "oci/buildcache"),
};

for (const [backend, url] of Object.entries(BACKENDS)) {
  Deno.test(`fetchBlob streams a ${backend} blob by mirror URL or mirror, with its size`, async () => {
    const { digest, size } = await helloTarball(url);
    const byUrl = await readAll(await fetchBlob(url, digest, { size }));
    assert.equal(`sha256:${sha256Hex(byUrl)}`, digest);
    assert.equal(byUrl.byteLength, size);
    const byMirror = await readAll(await fetchBlob(await openMirror(url), digest));
    assert.deepEqual(byMirror, byUrl);
  });

  Deno.test(`fetchBlob errors a corrupted ${backend} blob with DigestMismatchError`, async () => {
    const { digest } = await helloTarball(url);
    const dir = await copyFixture(url);
    try {
      const hex = digest.slice("sha256:".length);
      const path = backend === "URL layout"
        ? join(dir, "blobs/sha256", hex.slice(0, 2), hex)
        : join(dir, "blobs/sha256", hex);
      const bytes = await Deno.readFile(path);
      bytes[100] ^= 0xff;
      await Deno.writeFile(path, bytes);
      await assert.rejects(
        async () => await readAll(await fetchBlob(dir, digest)),
        (e) => e instanceof DigestMismatchError && e.message.includes(hex),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("fetchBlob errors when the blob is longer or shorter than the size given", async () => {
  const url = BACKENDS["URL layout"];
  const { digest, size } = await helloTarball(url);
  for (const wrong of [size - 1, size + 1]) {
    await assert.rejects(
      async () => await readAll(await fetchBlob(url, digest, { size: wrong })),
      (e) =>
        e instanceof SizeMismatchError && e.expected === wrong &&
        e.message.includes(digest.slice("sha256:".length)),
    );
  }
});

Deno.test("fetchBlob refuses a digest that is not sha256:<hex> and a size that is not a count", async () => {
  const url = BACKENDS["URL layout"];
  const { digest } = await helloTarball(url);
  for (const bad of [digest.slice("sha256:".length), "sha512:" + "0".repeat(128), "sha256:XYZ"]) {
    await assert.rejects(
      fetchBlob(url, bad),
      (e) => e instanceof UsageError && e.message.includes(bad),
    );
  }
  await assert.rejects(fetchBlob(url, digest, { size: -1 }), UsageError);
  await assert.rejects(fetchBlob(url, digest, { size: 1.5 }), UsageError);
});
