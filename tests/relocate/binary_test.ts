/**
 * Binary string relocation: acceptance cases B01–B24, C05 and C06 of the relocation reference
 * (§4.3, §4.9), each streamed whole, byte by byte, at every split and at seeded random splits,
 * and applied to a file; plus file-level behaviour (inode, mode, hard links, mtime, partial
 * writes before an error, a 64 MiB file, a real gcc-built executable).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CannotGrowStringError,
  CannotShrinkCStringError,
  relocate,
  relocateBinaryFile,
  relocateBinaryStream,
} from "../../lib/relocate/mod.ts";
import { RelocationError } from "../../lib/errors.ts";
import {
  bytes,
  chunkings,
  everySplit,
  FIX_HINT,
  latin1,
  NEWP,
  OLDP,
  runStream,
  withTempDir,
} from "./_helpers.ts";

interface BinaryCase {
  id: string;
  map: [string, string][];
  input: string;
  /** Expected output; for error cases the buffer as rewritten before the error. */
  expected: string;
  error?: { type: typeof CannotGrowStringError | typeof CannotShrinkCStringError; message: string };
  suffixSafetySize?: number;
}

const shrinkError = (message: string) => ({ type: CannotShrinkCStringError, message });
const growError = (message: string) => ({ type: CannotGrowStringError, message });
const SHIFT_NEW = "/h/" + "x".repeat(30);

const CASES: BinaryCase[] = [
  {
    id: "B01",
    map: [["/old/prefix/abc", "/new/pre"]],
    input: "X/old/prefix/abc/lib/libfoo.so\0Y",
    expected: "X" + "/".repeat(8) + "new/pre/lib/libfoo.so\0Y",
  },
  {
    id: "B02",
    map: [["/aaaa/h1", "/bbbb/h2"]],
    input: "/aaaa/h1\0",
    expected: "/aaaa/h1\0",
    error: shrinkError(
      "Cannot replace b'/aaaa/h1' with b'/bbbb/h2' in the C-string b'/aaaa/h1'." + FIX_HINT,
    ),
  },
  {
    id: "B03",
    map: [["/aaaa/hash1234", "/bbbb/hash1234"]],
    input: "/aaaa/hash1234\0",
    expected: "/bbbb/hash1234\0",
  },
  {
    id: "B04",
    map: [["/a/very/long/old/prefix", "/new"]],
    input: "/a/very/long/old/prefix/l\0rest",
    expected: "/new/l\0/long/old/prefix/l\0rest",
  },
  {
    id: "B05",
    map: [["/a", "/abc"]],
    input: "xx/a/lib\0",
    expected: "xx/a/lib\0",
    error: growError(
      "Cannot replace b'/a' with b'/abc' because the new prefix is longer." + FIX_HINT,
    ),
  },
  { id: "B06", map: [["/zz", "/abcd"]], input: "xx/a/lib\0", expected: "xx/a/lib\0" },
  {
    id: "B07",
    map: [["/a/b/cccccccc", "/x/y/cccccccc"]],
    input: "/home/a/b/cccccccc\0",
    expected: "/home/x/y/cccccccc\0",
  },
  { id: "B08 / C06", map: [["/a/b", "/x"]], input: "zz/a/b", expected: "zz///x" },
  { id: "B09 / C05", map: [["/o/zz", "/zz"]], input: "/o/zz/o/zz\0", expected: "///zz/o/zz\0" },
  {
    id: "B10",
    map: [["/s", "/t"], ["/s/pkg-abcdefgh", "/u/pkg-abcdefgh"]],
    input: "/s/pkg-abcdefgh/lib/x.so\0",
    expected: "/t/pkg-abcdefgh/lib/x.so\0",
  },
  {
    id: "B11",
    map: [["/s/pkg-abcdefgh", "/u/pkg-abcdefgh"], ["/s", "/t"]],
    input: "/s/pkg-abcdefgh/lib/x.so\0",
    expected: "/u/pkg-abcdefgh/lib/x.so\0",
  },
  {
    id: "B12",
    map: [[OLDP, NEWP]],
    input: `\0${OLDP}/lib\0${OLDP}\0${OLDP}/share/zlib/data/file.txt\0`,
    expected: `\0${"/".repeat(115)}${NEWP}/lib\0${"/".repeat(115)}${NEWP}\0` +
      `${"/".repeat(115)}${NEWP}/share/zlib/data/file.txt\0`,
  },
  {
    id: "B13",
    map: [[OLDP, SHIFT_NEW]],
    input: `\0${OLDP}/lib\0`,
    // new + "/lib\0" written at the match; the old string's remaining bytes stay behind it.
    expected: `\0${SHIFT_NEW}/lib\0${`${OLDP}/lib\0`.slice(SHIFT_NEW.length + 5)}`,
  },
  {
    id: "B14",
    map: [["/old/prefix/abc", "/old/prefix/abc/longer"]],
    input: "no occurrences here\0",
    expected: "no occurrences here\0",
  },
  {
    id: "B15",
    map: [["pkg-gwixwaalgczp6", "pkg-zkesfralgczp6"]],
    input: "Binary with pkg-gwixwaalgczp6/config\0 data",
    expected: "Binary with pkg-zkesfralgczp6/config\0 data",
  },
  {
    id: "B16",
    map: [["pkg-abcdef", "pkg-xyzabc"]],
    input: "Binary with pkg-abcdef\0/xx\0",
    expected: "Binary with pkg-abcdef\0/xx\0",
    error: shrinkError(
      "Cannot replace b'pkg-abcdef' with b'pkg-xyzabc' in the C-string b'pkg-abcdef'." + FIX_HINT,
    ),
  },
  {
    id: "B17",
    map: [["/ab/cdefghij", "/x"]],
    input: "/ab/cdefghij\0",
    expected: "/x\0/cdefghij\0",
  },
  {
    id: "B18",
    map: [["/ab/cdefghi", "/x"]],
    input: "/ab/cdefghi\0tail",
    expected: "/x\0/cdefghi\0tail",
  },
  { id: "B19", map: [["/a/b", "/x"]], input: "", expected: "" },
  {
    id: "B20 / C05",
    map: [["/abc/def", "/x/def"]],
    input: "A/abc/def/12345\0B/abc/def/123456\0C/abc/def/1234567\0",
    expected: "A///x/def/12345\0B///x/def/123456\0C///x/def/1234567\0",
  },
  {
    id: "B21",
    map: [["/abc/def", "/x/def"]],
    input: "/abc/def/1\0",
    expected: "/abc/def/1\0",
    error: shrinkError(
      "Cannot replace b'/abc/def' with b'/x/def' in the C-string b'/abc/def/1'." + FIX_HINT,
    ),
  },
  {
    id: "B22",
    map: [["/abc/defghijk", "/x/defghijk"]],
    input: "/abc/defghijk\0",
    expected: "///x/defghijk\0",
  },
  {
    id: "B23 / C05",
    map: [["/abc/def", "/x/def"]],
    input: "/abc/def/12345678\0/abc/def\0",
    expected: "///x/def/12345678\0/abc/def\0",
    error: shrinkError(
      "Cannot replace b'/abc/def' with b'/x/def' in the C-string b'/abc/def'." + FIX_HINT,
    ),
  },
  {
    id: "B24",
    map: [["/old-spack/opt/specific-package", "/snacks/specific-XXXXXXe"]],
    input: "Binary with /old-spack/opt/specific-package/sub\0 data",
    expected: "Binary with /snacks/specific-XXXXXXe/sub\0ge/sub\0 data",
    suffixSafetySize: 6,
  },
];

for (const [n, c] of CASES.entries()) {
  const map = new Map(c.map);
  const options = { suffixSafetySize: c.suffixSafetySize };

  Deno.test(`binary ${c.id}: streamed in every chunking`, async () => {
    const data = bytes(c.input);
    // C05/C06: every split point, which includes every position inside the NUL windows.
    for (const { name, chunks } of [...chunkings(data, 2000 + n), ...everySplit(data)]) {
      const result = await runStream(relocateBinaryStream(map, options), chunks);
      if (c.error) {
        assert.ok(result.error instanceof c.error.type, `${c.id} ${name}: ${result.error}`);
        assert.ok(result.error instanceof RelocationError);
        assert.equal(result.error.message, c.error.message, `${c.id} ${name}`);
      } else {
        assert.ok(result.output, `${c.id} ${name}: ${result.error}`);
        assert.equal(latin1(result.output), c.expected, `${c.id} ${name}`);
      }
    }
  });

  Deno.test(`binary ${c.id}: one buffer is rewritten in place`, async () => {
    const chunk = bytes(c.input);
    const result = await runStream(relocateBinaryStream(map, options), [chunk]);
    assert.equal(result.error?.constructor, c.error?.type);
    // Matches before a failing one are already written, as in Spack.
    assert.equal(latin1(chunk), c.expected);
  });

  Deno.test(`binary ${c.id}: relocateBinaryFile`, async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "lib.so");
      await Deno.writeFile(path, bytes(c.input));
      const run = relocateBinaryFile(path, map, options);
      if (c.error) {
        await assert.rejects(run, (e: Error) => {
          assert.ok(e instanceof c.error!.type);
          assert.equal(e.message, `${path}: ${c.error!.message}`);
          assert.equal((e as RelocationError).file, path);
          return true;
        });
      } else {
        assert.equal(await run, c.expected !== c.input);
      }
      assert.equal(latin1(await Deno.readFile(path)), c.expected);
    });
  });
}

Deno.test("binary: error fields and Python quoting of odd bytes", async () => {
  const map = new Map([["/o'ld\x01", "/longer/one"]]);
  const result = await runStream(relocateBinaryStream(map), [bytes("x/o'ld\x01\0")]);
  assert.ok(result.error instanceof CannotGrowStringError);
  assert.equal(result.error.code, "CANNOT_GROW_STRING");
  assert.deepEqual(result.error.oldPrefix, bytes("/o'ld\x01"));
  assert.equal(
    result.error.message,
    `Cannot replace b"/o'ld\\x01" with b'/longer/one' because the new prefix is longer.${FIX_HINT}`,
  );
});

Deno.test("binary: relocate(map, 'binary') is the binary stream", async () => {
  const result = await runStream(relocate(new Map([["/a/b", "/x"]]), "binary"), [bytes("zz/a/b")]);
  assert.equal(latin1(result.output!), "zz///x");
});

Deno.test("binary: large chunks are passed on in place; only the carry is copied", async () => {
  const chunk = new Uint8Array(1 << 16).fill(0x61);
  chunk.set(bytes("/old/store/pkg/lib/x.so\0"), 1000);
  const out: Uint8Array[] = [];
  const map = new Map([["/old/store", "/new"]]);
  for await (const piece of ReadableStream.from([chunk]).pipeThrough(relocateBinaryStream(map))) {
    out.push(piece);
  }
  assert.equal(out[0].buffer, chunk.buffer);
  assert.equal(latin1(chunk.subarray(1000, 1024)), `${"/".repeat(6)}/new/pkg/lib/x.so\0`);
  assert.equal(out.reduce((n, p) => n + p.length, 0), chunk.length);
});

Deno.test("binary file: inode and mode kept, hard link changed under both names", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "libfoo.so");
    const other = join(dir, "libfoo.so.1");
    await Deno.writeFile(path, bytes("\x7fELF....\0/old/store/pkg-h1/lib\0rest"));
    await Deno.chmod(path, 0o751);
    await Deno.link(path, other);
    const ino = (await Deno.stat(path)).ino;
    const map = new Map([["/old/store/pkg-h1", "/new/pkg-h1"]]);
    assert.equal(await relocateBinaryFile(path, map), true);
    const after = await Deno.stat(path);
    assert.equal(after.ino, ino);
    assert.equal(after.mode! & 0o7777, 0o751);
    const expected = `\x7fELF....\0${"/".repeat(6)}/new/pkg-h1/lib\0rest`;
    assert.equal(latin1(await Deno.readFile(path)), expected);
    assert.equal(latin1(await Deno.readFile(other)), expected);
  });
});

Deno.test("binary file: without occurrences the file is not written, even if prefixes grow", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "libbar.so");
    await Deno.writeFile(path, bytes("\x7fELF /usr/lib/libc.so.6\0".repeat(5000)));
    const old = new Date("2001-02-03T04:05:06Z");
    await Deno.utime(path, old, old);
    const map = new Map([["/old/store", "/a/much/longer/store"]]);
    assert.equal(await relocateBinaryFile(path, map), false);
    assert.equal((await Deno.stat(path)).mtime?.getTime(), old.getTime());
  });
});

Deno.test("binary file: 64 MiB sparse file, keys across read steps, constant memory", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "big.so");
    const size = 64 << 20;
    const string = bytes(`${OLDP}/lib/libz.so.1\0`);
    // Across the 1 MiB read steps, right at the end, and in the middle of nowhere.
    const offsets = [(1 << 20) - 50, (32 << 20) - 1, (48 << 20) + 12345, size - string.length];
    {
      const file = await Deno.open(path, { write: true, create: true });
      await file.truncate(size);
      for (const at of offsets) {
        await file.seek(at, Deno.SeekMode.Start);
        await file.write(string);
      }
      file.close();
    }
    const rssBefore = Deno.memoryUsage().rss;
    assert.equal(await relocateBinaryFile(path, new Map([[OLDP, NEWP]])), true);
    const grown = Deno.memoryUsage().rss - rssBefore;
    assert.ok(grown < 32 << 20, `RSS grew by ${grown} bytes`);
    const expected = bytes(`${"/".repeat(115)}${NEWP}/lib/libz.so.1\0`);
    const file = await Deno.open(path);
    try {
      assert.equal((await file.stat()).size, size);
      for (const at of offsets) {
        const got = new Uint8Array(expected.length);
        await file.seek(at, Deno.SeekMode.Start);
        let n = 0;
        while (n < got.length) n += (await file.read(got.subarray(n)))!;
        assert.equal(latin1(got), latin1(expected), `at ${at}`);
      }
    } finally {
      file.close();
    }
  });
});

Deno.test("binary file: a gcc-built executable prints its relocated string", async () => {
  await withTempDir(async (dir) => {
    const old = "/old/store/pkg-aaaaaaaaaaaaaaaa";
    const source = join(dir, "hello.c");
    const exe = join(dir, "hello");
    await Deno.writeTextFile(
      source,
      `#include <stdio.h>\nint main(void) { puts("${old}/share/data"); puts("${old}"); return 0; }\n`,
    );
    const cc = await new Deno.Command("gcc", { args: ["-O0", "-o", exe, source] }).output();
    assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
    const neu = "/new/pkg-aaaaaaaaaaaaaaaa";
    const map = new Map([[old, neu]]);
    assert.equal(await relocateBinaryFile(exe, map), true);
    const run = await new Deno.Command(exe).output();
    assert.ok(run.success);
    // Leading-slash padding keeps the length and resolves to the same path.
    assert.equal(
      new TextDecoder().decode(run.stdout),
      `${"/".repeat(6)}${neu}/share/data\n${"/".repeat(6)}${neu}\n`,
    );
  });
});
