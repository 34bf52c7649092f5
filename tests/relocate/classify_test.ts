/**
 * Push-time classification: acceptance cases F01–F19 and T27 of the relocation reference
 * (§4.8, §4.2), each fed whole, byte by byte and at seeded random splits. ELF objects, static
 * archives, gzip streams and .pyc files are made by the real tools at test time.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createFileClassifier,
  type FileType,
  isSpackMetadataPath,
} from "../../lib/relocate/mod.ts";
import { bytes, chunkings, seededRandom, withTempDir } from "./_helpers.ts";

const PREFIX = "/opt/spack/linux-x86_64/zlib-1.3-abcdefghijklmnopqrstuvwxyz234567";
const PREFIXES = ["/opt/spack/bin/sbang", PREFIX, "/opt/spack", "/a/b"];

interface ClassifyCase {
  id: string;
  content: () => Promise<Uint8Array> | Uint8Array;
  type: FileType;
  listed: boolean;
}

async function tool(dir: string, cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd: dir }).output();
  assert.ok(out.success, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/** Output of a C source compiled by gcc with `flags` (e.g. `-c` for an ELF object). */
async function compiled(source: string, flags: string[], output = "out"): Promise<Uint8Array> {
  let result = new Uint8Array();
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "x.c"), source);
    await tool(dir, "gcc", [...flags, "-o", output, "x.c"]);
    result = await Deno.readFile(join(dir, output));
  });
  return result;
}

const C_SOURCE = `const char *path = "${PREFIX}/share/data";\nint main(void) { return path[0]; }\n`;

const CASES: ClassifyCase[] = [
  { id: "F01 (7 bytes)", content: () => bytes("/opt/sp"), type: "unknown", listed: false },
  {
    id: "F01 (7 bytes, whole prefix key)",
    content: () => bytes("/a/b/cd"),
    type: "unknown",
    listed: false,
  },
  { id: "F02", content: () => bytes("/a/b/cde"), type: "text", listed: true },
  {
    id: "F03",
    content: () => bytes(`data\0\0\x01 ${PREFIX}/lib\0\0`),
    type: "text",
    listed: true,
  },
  { id: "F04", content: () => bytes(`caf\xe9 ${PREFIX}/lib\n`), type: "text", listed: true },
  {
    id: "F05",
    content: () => bytes(`caf\xe9 \x85 ${PREFIX}/lib\n`),
    type: "unknown",
    listed: false,
  },
  { id: "F06", content: () => bytes(`caf\xe9 \x01 ${PREFIX}/lib\n`), type: "text", listed: true },
  { id: "F07", content: () => compiled(C_SOURCE, []), type: "binary", listed: true },
  {
    id: "F07 (ELF without any prefix is listed too)",
    content: () => compiled("int main(void) { return 0; }\n", []),
    type: "binary",
    listed: true,
  },
  {
    id: "F08",
    content: async () => {
      let archive = new Uint8Array();
      await withTempDir(async (dir) => {
        await Deno.writeTextFile(join(dir, "x.c"), C_SOURCE);
        await tool(dir, "gcc", ["-c", "-o", "x.o", "x.c"]);
        await tool(dir, "ar", ["rcs", "libx.a", "x.o"]);
        archive = await Deno.readFile(join(dir, "libx.a"));
      });
      assert.equal(new TextDecoder().decode(archive.subarray(0, 8)), "!<arch>\n");
      return archive;
    },
    type: "unknown",
    listed: false,
  },
  {
    id: "F09",
    content: async () => {
      let gz = new Uint8Array();
      await withTempDir(async (dir) => {
        await Deno.writeTextFile(join(dir, "f.txt"), `prefix=${PREFIX}\n`.repeat(50));
        await tool(dir, "gzip", ["-6", "f.txt"]);
        gz = await Deno.readFile(join(dir, "f.txt.gz"));
      });
      return gz;
    },
    type: "unknown",
    listed: false,
  },
  {
    id: "F10",
    content: () => bytes(`\xcf\xfa\xed\xfe\x07\x00\x00\x01${PREFIX}\0`),
    type: "binary",
    listed: true,
  },
  {
    id: "F10 (big-endian and 32-bit Mach-O)",
    content: () => bytes("\xfe\xed\xfa\xce\x00\x00\x00\x07 data"),
    type: "binary",
    listed: true,
  },
  {
    id: "F11",
    content: () => bytes(`\xca\xfe\xba\xbe\x00\x00\x00\x34\x00\x1d${PREFIX}`),
    type: "unknown",
    listed: false,
  },
  {
    id: "F12",
    content: () => bytes("\xca\xfe\xba\xbe\x00\x00\x00\x02\x01\x00\x00\x07"),
    type: "binary",
    listed: true,
  },
  {
    id: "F12 (little-endian fat header)",
    content: () => bytes("\xbe\xba\xfe\xca\x03\x00\x00\x00"),
    type: "binary",
    listed: true,
  },
  {
    id: "F13",
    content: () => {
      const text = `${PREFIX}/lib\n`;
      const out = new Uint8Array(2 + 2 * text.length);
      out.set([0xff, 0xfe]);
      for (let i = 0; i < text.length; i++) out[2 + 2 * i] = text.charCodeAt(i);
      return out;
    },
    type: "unknown",
    listed: false,
  },
  { id: "F14", content: () => new Uint8Array(), type: "unknown", listed: false },
  {
    id: "F15",
    content: async () => {
      let pyc = new Uint8Array();
      await withTempDir(async (dir) => {
        await Deno.writeTextFile(join(dir, "m.py"), `PREFIX = "${PREFIX}"\n`);
        await tool(dir, "python3", [
          "-c",
          "import py_compile; py_compile.compile('m.py', 'm.pyc')",
        ]);
        pyc = await Deno.readFile(join(dir, "m.pyc"));
      });
      return pyc;
    },
    type: "unknown",
    listed: false,
  },
  {
    id: "F16",
    content: () => bytes(`${PREFIX}/lib ${"a".repeat(2000)}\xff`),
    type: "text",
    listed: true,
  },
  { id: "F17", content: () => bytes(`x\x7fy ${PREFIX}/lib\n`), type: "text", listed: true },
  {
    id: "F19 (bin/exe mentions the prefix)",
    content: () => bytes(`#!/bin/sh\nexec ${PREFIX}/bin/tool "$@"\n`),
    type: "text",
    listed: true,
  },
  {
    id: "F19 (bin/otherexe does not)",
    content: () => bytes(`#!/bin/sh\nexec /usr/bin/tool "$@"\n`),
    type: "text",
    listed: false,
  },
  {
    id: "T27",
    content: () => bytes(`see /home/x${PREFIX}/lib and /home/x/opt/spack too\n`),
    type: "text",
    listed: false,
  },
  {
    id: "UTF-8 text across multi-byte sequences",
    content: () => new TextEncoder().encode(`é€𝄞 ${PREFIX}/lib ü\n`),
    type: "text",
    listed: true,
  },
  {
    id: "truncated UTF-8 sequence at the end falls back to Latin-1",
    content: () => bytes(`${PREFIX}/lib \xe2\x82`),
    type: "unknown",
    listed: false,
  },
];

for (const [n, c] of CASES.entries()) {
  Deno.test(`classify ${c.id}`, async () => {
    const data = await c.content();
    for (const { name, chunks } of chunkings(data, 3000 + n)) {
      const classifier = createFileClassifier(PREFIXES);
      for (const chunk of chunks) classifier.update(chunk);
      assert.deepEqual(classifier.finish(), { type: c.type, listed: c.listed }, `${c.id} ${name}`);
    }
  });
}

Deno.test("classify: a text file is never listed without prefixes", () => {
  const classifier = createFileClassifier([]);
  classifier.update(bytes(`${PREFIX}/lib\n`));
  assert.deepEqual(classifier.finish(), { type: "text", listed: false });
});

Deno.test("classify F18: files under .spack/ are never classified", () => {
  for (const path of [".spack", ".spack/binary_distribution", "./.spack/spec.json"]) {
    assert.equal(isSpackMetadataPath(path), true, path);
  }
  for (const path of ["bin/.spack", ".spackrc", "share/.spack/x", "lib/libz.so"]) {
    assert.equal(isSpackMetadataPath(path), false, path);
  }
});

Deno.test("classify: encoding checks agree with TextDecoder on random bytes at unaligned offsets", () => {
  const rng = seededRandom(8);
  // Plain ASCII runs (the word-at-a-time path) mixed with every kind of UTF-8 edge byte.
  const special = [
    0x00,
    0x7f,
    0x80,
    0x9f,
    0xa0,
    0xbf,
    0xc1,
    0xc2,
    0xc3,
    0xa9,
    0xdf,
    0xe0,
    0xe2,
    0x82,
  ];
  special.push(0xac, 0xed, 0xef, 0xf0, 0x90, 0xf4, 0x8f, 0xf5, 0xff);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let utf8Cases = 0;
  for (let n = 0; n < 2000; n++) {
    const length = 8 + Math.floor(rng() * 60);
    const data = new Uint8Array(length + 3);
    const offset = Math.floor(rng() * 4);
    for (let i = offset; i < offset + length; i++) {
      data[i] = rng() < 0.9
        ? 0x20 + Math.floor(rng() * 0x5f)
        : special[Math.floor(rng() * special.length)];
    }
    const view = data.subarray(offset, offset + length);
    let utf8 = true;
    try {
      decoder.decode(view);
    } catch {
      utf8 = false;
    }
    const latin1 = !view.some((b) => b === 0 || (b >= 0x7f && b <= 0x9f));
    utf8Cases += utf8 ? 1 : 0;
    const expected = utf8 || latin1 ? "text" : "unknown";
    const cut = Math.floor(rng() * length);
    const classifier = createFileClassifier([]);
    classifier.update(view.subarray(0, cut));
    classifier.update(view.subarray(cut));
    assert.equal(classifier.finish().type, expected, `case ${n}: ${[...view].join(",")}`);
  }
  assert.ok(utf8Cases > 100 && utf8Cases < 1900, `${utf8Cases} valid UTF-8 cases`);
});
