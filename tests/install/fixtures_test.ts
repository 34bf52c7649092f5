import assert from "node:assert/strict";
import { join } from "node:path";
import { InstallError, installSpecs, NotFoundError, openMirror, selectSpecs } from "../../mod.ts";
import { paddedRoot } from "../../lib/store/mod.ts";
import { copyFixture, HARNESS, SPACK12, V2_MIRRORS } from "../_support/fixtures.ts";
import { assertHarnessInstalled, harnessPrefixes } from "../_support/harness.ts";

async function tempRoot(): Promise<{ base: string; root: string }> {
  const base = await Deno.makeTempDir({ prefix: "spackle-i-" });
  return { base, root: join(base, "r") };
}

for (const cache of ["fs-unsigned", "fs-signed"]) {
  Deno.test(`installs Spack's ${cache} cache into a short root; the relocated program prints RESULT OK`, async () => {
    const { base, root } = await tempRoot();
    try {
      const mirror = await openMirror(join(SPACK12, cache));
      const [hello] = selectSpecs(await mirror.listSpecs(), ["harness-hello"], cache);
      const result = await installSpecs(mirror, [hello], { root, checkSignature: false });
      assert.deepEqual([...result.installed.keys()], [HARNESS.libdep, HARNESS.hello]);
      await assertHarnessInstalled(root);
      // A second install finds both prefixes and changes nothing.
      const again = await installSpecs(mirror, [hello], { root, checkSignature: false });
      assert.equal(again.installed.size, 0);
      assert.equal(again.skipped.size, 2);
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  });
}

Deno.test("--padded-length pads the install root as Spack does; prefixes keep their length", async () => {
  const { base, root } = await tempRoot();
  try {
    const mirror = await openMirror(join(SPACK12, "fs-unsigned"));
    const [hello] = selectSpecs(await mirror.listSpecs(), ["harness-hello"], "fs-unsigned");
    await installSpecs(mirror, [hello], { root, paddedLength: 128, checkSignature: false });
    const storeRoot = paddedRoot(root, 128);
    assert.equal(storeRoot.length, 128);
    await assertHarnessInstalled(storeRoot, root);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("signature checking is on by default: an unsigned cache is refused, nothing installed", async () => {
  const { base, root } = await tempRoot();
  try {
    const mirror = await openMirror(join(SPACK12, "fs-unsigned"));
    const [hello] = selectSpecs(await mirror.listSpecs(), ["/hkbpth"], "fs-unsigned");
    await assert.rejects(
      installSpecs(mirror, [hello], { root }),
      (e) =>
        e instanceof InstallError && /harness-libdep@1\.0\/6zoocyj/.test(e.message) &&
        /signature/.test(e.message),
    );
    assert.deepEqual([...Deno.readDirSync(base)].map((e) => e.name).filter((n) => n !== "r"), []);
    const { D } = harnessPrefixes(root);
    await assert.rejects(Deno.lstat(D), Deno.errors.NotFound);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("a corrupted tarball blob fails the install with a digest error and leaves no prefix", async () => {
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  const { base, root } = await tempRoot();
  try {
    const blob = join(
      cache,
      "blobs/sha256/4e/4ec6cd439ad6aa5857a428e39313ed605467c683edb339dea857669a5c965190",
    );
    const bytes = await Deno.readFile(blob);
    bytes[bytes.length - 20] ^= 0x55;
    await Deno.writeFile(blob, bytes);
    const mirror = await openMirror(cache);
    const [hello] = selectSpecs(await mirror.listSpecs(), ["harness-hello"], cache);
    await assert.rejects(
      installSpecs(mirror, [hello], { root, checkSignature: false }),
      (e) => e instanceof InstallError && /harness-hello/.test(e.message),
    );
    const { H, D } = harnessPrefixes(root);
    await assert.rejects(Deno.lstat(H), Deno.errors.NotFound);
    assert.ok(
      (await Deno.lstat(D)).isDirectory,
      "the dependency installed before the failure stays",
    );
    const leftovers = [...Deno.readDirSync(join(root, "linux-x86_64"))].map((e) => e.name);
    assert.deepEqual(leftovers, [`harness-libdep-1.0-${HARNESS.libdep}`]);
    const db = JSON.parse(await Deno.readTextFile(join(root, ".spack-db/index.json")));
    assert.equal(db.database.installs[HARNESS.hello]?.installed ?? false, false);
  } finally {
    await Deno.remove(base, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("a missing tarball blob or manifest is a clear error naming the spec", async () => {
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  const { base, root } = await tempRoot();
  try {
    await Deno.remove(join(cache, "blobs/sha256/3c"), { recursive: true });
    const mirror = await openMirror(cache);
    const [hello] = selectSpecs(await mirror.listSpecs(), ["harness-hello"], cache);
    await assert.rejects(
      installSpecs(mirror, [hello], { root, checkSignature: false }),
      (e) =>
        e instanceof InstallError && /harness-libdep/.test(e.message) &&
        /blob is missing/.test(e.message),
    );
    await Deno.remove(join(cache, "v3/manifests/spec/harness-libdep"), { recursive: true });
    await assert.rejects(
      installSpecs(mirror, [hello], { root, checkSignature: false }),
      (e) => e instanceof NotFoundError && /harness-libdep/.test(e.message),
    );
  } finally {
    await Deno.remove(base, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("an install root longer than the build root is refused before anything is left behind", async () => {
  const { base } = await tempRoot();
  const root = join(base, "x".repeat(200));
  try {
    const mirror = await openMirror(join(SPACK12, "fs-unsigned"));
    const [libdep] = selectSpecs(await mirror.listSpecs(), ["harness-libdep"], "fs-unsigned");
    await assert.rejects(
      installSpecs(mirror, [libdep], { root, checkSignature: false }),
      (e) =>
        e instanceof InstallError && /harness-libdep/.test(e.message) &&
        /too long|longer/.test(e.message),
    );
    const { D } = harnessPrefixes(root);
    await assert.rejects(Deno.lstat(D), Deno.errors.NotFound);
    const left = [...Deno.readDirSync(join(root, "linux-x86_64"))];
    assert.deepEqual(left, []);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("a spec not in the cache is a NotFoundError naming it and the cache", async () => {
  const mirror = await openMirror(join(SPACK12, "fs-unsigned"));
  assert.throws(
    () => selectSpecs([], ["zlib@1.3"], mirror.url),
    (e) =>
      e instanceof NotFoundError && e.message.includes("zlib@1.3") &&
      e.message.includes("fs-unsigned"),
  );
});

for (const kind of ["unsigned", "signed"]) {
  Deno.test(`legacy v2 ${kind} mirror: every spec lists and installs`, async () => {
    const { base, root } = await tempRoot();
    try {
      const mirror = await openMirror(join(V2_MIRRORS, kind));
      const specs = await mirror.listSpecs();
      const result = await installSpecs(mirror, specs, { root, checkSignature: false });
      assert.equal(result.installed.size, specs.length);
      for (const prefix of result.installed.values()) {
        const spec = JSON.parse(await Deno.readTextFile(join(prefix, ".spack/spec.json")));
        assert.ok(spec.spec.nodes[0].hash.length === 32);
      }
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  });
}
