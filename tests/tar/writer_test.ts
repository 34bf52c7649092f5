import assert from "node:assert/strict";
import { join } from "node:path";
import { createTarStream, type TarEntry, TarEntryError } from "../../lib/tar/mod.ts";
import { collect, fromList, namesIn, run } from "./_util.ts";

const text = (s: string) => new TextEncoder().encode(s);
const file = (name: string, body: string, mode = 0o644): TarEntry => {
  const bytes = text(body);
  return { name, type: "file", mode, size: bytes.length, body: bytes };
};

// Python's tarfile (the writer Spack uses) builds the same archive from the same entries.
const PYTHON_WRITER = `
import base64, io, json, sys, tarfile
types = {"file": tarfile.REGTYPE, "directory": tarfile.DIRTYPE,
         "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}
with tarfile.TarFile(sys.argv[1], mode="w", format=tarfile.PAX_FORMAT) as tar:
    for entry in json.load(sys.stdin):
        info = tarfile.TarInfo(entry["name"])
        info.type = types[entry["type"]]
        info.mode = entry["mode"]
        info.linkname = entry.get("linkname", "")
        data = base64.b64decode(entry["body"])
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data) if data else None)
`;

async function pythonTar(entries: TarEntry[], dir: string): Promise<Uint8Array> {
  const out = join(dir, "python.tar");
  const json = entries.map((e) => ({
    ...e,
    body: btoa(String.fromCharCode(...((e.body as Uint8Array | undefined) ?? []))),
  }));
  await run("python3", ["-c", PYTHON_WRITER, out], text(JSON.stringify(json)));
  return await Deno.readFile(out);
}

const longFileName = `pax/${"b".repeat(97)}`; // 101 bytes
const edgeEntries: TarEntry[] = [
  { name: "pax", type: "directory", mode: 0o755, size: 0 },
  file(`pax/${"a".repeat(96)}`, "exactly 100 bytes of name\n"),
  file(longFileName, "101 bytes of name\n", 0o755),
  { name: `pax/${"c".repeat(95)}`, type: "directory", mode: 0o755, size: 0 }, // 100 with "/"
  { name: `pax/${"d".repeat(96)}`, type: "directory", mode: 0o700, size: 0 }, // 101 with "/"
  file("pax/données-é.txt", "accents\n"),
  file("pax/🎉-party.txt", "astral plane\n"),
  // 91-byte name: its PAX record is 101 bytes, where the length prefix gains a digit.
  file(`pax/${"x".repeat(85)}é`, "record length boundary\n"),
  { name: "pax/link100", type: "symlink", mode: 0o755, size: 0, linkname: "t".repeat(100) },
  { name: "pax/link101", type: "symlink", mode: 0o755, size: 0, linkname: "t".repeat(101) },
  { name: "pax/link300", type: "symlink", mode: 0o755, size: 0, linkname: `/${"u/".repeat(150)}` },
  { name: "pax/link-utf8", type: "symlink", mode: 0o755, size: 0, linkname: "ünïcode-target" },
  {
    name: `pax/${"h".repeat(120)}`,
    type: "hardlink",
    mode: 0o755,
    size: 0,
    linkname: longFileName,
  },
  file("pax/block.bin", "z".repeat(512)),
  file("pax/two-blocks.bin", "y".repeat(1000), 0o600),
  file("pax/empty", ""),
];

Deno.test("writer output equals Python tarfile's bytes for PAX edge cases", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const ours = await collect(createTarStream(fromList(edgeEntries)));
    const python = await pythonTar(edgeEntries, tmp);
    assert.equal(ours.length % 10240, 0);
    assert.deepEqual(ours, python);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("GNU tar extracts PAX edge cases with exact names, targets, modes and links", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const archive = join(tmp, "edge.tar");
    await Deno.writeFile(archive, createTarStream(fromList(edgeEntries)));
    const out = join(tmp, "out");
    await Deno.mkdir(out);
    await run("env", ["LC_ALL=C.UTF-8", "tar", "-xf", archive, "-C", out]);

    const expectedNames = edgeEntries.map((e) => e.name.slice("pax/".length)).slice(1).sort();
    assert.deepEqual(await namesIn(join(out, "pax")), expectedNames);
    for (const entry of edgeEntries) {
      const path = join(out, entry.name);
      const info = await Deno.lstat(path);
      if (entry.type === "symlink") {
        assert.equal(await Deno.readLink(path), entry.linkname);
      } else if (entry.type === "file") {
        assert.deepEqual(await Deno.readFile(path), entry.body);
        assert.equal(info.mode! & 0o777, entry.mode);
      } else if (entry.type === "hardlink") {
        assert.equal(info.ino, (await Deno.lstat(join(out, entry.linkname!))).ino);
      } else {
        assert.equal(info.isDirectory, true);
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a file of 8 GiB gets a PAX size record; cancelling stops its body", async () => {
  const size = 8 * 2 ** 30;
  let cancelled = false;
  const zeros = () =>
    new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(new Uint8Array(65536)),
      cancel: () => {
        cancelled = true;
      },
    });
  const script = `import sys, tarfile
info = tarfile.TarInfo("big"); info.size = ${size}
sys.stdout.buffer.write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))`;
  const python = await new Deno.Command("python3", { args: ["-c", script] }).output();
  assert.equal(python.code, 0);
  assert.equal(python.stdout.length, 3 * 512); // PAX header, its records, the ustar header

  const head = await firstBytes(
    createTarStream(fromList([{ name: "big", type: "file", mode: 0o644, size, body: zeros() }])),
    python.stdout.length + 512,
  );
  assert.equal(cancelled, true);
  assert.deepEqual(head.subarray(0, python.stdout.length), python.stdout);
  assert.match(new TextDecoder().decode(head.subarray(512, 1024)), /^19 size=8589934592\n\0/);

  // One byte less still fits the 11 octal digits of the ustar size field.
  const fits = await firstBytes(
    createTarStream(
      fromList([{ name: "big", type: "file", mode: 0o644, size: size - 1, body: zeros() }]),
    ),
    512,
  );
  assert.equal(new TextDecoder().decode(fits.subarray(0, 4)), "big\0");
  assert.equal(new TextDecoder().decode(fits.subarray(124, 136)), "77777777777\0");
});

/** Reads at least `count` bytes of a stream, then cancels it. */
async function firstBytes(stream: ReadableStream<Uint8Array>, count: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < count) {
    const { value } = await reader.read();
    chunks.push(value!);
    length += value!.length;
  }
  await reader.cancel();
  const out = new Uint8Array(length);
  chunks.reduce((offset, chunk) => (out.set(chunk, offset), offset + chunk.length), 0);
  return out;
}

Deno.test("writer refuses bodies of the wrong length and malformed entries", async () => {
  const cases: [TarEntry, RegExp][] = [
    [{ name: "f", type: "file", mode: 0o644, size: 3, body: text("four") }, /body has 4 bytes/],
    [
      { name: "f", type: "file", mode: 0o644, size: 9, body: new Blob(["short"]).stream() },
      /body yields 5 bytes, size is 9/,
    ],
    [
      { name: "f", type: "file", mode: 0o644, size: 2, body: new Blob(["longer"]).stream() },
      /more than 2 bytes/,
    ],
    [{ name: "l", type: "symlink", mode: 0o755, size: 0 }, /missing or invalid link target/],
    [{ name: "d", type: "directory", mode: 0o755, size: 0, linkname: "x" }, /no link target/],
    [{ name: "d", type: "directory", mode: 0o755, size: 1 }, /has no body/],
    [{ name: "f", type: "file", mode: 0o10000, size: 0 }, /mode/],
    [{ name: "", type: "file", mode: 0o644, size: 0 }, /empty name/],
  ];
  for (const [entry, message] of cases) {
    await assert.rejects(collect(createTarStream(fromList([entry]))), (error) => {
      assert.ok(error instanceof TarEntryError);
      assert.match(error.message, message);
      return true;
    });
  }
});
