/**
 * `spackle mirror …` (lib/cli/mirror.ts) on temporary files: Spack's flags, the YAML they write,
 * the messages Spack prints, and the flags Spack 1.2 refuses (reference §5.3, §7).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CommanderError } from "commander";
import { mirrorCommand } from "../../lib/cli/mirror.ts";
import { MirrorError } from "../../lib/config/mod.ts";
import { UsageError } from "../../lib/errors.ts";
import { withTempDir } from "../_support/temp.ts";

async function mirror(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ lines: string[]; warnings: string[] }> {
  const lines: string[] = [];
  const warnings: string[] = [];
  const cmd = mirrorCommand({ env, out: (l) => lines.push(l), warn: (w) => warnings.push(w) });
  // Keep commander's usage messages out of the test output; errors still throw (exitOverride).
  for (const c of [cmd, ...cmd.commands]) {
    c.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  }
  await cmd.parseAsync(args, { from: "user" });
  return { lines, warnings };
}

Deno.test("mirror add/set/set-url/list/rm on one file, with Spack's YAML and output", async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, "mirrors.yaml");
    await mirror([
      "add",
      "--file",
      f,
      "--unsigned",
      "--autopush",
      "--type",
      "binary",
      "s3m",
      "s3://bucket/cache",
    ]);
    await mirror([
      "add",
      "--file",
      f,
      "--oci-username-variable",
      "REGISTRY_USER",
      "--oci-password-variable",
      "REGISTRY_TOKEN",
      "registry",
      "oci://ghcr.io/me/cache",
    ]);
    await mirror(["add", "--file", f, "local", "/srv/cache"]);
    assert.equal(
      await Deno.readTextFile(f),
      `mirrors:
  local: /srv/cache
  registry:
    url: oci://ghcr.io/me/cache
    access_pair:
      id_variable: REGISTRY_USER
      secret_variable: REGISTRY_TOKEN
  s3m:
    url: s3://bucket/cache
    binary: true
    source: false
    autopush: true
    signed: false
`,
    );
    await mirror(["set-url", "--file", f, "--push", "s3m", "s3://other/push"]);
    await mirror(["set", "--file", f, "--type", "source", "--type", "binary", "local"]);
    const { lines } = await mirror(["list", "--file", f]);
    assert.deepEqual(lines, [
      "local    [sb] file:///srv/cache",
      "registry [sb] oci://ghcr.io/me/cache",
      "s3m      [ b] fetch: s3://bucket/cache push: s3://other/push",
    ]);
    assert.ok(
      (await Deno.readTextFile(f)).includes(
        "  local:\n    url: /srv/cache\n    binary: true\n    source: true\n",
      ),
    );

    const unchanged = await mirror(["set", "--file", f, "--push", "--type", "binary", "s3m"]);
    assert.deepEqual(unchanged.lines, ["No changes made to mirror s3m."]);

    const removed = await mirror(["rm", "--file", f, "registry"]);
    assert.deepEqual(removed.lines, [`Removed mirror registry from ${f} scope`]);
    await assert.rejects(
      mirror(["remove", "--file", f, "registry"]),
      (e: unknown) =>
        e instanceof MirrorError && e.message === `No mirror with name registry in ${f} scope`,
    );
    await assert.rejects(
      mirror(["add", "--file", f, "local", "/x"]),
      (e: unknown) => e instanceof MirrorError && e.code === "MIRROR_EXISTS",
    );
  });
});

Deno.test("mirror add: a literal OCI user, S3 pairs, and OCI overriding S3", async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, "mirrors.yaml");
    await mirror([
      "add",
      "--file",
      f,
      "--s3-access-key-id-variable",
      "AWS_ID",
      "--s3-access-key-secret-variable",
      "AWS_SECRET",
      "--s3-access-token-variable",
      "AWS_TOKEN",
      "--s3-profile",
      "prof",
      "--s3-endpoint-url",
      "https://s3.example.com",
      "both",
      "s3://b/c",
    ]);
    await mirror([
      "add",
      "--file",
      f,
      "--s3-access-key-id",
      "AKID",
      "--s3-access-key-secret-variable",
      "AWS_SECRET",
      "--oci-username",
      "me",
      "--oci-password-variable",
      "TOKEN",
      "oci",
      "oci://ghcr.io/me/x",
    ]);
    assert.equal(
      await Deno.readTextFile(f),
      `mirrors:
  oci:
    url: oci://ghcr.io/me/x
    access_pair:
      id: me
      secret_variable: TOKEN
  both:
    url: s3://b/c
    access_pair:
      id_variable: AWS_ID
      secret_variable: AWS_SECRET
    access_token_variable: AWS_TOKEN
    profile: prof
    endpoint_url: https://s3.example.com
`,
    );
  });
});

Deno.test("half an access pair warns and writes no access_pair", async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, "mirrors.yaml");
    const { warnings } = await mirror([
      "add",
      "--file",
      f,
      "--oci-username",
      "me",
      "r",
      "oci://r.example/x",
    ]);
    assert.deepEqual(warnings, [
      "Expected both parts of the access pair to be specified. " +
      "(i.e. --oci-username and --oci-password-variable)",
    ]);
    assert.equal(await Deno.readTextFile(f), "mirrors:\n  r: oci://r.example/x\n");
  });
});

Deno.test("flags that would store a secret are refused; bad flag values are usage errors", async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, "mirrors.yaml");
    for (
      const [flag, instead] of [
        ["--oci-password", "--oci-password-variable"],
        ["--s3-access-key-secret", "--s3-access-key-secret-variable"],
        ["--s3-access-token", "--s3-access-token-variable"],
      ]
    ) {
      await assert.rejects(
        mirror(["add", "--file", f, flag, "hunter2", "m", "oci://r.example/x"]),
        (e: unknown) =>
          e instanceof UsageError && e.message.includes(instead) && !e.message.includes("hunter2"),
      );
    }
    await assert.rejects(Deno.stat(f), Deno.errors.NotFound);
    for (
      const args of [
        ["add", "--file", f, "--type", "both", "m", "/x"],
        ["add", "--file", f, "--signed", "--unsigned", "m", "/x"],
        ["add", "--file", f, "--oci-username", "a", "--oci-username-variable", "B", "m", "/x"],
        ["set", "--file", f, "--push", "--fetch", "m"],
        ["add", "--file", f, "m"],
      ]
    ) {
      await assert.rejects(mirror(args), CommanderError, args.join(" "));
    }
  });
});

Deno.test("--scope: user (SPACK_USER_CONFIG_PATH or ~/.spack), env:PATH, active SPACK_ENV", async () => {
  await withTempDir(async (dir) => {
    const home = join(dir, "home");
    await mirror(["add", "--scope", "user", "u", "/u"], { HOME: home });
    assert.equal(await Deno.readTextFile(join(home, ".spack/mirrors.yaml")), "mirrors:\n  u: /u\n");
    await mirror(["add", "c", "/c"], { HOME: home, SPACK_USER_CONFIG_PATH: join(dir, "cfg") });
    assert.equal(await Deno.readTextFile(join(dir, "cfg/mirrors.yaml")), "mirrors:\n  c: /c\n");

    await Deno.mkdir(join(dir, "env"));
    await Deno.writeTextFile(join(dir, "env/spack.yaml"), "spack:\n  specs: []\n");
    await mirror(["add", "--scope", `env:${dir}/env`, "e", "/e"], { HOME: home });
    await mirror(["add", "e2", "/e2"], { HOME: home, SPACK_ENV: join(dir, "env") });
    assert.equal(
      await Deno.readTextFile(join(dir, "env/spack.yaml")),
      "spack:\n  specs: []\n  mirrors:\n    e2: /e2\n    e: /e\n",
    );

    // list without a scope merges every scope: environment first, then user.
    const env = {
      HOME: home,
      SPACK_ENV: join(dir, "env"),
      SPACK_SYSTEM_CONFIG_PATH: join(dir, "etc"),
    };
    assert.deepEqual((await mirror(["list"], env)).lines, [
      "e2 [sb] file:///e2",
      "e  [sb] file:///e",
      "u  [sb] file:///u",
    ]);
    assert.deepEqual((await mirror(["list", "--scope", "user"], env)).lines, ["u [sb] file:///u"]);
    assert.deepEqual(
      (await mirror(["list"], { HOME: join(dir, "nobody"), SPACK_DISABLE_LOCAL_CONFIG: "1" }))
        .lines,
      ["No mirrors configured."],
    );

    // rm --all-scopes removes the mirror wherever it is.
    await mirror(["add", "--scope", "user", "e", "/user-e"], env);
    const removed = await mirror(["rm", "--all-scopes", "e"], env);
    assert.deepEqual(removed.lines, [
      "Removed mirror e from user scope",
      "Removed mirror e from env scope",
    ]);
    await assert.rejects(mirror(["add", "--scope", "site", "s", "/s"], env), UsageError);
  });
});
