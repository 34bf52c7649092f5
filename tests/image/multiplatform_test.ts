/**
 * Specs of several platforms give one image per platform, each on the matching image of a
 * multi-platform base, under one image index: the Spack-made fixture packages, and the same
 * packages re-labelled for aarch64 (new DAG hashes, the same tarballs; they need not run).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { composeImage, SPECS_LABEL } from "../../lib/image/mod.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { dagHash } from "../../lib/spec/hash.ts";
import type { ConcreteSpec, SpecNode } from "../../lib/spec/spec.ts";
import { buildBaseImage, hostArch, writeImage, writeIndex } from "../_support/base_image.ts";
import { copyFixture, HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { withTempDir } from "../_support/temp.ts";
import { skopeo } from "../oci/_skopeo.ts";
import { layoutBlob, sha256 } from "./_layout.ts";

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/** `spec` with every node's target set to `target`, and the DAG hashes that follow. */
function relabel(spec: ConcreteSpec, target: string): ConcreteSpec {
  const nodes = new Map<string, SpecNode>();
  const renamed = new Map<string, string>();
  const visit = (hash: string): string => {
    const done = renamed.get(hash);
    if (done) return done;
    const node = spec.nodes.get(hash)!;
    const copy: SpecNode = {
      ...node,
      arch: node.arch ? { ...node.arch, target } : undefined,
      dependencies: node.dependencies?.map((d) => ({ ...d, hash: visit(d.hash) })),
    };
    const { hash: _old, ...rest } = copy;
    const fresh = dagHash(rest as Record<string, unknown>);
    nodes.set(fresh, { ...copy, hash: fresh });
    renamed.set(hash, fresh);
    return fresh;
  };
  const root = visit(spec.node.hash);
  return { node: nodes.get(root)!, nodes };
}

Deno.test("specs of two platforms make an image index over one image per platform", async () => {
  await withTempDir(async (work) => {
    // A cache holding the fixture packages and their aarch64 re-labelling.
    const cacheDir = await copyFixture(join(SPACK12, "fs-unsigned"));
    try {
      const mirror = await openMirror(cacheDir);
      const specs = await mirror.listSpecs();
      const hello = specs.find((s) => s.node.hash === HARNESS.hello)!;
      const arm = relabel(hello, "aarch64");
      for (const node of arm.nodes.values()) {
        if (node.external) continue;
        const original = specs.find((s) => s.node.name === node.name)!;
        const entry = (await mirror.getEntry(original))!;
        const path = join(work, `${node.hash}.tar.gz`);
        const bytes = new Uint8Array(
          await new Response(await mirror.openTarball(entry)).arrayBuffer(),
        );
        await Deno.writeFile(path, bytes);
        const spec = { node, nodes: arm.nodes };
        await mirror.pushSpec(spec, {
          path,
          sha256: sha256(bytes).slice(7),
          size: bytes.length,
          diffId: sha256(gunzipSync(bytes)).slice(7),
        });
      }
      await mirror.updateIndex();
      const helloArm = (await mirror.listSpecs()).find((s) => s.node.hash === arm.node.hash)!;
      assert.ok(helloArm, "the re-labelled spec is in the cache");

      // A multi-platform base: the host's image, and the same layers claimed for arm64.
      const baseDir = join(work, "base");
      const amd64 = await buildBaseImage(baseDir, work);
      const arm64 = await writeImage(baseDir, "arm64", amd64.layers, {
        ...amd64.config,
        architecture: "arm64",
      });
      assert.equal(hostArch(), "amd64", "the fixture packages are x86_64");
      await writeIndex(baseDir, "multi", [
        { image: amd64, architecture: "amd64" },
        { image: arm64, architecture: "arm64" },
      ]);

      const out = join(work, "out");
      const compose = (tag: string) =>
        composeImage({
          base: `oci-layout:${baseDir}:multi`,
          mirror,
          specs: [hello, helloArm],
          target: `oci-layout:${out}:${tag}`,
        });
      const result = await compose("multi");
      assert.equal(result.mediaType, OCI_INDEX);
      assert.deepEqual(result.platforms.map((p) => p.platform), [
        { architecture: "amd64", os: "linux" },
        { architecture: "arm64", os: "linux" },
      ]);

      // skopeo sees the index, with one entry per platform.
      const raw = await skopeo("inspect", "--raw", `oci:${out}:multi`);
      assert.equal(sha256(new TextEncoder().encode(raw)), result.digest);
      const index = JSON.parse(raw);
      assert.equal(index.mediaType, OCI_INDEX);
      assert.deepEqual(
        index.manifests.map((m: { digest: string; platform: unknown }) => [m.digest, m.platform]),
        result.platforms.map((p) => [p.digest, p.platform]),
      );
      assert.equal(
        index.annotations[SPECS_LABEL],
        `harness-hello@1.0/${HARNESS.hello} harness-hello@1.0/${arm.node.hash}`,
      );
      // Each image is on its platform's base, with the same package tarballs as layers.
      const images = index.manifests.map((m: { digest: string }) => {
        const manifest = JSON.parse(new TextDecoder().decode(layoutBlob(out, m.digest)));
        const config = JSON.parse(
          new TextDecoder().decode(layoutBlob(out, manifest.config.digest)),
        );
        return { manifest, config };
      });
      assert.deepEqual(
        images.map((i: { config: { architecture: string } }) => i.config.architecture),
        [
          "amd64",
          "arm64",
        ],
      );
      assert.deepEqual(images[0].manifest.layers, images[1].manifest.layers);
      assert.equal(
        images[1].config.config.Labels[SPECS_LABEL],
        `harness-hello@1.0/${arm.node.hash}`,
      );

      // Deterministic, and `skopeo copy --all` copies the whole index, digests kept.
      assert.equal((await compose("again")).digest, result.digest);
      const copy = join(work, "copy");
      await skopeo("copy", "--quiet", "--all", `oci:${out}:multi`, `oci:${copy}:multi`);
      assert.equal(await skopeo("inspect", "--raw", `oci:${copy}:multi`), raw);
      for (const p of result.platforms) assert.ok(layoutBlob(copy, p.digest).length > 0);
    } finally {
      await Deno.remove(cacheDir, { recursive: true });
    }
  });
});
