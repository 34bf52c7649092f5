import assert from "node:assert/strict";
import { join } from "node:path";
import { SAMPLE_STORE as SAMPLE, spackleWithEnv } from "../_support/cli.ts";
import { startRegistry } from "../_support/registry.ts";
import { S3RVER_KEYS, startS3 } from "../_support/s3.ts";
import { withTempDir } from "../_support/temp.ts";

/** Runs `bin/hello` of the last prefix an install printed. */
async function runHello(installOut: string): Promise<string> {
  const prefix = installOut.trim().split("\n").at(-1)!;
  const run = await new Deno.Command(join(prefix, "bin", "hello")).output();
  return new TextDecoder().decode(run.stdout);
}

Deno.test("CLI: mirror names from `spackle mirror add` work as URLs, with S3 and registry secrets from variables", async () => {
  const s3 = await startS3(["cache"]);
  const password = "s3cr3t-Pa55word";
  const registry = await startRegistry({
    auth: "htpasswd",
    users: [{ username: "ci", password }],
  });
  try {
    await withTempDir(async (work) => {
      const env = {
        SPACK_USER_CONFIG_PATH: join(work, "user"),
        SPACK_SYSTEM_CONFIG_PATH: join(work, "system"),
        S3_ID: S3RVER_KEYS.accessKeyId,
        S3_SECRET: S3RVER_KEYS.secretAccessKey,
        REG_USER: "ci",
        REG_PASSWORD: password,
      };
      const run = (...args: string[]) => spackleWithEnv(env, ...args);
      const added = await run(
        "mirror",
        "add",
        "--scope",
        "user",
        "--unsigned",
        "--s3-endpoint-url",
        s3.endpoint,
        "--s3-access-key-id-variable",
        "S3_ID",
        "--s3-access-key-secret-variable",
        "S3_SECRET",
        "bucket",
        "s3://cache/spack",
      );
      assert.equal(added.code, 0, added.stderr);
      const addedOci = await run(
        "mirror",
        "add",
        "--scope",
        "user",
        "--oci-username-variable",
        "REG_USER",
        "--oci-password-variable",
        "REG_PASSWORD",
        "registry",
        `oci+http://${registry.host}/team/cache`,
      );
      assert.equal(addedOci.code, 0, addedOci.stderr);
      const yaml = await Deno.readTextFile(join(work, "user", "mirrors.yaml"));
      assert.ok(!yaml.includes(password) && !yaml.includes(S3RVER_KEYS.secretAccessKey));
      assert.match(yaml, /secret_variable: S3_SECRET/);
      const listed = await run("mirror", "list");
      assert.match(listed.stdout, /^bucket\s.*s3:\/\/cache\/spack/m);

      for (const name of ["bucket", "registry"]) {
        const push = await run("push", name, "--store", SAMPLE, "--update-index");
        assert.equal(push.code, 0, push.stderr);
        const list = await run("list", name);
        assert.match(list.stdout, /sample-hello@1\.0/, name);
        // `signed: false` (bucket) and OCI (never signed) install without signatures.
        const install = await run("install", name, "sample-hello", "--root", join(work, name));
        assert.equal(install.code, 0, install.stderr);
        assert.match(await runHello(install.stdout), /RESULT OK/);
        for (const out of [push, list, install]) {
          assert.ok(!(out.stdout + out.stderr).includes(password));
        }
      }

      // A missing variable is an error naming it; a wrong password never shows.
      const { REG_PASSWORD: _, ...noPassword } = env;
      const missing = await spackleWithEnv(noPassword, "list", "registry");
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /REG_PASSWORD/);
      const wrong = await spackleWithEnv(
        { ...env, REG_PASSWORD: "wrong-pw-123" },
        "list",
        "registry",
      );
      assert.equal(wrong.code, 1);
      assert.ok(!wrong.stderr.includes("wrong-pw-123"), wrong.stderr);
      const unknown = await run("list", "nosuchmirror");
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /nosuchmirror/);
    });
  } finally {
    await registry.stop();
    await s3.stop();
  }
});
