import assert from "node:assert/strict";
import { join } from "node:path";
import { MirrorNotFoundError } from "../../lib/errors.ts";
import { OciMirror } from "../../lib/mirror/oci.ts";
import { installSpecs } from "../../lib/install/install.ts";
import { pushSpecs } from "../../lib/push/push.ts";
import { openStore } from "../../lib/store/mod.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { readAll } from "../../lib/stream/io.ts";
import { HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { assertHarnessInstalled } from "../_support/harness.ts";
import { startRegistry } from "../_support/registry.ts";
import { storeFromCache } from "../_support/store_from_cache.ts";
import { layoutTags, serveLayout, skopeo } from "./_skopeo.ts";

const LAYOUT = join(SPACK12, "oci", "buildcache");

type Json = Record<string, unknown> & {
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number }[];
};

/** A blob of Spack's OCI layout fixture. */
function fixtureBlob(digest: string): Uint8Array {
  return Deno.readFileSync(join(LAYOUT, "blobs", "sha256", digest.slice("sha256:".length)));
}

/** Manifest of `tag` in Spack's OCI layout fixture. */
async function fixtureManifest(tag: string): Promise<Json> {
  const index = JSON.parse(await Deno.readTextFile(join(LAYOUT, "index.json")));
  const found = index.manifests.find((m: { annotations: Record<string, string> }) =>
    m.annotations["org.opencontainers.image.ref.name"] === tag
  );
  return JSON.parse(new TextDecoder().decode(fixtureBlob(found.digest)));
}

async function registryJson(base: string, path: string, accept?: string): Promise<Json> {
  const res = await fetch(`${base}${path}`, { headers: accept ? { accept } : {} });
  assert.equal(res.status, 200, path);
  return await res.json();
}

Deno.test("OciMirror reads Spack's OCI build cache and installs from it", async () => {
  const registry = await startRegistry();
  const root = await Deno.makeTempDir({ prefix: "spackle-oci-install-" });
  try {
    const tags = await serveLayout(LAYOUT, registry.host, "spack/buildcache");
    const mirror = new OciMirror(`oci+http://${registry.host}/spack/buildcache`);
    assert.equal(mirror.url, `oci+http://${registry.host}/spack/buildcache`);

    const specs = await mirror.listSpecs();
    assert.deepEqual(specs.map((s) => s.node.hash).sort(), [HARNESS.hello, HARNESS.libdep].sort());

    for (const spec of specs) {
      const tag = tags.find((t) => t.includes(spec.node.hash))!;
      const expected = (await fixtureManifest(tag)).layers.at(-1)!;
      const entry = (await mirror.getEntry(spec))!;
      assert.equal(entry.layout, 3);
      assert.equal(entry.spec.node.hash, spec.node.hash);
      assert.deepEqual(entry.tarball, { digest: expected.digest, size: expected.size });
      const bytes = await readAll(await mirror.openTarball(entry));
      assert.equal(`sha256:${sha256Hex(bytes)}`, expected.digest);
      assert.equal(await mirror.hasSpec(spec.node), true);
    }
    const absent = { ...specs[0].node, hash: "a".repeat(32) };
    assert.equal(await mirror.hasSpec(absent), false);
    assert.equal(await mirror.getEntry({ node: absent, nodes: new Map() }), undefined);

    const hello = specs.find((s) => s.node.hash === HARNESS.hello)!;
    await installSpecs(mirror, [hello], { root, checkSignature: false });
    await assertHarnessInstalled(root);

    // Without index.spack, the spec images themselves are listed.
    for (const tag of tags.filter((t) => t !== "index.spack")) {
      await skopeo(
        "copy",
        "--quiet",
        "--preserve-digests",
        "--dest-tls-verify=false",
        `oci:${LAYOUT}:${tag}`,
        `docker://${registry.host}/spack/noindex:${tag}`,
      );
    }
    const unindexed = new OciMirror(`oci+http://${registry.host}/spack/noindex`);
    assert.deepEqual(
      (await unindexed.listSpecs()).map((s) => s.node.hash).sort(),
      specs.map((s) => s.node.hash).sort(),
    );
    // A repository that does not exist is an error naming it, not an empty cache.
    await assert.rejects(
      new OciMirror(`oci+http://${registry.host}/spack/empty`).listSpecs(),
      MirrorNotFoundError,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
    await registry.stop();
  }
});

Deno.test("OciMirror pushes images shaped like Spack's, and an identical index.spack", async () => {
  const registry = await startRegistry();
  const work = await Deno.makeTempDir({ prefix: "spackle-oci-push-" });
  try {
    const storeDir = join(work, "store");
    await storeFromCache(join(SPACK12, "fs-unsigned"), storeDir);
    const store = await openStore(storeDir);
    const repo = "spack/pushed";
    const mirror = new OciMirror(`oci+http://${registry.host}/${repo}`);
    const result = await pushSpecs(mirror, store, store.specs, {
      updateIndex: true,
      spackPrefix: "/opt/spack-1.2",
    });
    assert.equal(result.pushed.length, 2);

    const base = `${registry.url}/v2/${repo}`;
    const theirTags = await layoutTags(LAYOUT);
    const ourTags = (await registryJson(base, "/tags/list")).tags as string[];
    assert.deepEqual([...ourTags].sort(), [...theirTags].sort());

    const digests = new Map<string, string>();
    for (const tag of theirTags) {
      const theirs = await fixtureManifest(tag);
      const res = await fetch(`${base}/manifests/${tag}`, {
        headers: { accept: theirs.mediaType as string },
      });
      const ourBytes = new Uint8Array(await res.arrayBuffer());
      const ours = JSON.parse(new TextDecoder().decode(ourBytes)) as Json;
      digests.set(tag, `sha256:${sha256Hex(ourBytes)}`);
      assert.deepEqual(Object.keys(ours), Object.keys(theirs), tag);
      assert.equal(ours.mediaType, theirs.mediaType);
      assert.equal(ours.config.mediaType, theirs.config.mediaType);
      assert.deepEqual(ours.layers.map((l) => l.mediaType), theirs.layers.map((l) => l.mediaType));
      assert.deepEqual(ours.annotations, theirs.annotations);

      const ourConfig = await registryJson(base, `/blobs/${ours.config.digest}`);
      const theirConfig = JSON.parse(new TextDecoder().decode(fixtureBlob(theirs.config.digest)));
      if (tag === "index.spack") {
        // Same index bytes, so the very same manifest as Spack's.
        assert.deepEqual(ourConfig, theirConfig);
        const ourIndex = await fetch(`${base}/blobs/${ours.layers[0].digest}`);
        assert.deepEqual(
          new Uint8Array(await ourIndex.arrayBuffer()),
          fixtureBlob(theirs.layers[0].digest),
        );
        assert.deepEqual(ourBytes, fixtureBlob(digests.get(tag)!));
        continue;
      }
      assert.deepEqual(Object.keys(ourConfig), Object.keys(theirConfig), tag);
      for (const key of ["architecture", "os", "rootfs", "spec", "buildcache_layout_version"]) {
        assert.deepEqual(ourConfig[key], theirConfig[key], `${tag}: ${key}`);
      }
      assert.equal(ourConfig.archive_compression, theirConfig.archive_compression);
      // The checksum and size describe our own (differently compressed) last layer.
      assert.deepEqual(ourConfig.binary_cache_checksum, {
        hash_algorithm: "sha256",
        hash: ours.layers.at(-1)!.digest.slice("sha256:".length),
      });
      assert.equal(ourConfig.archive_size, ours.layers.at(-1)!.size);
    }

    // An independent client reads every image.
    for (const tag of theirTags) {
      const info = JSON.parse(
        await skopeo("inspect", "--tls-verify=false", `docker://${registry.host}/${repo}:${tag}`),
      );
      assert.equal(info.Digest, digests.get(tag));
    }

    // The pushed cache installs, and pushing again skips both specs.
    const root = join(work, "root");
    const hello = (await mirror.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
    await installSpecs(mirror, [hello], { root, checkSignature: false });
    await assertHarnessInstalled(root);
    const again = await pushSpecs(mirror, store, store.specs, {});
    assert.deepEqual([again.pushed.length, again.skipped.length], [0, 2]);

    // A forced push of the same store yields the same images (deterministic timestamp).
    const fresh = new OciMirror(`oci+http://${registry.host}/${repo}`);
    await pushSpecs(fresh, store, store.specs, { force: true, spackPrefix: "/opt/spack-1.2" });
    for (const tag of theirTags) {
      const res = await fetch(`${base}/manifests/${tag}`, {
        method: "HEAD",
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      });
      assert.equal(res.headers.get("docker-content-digest"), digests.get(tag), tag);
    }
    // A dependent pushed before its dependency gets the dependency's layer once it arrives.
    const reversed = new OciMirror(`oci+http://${registry.host}/spack/reversed`);
    const helloFirst = [...store.specs].sort((a) => a.spec.node.hash === HARNESS.hello ? -1 : 1);
    const reversedPush = await pushSpecs(reversed, store, helloFirst, {
      withDependencies: false,
      jobs: 1,
      spackPrefix: "/opt/spack-1.2",
    });
    const helloTag = theirTags.find((t) => t.includes(HARNESS.hello))!;
    const res = await fetch(`${registry.url}/v2/spack/reversed/manifests/${helloTag}`, {
      method: "HEAD",
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    assert.equal(res.headers.get("docker-content-digest"), digests.get(helloTag));
    // The push reports the rewritten manifest, once.
    const helloReceipts = reversedPush.manifests.filter((m) => m.reference.endsWith(helloTag));
    assert.deepEqual(helloReceipts.map((m) => m.digest), [digests.get(helloTag)]);
  } finally {
    await Deno.remove(work, { recursive: true });
    await registry.stop();
  }
});
