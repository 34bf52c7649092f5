/**
 * A hostile package tarball inside an otherwise valid build cache is refused by every path that
 * turns it into something else — image compose (layers reused unchanged, and squashed), squash on
 * its own, copy into another cache, install — each naming the member, and none writing anything.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { CopyError, copySpecs } from "../../lib/copy/mod.ts";
import { FormatError, InstallError, UnsafeTarballError } from "../../lib/errors.ts";
import { composeImage } from "../../lib/image/compose.ts";
import { squashLayers } from "../../lib/image/squash.ts";
import { installSpecs } from "../../lib/install/install.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import type { Mirror } from "../../lib/mirror/types.ts";
import { selectSpecs } from "../../lib/spec/select.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { streamOf } from "../../lib/stream/io.ts";
import { TarReader } from "../../lib/tar/mod.ts";
import {
  cacheWithTarball,
  type CraftedMember,
  craftTarball,
  HELLO_MANIFEST,
  LIBDEP_PREFIX,
  libdepPackage,
  replaceTarball,
} from "../_support/hostile_cache.ts";
import { withTempDir } from "../_support/temp.ts";
import { layoutBlob, layoutTagsOf, readLayoutImage } from "./_layout.ts";

const P = LIBDEP_PREFIX;
const PASSWD = "root:x:0:0:owned:/:/bin/sh\n";

const CASES: [string, CraftedMember[], string][] = [
  ["a file at etc/passwd, outside the prefix", [
    { name: "etc/passwd", type: "file", text: PASSWD },
  ], "etc/passwd"],
  [
    "a ../ name",
    [{ name: `${P}/../../../../../etc/passwd`, type: "file", text: PASSWD }],
    `${P}/../../../../../etc/passwd`,
  ],
  ["a character device", [{ name: `${P}/null`, type: "chr" }], `${P}/null`],
  ["a block device", [{ name: `${P}/sda`, type: "blk" }], `${P}/sda`],
  ["a FIFO", [{ name: `${P}/pipe`, type: "fifo" }], `${P}/pipe`],
  [
    "a hardlink to etc/passwd",
    [{ name: `${P}/passwd`, type: "hardlink", linkname: "etc/passwd" }],
    `${P}/passwd`,
  ],
  ["a hardlink to /etc/passwd", [{
    name: `${P}/passwd`,
    type: "hardlink",
    linkname: "/etc/passwd",
  }], `${P}/passwd`],
  ["a symlink climbing to /etc", [{
    name: `${P}/etc`,
    type: "symlink",
    linkname: "../../../../etc",
  }], `${P}/etc`],
  ["a write through a symlink to /etc", [
    { name: `${P}/conf`, type: "symlink", linkname: "/etc" },
    { name: `${P}/conf/passwd`, type: "file", text: PASSWD },
  ], `${P}/conf/passwd`],
];

async function libdepOf(mirror: Mirror, cache: string) {
  return selectSpecs(await mirror.listSpecs(), ["harness-libdep"], cache)[0];
}

/** Files under `dir` (none when it does not exist). */
function filesUnder(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].flatMap((e) =>
      e.isDirectory ? filesUnder(join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]
    );
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

for (const [what, body, refused] of CASES) {
  Deno.test(`a cache tarball with ${what} is refused by compose, squash, copy and install`, async () => {
    await withTempDir(async (work) => {
      const cache = await cacheWithTarball(await craftTarball(libdepPackage(body)));
      try {
        const mirror = await openMirror(cache);
        const libdep = await libdepOf(mirror, cache);
        const names = (e: unknown) =>
          e instanceof UnsafeTarballError && e.message.includes(JSON.stringify(refused));

        for (const squash of [false, true]) {
          const out = join(work, `image-${squash}`);
          await assert.rejects(
            composeImage({ mirror, specs: [libdep], target: `oci-layout:${out}:x`, squash }),
            names,
          );
          assert.deepEqual(layoutTagsOf(out), [], "nothing tagged");
          assert.deepEqual(filesUnder(join(out, "blobs")), [], "no blob written");
        }

        const entry = (await mirror.getEntry(libdep))!;
        const layer = join(work, "layer.tar.gz");
        await assert.rejects(
          squashLayers([{ name: "harness-libdep", open: () => mirror.openTarball(entry) }], layer),
          names,
        );
        await assert.rejects(Deno.lstat(layer), Deno.errors.NotFound);

        const copy = await openMirror(join(work, "copy"));
        await assert.rejects(
          copySpecs(mirror, copy, { specs: [libdep] }),
          (e) => e instanceof CopyError && e.failures.length === 1 && names(e.failures[0].error),
        );
        assert.equal(await copy.hasSpec(libdep.node), false, "nothing copied");

        const root = join(work, "root");
        await assert.rejects(
          installSpecs(mirror, [libdep], { root, checkSignature: false }),
          (e) => e instanceof InstallError && names(e.cause),
        );
        assert.deepEqual(filesUnder(root).filter((f) => !f.startsWith(".spack-db")), []);
      } finally {
        await Deno.remove(cache, { recursive: true });
      }
    });
  });
}

/** Name → mode of every member of a gzip tarball. */
async function modesOf(gz: Uint8Array): Promise<Map<string, number>> {
  const reader = new TarReader(streamOf(new Uint8Array(gunzipSync(gz))), "layer");
  const modes = new Map<string, number>();
  for (let m = await reader.next(); m; m = await reader.next()) modes.set(m.name, m.mode);
  return modes;
}

Deno.test("setuid/setgid bits: a reused layer and a copy refuse them; squash and install strip them", async () => {
  await withTempDir(async (work) => {
    const su = `${P}/bin/su`;
    const cache = await cacheWithTarball(
      await craftTarball(libdepPackage([
        { name: `${P}/bin`, type: "dir", mode: 0o2755 },
        { name: su, type: "file", mode: 0o4755, text: "#!/bin/sh\n" },
      ])),
    );
    try {
      const mirror = await openMirror(cache);
      const libdep = await libdepOf(mirror, cache);
      const setid = (e: unknown) =>
        e instanceof UnsafeTarballError && e.message.includes(`"${P}/bin"`) &&
        /setuid\/setgid .*cannot be stripped/.test(e.message);

      const reused = join(work, "reused");
      await assert.rejects(
        composeImage({ mirror, specs: [libdep], target: `oci-layout:${reused}:x` }),
        setid,
      );
      assert.deepEqual(layoutTagsOf(reused), []);
      const copy = await openMirror(join(work, "copy"));
      await assert.rejects(
        copySpecs(mirror, copy, { specs: [libdep] }),
        (e) => e instanceof CopyError && setid(e.failures[0].error),
      );

      const squashed = join(work, "squashed");
      await composeImage({
        mirror,
        specs: [libdep],
        target: `oci-layout:${squashed}:x`,
        squash: true,
      });
      const image = readLayoutImage(squashed, "x");
      const modes = await modesOf(layoutBlob(squashed, image.manifest.layers.at(-1)!.digest));
      assert.equal(modes.get(su), 0o755);
      assert.equal(modes.get(`${P}/bin/`), 0o755);

      const root = join(work, "root");
      const { installed } = await installSpecs(mirror, [libdep], { root, checkSignature: false });
      const prefix = installed.get(libdep.node.hash)!;
      assert.equal((await Deno.stat(join(prefix, "bin/su"))).mode! & 0o7777, 0o755);
      assert.equal((await Deno.stat(join(prefix, "bin"))).mode! & 0o7777, 0o755);
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  });
});

Deno.test("an absolute symlink out of the prefix is kept (Spack's certs=system links), not written through", async () => {
  await withTempDir(async (work) => {
    const cache = await cacheWithTarball(
      await craftTarball(libdepPackage([
        { name: `${P}/etc`, type: "dir" },
        {
          name: `${P}/etc/cert.pem`,
          type: "symlink",
          linkname: "/etc/ssl/certs/ca-certificates.crt",
        },
      ])),
    );
    try {
      const mirror = await openMirror(cache);
      const libdep = await libdepOf(mirror, cache);
      const out = join(work, "image");
      const result = await composeImage({ mirror, specs: [libdep], target: `oci-layout:${out}:x` });
      assert.equal(result.layers, 1);
      assert.deepEqual(layoutTagsOf(out), ["x"]);
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  });
});

Deno.test("compose refuses a layer whose prefix lies inside another layer's (written through its symlink)", async () => {
  await withTempDir(async (work) => {
    const cache = await cacheWithTarball(
      await craftTarball(libdepPackage([{ name: `${P}/lib`, type: "symlink", linkname: "/etc" }])),
    );
    // harness-hello, layered after libdep, "installs" into libdep's lib -> /etc.
    const inner = `${P}/lib/cron.d`;
    await replaceTarball(
      cache,
      HELLO_MANIFEST,
      await craftTarball([
        { name: inner, type: "dir" },
        { name: `${inner}/job`, type: "file", text: "* * * * * root sh\n" },
        { name: `${inner}/.spack`, type: "dir" },
        { name: `${inner}/.spack/binary_distribution`, type: "file", text: "{}\n" },
      ]),
    );
    try {
      const mirror = await openMirror(cache);
      const [hello] = selectSpecs(await mirror.listSpecs(), ["harness-hello"], cache);
      for (const squash of [false, true]) {
        const out = join(work, `image-${squash}`);
        await assert.rejects(
          composeImage({ mirror, specs: [hello], target: `oci-layout:${out}:x`, squash }),
          (e) => e instanceof UnsafeTarballError && e.message.includes(JSON.stringify(`/${inner}`)),
        );
        assert.deepEqual(layoutTagsOf(out), []);
      }
      const layer = join(work, "layer.tar.gz");
      const open = async (spec: typeof hello) => {
        const entry = (await mirror.getEntry(spec))!;
        return () => mirror.openTarball(entry);
      };
      const libdep = await libdepOf(mirror, cache);
      await assert.rejects(
        squashLayers([
          { name: "harness-libdep", open: await open(libdep) },
          { name: "harness-hello", open: await open(hello) },
        ], layer),
        (e) => e instanceof UnsafeTarballError && e.message.includes(`"${inner}"`),
      );
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  });
});

/** An OCI layout cache holding harness-libdep with `tarball` as its layer, claiming `diffId`. */
async function ociCacheWith(work: string, tarball: Uint8Array, diffId?: string) {
  const fs = await cacheWithTarball(tarball);
  try {
    const libdep = await libdepOf(await openMirror(fs), fs);
    const dir = join(work, "oci-cache");
    const mirror = await openMirror(`oci-layout:${dir}`);
    const path = join(work, "tarball.tar.gz");
    await Deno.writeFile(path, tarball);
    const tar = new Uint8Array(gunzipSync(tarball));
    await mirror.pushSpec(libdep, {
      path,
      sha256: sha256Hex(tarball),
      size: tarball.length,
      diffId: diffId ?? sha256Hex(tar),
    });
    return { mirror: await openMirror(`oci-layout:${dir}`), libdep };
  } finally {
    await Deno.remove(fs, { recursive: true });
  }
}

Deno.test("compose from an OCI cache reads each layer whole: an unsafe member, or a diff_id the spec image misstates, is refused", async () => {
  await withTempDir(async (work) => {
    const hostile = await craftTarball(
      libdepPackage([{ name: `${P}/passwd`, type: "hardlink", linkname: "etc/passwd" }]),
    );
    const { mirror, libdep } = await ociCacheWith(work, hostile);
    const out = join(work, "image");
    await assert.rejects(
      composeImage({ mirror, specs: [libdep], target: `oci-layout:${out}:x` }),
      (e) => e instanceof UnsafeTarballError && e.message.includes(`"${P}/passwd"`),
    );
    assert.deepEqual(layoutTagsOf(out), []);

    await Deno.remove(join(work, "oci-cache"), { recursive: true });
    const safe = await craftTarball(libdepPackage([]));
    const lying = await ociCacheWith(work, safe, "00".repeat(32));
    await assert.rejects(
      composeImage({ mirror: lying.mirror, specs: [libdep], target: `oci-layout:${out}:y` }),
      (e) => e instanceof FormatError && /diff_id/.test(e.message),
    );
    assert.deepEqual(layoutTagsOf(out), []);
  });
});
