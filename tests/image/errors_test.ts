import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { NotFoundError } from "../../lib/errors.ts";
import {
  composeImage,
  MAX_IMAGE_LAYERS,
  PlatformMismatchError,
  TooManyLayersError,
} from "../../lib/image/mod.ts";
import type { ConcreteSpec, SpecNode } from "../../lib/spec/spec.ts";
import {
  buildBaseImage,
  buildLayeredBase,
  writeImage,
  writeIndex,
} from "../_support/base_image.ts";
import { startRegistry } from "../_support/registry.ts";
import { withTempDir } from "../_support/temp.ts";
import { layoutBlob, layoutTagsOf, readLayoutImage, sha256 } from "./_layout.ts";
import { runChrooted, sampleCache, samplePrefix, unpackImage } from "./_sample.ts";

/** A copy of `spec` whose nodes claim another target. */
function retarget(spec: ConcreteSpec, target: string): ConcreteSpec {
  const nodes = new Map<string, SpecNode>(
    [...spec.nodes].map(([hash, n]) => [hash, n.arch ? { ...n, arch: { ...n.arch, target } } : n]),
  );
  return { node: nodes.get(spec.node.hash)!, nodes };
}

Deno.test("platform mismatches and unknown bases are clear errors and tag nothing", async () => {
  const registry = await startRegistry();
  try {
    await withTempDir(async (work) => {
      const baseDir = join(work, "base");
      const base = await buildBaseImage(baseDir, work);
      await writeIndex(baseDir, "arm-only", [{ image: base, architecture: "arm64" }]);
      const { mirror, hello } = await sampleCache(join(work, "cache"));
      const out = join(work, "out");
      const compose = (base: string, specs = [hello]) =>
        composeImage({ base, mirror, specs, target: `oci-layout:${out}:app` });

      // An aarch64 spec on an x86_64 base.
      await assert.rejects(
        compose(`oci-layout:${baseDir}:base`, [retarget(hello, "aarch64")]),
        (e) => {
          assert.ok(e instanceof PlatformMismatchError);
          assert.equal(e.code, "PLATFORM_MISMATCH");
          assert.match(e.message, /linux\/arm64.*linux\/amd64/);
          return true;
        },
      );
      // A base index without the specs' platform.
      await assert.rejects(compose(`oci-layout:${baseDir}:arm-only`), (e) => {
        assert.ok(e instanceof PlatformMismatchError);
        assert.match(e.message, /arm-only has no manifest.*need linux\/amd64, found linux\/arm64/);
        return true;
      });
      // Specs of two architectures cannot share an image.
      const mixed = { node: hello.node, nodes: new Map(hello.nodes) };
      for (const [hash, node] of retarget(hello, "aarch64").nodes) {
        if (hash !== hello.node.hash) mixed.nodes.set(hash, node);
      }
      await assert.rejects(compose(`oci-layout:${baseDir}:base`, [mixed]), PlatformMismatchError);
      // Unknown bases: a missing tag, a missing repository.
      await assert.rejects(compose(`oci-layout:${baseDir}:nope`), (e) => {
        assert.ok(e instanceof NotFoundError);
        assert.match(e.message, /base image oci-layout:.*:nope/);
        return true;
      });
      await assert.rejects(compose(`oci+http://${registry.host}/no/such:image`), (e) => {
        assert.ok(e instanceof NotFoundError);
        assert.match(e.message, /base image .*no\/such:image/);
        return true;
      });
      assert.deepEqual(layoutTagsOf(out), []);
    });
  } finally {
    await registry.stop();
  }
});

Deno.test("missing blobs in the cache or the base are clear errors and tag nothing", async () => {
  await withTempDir(async (work) => {
    const baseDir = join(work, "base");
    const base = await buildBaseImage(baseDir, work);
    const out = join(work, "out");

    // URL-layout cache without libgreet's tarball.
    const fsDir = join(work, "fs-cache");
    const fs = await sampleCache(fsDir);
    const greet = (await fs.mirror.getEntry(
      (await fs.mirror.listSpecs()).find((s) => s.node.name === "sample-libgreet")!,
    ))!;
    const hex = greet.tarball.digest.slice("sha256:".length);
    await Deno.remove(join(fsDir, "blobs", "sha256", hex.slice(0, 2), hex));
    await assert.rejects(
      composeImage({
        base: `oci-layout:${baseDir}:base`,
        mirror: fs.mirror,
        specs: [fs.hello],
        target: `oci-layout:${out}:app`,
      }),
      (e) => {
        assert.ok(e instanceof NotFoundError);
        assert.match(e.message, new RegExp(`${hex}.*sample-libgreet`));
        return true;
      },
    );

    // OCI cache without sample-hello's layer blob.
    const ociDir = join(work, "oci-cache");
    const oci = await sampleCache(`oci-layout:${ociDir}`);
    const own = readLayoutImage(ociDir, `sample-hello-1.0-${oci.hello.node.hash}.spack`)
      .manifest.layers.at(-1)!;
    await Deno.remove(join(ociDir, "blobs", "sha256", own.digest.slice("sha256:".length)));
    await assert.rejects(
      composeImage({
        base: `oci-layout:${baseDir}:base`,
        mirror: oci.mirror,
        specs: [oci.hello],
        target: `oci-layout:${out}:app`,
      }),
      (e) => {
        assert.ok(e instanceof NotFoundError);
        assert.match(e.message, new RegExp(`${own.digest}.*sample-hello`));
        return true;
      },
    );

    // A base whose layer blob is gone.
    const brokenDir = join(work, "broken-base");
    await writeImage(brokenDir, "base", base.layers, base.config);
    await Deno.remove(join(brokenDir, "blobs", "sha256", base.layers[0].digest.slice(7)));
    const fresh = await sampleCache(join(work, "fs-cache-2"));
    await assert.rejects(
      composeImage({
        base: `oci-layout:${brokenDir}:base`,
        mirror: fresh.mirror,
        specs: [fresh.hello],
        target: `oci-layout:${out}:app`,
      }),
      (e) => {
        assert.ok(e instanceof NotFoundError);
        assert.match(e.message, new RegExp(`layer ${base.layers[0].digest} of base image`));
        return true;
      },
    );
    assert.deepEqual(layoutTagsOf(out), []);
  });
});

Deno.test("more than 127 layers is refused; squashing the spec layers fits", async () => {
  await withTempDir(async (work) => {
    const baseDir = join(work, "base");
    // With the two sample packages and the sbang launcher, one layer more than runtimes accept.
    await buildLayeredBase(baseDir, work, "deep", MAX_IMAGE_LAYERS - 2);
    const { mirror, hello } = await sampleCache(join(work, "cache"));
    const out = join(work, "out");
    const options = {
      base: `oci-layout:${baseDir}:deep`,
      mirror,
      specs: [hello],
      target: `oci-layout:${out}:app`,
    };
    await assert.rejects(composeImage(options), (e) => {
      assert.ok(e instanceof TooManyLayersError);
      assert.equal(e.code, "TOO_MANY_LAYERS");
      assert.match(e.message, /128 layers .*127.*squash/);
      return true;
    });
    assert.deepEqual(layoutTagsOf(out), []);

    const result = await composeImage({ ...options, squash: true });
    assert.equal(result.layers, MAX_IMAGE_LAYERS);
    const image = readLayoutImage(out, "app");
    assert.equal(image.manifest.layers.length, MAX_IMAGE_LAYERS);
    assert.equal(image.config.rootfs.diff_ids.length, MAX_IMAGE_LAYERS);
    assert.equal(image.config.history?.length, MAX_IMAGE_LAYERS);
  });
});

Deno.test("a squashed image runs, and squashing is deterministic", async () => {
  await withTempDir(async (work) => {
    const baseDir = join(work, "base");
    await buildBaseImage(baseDir, work);
    const { mirror, hello } = await sampleCache(join(work, "cache"));
    const out = join(work, "out");
    const compose = (tag: string) =>
      composeImage({
        base: `oci-layout:${baseDir}:base`,
        mirror,
        specs: [hello],
        target: `oci-layout:${out}:${tag}`,
        squash: true,
      });
    const result = await compose("squashed");
    assert.equal(result.layers, 3); // base, squashed specs, sbang
    assert.equal((await compose("again")).digest, result.digest);

    const image = readLayoutImage(out, "squashed");
    const layer = image.manifest.layers[1];
    // The diff_id is the digest of the tar inside the new blob.
    assert.equal(
      sha256(gunzipSync(layoutBlob(out, layer.digest))),
      image.config.rootfs.diff_ids[1],
    );
    assert.match(
      image.config.history!.at(-2)!.created_by!,
      /--squash sample-libgreet.* sample-hello/,
    );

    const hello_ = samplePrefix("sample-hello");
    const rootfs = await unpackImage(out, "squashed", join(work, "bundle"));
    const run = await runChrooted(rootfs, [`${hello_}/bin/hello`]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /RESULT OK\n$/);
  });
});
