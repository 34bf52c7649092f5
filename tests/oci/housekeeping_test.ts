import assert from "node:assert/strict";
import { join } from "node:path";
import { OciLayout } from "../../lib/oci/layout.ts";
import { OCI_INDEX } from "../../lib/registry/media_types.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { spackle } from "../_support/cli.ts";
import { copyFixture, SPACK12 } from "../_support/fixtures.ts";
import { startRegistry } from "../_support/registry.ts";
import { layoutTags, serveLayout, skopeo } from "./_skopeo.ts";

const BASE_OCI = join(SPACK12, "oci", "buildcache-base-oci");

/** The exact manifest bytes a registry serves for `ref` (`host/repo:tag` or `@digest`), by skopeo. */
async function rawManifest(ref: string): Promise<string> {
  return await skopeo("inspect", "--raw", "--tls-verify=false", `docker://${ref}`);
}

/**
 * Adds tag `multi` to the layout `dir`: an OCI index of two of its image manifests (a small
 * multi-platform image), as a second architecture would be published.
 */
async function addIndex(dir: string): Promise<{ digest: string; children: string[] }> {
  const index = JSON.parse(await Deno.readTextFile(join(dir, "index.json")));
  const pick = (tag: string) =>
    index.manifests.find((m: { annotations: Record<string, string> }) =>
      m.annotations["org.opencontainers.image.ref.name"] === tag
    );
  const amd = pick("hello-app");
  const arm = pick("harness-libdep-1.0-6zoocyjnti5ypmuqeet2sz6f2lxnfsxn.spack");
  const bytes = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: amd.mediaType,
        digest: amd.digest,
        size: amd.size,
        platform: { architecture: "amd64", os: "linux" },
      },
      {
        mediaType: arm.mediaType,
        digest: arm.digest,
        size: arm.size,
        platform: { architecture: "arm64", os: "linux" },
      },
    ],
  }));
  const digest = await new OciLayout(dir).putManifest("multi", bytes, OCI_INDEX);
  return { digest, children: [amd.digest, arm.digest] };
}

Deno.test("spackle oci: tags, digest, copy (digests preserved, index included), catalog, delete", async () => {
  const registry = await startRegistry();
  const work = await Deno.makeTempDir({ prefix: "spackle-oci-housekeeping-" });
  try {
    const layout = await copyFixture(BASE_OCI);
    const images = await serveLayout(layout, registry.host, "spack/base");
    const multi = await addIndex(layout);
    await skopeo(
      "copy",
      "--quiet",
      "--all",
      "--preserve-digests",
      "--dest-tls-verify=false",
      `oci:${layout}:multi`,
      `docker://${registry.host}/spack/base:multi`,
    );
    const tags = [...images, "multi"];
    const src = `oci+http://${registry.host}/spack/base`;

    // tags: the same set skopeo wrote, sorted; --json an array.
    const listed = await spackle("oci", "tags", src, "--json");
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout), [...tags].sort());

    // digest: the sha256 of the bytes skopeo reads, for an index and for an image.
    for (const tag of ["multi", "hello-app"]) {
      const raw = await rawManifest(`${registry.host}/spack/base:${tag}`);
      const digest = await spackle("oci", "digest", `${src}:${tag}`);
      assert.equal(digest.code, 0, digest.stderr);
      assert.equal(digest.stdout.trim(), `sha256:${sha256Hex(new TextEncoder().encode(raw))}`);
    }
    const digestJson = JSON.parse(
      (await spackle("oci", "digest", `${src}:multi`, "--json")).stdout,
    );
    assert.equal(digestJson.digest, multi.digest);
    assert.equal(digestJson.mediaType, OCI_INDEX);

    // copy within the registry: blobs mounted, index and children byte-identical.
    const dst = `oci+http://${registry.host}/mirror/base`;
    const copy = await spackle("oci", "copy", `${src}:multi`, dst, "--json");
    assert.equal(copy.code, 0, copy.stderr);
    const [result] = JSON.parse(copy.stdout);
    assert.equal(result.digest, multi.digest);
    assert.equal(result.manifests, 3);
    assert.ok(result.blobs.mounted > 0, copy.stdout);
    assert.equal(result.blobs.uploaded, 0);
    assert.equal(
      await rawManifest(`${registry.host}/mirror/base:multi`),
      await rawManifest(`${registry.host}/spack/base:multi`),
    );
    for (const child of multi.children) {
      assert.equal(
        await rawManifest(`${registry.host}/mirror/base@${child}`),
        await rawManifest(`${registry.host}/spack/base@${child}`),
      );
    }

    // registry → layout → another registry, every tag: every manifest byte-identical.
    const disk = join(work, "disk");
    const toDisk = await spackle("oci", "copy", "--all-tags", src, `oci-layout:${disk}`);
    assert.equal(toDisk.code, 0, toDisk.stderr);
    assert.deepEqual((await layoutTags(disk)).sort(), [...tags].sort());
    const back = await spackle("oci", "copy", "-a", `oci-layout:${disk}`, `${src}-again`);
    assert.equal(back.code, 0, back.stderr);
    for (const tag of tags) {
      assert.equal(
        await rawManifest(`${registry.host}/spack/base-again:${tag}`),
        await rawManifest(`${registry.host}/spack/base:${tag}`),
        tag,
      );
    }
    // skopeo reads the copied layout and pulls every platform of the index from it.
    await skopeo("copy", "--quiet", "--all", `oci:${disk}:multi`, `oci:${join(work, "check")}:m`);

    // catalog, one repository per page.
    const catalog = await spackle(
      "oci",
      "catalog",
      `oci+http://${registry.host}`,
      "--page-size",
      "1",
      "--json",
    );
    assert.equal(catalog.code, 0, catalog.stderr);
    assert.deepEqual(JSON.parse(catalog.stdout), ["mirror/base", "spack/base", "spack/base-again"]);

    // delete by tag: resolved to the digest, the tag is gone, the others stay.
    const deleted = await spackle("oci", "delete", `${dst}:multi`, "--json");
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(JSON.parse(deleted.stdout).digest, multi.digest);
    assert.match(deleted.stderr, /garbage collector/);
    const gone = await spackle("oci", "digest", `${dst}:multi`);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /not found/);
    assert.equal((await spackle("oci", "digest", `${dst}@${multi.children[0]}`)).code, 0);
    const again = await spackle("oci", "delete", `${dst}@${multi.digest}`);
    assert.equal(again.code, 1, again.stderr);

    // delete in a layout: the index.json entry goes.
    const layoutDelete = await spackle("oci", "delete", `oci-layout:${disk}:multi`);
    assert.equal(layoutDelete.code, 0, layoutDelete.stderr);
    assert.ok(!(await layoutTags(disk)).includes("multi"));

    // no tag or digest named: refused as bad usage, nothing deleted.
    assert.equal((await spackle("oci", "delete", src)).code, 2);
    assert.equal((await spackle("oci", "digest", `oci-layout:${disk}`)).code, 2);
    await Deno.remove(layout, { recursive: true });
  } finally {
    await registry.stop();
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("spackle oci delete: a manifest that is not there fails with exit 1", async () => {
  const registry = await startRegistry();
  try {
    const missing = `sha256:${"0".repeat(64)}`;
    const out = await spackle("oci", "delete", `oci+http://${registry.host}/none/here@${missing}`);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /not found/);
  } finally {
    await registry.stop();
  }
});
