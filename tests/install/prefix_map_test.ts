// A buildinfo from a tarball is untrusted: an implausible old prefix (`/`, a relative or
// unnormalised path, a system directory, another prefix than the members') would make
// relocation rewrite unrelated absolute paths, so the install is refused before relocating.
// A relocation list repeating one path 100,000 times relocates that file once.
import assert from "node:assert/strict";
import { join } from "node:path";
import { InstallError, installSpecs, openMirror, PrefixMapError, selectSpecs } from "../../mod.ts";
import { copyFixture, HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { withTempDir } from "../_support/temp.ts";
import {
  assertNothingInstalled,
  dirEntry,
  fileEntry,
  LIBDEP_PREFIX,
  replaceLibdepTarball,
  snapshot,
} from "../_support/hostile_cache.ts";

const OLD = `/${LIBDEP_PREFIX}`;
const TEXT = `prefix=${OLD}\nlibc=/usr/lib/libc.so.6\nshell=/bin/sh\n`;

/** A copy of fs-unsigned whose harness-libdep tarball has a text file and `buildinfo`. */
async function cacheWith(buildinfo: string): Promise<string> {
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  const p = LIBDEP_PREFIX;
  await replaceLibdepTarball(cache, [
    dirEntry(p),
    dirEntry(`${p}/.spack`),
    dirEntry(`${p}/share`),
    fileEntry(`${p}/share/data.txt`, TEXT),
    fileEntry(`${p}/.spack/binary_distribution`, buildinfo),
  ]);
  return cache;
}

/** Flow-style buildinfo with these fields, `relocate_textfiles` listing `share/data.txt`. */
function buildinfo(fields: Record<string, unknown>, texts = ["share/data.txt"]): string {
  return JSON.stringify({
    buildpath: "/opt/build",
    hash_to_prefix: { [HARNESS.libdep]: OLD },
    relocate_binaries: [],
    relocate_links: [],
    relocate_textfiles: texts,
    ...fields,
  }) + "\n";
}

const own = (prefix: string) => ({ hash_to_prefix: { [HARNESS.libdep]: prefix } });

const BAD: [string, Record<string, unknown>, string][] = [
  ["buildpath /", { buildpath: "/" }, "/"],
  ["buildpath relative", { buildpath: "opt/build" }, "opt/build"],
  ["buildpath with //", { buildpath: "/opt//build" }, "/opt//build"],
  ["buildpath with /./", { buildpath: "/opt/./build" }, "/opt/./build"],
  ["buildpath with /../", { buildpath: "/opt/x/../build" }, "/opt/x/../build"],
  ["buildpath with a trailing /", { buildpath: "/opt/build/" }, "/opt/build/"],
  ["buildpath /usr", { buildpath: "/usr" }, "/usr"],
  ["buildpath /usr/lib", { buildpath: "/usr/lib" }, "/usr/lib"],
  ["buildpath /usr/local", { buildpath: "/usr/local" }, "/usr/local"],
  ["an empty buildpath with files to relocate", { buildpath: "" }, ""],
  ["hash_to_prefix /", own("/"), "/"],
  ["hash_to_prefix /home", own("/home"), "/home"],
  ["hash_to_prefix other than the members' prefix", own("/opt/other/x"), "/opt/other/x"],
  ["legacy prefix_to_hash /", {
    hash_to_prefix: undefined,
    prefix_to_hash: { "/": HARNESS.libdep },
  }, "/"],
  ["sbang_install_path /", { sbang_install_path: "/" }, "/"],
];

for (const [what, fields, prefix] of BAD) {
  Deno.test(`install refuses a buildinfo with ${what}; nothing is installed`, async () => {
    const cache = await cacheWith(buildinfo(fields));
    try {
      const before = await snapshot(cache);
      await withTempDir(async (dir) => {
        const root = join(dir, "root");
        const mirror = await openMirror(cache);
        const [libdep] = selectSpecs(await mirror.listSpecs(), ["harness-libdep"], cache);
        await assert.rejects(
          installSpecs(mirror, [libdep], { root, checkSignature: false }),
          (e) => {
            assert.ok(e instanceof InstallError && /harness-libdep/.test(e.message), String(e));
            assert.ok(e.cause instanceof PrefixMapError, String(e.cause));
            assert.equal(e.cause.prefix, prefix);
            assert.match(e.cause.message, /harness-libdep-1\.0-6zoocyj.*\.spec\.manifest\.json/);
            return true;
          },
        );
        await assertNothingInstalled(root);
      });
      assert.deepEqual(await snapshot(cache), before, "the cache is unchanged");
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  });
}

Deno.test("a relocation list repeating one file 100,000 times relocates it once, correctly", async () => {
  const repeated = [
    ...Array(100_000).fill("share/data.txt"),
    "./share/data.txt",
    "share//data.txt",
  ];
  const cache = await cacheWith(buildinfo({}, repeated));
  try {
    await withTempDir(async (root) => {
      const mirror = await openMirror(cache);
      const [libdep] = selectSpecs(await mirror.listSpecs(), ["harness-libdep"], cache);
      const result = await installSpecs(mirror, [libdep], { root, checkSignature: false });
      const prefix = result.installed.get(HARNESS.libdep)!;
      assert.equal(
        await Deno.readTextFile(join(prefix, "share/data.txt")),
        `prefix=${prefix}\nlibc=/usr/lib/libc.so.6\nshell=/bin/sh\n`,
      );
    });
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
