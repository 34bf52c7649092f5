import assert from "node:assert/strict";
import { join } from "node:path";
import { FormatError, UnsafeTarballError, UsageError } from "../../lib/errors.ts";
import { createTarStream, extractPackageTarball, type TarEntry } from "../../lib/tar/mod.ts";
import { collect, fromList, namesIn, run } from "./_util.ts";

const PREFIX = "opt/store/pkg-1.0-abc";
const BUILDINFO = "{buildpath: /opt/store, relocate_binaries: []}\n";
const encoder = new TextEncoder();

const dir = (name: string, mode = 0o755): TarEntry => ({ name, type: "directory", mode, size: 0 });
const file = (name: string, body = "", mode = 0o644): TarEntry => {
  const bytes = encoder.encode(body);
  return { name, type: "file", mode, size: bytes.length, body: bytes };
};
const symlink = (name: string, linkname: string): TarEntry => ({
  name,
  type: "symlink",
  mode: 0o755,
  size: 0,
  linkname,
});
const hardlink = (name: string, linkname: string, mode = 0o644): TarEntry => ({
  name,
  type: "hardlink",
  mode,
  size: 0,
  linkname,
});

/** A Spack-shaped tarball: parents, the prefix, `extra`, and the buildinfo last. */
function packageTar(
  extra: TarEntry[],
  { prefixEntry = true, buildinfo = true } = {},
): Promise<Uint8Array> {
  return collect(createTarStream(fromList([
    dir("opt"),
    dir("opt/store"),
    ...(prefixEntry ? [dir(PREFIX)] : []),
    dir(`${PREFIX}/.spack`),
    ...extra,
    ...(buildinfo ? [file(`${PREFIX}/.spack/binary_distribution`, BUILDINFO)] : []),
  ])));
}

const streamOf = (bytes: Uint8Array) => ReadableStream.from([bytes]);

/** Rewrites the ustar header of the member named `name` and fixes its checksum. */
function patchHeader(tar: Uint8Array, name: string, patch: (header: Uint8Array) => void): void {
  const decoder = new TextDecoder();
  for (let offset = 0; offset + 512 <= tar.length;) {
    const header = tar.subarray(offset, offset + 512);
    const size = parseInt(decoder.decode(header.subarray(124, 135)), 8);
    if (decoder.decode(header.subarray(0, 100)).replace(/\0+$/, "") === name) {
      patch(header);
      header.fill(0x20, 148, 156);
      const sum = header.reduce((total, byte) => total + byte, 0);
      header.set(encoder.encode(sum.toString(8).padStart(6, "0") + "\0"), 148);
      return;
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`no member ${name}`);
}

/** Extracts into `<tmp>/store/pkg`; expects the refusal and an empty `<tmp>/store` afterwards. */
async function assertRefused(
  tmp: string,
  tar: Uint8Array | ReadableStream<Uint8Array>,
  check: (error: unknown) => void,
): Promise<void> {
  const parent = join(tmp, "store");
  const input = tar instanceof Uint8Array ? streamOf(tar) : tar;
  await assert.rejects(
    extractPackageTarball(input, join(parent, "pkg"), { source: "crafted.tar" }),
    (error) => {
      check(error);
      return true;
    },
  );
  assert.deepEqual(await namesIn(parent), [], "nothing may be left next to the destination");
}

const unsafe = (entry: string, reason: RegExp) => (error: unknown) => {
  assert.ok(error instanceof UnsafeTarballError, String(error));
  assert.equal(error.entry, entry);
  assert.match(error.message, reason);
};

async function withTmp(body: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir();
  try {
    await body(tmp);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("extracts relative to the prefix with modes, links and counts", () =>
  withTmp(async (tmp) => {
    const tar = await packageTar([
      dir(`${PREFIX}/bin`),
      file(`${PREFIX}/bin/tool`, "#!/bin/sh\n", 0o755),
      file(`${PREFIX}/bin/setuid`, "x", 0o4755),
      file(`${PREFIX}/private`, "secret", 0o600),
      dir(`${PREFIX}/lib`),
      file(`${PREFIX}/lib/libx.so.1`, "\x7fELF....", 0o755),
      symlink(`${PREFIX}/lib/libx.so`, "libx.so.1"),
      symlink(`${PREFIX}/lib/sh`, "/bin/sh"),
      symlink(`${PREFIX}/lib/up-and-back`, "../bin/tool"),
      // A loop is not an escape (the kernel refuses to resolve it); the check must terminate.
      symlink(`${PREFIX}/lib/loop-a`, "loop-b/x"),
      symlink(`${PREFIX}/lib/loop-b`, "../lib/loop-a"),
      hardlink(`${PREFIX}/lib/tool-again`, `${PREFIX}/bin/tool`, 0o755),
      dir(`${PREFIX}/readonly`, 0o555),
      file(`${PREFIX}/readonly/inside`, "ok"),
    ]);
    const destination = join(tmp, "store", "pkg");
    const result = await extractPackageTarball(streamOf(tar), destination, { source: "t.tar" });
    assert.deepEqual(result, {
      oldPrefix: `/${PREFIX}`,
      buildinfo: BUILDINFO,
      files: 6,
      bytes: 10 + 1 + 6 + 8 + 2 + encoder.encode(BUILDINFO).length,
    });
    assert.deepEqual(await namesIn(join(tmp, "store")), ["pkg"]);
    assert.deepEqual(await namesIn(destination), [".spack", "bin", "lib", "private", "readonly"]);
    const mode = async (path: string) => (await Deno.lstat(join(destination, path))).mode! & 0o7777;
    assert.equal(await mode("bin/tool"), 0o755);
    assert.equal(await mode("bin/setuid"), 0o755, "setuid/setgid/sticky bits are dropped");
    assert.equal(await mode("private"), 0o600);
    assert.equal(await mode("readonly"), 0o555);
    assert.equal(await Deno.readTextFile(join(destination, "readonly/inside")), "ok");
    assert.equal(await Deno.readLink(join(destination, "lib/sh")), "/bin/sh");
    assert.equal(await Deno.readLink(join(destination, "lib/libx.so")), "libx.so.1");
    assert.equal(await Deno.readTextFile(join(destination, "lib/up-and-back")), "#!/bin/sh\n");
    assert.equal(
      (await Deno.lstat(join(destination, "lib/tool-again"))).ino,
      (await Deno.lstat(join(destination, "bin/tool"))).ino,
    );
    await Deno.chmod(join(destination, "readonly"), 0o755);
  }));

Deno.test("accepts GNU tar archives: ././@LongLink names and targets, and PAX with ./ names", () =>
  withTmp(async (tmp) => {
    const root = join(tmp, "root");
    const prefix = join(root, PREFIX);
    const longDir = `${"d".repeat(80)}/${"e".repeat(80)}`;
    await Deno.mkdir(join(prefix, ".spack"), { recursive: true });
    await Deno.mkdir(join(prefix, longDir), { recursive: true });
    await Deno.writeTextFile(join(prefix, ".spack/binary_distribution"), BUILDINFO);
    await Deno.writeTextFile(join(prefix, longDir, `${"f".repeat(90)}.txt`), "long\n");
    await Deno.symlink(`${longDir}/${"f".repeat(90)}.txt`, join(prefix, "long-link"));
    for (const [format, source] of [["gnu", "opt"], ["pax", "."]]) {
      const archive = join(tmp, `${format}.tar`);
      await run("tar", [`--format=${format}`, "-cf", archive, "-C", root, source]);
      const bytes = await Deno.readFile(archive);
      const marker = format === "gnu" ? "././@LongLink" : "./PaxHeaders/";
      assert.ok(new TextDecoder().decode(bytes).includes(marker), `${format} writes ${marker}`);

      const destination = join(tmp, `out-${format}`, "pkg");
      const result = await extractPackageTarball(streamOf(bytes), destination, { source: archive });
      assert.equal(result.oldPrefix, `/${PREFIX}`);
      assert.equal(result.buildinfo, BUILDINFO);
      assert.equal(await Deno.readTextFile(join(destination, "long-link")), "long\n");
    }
  }));

Deno.test("accepts old-style devmajor/devminor fields (0000000\\0) and base-256 sizes", () =>
  withTmp(async (tmp) => {
    const tar = await packageTar([file(`${PREFIX}/a.txt`, "a")]);
    for (
      const name of [
        "opt/",
        `${PREFIX}/`,
        `${PREFIX}/a.txt`,
        `${PREFIX}/.spack/binary_distribution`,
      ]
    ) {
      patchHeader(tar, name, (header) => header.set(encoder.encode("0000000\x000000000\x00"), 329));
    }
    // Last, as patchHeader reads octal sizes: GNU base-256: 0x80, then the size as a big-endian number.
    patchHeader(
      tar,
      `${PREFIX}/a.txt`,
      (header) => header.set([0x80, ...Array(10).fill(0), 1], 124),
    );
    const destination = join(tmp, "pkg");
    const result = await extractPackageTarball(streamOf(tar), destination, { source: "old.tar" });
    assert.equal(result.oldPrefix, `/${PREFIX}`);
    assert.equal(await Deno.readTextFile(join(destination, "a.txt")), "a");
  }));

Deno.test("refuses names with .. components and absolute names", () =>
  withTmp(async (tmp) => {
    const dotdot = `${PREFIX}/../../../etc/evil`;
    await assertRefused(tmp, await packageTar([file(dotdot, "x")]), unsafe(dotdot, /"\.\."/));
    await assertRefused(
      tmp,
      await packageTar([file("/etc/evil", "x")]),
      unsafe("/etc/evil", /absolute/),
    );
  }));

Deno.test("refuses members outside the prefix", () =>
  withTmp(async (tmp) => {
    await assertRefused(
      tmp,
      await packageTar([dir("opt/other"), file("opt/other/file", "x")]),
      unsafe("opt/other", /outside of the package prefix opt\/store\/pkg-1\.0-abc/),
    );
    // A file at a parent's path is not a parent directory entry.
    await assertRefused(
      tmp,
      await packageTar([file("opt/store/pkg-1.0-abcdef", "x")]),
      unsafe("opt/store/pkg-1.0-abcdef", /outside of the package prefix/),
    );
  }));

Deno.test("refuses hardlinks that do not point at an earlier regular member", () =>
  withTmp(async (tmp) => {
    const cases: [TarEntry[], string, RegExp][] = [
      [
        [hardlink(`${PREFIX}/early`, `${PREFIX}/late`), file(`${PREFIX}/late`, "x")],
        `${PREFIX}/early`,
        /not an earlier regular member/,
      ],
      [
        [symlink(`${PREFIX}/sh`, "/bin/sh"), hardlink(`${PREFIX}/h`, `${PREFIX}/sh`)],
        `${PREFIX}/h`,
        /not an earlier regular member/,
      ],
      [[hardlink(`${PREFIX}/h`, "etc/passwd")], `${PREFIX}/h`, /not an earlier regular member/],
      [[hardlink(`${PREFIX}/h`, "/etc/passwd")], `${PREFIX}/h`, /absolute/],
      [[hardlink(`${PREFIX}/h`, `${PREFIX}/../../x`)], `${PREFIX}/h`, /"\.\."/],
    ];
    for (const [extra, entry, reason] of cases) {
      await assertRefused(tmp, await packageTar(extra), unsafe(entry, reason));
    }
  }));

Deno.test("refuses relative symlinks that resolve outside the prefix, also through other links", () =>
  withTmp(async (tmp) => {
    await assertRefused(
      tmp,
      await packageTar([dir(`${PREFIX}/lib`), symlink(`${PREFIX}/lib/up`, "../..")]),
      unsafe(`${PREFIX}/lib/up`, /resolves outside/),
    );
    // Each target looks harmless on its own: a/b/l -> .. is a, and a/b/s -> l/../.. read as a
    // plain path is a too; but l is a link to a, so s is a/../.. = the prefix's parent.
    await assertRefused(
      tmp,
      await packageTar([
        dir(`${PREFIX}/a`),
        dir(`${PREFIX}/a/b`),
        symlink(`${PREFIX}/a/b/l`, ".."),
        symlink(`${PREFIX}/a/b/s`, "l/../.."),
      ]),
      unsafe(`${PREFIX}/a/b/s`, /resolves outside/),
    );
  }));

Deno.test("refuses writes through an extracted symlink and duplicate members", () =>
  withTmp(async (tmp) => {
    const outside = join(tmp, "outside");
    await Deno.mkdir(outside);
    await assertRefused(
      tmp,
      await packageTar([symlink(`${PREFIX}/lib`, outside), file(`${PREFIX}/lib/evil`, "x")]),
      unsafe(`${PREFIX}/lib/evil`, /through symlink/),
    );
    assert.deepEqual(await namesIn(outside), []);
    await assertRefused(
      tmp,
      await packageTar([
        dir(`${PREFIX}/b`),
        symlink(`${PREFIX}/a`, "b"),
        file(`${PREFIX}/a/x`, "x"),
      ]),
      unsafe(`${PREFIX}/a/x`, /through symlink/),
    );
    await assertRefused(
      tmp,
      await packageTar([symlink(`${PREFIX}/a`, "/tmp"), dir(`${PREFIX}/a`)]),
      unsafe(`${PREFIX}/a`, /duplicate/),
    );
    await assertRefused(
      tmp,
      await packageTar([file(`${PREFIX}/f`, "one"), file(`${PREFIX}/f`, "two")]),
      unsafe(`${PREFIX}/f`, /duplicate/),
    );
  }));

Deno.test("refuses devices, FIFOs, sparse files and unknown member types", () =>
  withTmp(async (tmp) => {
    const cases: [string, RegExp][] = [
      ["3", /character device/],
      ["4", /block device/],
      ["6", /FIFO/],
      ["S", /sparse/],
      ["V", /unsupported member type "V"/],
    ];
    for (const [flag, reason] of cases) {
      const tar = await packageTar([file(`${PREFIX}/special`)]);
      patchHeader(tar, `${PREFIX}/special`, (header) => header[156] = flag.charCodeAt(0));
      await assertRefused(tmp, tar, unsafe(`${PREFIX}/special`, reason));
    }
  }));

Deno.test("refuses tarballs without binary_distribution or without a prefix directory", () =>
  withTmp(async (tmp) => {
    await assertRefused(
      tmp,
      await packageTar([file(`${PREFIX}/a`, "a")], { buildinfo: false }),
      unsafe(".spack/binary_distribution", /Tarball is not a Spack package/),
    );
    await assertRefused(
      tmp,
      await packageTar([], { prefixEntry: false }),
      unsafe(PREFIX, /Tarball does not contain a common prefix/),
    );
    const topLevel = await collect(createTarStream(fromList([
      dir(".spack"),
      file(".spack/binary_distribution", BUILDINFO),
    ])));
    await assertRefused(tmp, topLevel, unsafe(".", /common prefix/));
  }));

Deno.test("malformed, truncated or failing input is a FormatError or the stream's error", () =>
  withTmp(async (tmp) => {
    const tar = await packageTar([file(`${PREFIX}/big`, "x".repeat(5000))]);
    const isFormatError = (reason: RegExp) => (error: unknown) => {
      assert.ok(error instanceof FormatError, String(error));
      assert.match(error.message, reason);
    };
    await assertRefused(tmp, tar.slice(0, 3000), isFormatError(/truncated/));
    await assertRefused(tmp, tar.slice(0, 2048), isFormatError(/truncated/));
    const corrupt = tar.slice();
    corrupt[2 * 512 + 10] ^= 1; // inside the prefix directory's header
    await assertRefused(tmp, corrupt, isFormatError(/checksum/));

    const failure = new Error("connection reset");
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(tar.slice(0, 4096));
        controller.error(failure);
      },
    });
    await assertRefused(tmp, failing, (error) => assert.equal(error, failure));
  }));

Deno.test("refuses an existing destination and leaves it alone", () =>
  withTmp(async (tmp) => {
    const destination = join(tmp, "pkg");
    await Deno.mkdir(destination);
    await Deno.writeTextFile(join(destination, "keep"), "mine");
    await assert.rejects(
      extractPackageTarball(streamOf(await packageTar([])), destination, { source: "t.tar" }),
      UsageError,
    );
    assert.deepEqual(await namesIn(tmp), ["pkg"]);
    assert.equal(await Deno.readTextFile(join(destination, "keep")), "mine");
  }));
