/**
 * Symlink relocation with real symlinks (Spack relocation reference §1.8, cases L01–L11).
 */
import assert from "node:assert/strict";
import { relocateLink } from "../../lib/relocate/links.ts";
import { run } from "./_elf_build.ts";

// The map of reference §4.5.
const MAP = new Map([
  ["/old/store/pkg-h1", "/new/store/pkg-h1"],
  ["/old/store/dep-h2", "/new2/dep-h2"],
  ["/old/store", "/NEWROOT"],
]);

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spackle-links-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const CASES: [id: string, target: string, expected: string | undefined][] = [
  ["L01", "/old/store/pkg-h1/lib/libz.so.1", "/new/store/pkg-h1/lib/libz.so.1"],
  ["L02", "/old/store/dep-h2/bin/tool", "/new2/dep-h2/bin/tool"],
  ["L03", "/old/store/other-h3/x", "/NEWROOT/other-h3/x"],
  ["L04", "/usr/lib/os-release", undefined],
  ["L05", "../lib/libz.so", undefined],
  ["L06", "/old/store/pkg-h1", "/new/store/pkg-h1"],
  ["L07", "/old/store/pkg-h1extra/x", "/new/store/pkg-h1extra/x"],
  ["L08", "/old/storefront/x", "/NEWROOTfront/x"],
  ["L09", "//old/store/pkg-h1/x", undefined],
  ["L10", "/old/store/pkg-h1/../dep-h2/x", "/new/store/pkg-h1/../dep-h2/x"],
];

for (const [id, target, expected] of CASES) {
  Deno.test(`${id}: ${target} → ${expected ?? "unchanged"}`, async () => {
    await withTemp(async (dir) => {
      const link = `${dir}/link`;
      await Deno.symlink(target, link);
      const inode = (await Deno.lstat(link)).ino;
      assert.equal(await relocateLink(link, MAP), expected !== undefined);
      assert.equal(await Deno.readLink(link), expected ?? target);
      assert.ok((await Deno.lstat(link)).isSymlink);
      // An untouched link is not recreated.
      if (expected === undefined) assert.equal((await Deno.lstat(link)).ino, inode);
    });
  });
}

Deno.test("L11: an absolute link extracted from a real tarball is relocated", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(`${dir}/src/lib`, { recursive: true });
    await Deno.symlink("/old/store/pkg-h1/lib/libz.so.1.3", `${dir}/src/lib/libz.so`);
    const packed = await run("tar", ["-cf", `${dir}/pkg.tar`, "-C", `${dir}/src`, "lib"]);
    assert.equal(packed.code, 0, packed.stderr);
    await Deno.mkdir(`${dir}/dest`);
    const unpacked = await run("tar", ["-xf", `${dir}/pkg.tar`, "-C", `${dir}/dest`]);
    assert.equal(unpacked.code, 0, unpacked.stderr);
    const link = `${dir}/dest/lib/libz.so`;
    assert.equal(await Deno.readLink(link), "/old/store/pkg-h1/lib/libz.so.1.3");

    assert.equal(await relocateLink(link, MAP), true);
    assert.equal(await Deno.readLink(link), "/new/store/pkg-h1/lib/libz.so.1.3");
  });
});

Deno.test("non-ASCII keys and targets match on their UTF-8 bytes", async () => {
  await withTemp(async (dir) => {
    const link = `${dir}/link`;
    await Deno.symlink("/old/café-h1/lib/naïve.so", link);
    const map = new Map([["/old/caf", "/wrong"], ["/old/café-h1", "/né/café-h1"]]);
    // "/old/caf" is a byte prefix of "/old/café" too, and comes first: no boundary rule.
    assert.equal(await relocateLink(link, map), true);
    assert.equal(await Deno.readLink(link), "/wrongé-h1/lib/naïve.so");
    assert.equal(await relocateLink(link, new Map([["/wrongé-h1", "/né/café-h1"]])), true);
    assert.equal(await Deno.readLink(link), "/né/café-h1/lib/naïve.so");
  });
});

Deno.test("an identity map changes nothing", async () => {
  await withTemp(async (dir) => {
    await Deno.symlink("/old/store/pkg-h1/x", `${dir}/link`);
    assert.equal(await relocateLink(`${dir}/link`, new Map([["/old/store", "/old/store"]])), false);
    assert.equal(await Deno.readLink(`${dir}/link`), "/old/store/pkg-h1/x");
  });
});

Deno.test("a path that is not a symlink is an error", async () => {
  await withTemp(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "/old/store/pkg-h1/x");
    await assert.rejects(relocateLink(`${dir}/file`, MAP), { code: "EINVAL" });
  });
});
