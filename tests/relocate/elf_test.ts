/**
 * ELF RPATH/RUNPATH/PT_INTERP relocation against real gcc-built binaries (Spack relocation
 * reference §1.6, acceptance cases E01–E16). Every result is checked with Spackle's inspector
 * and with binutils `readelf`.
 */
import assert from "node:assert/strict";
import {
  dropRedundantRpaths,
  dropRedundantRpathsInPrefix,
  ElfGrowError,
  readElfDynamic,
  relocateElfFile,
} from "../../lib/relocate/elf.ts";
import { RelocationError } from "../../lib/errors.ts";
import {
  compile,
  EMPTY_MAIN,
  gcc,
  indexOfBytes,
  readelfDynamic,
  readelfInterpreter,
  readelfSection,
  run,
  syntheticElf,
} from "./_elf_build.ts";

// The maps of reference §4.4: "short" shrinks every prefix, "long" grows it.
const SHORT = new Map([
  ["/old/store/pkg-h1", "/n/pkg-h1"],
  ["/old/store/dep-h2", "/n/dep-h2"],
  ["/old/store/glibc-h3", "/n/glibc-h3"],
  ["/old/store", "/n"],
]);
const LONG = new Map(
  [...SHORT.keys()].map((k) => [k, k.replace("/old/store", "/a/much/longer/store")]),
);

const RUNPATH = "-Wl,--enable-new-dtags";
const RPATH = "-Wl,--disable-new-dtags";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spackle-elf-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Asserts that `after` differs from `before` only in the C string that held `oldValue`: it now
 * holds `newValue`, NUL-filled up to the old length, and the old terminator is still there.
 */
function assertRewrittenInPlace(
  before: Uint8Array,
  after: Uint8Array,
  oldValue: string,
  newValue: string,
): void {
  const at = indexOfBytes(before, `${oldValue}\0`);
  assert.ok(at >= 0, `${oldValue} not found in the original file`);
  const oldLen = new TextEncoder().encode(oldValue).length;
  const expected = new Uint8Array(oldLen + 1);
  expected.set(new TextEncoder().encode(newValue));
  assert.equal(after.length, before.length);
  assert.deepEqual(after.subarray(at, at + oldLen + 1), expected);
  assert.deepEqual(after.subarray(0, at), before.subarray(0, at));
  assert.deepEqual(after.subarray(at + oldLen + 1), before.subarray(at + oldLen + 1));
}

Deno.test("E01: RUNPATH entries starting with a key are rewritten, empty entries dropped, tail NUL-filled", async () => {
  await withTemp(async (dir) => {
    const rpath = "$ORIGIN/../lib:/old/store/pkg-h1/lib:/old/store/dep-h2/lib::";
    const exe = await compile(dir, "app", EMPTY_MAIN, [RUNPATH, `-Wl,-rpath,${rpath}`]);
    assert.equal((await readelfDynamic(exe)).runpath, rpath);
    const before = await Deno.readFile(exe);

    assert.equal(await relocateElfFile(exe, SHORT), true);

    const expected = "$ORIGIN/../lib:/n/pkg-h1/lib:/n/dep-h2/lib";
    const seen = await readelfDynamic(exe);
    assert.equal(seen.runpath, expected);
    assert.equal(seen.rpath, undefined);
    const info = await readElfDynamic(exe);
    assert.equal(info?.runpath, expected);
    assert.equal(info?.rpath, undefined);
    assertRewrittenInPlace(before, await Deno.readFile(exe), rpath, expected);
  });
});

Deno.test("E02: DT_RPATH is rewritten and keeps its tag", async () => {
  await withTemp(async (dir) => {
    const exe = await compile(dir, "app", EMPTY_MAIN, [
      RPATH,
      "-Wl,-rpath,/old/store/pkg-h1/lib:/usr/lib64",
    ]);
    assert.equal(await relocateElfFile(exe, SHORT), true);
    const seen = await readelfDynamic(exe);
    assert.equal(seen.rpath, "/n/pkg-h1/lib:/usr/lib64");
    assert.ok(!seen.tags.includes("RUNPATH"));
    assert.equal((await readElfDynamic(exe))?.rpath, "/n/pkg-h1/lib:/usr/lib64");
  });
});

Deno.test("E03: a RUNPATH that must grow raises ElfGrowError and leaves the file untouched", async () => {
  await withTemp(async (dir) => {
    const exe = await compile(dir, "app", EMPTY_MAIN, [
      RUNPATH,
      "-Wl,-rpath,/old/store/pkg-h1/lib",
    ]);
    const before = await Deno.readFile(exe);
    const err = await relocateElfFile(exe, LONG).then(() => undefined, (e) => e);
    assert.ok(err instanceof ElfGrowError);
    assert.ok(err instanceof RelocationError);
    assert.equal(err.code, "ELF_GROW");
    assert.equal(err.file, exe);
    assert.deepEqual(err.rpath, {
      old: "/old/store/pkg-h1/lib",
      new: "/a/much/longer/store/pkg-h1/lib",
    });
    assert.equal(err.interpreter, undefined);
    assert.match(err.message, /\/old\/store\/pkg-h1\/lib/);
    assert.match(err.message, /\/a\/much\/longer\/store\/pkg-h1\/lib/);
    assert.deepEqual(await Deno.readFile(exe), before);
    assert.equal((await readelfDynamic(exe)).runpath, "/old/store/pkg-h1/lib");
  });
});

Deno.test("E04: PT_INTERP starting with a key is rewritten in place and NUL-filled", async () => {
  await withTemp(async (dir) => {
    const interp = "/old/store/glibc-h3/lib/ld-linux-x86-64.so.2";
    const exe = await compile(dir, "app", EMPTY_MAIN, [`-Wl,--dynamic-linker=${interp}`]);
    assert.equal(await readelfInterpreter(exe), interp);
    const before = await Deno.readFile(exe);

    assert.equal(await relocateElfFile(exe, SHORT), true);

    const expected = "/n/glibc-h3/lib/ld-linux-x86-64.so.2";
    assert.equal(await readelfInterpreter(exe), expected);
    assert.equal((await readElfDynamic(exe))?.interpreter, expected);
    assertRewrittenInPlace(before, await Deno.readFile(exe), interp, expected);
  });
});

Deno.test("E05: an interpreter that must grow raises ElfGrowError naming it", async () => {
  await withTemp(async (dir) => {
    const interp = "/old/store/glibc-h3/lib/ld-linux-x86-64.so.2";
    const exe = await compile(dir, "app", EMPTY_MAIN, [`-Wl,--dynamic-linker=${interp}`]);
    const before = await Deno.readFile(exe);
    await assert.rejects(relocateElfFile(exe, LONG), (err: unknown) => {
      assert.ok(err instanceof ElfGrowError);
      assert.equal(err.rpath, undefined);
      assert.deepEqual(err.interpreter, {
        old: interp,
        new: "/a/much/longer/store/glibc-h3/lib/ld-linux-x86-64.so.2",
      });
      return true;
    });
    assert.deepEqual(await Deno.readFile(exe), before);
    // No empty DT_RPATH appears, unlike Spack's patchelf fallback: nothing was written at all.
    assert.deepEqual((await readelfDynamic(exe)).tags.filter((t) => t.endsWith("PATH")), []);
  });
});

Deno.test("no partial update: a fitting RUNPATH is not written when the interpreter must grow", async () => {
  await withTemp(async (dir) => {
    const exe = await compile(dir, "app", EMPTY_MAIN, [
      RUNPATH,
      "-Wl,-rpath,/old/store/pkg-h1/lib",
      "-Wl,--dynamic-linker=/old/store/glibc-h3/ld.so",
    ]);
    const before = await Deno.readFile(exe);
    const map = new Map([["/old/store/pkg-h1", "/n/pkg-h1"], [
      "/old/store",
      "/a/much/longer/store",
    ]]);
    await assert.rejects(relocateElfFile(exe, map), (err: unknown) => {
      assert.ok(err instanceof ElfGrowError);
      assert.deepEqual(err.rpath, { old: "/old/store/pkg-h1/lib", new: "/n/pkg-h1/lib" });
      assert.deepEqual(err.interpreter, {
        old: "/old/store/glibc-h3/ld.so",
        new: "/a/much/longer/store/glibc-h3/ld.so",
      });
      return true;
    });
    assert.deepEqual(await Deno.readFile(exe), before);
  });
});

Deno.test("E06: keys match at the start with no boundary rule", async () => {
  await withTemp(async (dir) => {
    const exe = await compile(dir, "app", EMPTY_MAIN, [
      RUNPATH,
      "-Wl,-rpath,/old/store/pkg-h1extra/lib:/old/store/pkg-h1/lib",
    ]);
    assert.equal(await relocateElfFile(exe, SHORT), true);
    assert.equal((await readelfDynamic(exe)).runpath, "/n/pkg-h1extra/lib:/n/pkg-h1/lib");
  });
});

Deno.test("E07/E10: entries that only contain a key, or match none, leave the file untouched", async () => {
  await withTemp(async (dir) => {
    for (const rpath of ["/home/x/old/store/pkg-h1/lib/zzzzzzzz", "/usr/local/lib"]) {
      const exe = await compile(dir, "app", EMPTY_MAIN, [RUNPATH, `-Wl,-rpath,${rpath}`]);
      // P06: an unchanged file is not written, so its mtime survives.
      const past = new Date("2001-02-03T04:05:06Z");
      await Deno.utime(exe, past, past);
      const before = await Deno.readFile(exe);
      assert.equal(await relocateElfFile(exe, SHORT), false);
      assert.deepEqual(await Deno.readFile(exe), before);
      assert.equal((await Deno.stat(exe)).mtime?.getTime(), past.getTime());
      assert.equal((await readelfDynamic(exe)).runpath, rpath);
    }
  });
});

Deno.test("E08: ET_REL objects are not treated as ELF; their strings are left to the string pass", async () => {
  await withTemp(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/obj.c`,
      'const char *data = "/old/store/pkg-aaaaaaaa/share/data";\n',
    );
    await gcc(dir, ["-c", "obj.c", "-o", "obj.o"]);
    const before = await Deno.readFile(`${dir}/obj.o`);
    assert.ok(indexOfBytes(before, "/old/store/pkg-aaaaaaaa/share/data") >= 0);
    assert.equal(await readElfDynamic(`${dir}/obj.o`), undefined);
    assert.equal(await relocateElfFile(`${dir}/obj.o`, SHORT), false);
    assert.deepEqual(await Deno.readFile(`${dir}/obj.o`), before);
  });
});

Deno.test("E09: a static executable has no dynamic section and is left untouched", async () => {
  await withTemp(async (dir) => {
    const src = 'const char *volatile data = "/old/store/pkg-h1/share/data/file";\n' +
      "int main(void) { return data[0] == 0; }\n";
    const exe = await compile(dir, "app", src, ["-static"]);
    assert.match((await run("readelf", ["-d", exe])).stdout, /no dynamic section/);
    const before = await Deno.readFile(exe);
    assert.deepEqual(await readElfDynamic(exe), {
      elfClass: 64,
      littleEndian: true,
      interpreter: undefined,
      rpath: undefined,
      runpath: undefined,
      needed: [],
      soname: undefined,
    });
    assert.equal(await relocateElfFile(exe, SHORT), false);
    assert.deepEqual(await Deno.readFile(exe), before);
  });
});

Deno.test("E11/E12: absolute DT_NEEDED and DT_SONAME are not changed by the ELF step", async () => {
  await withTemp(async (dir) => {
    const soname = "/old/store/dep-h2/lib/libfoo.so";
    const lib = await compile(dir, "libfoo.so", "int foo(void) { return 42; }\n", [
      "-shared",
      "-fPIC",
      `-Wl,-soname,${soname}`,
    ]);
    const exe = await compile(
      dir,
      "app",
      "int foo(void);\nint main(void) { return foo() != 42; }\n",
      [lib],
    );
    assert.equal((await readelfDynamic(lib)).soname, soname);
    assert.ok((await readelfDynamic(exe)).needed.includes(soname));
    assert.equal((await readElfDynamic(lib))?.soname, soname);
    assert.ok((await readElfDynamic(exe))?.needed.includes(soname));

    for (const file of [exe, lib]) {
      const before = await Deno.readFile(file);
      // Neither map touches these strings here, not even the one that would have to grow.
      assert.equal(await relocateElfFile(file, SHORT), false);
      assert.equal(await relocateElfFile(file, LONG), false);
      assert.deepEqual(await Deno.readFile(file), before);
    }
  });
});

Deno.test("E13: a growing RPATH fails before anything, .rodata strings included, is written", async () => {
  await withTemp(async (dir) => {
    const src = 'const char *volatile data = "/old/store/pkg-h1/share/data";\n' +
      "int main(void) { return data[0] == 0; }\n";
    const exe = await compile(dir, "app", src, [RPATH, "-Wl,-rpath,/old/store/pkg-h1/lib"]);
    const before = await Deno.readFile(exe);
    await assert.rejects(relocateElfFile(exe, LONG), ElfGrowError);
    const after = await Deno.readFile(exe);
    assert.deepEqual(after, before);
    assert.ok(indexOfBytes(after, "/old/store/pkg-h1/share/data\0") >= 0);
  });
});

/** Retags the DT_DEBUG entry of a 64-bit little-endian executable as DT_RPATH with `value`. */
async function addRpathEntry(exe: string, value: number): Promise<void> {
  const { offset, size } = await readelfSection(exe, ".dynamic");
  const bytes = await Deno.readFile(exe);
  const v = new DataView(bytes.buffer);
  for (let at = offset; at < offset + size; at += 16) {
    if (v.getBigInt64(at, true) !== 21n) continue; // DT_DEBUG
    v.setBigInt64(at, 15n, true); // DT_RPATH
    v.setBigUint64(at + 8, BigInt(value), true);
    await Deno.writeFile(exe, bytes);
    return;
  }
  throw new Error("no DT_DEBUG entry");
}

/** The `d_val` of the first dynamic entry with tag `tag`. */
async function dynamicValue(exe: string, tag: bigint): Promise<number> {
  const { offset, size } = await readelfSection(exe, ".dynamic");
  const v = new DataView((await Deno.readFile(exe)).buffer);
  for (let at = offset; at < offset + size; at += 16) {
    if (v.getBigInt64(at, true) === tag) return Number(v.getBigUint64(at + 8, true));
  }
  throw new Error(`no dynamic tag ${tag}`);
}

Deno.test("E14: both DT_RPATH and DT_RUNPATH, or no section headers: skipped silently", async () => {
  await withTemp(async (dir) => {
    const rpath = "/old/store/pkg-h1/lib";
    const both = await compile(dir, "both", EMPTY_MAIN, [RUNPATH, `-Wl,-rpath,${rpath}`]);
    await addRpathEntry(both, await dynamicValue(both, 29n));
    const seen = await readelfDynamic(both);
    assert.equal(seen.rpath, rpath);
    assert.equal(seen.runpath, rpath);

    const noSections = await compile(dir, "nosections", EMPTY_MAIN, [
      RUNPATH,
      `-Wl,-rpath,${rpath}`,
    ]);
    const bytes = await Deno.readFile(noSections);
    const v = new DataView(bytes.buffer);
    v.setBigUint64(40, 0n, true); // e_shoff
    v.setUint16(60, 0, true); // e_shnum
    v.setUint16(62, 0, true); // e_shstrndx
    await Deno.writeFile(noSections, bytes);
    // readelf still finds the RUNPATH through the program headers: there was work to skip.
    assert.equal((await readelfDynamic(noSections)).runpath, rpath);

    for (const file of [both, noSections]) {
      const before = await Deno.readFile(file);
      assert.equal(await readElfDynamic(file), undefined);
      assert.equal(await relocateElfFile(file, SHORT), false);
      assert.deepEqual(await Deno.readFile(file), before);
    }
  });
});

Deno.test("E15: dropRedundantRpaths keeps $-entries and existing absolute paths, NUL-pads", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(`${dir}/exists`);
    await Deno.symlink(`${dir}/nowhere`, `${dir}/dangling`);
    const rpath =
      `$ORIGIN/../lib:${dir}/exists:${dir}/missing:relative/lib::\${ORIGIN}/x:${dir}/dangling`;
    const exe = await compile(dir, "app", EMPTY_MAIN, [RUNPATH, `-Wl,-rpath,${rpath}`]);
    const before = await Deno.readFile(exe);

    assert.equal(await dropRedundantRpaths(exe), true);

    // lexists: a dangling symlink counts as present.
    const expected = `$ORIGIN/../lib:${dir}/exists:\${ORIGIN}/x:${dir}/dangling`;
    assert.equal((await readelfDynamic(exe)).runpath, expected);
    assertRewrittenInPlace(before, await Deno.readFile(exe), rpath, expected);
    assert.equal(await dropRedundantRpaths(exe), false);
  });
});

Deno.test("dropRedundantRpathsInPrefix visits each inode once and skips non-ELF files", async () => {
  await withTemp(async (dir) => {
    const prefix = `${dir}/prefix`;
    await Deno.mkdir(`${prefix}/bin`, { recursive: true });
    await compile(`${prefix}/bin`, "app", EMPTY_MAIN, [
      RUNPATH,
      `-Wl,-rpath,${dir}/missing:${prefix}/bin`,
    ]);
    await Deno.link(`${prefix}/bin/app`, `${prefix}/bin/app-hardlink`);
    await Deno.symlink("app", `${prefix}/bin/app-symlink`);
    await Deno.writeTextFile(`${prefix}/bin/readme.txt`, `${dir}/missing\n`);
    await Deno.remove(`${prefix}/bin/app.c`);

    assert.deepEqual(await dropRedundantRpathsInPrefix(prefix), ["bin/app"]);
    assert.equal((await readelfDynamic(`${prefix}/bin/app-hardlink`)).runpath, `${prefix}/bin`);
  });
});

Deno.test("E16: malformed or truncated ELF files are not treated as ELF and never throw", async () => {
  await withTemp(async (dir) => {
    const exe = await compile(dir, "app", EMPTY_MAIN, [
      RUNPATH,
      "-Wl,-rpath,/old/store/pkg-h1/lib",
    ]);
    const good = await Deno.readFile(exe);
    const shoff = Number(new DataView(good.buffer).getBigUint64(40, true));
    const badClass = new Uint8Array(64);
    badClass.set([0x7f, 0x45, 0x4c, 0x46, 0x09, 0x01, 0x01]);
    const shoffPastEnd = good.slice();
    new DataView(shoffPastEnd.buffer).setBigUint64(40, BigInt(good.length + 4096), true);
    const shnumHuge = good.slice();
    const dynstr = await readelfSection(exe, ".dynstr");
    // Section headers end before the .dynstr header is reached: claim more than exist, move it.
    const header = new DataView(shnumHuge.buffer);
    header.setUint16(60, 0xffff, true);
    header.setBigUint64(40, BigInt(good.length - 64), true);
    const cases: [string, Uint8Array][] = [
      ["bad-class", badClass],
      ["bad-data", Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x07, ...new Uint8Array(58)])],
      ["magic-only", Uint8Array.from([0x7f, 0x45, 0x4c, 0x46])],
      ["header-cut", good.slice(0, 40)],
      ["program-headers-cut", good.slice(0, 100)],
      ["dynstr-cut", good.slice(0, dynstr.offset + 4)],
      ["section-headers-cut", good.slice(0, shoff + 10)],
      ["shoff-past-end", shoffPastEnd],
      ["shnum-past-end", shnumHuge],
    ];
    for (const [name, bytes] of cases) {
      const path = `${dir}/${name}`;
      await Deno.writeFile(path, bytes);
      assert.equal(await readElfDynamic(path), undefined, name);
      assert.equal(await relocateElfFile(path, SHORT), false, name);
      assert.deepEqual(await Deno.readFile(path), bytes, name);
    }
  });
});

Deno.test("a relocated executable runs with its library moved to the new RUNPATH", async () => {
  await withTemp(async (dir) => {
    const oldStore = `${dir}/old-store-with-a-rather-long-name`;
    const newStore = `${dir}/new`;
    const oldLib = `${oldStore}/dep-h2/lib`;
    await Deno.mkdir(oldLib, { recursive: true });
    await compile(
      oldLib,
      "libgreet.so",
      '#include <stdio.h>\nvoid greet(void) { puts("greetings from dep-h2"); }\n',
      [
        "-shared",
        "-fPIC",
        "-Wl,-soname,libgreet.so",
      ],
    );
    const exe = await compile(
      dir,
      "app",
      "void greet(void);\nint main(void) { greet(); return 0; }\n",
      [
        `-L${oldLib}`,
        "-lgreet",
        RUNPATH,
        `-Wl,-rpath,${oldLib}`,
      ],
    );
    await Deno.link(exe, `${dir}/app-hardlink`);
    const env = { PATH: "/usr/bin:/bin" };
    assert.equal((await run(exe, [], { env })).stdout, "greetings from dep-h2\n");

    await Deno.rename(oldStore, newStore);
    const broken = await run(exe, [], { env });
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, /libgreet\.so/);

    const inode = (await Deno.stat(exe)).ino;
    assert.equal(await relocateElfFile(exe, new Map([[oldStore, newStore]])), true);
    assert.equal((await readelfDynamic(exe)).runpath, `${newStore}/dep-h2/lib`);
    const fixed = await run(exe, [], { env });
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal(fixed.stdout, "greetings from dep-h2\n");
    // Edited in place: same inode, and the hard link sees the change (reference §1.10, P05).
    assert.equal((await Deno.stat(exe)).ino, inode);
    assert.deepEqual(await Deno.readFile(`${dir}/app-hardlink`), await Deno.readFile(exe));
  });
});

Deno.test("map order decides (leftmost-first), identity pairs are ignored", async () => {
  await withTemp(async (dir) => {
    const flags = [RUNPATH, "-Wl,-rpath,/old/store/pkg-h1/lib"];
    const a = await compile(dir, "a", EMPTY_MAIN, flags);
    assert.equal(
      await relocateElfFile(a, new Map([["/old/store", "/x"], ["/old/store/pkg-h1", "/y"]])),
      true,
    );
    assert.equal((await readelfDynamic(a)).runpath, "/x/pkg-h1/lib");

    const b = await compile(dir, "b", EMPTY_MAIN, flags);
    const before = await Deno.readFile(b);
    assert.equal(
      await relocateElfFile(b, new Map([["/old/store/pkg-h1", "/old/store/pkg-h1"]])),
      false,
    );
    assert.deepEqual(await Deno.readFile(b), before);
  });
});

Deno.test("32/64-bit, little/big-endian files are relocated alike (synthetic, checked by readelf)", async () => {
  await withTemp(async (dir) => {
    for (const is64 of [false, true]) {
      for (const littleEndian of [true, false]) {
        for (const runpath of [true, false]) {
          const path = `${dir}/elf${is64 ? 64 : 32}${littleEndian ? "le" : "be"}${
            runpath ? "-runpath" : "-rpath"
          }`;
          await Deno.writeFile(
            path,
            syntheticElf({
              is64,
              littleEndian,
              runpath,
              interpreter: "/old/store/glibc-h3/lib/ld.so.1",
              rpath: "/old/store/pkg-h1/lib::/old/store/dep-h2/lib:$ORIGIN",
              needed: ["libdep.so", "libc.so.6"],
            }),
          );
          assert.equal((await readelfDynamic(path)).needed.length, 2, path);
          assert.equal(await relocateElfFile(path, SHORT), true, path);

          const seen = await readelfDynamic(path);
          const expected = "/n/pkg-h1/lib:/n/dep-h2/lib:$ORIGIN";
          assert.equal(runpath ? seen.runpath : seen.rpath, expected, path);
          assert.deepEqual(seen.needed, ["libdep.so", "libc.so.6"], path);
          assert.equal(await readelfInterpreter(path), "/n/glibc-h3/lib/ld.so.1", path);
          assert.deepEqual(await readElfDynamic(path), {
            elfClass: is64 ? 64 : 32,
            littleEndian,
            interpreter: "/n/glibc-h3/lib/ld.so.1",
            rpath: runpath ? undefined : expected,
            runpath: runpath ? expected : undefined,
            needed: ["libdep.so", "libc.so.6"],
            soname: undefined,
          }, path);
        }
      }
    }
  });
});
