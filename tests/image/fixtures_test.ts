/**
 * Images made from the same inputs as Spack's `--base-image`/`--tag` fixtures have the same
 * structure (layer order, config fields, media types), apart from Spack's known defects
 * (build cache format reference §8 item 10): duplicated PATH entries and no history.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { composeImage, SPECS_LABEL } from "../../lib/image/mod.ts";
import { installSpecs } from "../../lib/install/install.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { OciMirror } from "../../lib/mirror/oci.ts";
import { pushSpecs } from "../../lib/push/push.ts";
import { openStore } from "../../lib/store/mod.ts";
import { writeImage } from "../_support/base_image.ts";
import { HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { assertHarnessInstalled } from "../_support/harness.ts";
import { storeFromCache } from "../_support/store_from_cache.ts";
import { withTempDir } from "../_support/temp.ts";
import { envOf, layoutBlob, layoutTagsOf, type ReadImage, readLayoutImage } from "./_layout.ts";

const FIXTURES = {
  oci: join(SPACK12, "oci", "buildcache-base-oci"),
  docker: join(SPACK12, "oci", "buildcache-base-docker"),
};
// The variables Spack's run environment sets (§4.5); the others come from the base image.
const SPACK_ENV = new Set([
  "PATH",
  "MANPATH",
  "ACLOCAL_PATH",
  "PKG_CONFIG_PATH",
  "CMAKE_PREFIX_PATH",
]);

/**
 * Rebuilds the base image the fixture was pushed with, from its `hello-app` image: Spack keeps
 * the base config and only appends `rootfs.diff_ids` and replaces `Env` (§4.6, §4.7), so the
 * base is the first layer, the first diff_id, and the config without Spack's variables.
 */
async function fixtureBase(fixture: string, dir: string, docker: boolean): Promise<void> {
  const app = readLayoutImage(fixture, "hello-app");
  const layer = app.manifest.layers[0];
  const env = app.config.config.Env.filter((e) => !SPACK_ENV.has(e.slice(0, e.indexOf("="))));
  await writeImage(
    dir,
    "base",
    [{
      path: join(fixture, "blobs", "sha256", layer.digest.slice(7)),
      digest: layer.digest,
      size: layer.size,
      diffId: app.config.rootfs.diff_ids[0],
    }],
    { ...app.config, config: { ...app.config.config, Env: env } },
    docker,
  );
}

const dedupe = (path: string) => [...new Set(path.split(":"))].join(":");

/**
 * Asserts `ours` has the structure of Spack's `theirs`, apart from Spack's defects; `extra`
 * layers of ours on top (the sbang launcher, which Spack leaves out) have the same media type.
 */
function assertSameStructure(ours: ReadImage, theirs: ReadImage, what: string, extra = 0): void {
  assert.equal(ours.manifest.mediaType, theirs.manifest.mediaType, what);
  assert.equal(ours.manifest.config.mediaType, theirs.manifest.config.mediaType, what);
  const layerType = theirs.manifest.layers.at(-1)!.mediaType;
  assert.deepEqual(
    ours.manifest.layers.map((l) => l.mediaType),
    [...theirs.manifest.layers.map((l) => l.mediaType), ...Array(extra).fill(layerType)],
    what,
  );
  assert.deepEqual(Object.keys(ours.config), Object.keys(theirs.config), what);
  for (const key of ["created", "architecture", "os"]) {
    assert.deepEqual(ours.config[key], theirs.config[key], `${what}: ${key}`);
  }
  assert.deepEqual(
    ours.config.rootfs.diff_ids.slice(0, ours.config.rootfs.diff_ids.length - extra),
    theirs.config.rootfs.diff_ids,
    what,
  );
  // Spack keeps the base's history and adds nothing; one entry per added layer here.
  const added = ours.manifest.layers.length - 1;
  assert.deepEqual(ours.config.history!.slice(0, -added), theirs.config.history, what);
  assert.equal(ours.config.history!.length, theirs.config.history!.length + added, what);
  // Spack's PATH repeats the specs' bin directories; here each appears once.
  const theirPath = envOf(theirs.config.config.Env, "PATH")!;
  assert.equal(envOf(ours.config.config.Env, "PATH"), dedupe(theirPath), what);
  for (const entry of ours.config.config.Env.filter((e) => !e.startsWith("PATH="))) {
    const name = entry.slice(0, entry.indexOf("="));
    if (!SPACK_ENV.has(name)) {
      assert.ok(theirs.config.config.Env.includes(entry), `${what}: ${entry}`);
      continue;
    }
    // The packages' directories, in Spack's order; Spack's value goes on with its build host's
    // defaults (e.g. /usr/lib/pkgconfig), which the base image does not set.
    const theirValue = dedupe(envOf(theirs.config.config.Env, name)!);
    assert.ok(theirValue.startsWith(entry.slice(name.length + 1)), `${what}: ${entry}`);
  }
}

Deno.test("composing the fixture's inputs gives the structure of Spack's --tag images", async () => {
  await withTempDir(async (work) => {
    const mirror = await openMirror(join(SPACK12, "oci", "buildcache"));
    const hello = (await mirror.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
    for (const [kind, fixture] of Object.entries(FIXTURES)) {
      const baseDir = join(work, `base-${kind}`);
      await fixtureBase(fixture, baseDir, kind === "docker");
      const out = join(work, `out-${kind}`);
      await composeImage({
        base: `oci-layout:${baseDir}:base`,
        mirror,
        specs: [hello],
        target: `oci-layout:${out}:hello-app`,
      });
      const ours = readLayoutImage(out, "hello-app");
      const theirs = readLayoutImage(fixture, "hello-app");
      // The very same blobs, in the same order: base layer, libdep, hello; then the sbang
      // launcher that hello's long-shebang script needs (Spack's images lack it).
      assert.deepEqual(
        ours.manifest.layers.slice(0, -1).map((l) => [l.digest, l.size]),
        theirs.manifest.layers.map((l) => [l.digest, l.size]),
      );
      assertSameStructure(ours, theirs, `${kind} hello-app`, 1);
      assert.ok(theirPathHasDuplicates(theirs), "the fixture shows Spack's PATH defect");
      // Spack writes no annotations on --tag images; these name the specs (OCI only).
      assert.equal(theirs.manifest.annotations, undefined);
      assert.equal(
        ours.manifest.annotations?.[SPECS_LABEL],
        kind === "oci" ? `harness-hello@1.0/${HARNESS.hello}` : undefined,
      );
      assert.equal(ours.config.config.Labels?.[SPECS_LABEL], `harness-hello@1.0/${HARNESS.hello}`);
    }
  });
});

Deno.test("push with a base image gives spec images shaped like Spack's --base-image ones", async () => {
  await withTempDir(async (work) => {
    const storeDir = join(work, "store");
    await storeFromCache(join(SPACK12, "fs-unsigned"), storeDir);
    const store = await openStore(storeDir);
    for (const [kind, fixture] of Object.entries(FIXTURES)) {
      const baseDir = join(work, `base-${kind}`);
      await fixtureBase(fixture, baseDir, kind === "docker");
      const cacheDir = join(work, `cache-${kind}`);
      const mirror = new OciMirror(`oci-layout:${cacheDir}`, {
        baseImage: `oci-layout:${baseDir}:base`,
      });
      await pushSpecs(mirror, store, store.specs, {
        updateIndex: true,
        spackPrefix: "/opt/spack-1.2",
      });

      const tags = layoutTagsOf(fixture).filter((t) => t.endsWith(".spack"));
      assert.deepEqual(layoutTagsOf(cacheDir).sort(), tags.sort());
      for (const tag of tags) {
        const ours = readLayoutImage(cacheDir, tag);
        const theirs = readLayoutImage(fixture, tag);
        if (tag === "index.spack") {
          // The same index, hence the very same manifest as Spack's.
          assert.equal(ours.digest, theirs.digest);
          continue;
        }
        assert.deepEqual(Object.keys(ours.manifest), Object.keys(theirs.manifest), tag);
        assert.deepEqual(ours.manifest.annotations, theirs.manifest.annotations, tag);
        assert.deepEqual(ours.manifest.layers[0], theirs.manifest.layers[0], tag);
        assertSameStructure(ours, theirs, `${kind} ${tag}`);
        for (const key of ["spec", "buildcache_layout_version", "archive_compression"]) {
          assert.deepEqual(ours.config[key], theirs.config[key], `${tag}: ${key}`);
        }
        // The base layer was copied into the cache.
        const base = ours.manifest.layers[0];
        assert.equal(layoutBlob(cacheDir, base.digest).length, base.size);
      }
      // Spec images on a base are still cache entries: they install.
      if (kind === "docker") {
        const root = join(work, "root");
        const hello = (await mirror.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
        await installSpecs(mirror, [hello], { root, checkSignature: false });
        await assertHarnessInstalled(root);
      }
    }
  });
});

function theirPathHasDuplicates(image: ReadImage): boolean {
  const path = envOf(image.config.config.Env, "PATH")!;
  return dedupe(path) !== path;
}
