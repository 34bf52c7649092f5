/**
 * Text relocation: acceptance cases T01–T26 and C01–C04 of the relocation reference (§4.2,
 * §4.9), each streamed whole, byte by byte, at every split (short inputs) and at seeded random
 * splits, and applied to a file; plus file-level behaviour (inode, mode, hard links, mtime,
 * growth past the read position, large files).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../lib/errors.ts";
import { relocate, relocateTextFile, relocateTextStream } from "../../lib/relocate/mod.ts";
import {
  bytes,
  type Chunking,
  chunkings,
  everySplit,
  H,
  latin1,
  NEWP,
  OLDP,
  PAD,
  runStream,
  seededRandom,
  splitAt,
  withTempDir,
} from "./_helpers.ts";

interface TextCase {
  id: string;
  map: [string, string][];
  input: string;
  expected: string;
  /** Extra chunkings this case is about (C cases). */
  splits?: (data: Uint8Array) => Chunking[];
}

const T12_MAP: [string, string][] = [
  ["/s/bin/sbang", "/t/bin/sbang"],
  ["/s/root-h1", "/n/root-h1"],
  ["/s/dep-h2", "/m/dep-h2"],
  ["/s", "/N"],
];
const T16_MAP: [string, string][] = [
  ["/replace/in/order", "/first"],
  ["/replace/in", "/second"],
  ["/replace", "/third"],
];
const RUN = "x".repeat(100_000);

const CASES: TextCase[] = [
  { id: "T01", map: [["/a/b", "/x"]], input: "/a/b/lib", expected: "/x/lib", splits: everySplit },
  { id: "T02", map: [["/a/b", "/x"], ["/a/bc", "/y"]], input: "/a/bc/lib", expected: "/xc/lib" },
  { id: "T03", map: [["/a/bc", "/y"], ["/a/b", "/x"]], input: "/a/bc/lib", expected: "/y/lib" },
  {
    id: "T04",
    map: [["/a/b", "/x"]],
    input: "/a/bcd /a/b.txt /a/b",
    expected: "/xcd /x.txt /x",
  },
  {
    id: "T05",
    map: [["/a/b", "/x"]],
    input: "/home/a/b and /foo/a/b",
    expected: "/home/a/b and /foo/a/b",
  },
  {
    id: "T06",
    map: [["/a/b", "/x"]],
    input: "foo/a/b x.y/a/b foo-bar/a/b _/a/b",
    expected: "foo/x x.y/x foo-bar/x _/x",
  },
  {
    id: "T07",
    map: [["/a/b", "/x"]],
    input: "-I/a/b/include -L/a/b/lib -Wl,-rpath,/a/b/lib",
    expected: "-I/x/include -L/x/lib -Wl,-rpath,/x/lib",
  },
  {
    id: "T08",
    map: [["/a/b", "/x"]],
    input: `P="/a/b":'/a/b';(/a/b) ../a/b ~/a/b $/a/b @/a/b +/a/b \\/a/b`,
    expected: `P="/x":'/x';(/x) ../x ~/x $/x @/x +/x \\/x`,
  },
  { id: "T09", map: [["/a/b", "/x"]], input: "\xc3\xa9/a/b", expected: "\xc3\xa9/x" },
  {
    id: "T10",
    map: [["/a/b", "/x"]],
    input: "/a/b-/a/b /a/b:/a/b",
    expected: "/x-/a/b /x:/x",
  },
  {
    id: "T11",
    map: [["/a/b", "/much/longer/prefix"]],
    input: "x /a/b/lib\n",
    expected: "x /much/longer/prefix/lib\n",
  },
  {
    id: "T12",
    map: T12_MAP,
    input: "#!/bin/sh /s/bin/sbang\n/s/root-h1/bin:/s/dep-h2/lib:/s/other-h3/lib /s\n",
    expected: "#!/bin/sh /t/bin/sbang\n/n/root-h1/bin:/m/dep-h2/lib:/N/other-h3/lib /N\n",
    splits: everySplit,
  },
  { id: "T13", map: [["/a/b", "/x"]], input: "\0/a/b\0\xff", expected: "\0/x\0\xff" },
  { id: "T14", map: [["/a/b", "/x"]], input: "", expected: "" },
  { id: "T15", map: [["/a/b", "/a/b"]], input: "/a/b", expected: "/a/b" },
  {
    id: "T16",
    map: T16_MAP,
    input: "/replace/in/order/x /replace/in/y /replace/z",
    expected: "/first/x /second/y /third/z",
  },
  {
    id: "T17",
    map: [...T16_MAP].reverse(),
    input: "/replace/in/order/x /replace/in/y /replace/z",
    expected: "/third/in/order/x /third/in/y /third/z",
  },
  {
    id: "T18",
    map: [["/my/prefix", "/replacement"]],
    input:
      "/dont/replace/my/prefix #!/dont/replace/my/prefix Install path: /my/prefix. #!/my/prefix",
    expected:
      "/dont/replace/my/prefix #!/dont/replace/my/prefix Install path: /replacement. #!/replacement",
  },
  {
    id: "T19",
    map: [[OLDP, NEWP], [PAD, "/home/u/spack"]],
    input: `prefix=${OLDP}\nother=${PAD}/linux-x86_64/bzip2-1.0-${H}/lib\n`,
    expected: `prefix=${NEWP}\nother=/home/u/spack/linux-x86_64/bzip2-1.0-${H}/lib\n`,
    splits: everySplit,
  },
  {
    id: "T20",
    map: [["/a/b", "/x"]],
    input: "/a//b /a/b/ /a/b\\n",
    expected: "/a//b /x/ /x\\n",
  },
  { id: "T21", map: [["/a/[b]", "/x"]], input: "/a/[b]/c /a/b/c", expected: "/x/c /a/b/c" },
  { id: "T22", map: [["/a/b", "/x"]], input: "/a/b/a/b", expected: "/x/a/b" },
  {
    id: "T23 (slash before the run)",
    map: [["/a/b", "/x"]],
    input: `/${RUN}/a/b`,
    expected: `/${RUN}/a/b`,
    // C03: split inside the 100 000-byte run.
    splits: (data) =>
      [50_000, 99_999, 100_001].map((i) => ({ name: `C03@${i}`, chunks: splitAt(data, [i]) })),
  },
  {
    id: "T23 (space before the run)",
    map: [["/a/b", "/x"]],
    input: ` ${RUN}/a/b`,
    expected: ` ${RUN}/x`,
    splits: (data) =>
      [1, 50_000, 100_001].map((i) => ({ name: `C03@${i}`, chunks: splitAt(data, [i]) })),
  },
  {
    id: "T24 (no gap)",
    map: [["/a/b.", "/x."]],
    input: "/a/b./a/b.",
    expected: "/x./a/b.",
    splits: everySplit, // C04 includes the split right after the first key (offset 5)
  },
  { id: "T24 (space)", map: [["/a/b.", "/x."]], input: "/a/b. /a/b.", expected: "/x. /x." },
  { id: "T25", map: [["/a/b", "/x"]], input: "\xff\xfe/a/b\x80", expected: "\xff\xfe/x\x80" },
  {
    id: "T26",
    map: [["/r/p-h", "/N/p-h"], ["/r", "/N"]],
    input: "/r/p-h/lib /r/p-hx /r/q",
    expected: "/N/p-h/lib /N/p-hx /N/q",
  },
  {
    id: "C02",
    map: [["/a/b", "/x"]],
    input: "/home/a/b",
    expected: "/home/a/b",
    splits: (data) => [{ name: "before the key", chunks: splitAt(data, [5]) }],
  },
];

for (const [n, c] of CASES.entries()) {
  Deno.test(`text ${c.id}: streamed in every chunking`, async () => {
    const data = bytes(c.input);
    const map = new Map(c.map);
    const runs = [...chunkings(data, 1000 + n), ...(c.splits?.(data) ?? [])];
    // The 1-byte run of the 100 kB inputs is covered by the random splits with many cuts.
    const selected = data.length > 10_000 ? runs.filter((r) => r.name !== "1-byte") : runs;
    for (const { name, chunks } of selected) {
      const result = await runStream(relocateTextStream(map), chunks);
      assert.ok(result.output, `${name}: ${result.error}`);
      assert.equal(latin1(result.output), c.expected, `${c.id} ${name}`);
    }
  });

  Deno.test(`text ${c.id}: relocateTextFile`, async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "file.txt");
      await Deno.writeFile(path, bytes(c.input));
      const changed = await relocateTextFile(path, new Map(c.map));
      assert.equal(latin1(await Deno.readFile(path)), c.expected);
      assert.equal(changed, c.expected !== c.input);
    });
  });
}

Deno.test("text: relocate(map, 'text') is the text stream", async () => {
  const result = await runStream(relocate(new Map([["/a/b", "/xyz"]]), "text"), [bytes(" /a/b/c")]);
  assert.equal(latin1(result.output!), " /xyz/c");
});

Deno.test("text: unchanged input is passed on without copying", async () => {
  const chunk = new Uint8Array(100_000).fill(0x61);
  const seen: Uint8Array[] = [];
  const out = ReadableStream.from([chunk]).pipeThrough(
    relocateTextStream(new Map([["/a/b", "/x"]])),
  );
  for await (const piece of out) seen.push(piece);
  assert.equal(seen[0].buffer, chunk.buffer);
  assert.equal(seen.reduce((n, p) => n + p.length, 0), chunk.length);
});

Deno.test("text file: inode and mode kept, hard link changed under both names", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "hard.pc");
    const other = join(dir, "pkg.pc");
    await Deno.writeTextFile(path, "prefix=/old/store/pkg-h1\nlibdir=${prefix}/lib\n");
    await Deno.chmod(path, 0o640);
    await Deno.link(path, other);
    const before = await Deno.stat(path);
    const map = new Map([["/old/store/pkg-h1", "/new/pkg-h1"], ["/old/store", "/new"]]);
    assert.equal(await relocateTextFile(path, map), true);
    const after = await Deno.stat(path);
    assert.equal(after.ino, before.ino);
    assert.equal(after.mode! & 0o7777, 0o640);
    assert.equal(after.nlink, 2);
    const expected = "prefix=/new/pkg-h1\nlibdir=${prefix}/lib\n";
    assert.equal(await Deno.readTextFile(path), expected);
    assert.equal(await Deno.readTextFile(other), expected);
  });
});

Deno.test("text file: a file without a replaceable occurrence is not written", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "notes.txt");
    await Deno.writeTextFile(path, "see /home/x/old/store/pkg-h1 and /usr/lib\n".repeat(1000));
    const old = new Date("2001-02-03T04:05:06Z");
    await Deno.utime(path, old, old);
    assert.equal(await relocateTextFile(path, new Map([["/old/store", "/new"]])), false);
    assert.equal((await Deno.stat(path)).mtime?.getTime(), old.getTime());
    // An empty (identity-only) map does not even open the file.
    assert.equal(await relocateTextFile(join(dir, "missing"), new Map([["/a", "/a"]])), false);
  });
});

Deno.test("text file: a missing file fails like Spack's open(rb+)", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      relocateTextFile(join(dir, "missing"), new Map([["/a", "/b"]])),
      (e: NodeJS.ErrnoException) => e.code === "ENOENT",
    );
  });
});

/**
 * A text of about `size` bytes with `-L<key>/lib` at `count` seeded random offsets and across
 * every 1 MiB boundary (the file rewriter's read step), and its expected relocation.
 */
function bigText(seed: number, size: number, count: number, key: string, value: string) {
  const rng = seededRandom(seed);
  const offsets = Array.from({ length: count }, () => Math.floor(rng() * size));
  for (let mib = 1 << 20; mib < size; mib += 1 << 20) offsets.push(mib - 2 - (mib % 97));
  offsets.sort((a, b) => a - b);
  const filler = "lorem ipsum dolor sit amet\n".repeat(Math.ceil(size / 27) + 1);
  const input: string[] = [];
  const expected: string[] = [];
  let at = 0;
  for (const offset of offsets) {
    if (offset < at) continue;
    const gap = filler.slice(0, offset - at);
    input.push(gap, `-L${key}/lib `);
    expected.push(gap, `-L${value}/lib `);
    at = offset + key.length + 7;
  }
  const end = filler.slice(0, Math.max(0, size - at));
  input.push(end);
  expected.push(end);
  return { input: input.join(""), expected: expected.join("") };
}

Deno.test("text file: growing text past the read position goes through a temporary file", async () => {
  await withTempDir(async (dir) => {
    const key = "/s/pkg-h1";
    const value = "/a/much/longer/prefix/than/before/pkg-h1";
    const { input, expected } = bigText(7, 3 << 20, 2000, key, value);
    assert.ok(input.length >= 3 << 20);
    const path = join(dir, "grow.txt");
    await Deno.writeTextFile(path, input);
    const ino = (await Deno.stat(path)).ino;
    assert.equal(await relocateTextFile(path, new Map([[key, value]])), true);
    assert.equal(await Deno.readTextFile(path), expected);
    assert.equal((await Deno.stat(path)).ino, ino);
    // The temporary file is gone.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["grow.txt"]);
  });
});

Deno.test("text file: shrinking text over several MiB, keys across read steps", async () => {
  await withTempDir(async (dir) => {
    const key = `${PAD}/linux-x86_64/zlib-1.3-${H}`;
    const { input, expected } = bigText(11, 5 << 20, 3000, key, NEWP);
    const path = join(dir, "shrink.txt");
    await Deno.writeTextFile(path, input);
    assert.equal(await relocateTextFile(path, new Map([[key, NEWP]])), true);
    const got = await Deno.readTextFile(path);
    assert.equal(got.length, expected.length);
    assert.ok(got === expected);
    // The file result equals the streamed result.
    const encoded = new TextEncoder().encode(input);
    const streamed = await runStream(relocateTextStream(new Map([[key, NEWP]])), [encoded]);
    assert.ok(new TextDecoder().decode(streamed.output) === expected);
  });
});

Deno.test("text: many matches in one chunk come out as one chunk; an unknown mode is refused", async () => {
  const input = bytes(" /a/b/x".repeat(1000));
  const out: Uint8Array[] = [];
  for await (
    const piece of ReadableStream.from([input]).pipeThrough(
      relocateTextStream(new Map([["/a/b", "/y"]])),
    )
  ) {
    out.push(piece);
  }
  assert.equal(out.length, 1);
  assert.equal(latin1(out[0]), " /y/x".repeat(1000));
  assert.throws(() => relocate(new Map(), "txt" as "text"), UsageError);
});
