import assert from "node:assert/strict";
import { join } from "node:path";
import { openMirror } from "../../lib/mirror/open.ts";
import { DigestMismatchError } from "../../lib/errors.ts";
import { readAll } from "../../lib/stream/io.ts";
import { copyFixture, HARNESS, SPACK12, V2_MIRRORS } from "../_support/fixtures.ts";

Deno.test("lists a Spack 1.2 cache from its index, and from manifests when the index is gone", async () => {
  const dir = await copyFixture(join(SPACK12, "fs-unsigned"));
  try {
    const fromIndex = (await (await openMirror(dir)).listSpecs()).map((s) => s.node.hash).sort();
    assert.deepEqual(fromIndex, [HARNESS.libdep, HARNESS.hello].sort());
    await Deno.remove(join(dir, "v3/manifests/index"), { recursive: true });
    const mirror = await openMirror(`file://${dir}`);
    const scanned = await mirror.listSpecs();
    assert.deepEqual(scanned.map((s) => s.node.hash).sort(), fromIndex);
    const hello = scanned.find((s) => s.node.hash === HARNESS.hello)!;
    assert.equal(hello.nodes.size, 3);
    // Rebuilding the index writes the same blob Spack wrote.
    assert.equal(await mirror.updateIndex(), 2);
    const manifest = await Deno.readTextFile(join(dir, "v3/manifests/index/index.manifest.json"));
    assert.equal(
      manifest,
      await Deno.readTextFile(join(SPACK12, "fs-unsigned/v3/manifests/index/index.manifest.json")),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reads entries of signed and unsigned caches; fetchBlob verifies digests", async () => {
  for (const name of ["fs-unsigned", "fs-signed"]) {
    const mirror = await openMirror(join(SPACK12, name));
    const hello = (await mirror.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
    const entry = (await mirror.getEntry(hello))!;
    assert.equal(entry.layout, 3);
    assert.equal(
      entry.tarball.digest,
      "sha256:4ec6cd439ad6aa5857a428e39313ed605467c683edb339dea857669a5c965190",
    );
    assert.equal(Boolean(entry.signedText), name === "fs-signed");
    const bytes = await readAll(await mirror.openTarball(entry));
    assert.equal(bytes.byteLength, 11085);
  }
});

Deno.test("a corrupted blob errors the stream with DigestMismatchError naming the blob", async () => {
  const dir = await copyFixture(join(SPACK12, "fs-unsigned"));
  try {
    const digest = "3c8d8d2208a42d36d034903c6fff7e6373dd5be0aa9817e4645a1bcc8e27a1f3";
    const path = join(dir, "blobs/sha256/3c", digest);
    const bytes = await Deno.readFile(path);
    bytes[100] ^= 0xff;
    await Deno.writeFile(path, bytes);
    const mirror = await openMirror(dir);
    await assert.rejects(
      async () => await readAll(await mirror.fetchBlob(`sha256:${digest}`)),
      (e) => e instanceof DigestMismatchError && e.message.includes(digest),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("legacy v2 mirrors list from index.json and resolve spec files and tarballs", async () => {
  for (const kind of ["unsigned", "signed"]) {
    const mirror = await openMirror(join(V2_MIRRORS, kind));
    const specs = await mirror.listSpecs();
    assert.ok(specs.length >= 4, `${kind}: ${specs.length} specs`);
    for (const spec of specs) {
      const entry = await mirror.getEntry(spec);
      assert.ok(entry, `${kind}: no entry for ${spec.node.name}/${spec.node.hash}`);
      assert.equal(entry.layout, 2);
      assert.equal(Boolean(entry.signedText), kind === "signed");
      const bytes = await readAll(await mirror.openTarball(entry));
      assert.ok(bytes.byteLength > 0);
    }
  }
});

Deno.test("a reader never modifies the cache", async () => {
  const dir = await copyFixture(join(SPACK12, "fs-signed"));
  try {
    const before = await snapshot(dir);
    const mirror = await openMirror(dir);
    for (const spec of await mirror.listSpecs()) {
      await readAll(await mirror.openTarball((await mirror.getEntry(spec))!));
    }
    assert.deepEqual(await snapshot(dir), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function snapshot(dir: string): Promise<string[]> {
  const out = await new Deno.Command("find", { args: [dir, "-printf", "%P %s %T@\n"] }).output();
  return new TextDecoder().decode(out.stdout).split("\n").sort();
}
