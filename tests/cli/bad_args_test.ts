// Bad arguments, tried as a new user would: every one ends in a one-line `error:` (exit 1 for a
// failed operation, 2 for bad usage with a pointer to --help), never a stack trace, and nothing
// relative or secret is written anywhere.
import assert from "node:assert/strict";
import { join } from "node:path";
import { SAMPLE_STORE as SAMPLE, spackle, spackleIn } from "../_support/cli.ts";
import { startStaticServer } from "../_support/http_server.ts";
import { startRegistry } from "../_support/registry.ts";

type Run = { code: number; stdout: string; stderr: string };

/** A failure reported as one `error:` line (plus the usage pointer for usage errors). */
function assertOneLineError(run: Run, code: 1 | 2, pattern: RegExp): void {
  assert.equal(run.code, code, run.stderr);
  assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
  const lines = run.stderr.trimEnd().split("\n").filter((l) => !/^(\[|warning:)/.test(l));
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
  if (code === 2) assert.match(lines[1], /^\(run 'spackle[a-z -]*--help' for usage\)$/);
  assert.equal(lines.length, code === 2 ? 2 : 1, run.stderr);
}

async function withWork(fn: (work: string) => Promise<void>): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "spackle-badargs-" });
  try {
    await fn(work);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

Deno.test("install --root rel/dir installs absolute prefixes: the program runs", async () => {
  await withWork(async (work) => {
    const cache = join(work, "cache");
    const push = await spackle("push", cache, "--store", SAMPLE, "--update-index", "-j", "1");
    assert.equal(push.code, 0, push.stderr);
    const install = await spackleIn(
      { cwd: work },
      "install",
      "./cache",
      "sample-hello",
      "--root",
      "rel/dir",
      "--no-check-signature",
    );
    assert.equal(install.code, 0, install.stderr);
    const prefixes = install.stdout.trim().split("\n");
    assert.ok(prefixes.every((p) => p.startsWith(`${join(work, "rel/dir")}/`)), install.stdout);
    const hello = prefixes.find((p) => p.includes("sample-hello"))!;
    // Run from elsewhere: relative RPATHs or scripts would break here.
    const run = await new Deno.Command(join(hello, "bin/hello"), { cwd: "/", env: {} }).output();
    assert.match(new TextDecoder().decode(run.stdout), /RESULT OK\n$/);
  });
});

Deno.test("a cache that is not there is an error; an empty one lists as empty", async () => {
  await withWork(async (work) => {
    assertOneLineError(
      await spackle("list", join(work, "typo")),
      1,
      /build cache not found: .*typo: no such directory/,
    );
    assertOneLineError(await spackle("list", "oci:/host/x"), 2, /malformed mirror URL oci:\/host/);
    assertOneLineError(
      await spackle("list", `oci-layout:${join(work, "nope")}`),
      1,
      /build cache not found: .*nope/,
    );
    await Deno.writeTextFile(join(work, "file"), "");
    assertOneLineError(await spackle("list", join(work, "file")), 1, /file: not a directory/);

    await Deno.mkdir(join(work, "empty"));
    const empty = await spackle("list", join(work, "empty"));
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stderr, /^0 cached builds\.$/m);

    const web = await startStaticServer(work);
    try {
      assertOneLineError(
        await spackle("list", `${web.url}/typo`),
        1,
        /build cache not found: http:\/\/127\.0\.0\.1:\d+\/typo: the server answers 404/,
      );
      const served = await spackle("list", `${web.url}/empty`);
      assert.equal(served.code, 0, served.stderr);
    } finally {
      await web.stop();
    }

    const registry = await startRegistry();
    try {
      assertOneLineError(
        await spackle("list", `oci+http://${registry.host}/no/such-repo`),
        1,
        /build cache not found: 127\.0\.0\.1:\d+\/no\/such-repo: the registry has no such repository/,
      );
    } finally {
      await registry.stop();
    }
  });
});

Deno.test("credentials in a URL: used, never printed, never stored", async () => {
  const alice = { username: "alice", password: "s3cret-pw" };
  const registry = await startRegistry({ auth: "htpasswd", users: [alice] });
  try {
    await withWork(async (work) => {
      const url = `oci+http://alice:${alice.password}@${registry.host}/cred/cache`;
      const push = await spackle("push", url, "--store", SAMPLE, "-j", "1", "--update-index");
      assert.equal(push.code, 0, push.stderr);
      assert.ok(!push.stderr.includes(alice.password));
      const list = await spackle("list", url, "--json");
      assert.equal(list.code, 0, list.stderr);
      assert.equal(JSON.parse(list.stdout).length, 2);

      const wrong = await spackle("list", `oci+http://alice:wrong-pw@${registry.host}/cred/cache`);
      assertOneLineError(wrong, 1, /cannot log in to 127\.0\.0\.1/);
      assert.ok(!wrong.stderr.includes("wrong-pw"), wrong.stderr);

      const file = join(work, "mirrors.yaml");
      for (const secretUrl of [url, `s3://key:${alice.password}@bucket/x`]) {
        const add = await spackle("mirror", "add", "--file", file, "m", secretUrl);
        assertOneLineError(add, 2, /refusing to store a password.*--oci-password-variable/);
        assert.ok(!add.stderr.includes(alice.password), add.stderr);
      }
      await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
      // A password someone wrote into the file by hand is not printed by mirror list.
      await Deno.writeTextFile(file, `mirrors:\n  old: ${url}\n`);
      for (const args of [[], ["--json"]]) {
        const listed = await spackle("mirror", "list", "--file", file, ...args);
        assert.equal(listed.code, 0, listed.stderr);
        assert.match(listed.stdout, /oci\+http:\/\/\*\*\*@127\.0\.0\.1/);
        assert.ok(!listed.stdout.includes(alice.password), listed.stdout);
      }
      const s3 = await spackle("list", `s3://key:${alice.password}@bucket/x`);
      assertOneLineError(
        s3,
        2,
        /credentials cannot be written in an s3:\/\/ URL \(s3:\/\/\*\*\*@bucket/,
      );
      assert.ok(!s3.stderr.includes(alice.password), s3.stderr);
    });
  } finally {
    await registry.stop();
  }
});

Deno.test("wrong invocations: one line and exit 1 or 2, never a stack trace", async () => {
  await withWork(async (work) => {
    const file = join(work, "a-file");
    await Deno.writeTextFile(file, "");
    const cache = join(work, "cache");
    const push = await spackle("push", cache, "--store", SAMPLE, "-j", "1");
    assert.equal(push.code, 0, push.stderr);

    assertOneLineError(
      await spackle("install", cache, "sample-hello", "--root", file),
      2,
      /--root.*a-file is not a directory/,
    );
    assertOneLineError(
      await spackle("push", cache, "--store", file),
      2,
      /--store.*a-file is not a directory/,
    );
    assertOneLineError(
      await spackle("keys", "trust", cache, "--into", file),
      2,
      /--into.*not a directory/,
    );
    assertOneLineError(await spackle("copy", cache, file), 1, /a-file: not a directory/);
    assertOneLineError(await spackle("update-index", file), 1, /a-file: not a directory/);
    assertOneLineError(
      await spackle(
        "install",
        cache,
        "sample-hello",
        "--root",
        join(work, "r"),
        "--trust-key",
        join(work, "no-key"),
      ),
      1,
      /no-key/,
    );
    assertOneLineError(
      await spackle(
        "image",
        "compose",
        "sample-hello",
        "--from",
        cache,
        "--target",
        file,
        "--tag",
        "x",
      ),
      1,
      /a-file/,
    );
    assertOneLineError(await spackle("list"), 2, /^error: missing required argument 'mirror'$/);
    assertOneLineError(await spackle("list", cache, "--bogus"), 2, /unknown option '--bogus'/);
    assertOneLineError(await spackle("frobnicate"), 2, /unknown command 'frobnicate'/);
    assertOneLineError(
      await spackle("mirror", "add", "--file", join(work, "m.yaml"), "", cache),
      2,
      /a mirror needs a name and a URL/,
    );
    assertOneLineError(
      await spackle("list", "oci://"),
      1,
      /^error: oci:\/\/: invalid image reference/,
    );
    assert.equal((await spackle("help", "install")).code, 0);
    const compose = ["image", "compose", "sample-hello", "--from", cache, "--target", work];
    assertOneLineError(await spackle(...compose, "--tag", "bad tag!"), 2, /expected a tag/);
    assertOneLineError(
      await spackle(...compose, "--tag", "t", "--created", "yesterday"),
      2,
      /expected an RFC 3339 time/,
    );
    const tooLong = await spackle(
      "install",
      cache,
      "sample-hello",
      "--root",
      join(work, "long"),
      "--padded-length",
      "100000",
      "--no-check-signature",
    );
    assertOneLineError(tooLong, 1, /file name too long$/);
    // /proc takes no new directories: said plainly, in the failed spec's line too.
    const proc = await spackle(
      "install",
      cache,
      "sample-hello",
      "--root",
      "/proc/spackle-x",
      "--no-check-signature",
    );
    assertOneLineError(
      proc,
      1,
      /cannot mkdir \/proc\/spackle-x\/[^ ]*: no such file or directory$/,
    );
    assert.doesNotMatch(proc.stderr, /os error/);
    assertOneLineError(
      await spackle("mirror", "add", "--scope", "env:/proc/spackle-env", "m", cache),
      1,
      /^error: cannot mkdir \/proc\/spackle-env: no such file or directory$/,
    );
    assertOneLineError(
      await spackleIn({ cwd: work }, "mirror", "add", "--scope", "env:", "m", cache),
      2,
      /--scope env:PATH needs/,
    );
    await assert.rejects(Deno.stat(join(work, "spack.yaml")), Deno.errors.NotFound);
    assert.ok(tooLong.stderr.length < 1000, "a path too long to use is shortened");
    assertOneLineError(
      await spackle("push", cache, "--store", SAMPLE, "-j", "x"),
      2,
      /positive integer/,
    );
    assertOneLineError(
      await spackleIn(
        { env: { SPACKLE_READ_TIMEOUT: "soon" } },
        "list",
        "oci+http://127.0.0.1:9/x",
      ),
      2,
      /SPACKLE_READ_TIMEOUT must be a positive number/,
    );
  });
});

Deno.test("usage errors point at --help instead of printing it; help shows no internal defaults", async () => {
  const missing = await spackle("install", "./cache", "x");
  assert.equal(missing.code, 2);
  assert.equal(
    missing.stderr,
    "error: required option '--root <dir>' not specified\n(run 'spackle install --help' for usage)\n",
  );
  for (
    const command of [["install"], ["push"], ["image", "compose"], ["mirror", "add"], ["copy"]]
  ) {
    const help = await spackle(...command, "--help");
    assert.equal(help.code, 0, help.stderr);
    assert.doesNotMatch(help.stdout, /\(default: (\[\]|\{\})\)/, help.stdout);
  }
});
