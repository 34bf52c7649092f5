/**
 * `prune` on OCI build caches: an image-layout directory (spec images deleted, orphan blobs
 * collected, dry run first) and a real registry (spec images deleted by digest, index rebuilt,
 * blob space left to the registry's collector).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { spackle } from "../_support/cli.ts";
import { HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { startRegistry } from "../_support/registry.ts";
import { withTempDir } from "../_support/temp.ts";
import { layoutTags, skopeo } from "../oci/_skopeo.ts";

const HELLO_TAG = `harness-hello-1.0-${HARNESS.hello}.spack`;
const LIBDEP_TAG = `harness-libdep-1.0-${HARNESS.libdep}.spack`;

async function blobs(layout: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(join(layout, "blobs", "sha256"))) names.push(e.name);
  return names.sort();
}

Deno.test("prune on an OCI layout: dry run, then exactly those images and blobs go", async () => {
  await withTempDir(async (work) => {
    const layout = join(work, "images");
    const copied = await spackle("copy", join(SPACK12, "fs-unsigned"), `oci-layout:${layout}`);
    assert.equal(copied.code, 0, copied.stderr);
    const orphan = "0".repeat(64);
    await Deno.writeTextFile(join(layout, "blobs", "sha256", orphan), "left behind by a crash");
    const keep = join(work, "keep.txt");
    await Deno.writeTextFile(keep, `${HARNESS.libdep} harness-libdep\n`);
    const before = await blobs(layout);

    const prune = (...extra: string[]) =>
      spackle("prune", `oci-layout:${layout}`, "--keeplist", keep, "--grace", "0", ...extra);
    const dry = await prune("--dry-run", "--json");
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout);
    assert.deepEqual(plan.unlisted, [HELLO_TAG]);
    assert.ok(plan.orphans.includes(`sha256:${orphan}`));
    // hello's own manifest, config and layer go (libdep's layer, which hello's image shares,
    // stays), and so do the old index image's manifest and layer, replaced by a new index.
    assert.equal(plan.orphans.length, 6);
    assert.deepEqual(await blobs(layout), before, "a dry run removes nothing");

    const run = await prune("--json");
    assert.equal(run.code, 0, run.stderr);
    const done = JSON.parse(run.stdout);
    assert.deepEqual(done.unlisted, plan.unlisted);
    assert.deepEqual(done.orphans, plan.orphans);
    assert.equal(done.indexed, 1);
    const gone = new Set(plan.orphans.map((d: string) => d.slice("sha256:".length)));
    const after = await blobs(layout);
    assert.deepEqual(after.filter((b) => before.includes(b)), before.filter((b) => !gone.has(b)));
    // New: only the rebuilt index image (its manifest and layer; its `{}` config was there).
    assert.equal(after.filter((b) => !before.includes(b)).length, 2);
    assert.deepEqual((await layoutTags(layout)).sort(), [LIBDEP_TAG, "index.spack"].sort());

    // What was kept is whole: skopeo reads it and it installs.
    await skopeo("inspect", `oci:${layout}:${LIBDEP_TAG}`);
    const install = await spackle(
      "install",
      `oci-layout:${layout}`,
      "harness-libdep",
      "--root",
      join(work, "root"),
      "--no-check-signature",
    );
    assert.equal(install.code, 0, install.stderr);
  });
});

Deno.test("prune on a registry: unlisted spec images deleted by digest, index rebuilt", async () => {
  const registry = await startRegistry();
  try {
    await withTempDir(async (work) => {
      const repo = `oci+http://${registry.host}/cache`;
      assert.equal((await spackle("copy", join(SPACK12, "fs-unsigned"), repo)).code, 0);
      const keep = join(work, "keep.txt");
      await Deno.writeTextFile(keep, `${HARNESS.libdep}\n`);
      const run = await spackle("prune", repo, "--keeplist", keep);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /Removed 1 unlisted spec images/);
      assert.match(run.stderr, /garbage collector/);
      const tags = await (await fetch(`${registry.url}/v2/cache/tags/list`)).json();
      assert.deepEqual(tags.tags.sort(), [LIBDEP_TAG, "index.spack"].sort());
      const list = await spackle("list", repo, "--json");
      assert.equal(list.code, 0, list.stderr);
      assert.equal(JSON.parse(list.stdout).length, 1);
    });
  } finally {
    await registry.stop();
  }
});
