import assert from "node:assert/strict";
import { join } from "node:path";
import { downloadSpec } from "../../lib/copy/download.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { spackle } from "../_support/cli.ts";
import { copyFixture, HARNESS, SPACK12, V2_MIRRORS } from "../_support/fixtures.ts";
import { startRegistry } from "../_support/registry.ts";
import { withTempDir } from "../_support/temp.ts";
import { serveLayout } from "../oci/_skopeo.ts";

const HELLO = `harness-hello-1.0-${HARNESS.hello}`;

async function fileDigest(path: string): Promise<string> {
  return `sha256:${sha256Hex(await Deno.readFile(path))}`;
}

Deno.test("download from a signed directory cache: tarball, spec file and the signed manifest", async () => {
  await withTempDir(async (dir) => {
    const cache = join(SPACK12, "fs-signed");
    const out = await spackle("download", cache, "harness-hello", "--dir", dir, "--json");
    assert.equal(out.code, 0, out.stderr);
    const result = JSON.parse(out.stdout);
    assert.equal(result.layout, 3);
    assert.equal(result.tarball, join(dir, `${HELLO}.tar.gz`));
    assert.equal(await fileDigest(result.tarball), result.digest);
    // The manifest as Spack signed it, byte for byte, naming the same tarball.
    const manifestPath = `${cache}/v3/manifests/spec/harness-hello/${HELLO}.spec.manifest.json`;
    assert.deepEqual(await Deno.readFile(result.signed), await Deno.readFile(manifestPath));
    assert.ok(
      (await Deno.readTextFile(manifestPath)).includes(result.digest.slice("sha256:".length)),
    );
    const specFile = JSON.parse(await Deno.readTextFile(result.specFile));
    assert.equal(specFile.spec.nodes[0].hash, HARNESS.hello);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
      `${HELLO}.spec.json`,
      `${HELLO}.spec.manifest.json`,
      `${HELLO}.tar.gz`,
    ]);
  });
});

Deno.test("download from a legacy v2 mirror: the .spack tarball and the signed spec file", async () => {
  await withTempDir(async (dir) => {
    const mirror = await openMirror(join(V2_MIRRORS, "signed"));
    const [libelf] = (await mirror.listSpecs()).filter((s) =>
      s.node.name === "libelf" && s.node.hash.startsWith("rqh2vuf")
    );
    const result = await downloadSpec(mirror, libelf, dir);
    assert.equal(result.layout, 2);
    assert.ok(result.tarball.endsWith(".spack"));
    assert.equal(await fileDigest(result.tarball), result.digest);
    const specFile = JSON.parse(await Deno.readTextFile(result.specFile));
    assert.equal(specFile.binary_cache_checksum.hash, result.digest.slice("sha256:".length));
    assert.match(await Deno.readTextFile(result.signed!), /BEGIN PGP SIGNED MESSAGE/);
  });
});

Deno.test("download from a registry: the tarball is the image's last layer", async () => {
  const registry = await startRegistry();
  try {
    await withTempDir(async (dir) => {
      await serveLayout(join(SPACK12, "oci", "buildcache"), registry.host, "spack/cache");
      const mirror = `oci+http://${registry.host}/spack/cache`;
      const out = await spackle("download", mirror, `/${HARNESS.libdep.slice(0, 7)}`, "--dir", dir);
      assert.equal(out.code, 0, out.stderr);
      const [tarball, specFile] = out.stdout.trim().split("\n");
      const manifest = JSON.parse(
        await (await fetch(
          `${registry.url}/v2/spack/cache/manifests/harness-libdep-1.0-${HARNESS.libdep}.spack`,
          { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } },
        )).text(),
      );
      assert.equal(await fileDigest(tarball), manifest.layers.at(-1).digest);
      assert.equal(
        JSON.parse(await Deno.readTextFile(specFile)).spec.nodes[0].hash,
        HARNESS.libdep,
      );
    });
  } finally {
    await registry.stop();
  }
});

Deno.test("download of a corrupt tarball fails with exit 1 and leaves nothing behind", async () => {
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  try {
    await withTempDir(async (dir) => {
      const mirror = await openMirror(cache);
      const [hello] = (await mirror.listSpecs()).filter((s) => s.node.hash === HARNESS.hello);
      const { digest } = (await mirror.getEntry(hello))!.tarball;
      const hex = digest.slice("sha256:".length);
      const blob = join(cache, "blobs", "sha256", hex.slice(0, 2), hex);
      const bytes = await Deno.readFile(blob);
      bytes[bytes.length - 1] ^= 1;
      await Deno.writeFile(blob, bytes);
      const out = await spackle("download", cache, "harness-hello", "--dir", dir);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /digest mismatch/);
      assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
    });
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
