import assert from "node:assert/strict";
import { join } from "node:path";
import { InstallError, installSpecs, openMirror, selectSpecs } from "../../mod.ts";
import type { TarEntry } from "../../lib/tar/mod.ts";
import { copyFixture, HARNESS, SPACK12 } from "../_support/fixtures.ts";
import {
  dirEntry,
  fileEntry,
  LIBDEP_PREFIX,
  replaceLibdepTarball,
} from "../_support/hostile_cache.ts";

/** A copy of fs-unsigned whose harness-libdep tarball holds `entries`. */
async function cacheWithTarball(entries: (prefix: string) => TarEntry[]): Promise<string> {
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  await replaceLibdepTarball(cache, entries(LIBDEP_PREFIX));
  return cache;
}

const dir = dirEntry;
const file = (name: string, text: string): TarEntry => fileEntry(name, text);
const buildinfo = (prefix: string) =>
  file(
    `${prefix}/.spack/binary_distribution`,
    `{buildpath: /opt/build, hash_to_prefix: {${HARNESS.libdep}: /${prefix}}, relocate_binaries: [], relocate_links: [], relocate_textfiles: []}\n`,
  );

const CASES: [string, (p: string) => TarEntry[], RegExp][] = [
  [
    "path traversal",
    (
      p,
    ) => [
      dir(`${p}/`),
      dir(`${p}/.spack`),
      file(`${p}/../../../../../tmp/evil`, "x"),
      buildinfo(p),
    ],
    /evil/,
  ],
  ["a symlink out of the prefix, then a write through it", (p) => [
    dir(`${p}/`),
    dir(`${p}/.spack`),
    { name: `${p}/lib`, type: "symlink", mode: 0o755, size: 0, linkname: "/tmp" },
    file(`${p}/lib/evil`, "x"),
    buildinfo(p),
  ], /lib\/evil/],
  ["a hardlink to a file outside the prefix", (p) => [
    dir(`${p}/`),
    dir(`${p}/.spack`),
    { name: `${p}/passwd`, type: "hardlink", mode: 0o644, size: 0, linkname: "etc/passwd" },
    buildinfo(p),
  ], /passwd/],
  ["a relocation list entry outside the prefix", (p) => [
    dir(`${p}/`),
    dir(`${p}/.spack`),
    file(
      `${p}/.spack/binary_distribution`,
      `{buildpath: /opt/build, hash_to_prefix: {${HARNESS.libdep}: /${p}}, relocate_binaries: [], relocate_links: [], relocate_textfiles: [../../../../etc/hostname]}\n`,
    ),
  ], /etc\/hostname/],
];

for (const [what, entries, names] of CASES) {
  Deno.test(`install refuses a tarball with ${what}; nothing is installed`, async () => {
    const cache = await cacheWithTarball(entries);
    const base = await Deno.makeTempDir({ prefix: "spackle-untrusted-" });
    try {
      const mirror = await openMirror(cache);
      const [libdep] = selectSpecs(await mirror.listSpecs(), ["harness-libdep"], cache);
      await assert.rejects(
        installSpecs(mirror, [libdep], { root: join(base, "r"), checkSignature: false }),
        (e) =>
          e instanceof InstallError && /harness-libdep/.test(e.message) && names.test(e.message),
      );
      const left = [...Deno.readDirSync(join(base, "r/linux-x86_64"))];
      assert.deepEqual(left, [], "no prefix and no staging directory is left");
      await assert.rejects(Deno.lstat("/tmp/evil"), Deno.errors.NotFound);
    } finally {
      await Deno.remove(base, { recursive: true });
      await Deno.remove(cache, { recursive: true });
    }
  });
}
