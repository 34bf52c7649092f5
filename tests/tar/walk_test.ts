import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../lib/errors.ts";
import {
  createTarStream,
  type TarEntry,
  TarEntryError,
  type WalkedEntry,
  walkPrefix,
} from "../../lib/tar/mod.ts";
import { collect, run } from "./_util.ts";

const MEMBER_PREFIX = "opt/spack/linux-x86_64/pkg-1.0-abc";

/** File contents makePrefix writes, by prefix-relative path. */
const CONTENTS = new Map<string, string>();

/** A prefix with every kind of thing a walk meets, at a path unrelated to its member prefix. */
async function makePrefix(root: string): Promise<string> {
  const prefix = join(root, "copied", "somewhere", "pkg");
  const write = async (path: string, body: string, mode: number) => {
    CONTENTS.set(path, body);
    await Deno.mkdir(join(prefix, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(prefix, path), body);
    await Deno.chmod(join(prefix, path), mode);
  };
  await write(".spack/binary_distribution", "{old: buildinfo}\n", 0o644);
  await write(".spack/spec.json", "{}", 0o600);
  await write("Zeta.txt", "upper case sorts first\n", 0o644);
  await write("top.txt", "top\n", 0o664);
  await write("bin/tool", "#!/bin/sh\n", 0o700);
  await write("bin/script", "#!/bin/sh\necho\n", 0o640);
  await write("lib/libx.so.1", "\x7fELF", 0o755);
  await Deno.symlink("libx.so.1", join(prefix, "lib/libx.so"));
  await Deno.symlink("/bin/sh", join(prefix, "lib/abs"));
  await run("mkfifo", [join(prefix, "lib/fifo")]);
  await write("share/a.txt", "shared\n", 0o644);
  await Deno.link(join(prefix, "share/a.txt"), join(prefix, "share/b.txt"));
  await write("share/sub/c.txt", "c\n", 0o644);
  await Deno.symlink("sub", join(prefix, "share/dirlink"));
  // Another name of the buildinfo file: skipped too, since Spack matches it by inode.
  await Deno.link(join(prefix, ".spack/binary_distribution"), join(prefix, "share/buildinfo-copy"));
  await Deno.mkdir(join(prefix, "empty"));
  // U+FF5E sorts before U+1F600 by code point, after it by UTF-16 code unit.
  await write("unicode/\u{1F600}", "", 0o644);
  await write("unicode/\u{FF5E}", "", 0o644);
  return prefix;
}

// The member list Spack's rules (§2.3) give for makePrefix: parents, then depth-first pre-order
// with non-directories before sub-directories, each group in code-point order.
const EXPECTED: [string, TarEntry["type"], number, string?][] = [
  ["opt", "directory", 0o755],
  ["opt/spack", "directory", 0o755],
  ["opt/spack/linux-x86_64", "directory", 0o755],
  ["", "directory", 0o755],
  ["Zeta.txt", "file", 0o644],
  ["top.txt", "file", 0o644],
  [".spack", "directory", 0o755],
  [".spack/spec.json", "file", 0o644],
  ["bin", "directory", 0o755],
  ["bin/script", "file", 0o644],
  ["bin/tool", "file", 0o755],
  ["empty", "directory", 0o755],
  ["lib", "directory", 0o755],
  ["lib/abs", "symlink", 0o755, "/bin/sh"],
  ["lib/libx.so", "symlink", 0o755, "libx.so.1"],
  ["lib/libx.so.1", "file", 0o755],
  ["share", "directory", 0o755],
  ["share/a.txt", "file", 0o644],
  ["share/b.txt", "hardlink", 0o644, `${MEMBER_PREFIX}/share/a.txt`],
  ["share/dirlink", "symlink", 0o755, "sub"],
  ["share/sub", "directory", 0o755],
  ["share/sub/c.txt", "file", 0o644],
  ["unicode", "directory", 0o755],
  ["unicode/\u{FF5E}", "file", 0o644],
  ["unicode/\u{1F600}", "file", 0o644],
];

const memberName = (relative: string, index: number) =>
  index < 3 ? relative : relative === "" ? MEMBER_PREFIX : `${MEMBER_PREFIX}/${relative}`;

Deno.test("walkPrefix yields Spack's members, order, modes and links", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const prefix = await makePrefix(tmp);
    const walked: WalkedEntry[] = await Array.fromAsync(
      walkPrefix(prefix, { memberPrefix: MEMBER_PREFIX }),
    );
    assert.deepEqual(
      walked.map((e) => [e.name, e.type, e.mode, e.linkname]),
      EXPECTED.map((
        [relative, type, mode, link],
        i,
      ) => [memberName(relative, i), type, mode, link]),
    );
    assert.deepEqual(
      walked.map((e) => [e.relativePath, e.sourcePath]),
      EXPECTED.map(([relative], i) =>
        i < 3
          ? [["../../..", "../..", ".."][i], undefined]
          : [relative || ".", relative ? join(prefix, relative) : prefix]
      ),
    );
    for (const entry of walked.filter((e) => e.type === "file")) {
      assert.equal(entry.size, new TextEncoder().encode(CONTENTS.get(entry.relativePath)).length);
    }
    // Bodies open their file only when pulled (no handle leaks for the unread ones).
    const tool = walked.find((e) => e.name.endsWith("bin/tool"))!;
    assert.equal(
      new TextDecoder().decode(await collect(tool.body as ReadableStream)),
      "#!/bin/sh\n",
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("GNU tar lists and extracts a walked prefix (names, targets, modes, one inode)", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const prefix = await makePrefix(tmp);
    const archive = join(tmp, "pkg.tar");
    await Deno.writeFile(
      archive,
      createTarStream(walkPrefix(prefix, { memberPrefix: MEMBER_PREFIX })),
    );
    const listing =
      (await run("env", ["LC_ALL=C.UTF-8", "tar", "--numeric-owner", "-tvf", archive]))
        .trimEnd().split("\n");
    const expectedListing = EXPECTED.map(([relative, type, mode, link], i) => {
      const name = memberName(relative, i) + (type === "directory" ? "/" : "");
      const letter = { file: "-", directory: "d", symlink: "l", hardlink: "h" }[type];
      const perms = [6, 3, 0].map((shift) =>
        ["---", "--x", "-w-", "-wx", "r--", "r-x", "rw-", "rwx"][(mode >> shift) & 7]
      ).join("");
      const suffix = type === "symlink"
        ? ` -> ${link}`
        : type === "hardlink"
        ? ` link to ${link}`
        : "";
      return `${letter}${perms} 0/0 ${name}${suffix}`;
    });
    // Drop the size and date columns, checked elsewhere.
    assert.deepEqual(
      listing.map((line) => line.replace(/^(\S+ \S+)\s+\d+ 1970-01-01 00:00 /, "$1 ")),
      expectedListing,
    );

    const out = join(tmp, "out");
    await Deno.mkdir(out);
    await run("tar", ["-xf", archive, "-C", out]);
    const root = join(out, MEMBER_PREFIX);
    assert.equal(
      (await Deno.lstat(join(root, "share/b.txt"))).ino,
      (await Deno.lstat(join(root, "share/a.txt"))).ino,
    );
    assert.equal(await Deno.readLink(join(root, "share/dirlink")), "sub");
    assert.equal(await Deno.readTextFile(join(root, "bin/tool")), "#!/bin/sh\n");
    assert.equal((await Deno.stat(join(root, "bin/tool"))).mode! & 0o777, 0o755);
    await assert.rejects(
      Deno.lstat(join(root, ".spack/binary_distribution")),
      Deno.errors.NotFound,
    );
    await assert.rejects(Deno.lstat(join(root, "lib/fifo")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a file that changes size between walk and write fails the tar stream", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    for (const [change, message] of [["grow", /more than 4 bytes/], ["shrink", /yields 2 bytes/]]) {
      const dir = join(tmp, change as string);
      await Deno.mkdir(dir);
      await Deno.writeTextFile(join(dir, "data"), "four");
      const entries = (async function* () {
        for await (const entry of walkPrefix(dir, { memberPrefix: "opt/pkg" })) {
          // The walk has sized the file; change it before the writer reads the body.
          if (entry.type === "file") {
            await Deno.writeTextFile(join(dir, "data"), change === "grow" ? "longer" : "ab");
          }
          yield entry;
        }
      })();
      await assert.rejects(collect(createTarStream(entries)), (error) => {
        assert.ok(error instanceof TarEntryError);
        assert.match(error.message, message as RegExp);
        return true;
      });
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("walkPrefix refuses a member prefix that is not a relative install path", async () => {
  for (const memberPrefix of ["", "/opt/pkg", "opt//pkg", "opt/../pkg", "opt/./pkg", "opt/pkg/"]) {
    await assert.rejects(Array.fromAsync(walkPrefix(".", { memberPrefix })), UsageError);
  }
});
