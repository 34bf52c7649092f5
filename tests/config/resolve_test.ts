/**
 * Resolving a mirror name or URL for fetch or push: URLs, signing, OCI and S3 credentials from
 * the named environment variables only (reference §5.1, §4.11, §7).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  loadMirrorsConfig,
  mirrorCredentialProvider,
  MirrorCredentialsError,
  MirrorError,
  type MirrorsConfig,
  resolveMirror,
} from "../../lib/config/mod.ts";
import { withTempDir } from "../_support/temp.ts";

const CONFIG = `mirrors:
  ghcr:
    url: oci://ghcr.io/me/cache
    access_pair:
      id: me
      secret_variable: GHCR_TOKEN
  ci:
    url: oci://registry.example:5000/team/cache
    push:
      url: oci://registry.example:5000/team/push
      access_pair:
        id_variable: CI_USER
        secret_variable: CI_PASS
  s3:
    url: s3://bucket/cache
    access_pair:
      id_variable: AWS_ID
      secret_variable: AWS_SECRET
    access_token_variable: AWS_TOKEN
    endpoint_url: https://s3.example.com
    profile: prof
  s3anon:
    url: s3://public/cache
    profile: anon
  local: ../caches/local
  ro:
    fetch: https://ro.example/cache
`;

async function withConfig(fn: (config: MirrorsConfig, dir: string) => void | Promise<void>) {
  await withTempDir(async (dir) => {
    const file = join(dir, "conf/mirrors.yaml");
    await Deno.mkdir(join(dir, "conf"));
    await Deno.writeTextFile(file, CONFIG);
    await fn(await loadMirrorsConfig({ files: [file], userDir: false, env: {} }), dir);
  });
}

Deno.test("OCI: credentials from access_pair, a literal id or an id variable; never signed", async () => {
  await withConfig((config) => {
    const env = { GHCR_TOKEN: "t0ken", CI_USER: "bot", CI_PASS: "pa55" };
    assert.deepEqual(resolveMirror("ghcr", config, "push", env), {
      name: "ghcr",
      url: "oci://ghcr.io/me/cache",
      signed: false,
      credentials: { username: "me", password: "t0ken" },
    });
    // The pair sits in the push block only: fetch is anonymous.
    assert.deepEqual(resolveMirror("ci", config, "fetch", env), {
      name: "ci",
      url: "oci://registry.example:5000/team/cache",
      signed: false,
    });
    assert.deepEqual(resolveMirror("ci", config, "push", env).credentials, {
      username: "bot",
      password: "pa55",
    });
  });
});

Deno.test("S3: key id, secret, session token, endpoint and profile", async () => {
  await withConfig((config) => {
    const env = { AWS_ID: "AKID", AWS_SECRET: "s3cr3t", AWS_TOKEN: "sess" };
    assert.deepEqual(resolveMirror("s3", config, "fetch", env), {
      name: "s3",
      url: "s3://bucket/cache",
      signed: true,
      s3: {
        accessKeyId: "AKID",
        secretAccessKey: "s3cr3t",
        sessionToken: "sess",
        endpointUrl: "https://s3.example.com",
        profile: "prof",
      },
    });
    assert.deepEqual(resolveMirror("s3anon", config, "push", {}).s3, { profile: "anon" });
  });
});

Deno.test("a missing or empty variable is a typed error naming the variable, not any value", async () => {
  await withConfig((config) => {
    for (
      const [name, direction, env, variable] of [
        ["ghcr", "push", {}, "GHCR_TOKEN"],
        ["ghcr", "fetch", { GHCR_TOKEN: "" }, "GHCR_TOKEN"],
        ["ci", "push", { CI_PASS: "pa55" }, "CI_USER"],
        ["s3", "fetch", { AWS_ID: "AKID", AWS_SECRET: "s3cr3t" }, "AWS_TOKEN"],
      ] as const
    ) {
      assert.throws(
        () => resolveMirror(name, config, direction, env),
        (e: unknown) => {
          assert.ok(e instanceof MirrorCredentialsError);
          assert.equal(e.code, "MIRROR_CREDENTIALS");
          assert.equal(e.variable, variable);
          assert.match(e.message, new RegExp(`\`${variable}\``));
          assert.match(e.message, new RegExp(`${direction} configuration for mirror ${name}`));
          for (const value of Object.values(env)) if (value) assert.ok(!e.message.includes(value));
          return true;
        },
      );
    }
  });
});

Deno.test("paths in the configuration resolve to file:// URLs; URLs and paths pass through", async () => {
  await withConfig((config, dir) => {
    assert.deepEqual(resolveMirror("local", config, "push", {}), {
      name: "local",
      url: `file://${dir}/caches/local`,
      signed: true,
    });
    for (const given of ["./cache", "/abs/cache", "oci://ghcr.io/x/y", "s3://b/p", ".", ".."]) {
      const r = resolveMirror(given, config, "fetch", {});
      assert.equal(r.url, given);
      assert.equal(r.name, undefined);
      assert.equal(r.signed, !given.startsWith("oci://"));
    }
  });
});

Deno.test("an unknown bare name and a missing direction URL are MirrorErrors", async () => {
  await withConfig((config) => {
    assert.throws(
      () => resolveMirror("nope", config, "fetch", {}),
      (e: unknown) =>
        e instanceof MirrorError && e.code === "MIRROR_NOT_FOUND" &&
        e.message === 'no mirror named "nope". Did you mean ./nope?',
    );
    assert.equal(resolveMirror("ro", config, "fetch", {}).url, "https://ro.example/cache");
    assert.throws(
      () => resolveMirror("ro", config, "push", {}),
      (e: unknown) => e instanceof MirrorError && e.code === "MIRROR_NO_URL",
    );
  });
});

Deno.test("registry credentials: first mirror whose OCI host matches, push before fetch", async () => {
  await withConfig(async (config) => {
    const provider = mirrorCredentialProvider(config, {
      GHCR_TOKEN: "t0ken",
      CI_USER: "bot",
      CI_PASS: "pa55",
    });
    assert.deepEqual(await provider("ghcr.io"), { username: "me", password: "t0ken" });
    assert.deepEqual(await provider("registry.example:5000"), {
      username: "bot",
      password: "pa55",
    });
    assert.equal(await provider("registry.example"), undefined); // the port is part of the host
    assert.equal(await provider("index.docker.io"), undefined);
    // Unset variables: skipped, anonymous (as Spack's opener).
    assert.equal(await mirrorCredentialProvider(config, {})("ghcr.io"), undefined);
  });
});
