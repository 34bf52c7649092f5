/**
 * The sbang post-install step with real files and real executions (Spack relocation reference
 * §1.9, cases S01–S17, H04).
 */
import assert from "node:assert/strict";
import {
  filterShebangsInPrefix,
  installSbang,
  patchShebang,
  sbangInstallPath,
  SbangPathError,
  SHEBANG_LIMIT,
} from "../../lib/relocate/sbang.ts";
import { RelocationError } from "../../lib/errors.ts";
import { run } from "./_elf_build.ts";

const SBANG = "/sb/bin/sbang";
const SBANG_LINE = `#!/bin/sh ${SBANG}\n`;
const enc = new TextEncoder();

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spackle-sbang-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A shebang line `#!<path>` (no newline) of exactly `length` bytes whose interpreter ends in `name`. */
function shebang(length: number, name = "python3"): string {
  const head = "#!/";
  const tail = `/bin/${name}`;
  return head + "x".repeat(length - head.length - tail.length) + tail;
}

async function writeScript(
  path: string,
  content: string | Uint8Array,
  mode = 0o755,
): Promise<void> {
  await Deno.writeFile(path, typeof content === "string" ? enc.encode(content) : content);
  await Deno.chmod(path, mode);
}

/** Asserts that patchShebang leaves the file as it was, bytes and inode. */
async function assertUnchanged(path: string): Promise<void> {
  const before = await Deno.readFile(path);
  const inode = (await Deno.stat(path)).ino;
  assert.equal(await patchShebang(path, SBANG), false);
  assert.deepEqual(await Deno.readFile(path), before);
  assert.equal((await Deno.stat(path)).ino, inode);
}

/** Asserts that patchShebang prepends the sbang line and keeps `expectedRest` after it. */
async function assertPatched(path: string, expectedRest: Uint8Array): Promise<void> {
  assert.equal(await patchShebang(path, SBANG), true);
  const after = await Deno.readFile(path);
  assert.deepEqual(after, new Uint8Array([...enc.encode(SBANG_LINE), ...expectedRest]));
}

Deno.test("S01/S02: a 127-byte line (newline included) is kept, a 128-byte line is patched", async () => {
  await withTemp(async (dir) => {
    await writeScript(`${dir}/short`, `${shebang(126)}\necho hi\n`);
    await assertUnchanged(`${dir}/short`);
    const original = `${shebang(127)}\necho hi\n`;
    await writeScript(`${dir}/long`, original);
    await assertPatched(`${dir}/long`, enc.encode(original));
    assert.equal((await Deno.stat(`${dir}/long`)).mode! & 0o7777, 0o755);
  });
});

Deno.test("S03/S04: without a newline, 127 bytes are kept and 128 bytes are patched", async () => {
  await withTemp(async (dir) => {
    await writeScript(`${dir}/s03`, shebang(127));
    await assertUnchanged(`${dir}/s03`);
    await writeScript(`${dir}/s04`, shebang(128));
    await assertPatched(`${dir}/s04`, enc.encode(shebang(128)));
  });
});

Deno.test("S05–S07: lua, luajit and node keep their line as --! and //!", async () => {
  await withTemp(async (dir) => {
    for (const [name, lead] of [["lua", "--!"], ["luajit", "--!"], ["node", "//!"]]) {
      const line = shebang(140, name);
      await writeScript(`${dir}/${name}`, `${line}\nprint(1)\n`);
      await assertPatched(`${dir}/${name}`, enc.encode(`${lead}${line.slice(2)}\nprint(1)\n`));
    }
  });
});

Deno.test("S08: php keeps the line as <?php #!… and ' ?>' lands at the start of line 3", async () => {
  await withTemp(async (dir) => {
    const line = shebang(140, "php");
    await writeScript(`${dir}/php`, `${line}\n<?php echo 1; ?>\n`);
    await assertPatched(`${dir}/php`, enc.encode(`<?php ${line}\n ?><?php echo 1; ?>\n`));
  });
});

Deno.test("S09/S15: files without an execute bit are never patched", async () => {
  await withTemp(async (dir) => {
    await writeScript(`${dir}/s09`, `${shebang(200)}\n`, 0o644);
    await assertUnchanged(`${dir}/s09`);
    await writeScript(
      `${dir}/s15`,
      new Uint8Array([0x23, 0x21, ...new Uint8Array(127).fill(0x80)]),
      0o644,
    );
    await assertUnchanged(`${dir}/s15`);
  });
});

Deno.test("S10: a read-only executable is patched and keeps mode 0555", async () => {
  await withTemp(async (dir) => {
    const original = `${shebang(150)}\necho hi\n`;
    await writeScript(`${dir}/ro`, original, 0o555);
    await assertPatched(`${dir}/ro`, enc.encode(original));
    assert.equal((await Deno.stat(`${dir}/ro`)).mode! & 0o7777, 0o555);
    // No temporary file is left behind.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ro"]);
  });
});

Deno.test("S11: only blanks after #! is not an interpreter", async () => {
  await withTemp(async (dir) => {
    await writeScript(`${dir}/blank`, `#!${" \t".repeat(68)}\n`);
    assert.equal((await Deno.readFile(`${dir}/blank`)).indexOf(0x0a), 138); // a 139-byte line
    await assertUnchanged(`${dir}/blank`);
  });
});

Deno.test("S12: lines of 4095 bytes are patched; 4096 bytes or more are not, newline or not", async () => {
  await withTemp(async (dir) => {
    const patched = `${shebang(4094)}\necho\n`;
    await writeScript(`${dir}/4095`, patched);
    await assertPatched(`${dir}/4095`, enc.encode(patched));
    await writeScript(`${dir}/4096`, `${shebang(4095)}\necho\n`);
    await assertUnchanged(`${dir}/4096`);
    await writeScript(`${dir}/5002`, `${shebang(5001)}\necho\n`);
    await assertUnchanged(`${dir}/5002`);
    await writeScript(`${dir}/4096-no-newline`, shebang(4096));
    await assertUnchanged(`${dir}/4096-no-newline`);
  });
});

Deno.test("S13/S16: a script already using sbang is not patched twice", async () => {
  await withTemp(async (dir) => {
    await writeScript(`${dir}/s13`, `${SBANG_LINE}${shebang(200)}\necho\n`);
    await assertUnchanged(`${dir}/s13`);
    // A sbang path so long that its own line is over the limit is still recognised.
    const longSbang = `/${"s".repeat(SHEBANG_LIMIT - "/bin/sbang".length - 1)}/bin/sbang`;
    assert.equal(longSbang.length, SHEBANG_LIMIT);
    await writeScript(`${dir}/long-sbang`, `#!/bin/sh ${longSbang}\n${shebang(200)}\n`);
    assert.equal(await patchShebang(`${dir}/long-sbang`, longSbang), false);
  });
});

Deno.test("S14: non-UTF-8 bytes are preserved", async () => {
  await withTemp(async (dir) => {
    const original = new Uint8Array([
      0x23,
      0x21,
      ...new Uint8Array(127).fill(0xa9),
      0x0a,
      0xe9,
      0x0a,
    ]);
    await writeScript(`${dir}/latin1`, original);
    await assertPatched(`${dir}/latin1`, original);
  });
});

Deno.test("S17: an sbang path over 127 bytes raises SbangPathError and writes nothing", async () => {
  await withTemp(async (dir) => {
    const fits = `${dir}/${"r".repeat(SHEBANG_LIMIT - dir.length - "/bin/sbang".length - 1)}`;
    assert.equal(sbangInstallPath(fits).length, SHEBANG_LIMIT);
    assert.equal(await installSbang(fits), `${fits}/bin/sbang`);

    const tooLong = `${fits}r`;
    const isPathError = (err: unknown) => {
      assert.ok(err instanceof SbangPathError);
      assert.ok(err instanceof RelocationError);
      assert.equal(err.code, "SBANG_PATH");
      assert.equal(err.length, SHEBANG_LIMIT + 1);
      return true;
    };
    assert.throws(() => sbangInstallPath(tooLong), isPathError);
    await assert.rejects(installSbang(tooLong), isPathError);
    await assert.rejects(Deno.stat(tooLong), Deno.errors.NotFound);
    await writeScript(`${dir}/script`, `${shebang(200)}\n`);
    await assert.rejects(patchShebang(`${dir}/script`, `${tooLong}/bin/sbang`), SbangPathError);
  });
});

Deno.test("H04: patching breaks hard links, as in Spack; the other name keeps the old line", async () => {
  await withTemp(async (dir) => {
    const original = `${shebang(200)}\necho\n`;
    await writeScript(`${dir}/a`, original);
    await Deno.link(`${dir}/a`, `${dir}/b`);
    assert.equal(await patchShebang(`${dir}/a`, SBANG), true);
    assert.notEqual((await Deno.stat(`${dir}/a`)).ino, (await Deno.stat(`${dir}/b`)).ino);
    assert.equal(await Deno.readTextFile(`${dir}/b`), original);
  });
});

Deno.test("symlinks are never patched, nor followed", async () => {
  await withTemp(async (dir) => {
    await writeScript(`${dir}/target`, `${shebang(200)}\n`);
    await Deno.symlink("target", `${dir}/link`);
    assert.equal(await patchShebang(`${dir}/link`, SBANG), false);
    assert.ok((await Deno.lstat(`${dir}/link`)).isSymlink);
    assert.equal(await Deno.readTextFile(`${dir}/target`), `${shebang(200)}\n`);
  });
});

Deno.test("filterShebangsInPrefix patches executables, skips .spack/, links and short lines", async () => {
  await withTemp(async (dir) => {
    const prefix = `${dir}/prefix`;
    for (const sub of ["bin", "lib/deep", ".spack", "share"]) {
      await Deno.mkdir(`${prefix}/${sub}`, { recursive: true });
    }
    const long = `${shebang(200)}\necho\n`;
    await writeScript(`${prefix}/bin/tool`, long);
    await writeScript(`${prefix}/bin/short`, "#!/bin/sh\necho\n");
    await writeScript(`${prefix}/lib/deep/helper`, long);
    await writeScript(`${prefix}/.spack/hook`, long);
    await writeScript(`${prefix}/share/data`, long, 0o644);
    await Deno.symlink("tool", `${prefix}/bin/tool-link`);
    await Deno.symlink(`${prefix}/bin`, `${prefix}/bin-link`);

    assert.deepEqual(await filterShebangsInPrefix(prefix, SBANG), ["bin/tool", "lib/deep/helper"]);
    assert.equal(await Deno.readTextFile(`${prefix}/.spack/hook`), long);
    assert.equal(await Deno.readTextFile(`${prefix}/share/data`), long);
    assert.deepEqual(await filterShebangsInPrefix(prefix, SBANG), []);
  });
});

Deno.test("installSbang writes an executable 0755 file atomically and keeps an identical one", async () => {
  await withTemp(async (dir) => {
    const path = await installSbang(`${dir}/root/`);
    assert.equal(path, `${dir}/root/bin/sbang`);
    const stat = await Deno.stat(path);
    assert.equal(stat.mode! & 0o7777, 0o755);
    assert.equal(await installSbang(`${dir}/root`), path);
    assert.equal((await Deno.stat(path)).ino, stat.ino);

    await Deno.writeTextFile(path, "#!/bin/sh\nexit 3\n");
    await installSbang(`${dir}/root`);
    assert.notEqual((await Deno.readTextFile(path)).includes("exit 3"), true);
    assert.deepEqual([...Deno.readDirSync(`${dir}/root/bin`)].map((e) => e.name), ["sbang"]);
  });
});

/**
 * Makes `<dir>/<200 x's>/bin/` (so any `#!` line naming it is over the limit) holding a copy of
 * the host's /bin/sh as `sh`, a symlink to perl, and fake lua/node/php interpreters that print
 * what they were run with.
 */
async function longInterpreterDir(dir: string): Promise<string> {
  const bin = `${dir}/${"x".repeat(200)}/bin`;
  await Deno.mkdir(bin, { recursive: true });
  await Deno.copyFile(await Deno.realPath("/bin/sh"), `${bin}/sh`);
  await Deno.chmod(`${bin}/sh`, 0o755);
  await Deno.symlink(await Deno.realPath("/usr/bin/perl"), `${bin}/perl`);
  for (const name of ["lua", "node", "php"]) {
    await writeScript(`${bin}/${name}`, `#!/bin/sh\necho "${name} got: $*"\n`);
  }
  return bin;
}

Deno.test("patched scripts run through the installed sbang with their real interpreter", async () => {
  await withTemp(async (dir) => {
    const sbang = await installSbang(`${dir}/root`);
    const bin = await longInterpreterDir(dir);
    const scripts = `${dir}/scripts`;
    await Deno.mkdir(scripts);
    const env = { PATH: "/usr/bin:/bin" };

    await writeScript(`${scripts}/hello`, `#!${bin}/sh -e\necho "sh ran with $# args: $1|$2"\n`);
    await writeScript(`${scripts}/hello.pl`, `#!${bin}/perl -w\nprint "perl ran: @ARGV\\n";\n`);
    for (const name of ["lua", "node", "php"]) {
      await writeScript(`${scripts}/${name}`, `#!${bin}/${name}\n`);
    }
    assert.deepEqual(await filterShebangsInPrefix(scripts, sbang), [
      "hello",
      "hello.pl",
      "lua",
      "node",
      "php",
    ]);
    assert.ok(
      (await Deno.readTextFile(`${scripts}/hello`)).startsWith(
        `#!/bin/sh ${sbang}\n#!${bin}/sh -e\n`,
      ),
    );

    const sh = await run(`${scripts}/hello`, ["a b", "*"], { env, cwd: dir });
    assert.equal(sh.stderr, "");
    assert.equal(sh.stdout, "sh ran with 2 args: a b|*\n");
    // perl would obey line 1 and run /bin/sh without -x: this proves sbang passes it.
    const pl = await run(`${scripts}/hello.pl`, ["x", "y"], { env });
    assert.equal(pl.stdout, "perl ran: x y\n", pl.stderr);
    for (const name of ["lua", "node", "php"]) {
      const out = await run(`${scripts}/${name}`, ["arg"], { env });
      assert.equal(out.stdout, `${name} got: ${scripts}/${name} arg\n`, out.stderr);
    }
  });
});

Deno.test("sbang refuses a script whose interpreter line is sbang itself", async () => {
  await withTemp(async (dir) => {
    const sbang = await installSbang(`${dir}/root`);
    await writeScript(`${dir}/loop`, `#!/bin/sh ${sbang}\nno interpreter here\n`);
    const out = await run(`${dir}/loop`, [], { env: { PATH: "/usr/bin:/bin" } });
    assert.equal(out.code, 1);
    assert.match(out.stderr, /refusing to run sbang on itself/);
  });
});
