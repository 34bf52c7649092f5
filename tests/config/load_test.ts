/**
 * Loading Spack's mirror configuration: scope precedence and merge order, `::` overrides, the
 * user configuration path, every Spack 1.2 schema field, path canonicalisation, and every form
 * Spack 1.2 rejects (reference §5.1, §5.2).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  loadMirrorsConfig,
  type MirrorConfigError,
  MirrorConfigError as ConfigError,
  mirrorScopes,
  spackScopes,
} from "../../lib/config/mod.ts";
import { withTempDir } from "../_support/temp.ts";

async function write(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("scopes merge as Spack: higher scope keys first, same mirror merged field by field", async () => {
  await withTempDir(async (dir) => {
    const site = await write(
      dir,
      "site/mirrors.yaml",
      "mirrors:\n  a: https://a.example/cache\n  b:\n    url: https://b.example/site\n    binary: false\n",
    );
    await write(
      dir,
      "home/.spack/mirrors.yaml",
      "mirrors:\n  c: https://c.example\n  b:\n    url: https://b.example/user\n    signed: false\n",
    );
    const envFile = await write(
      dir,
      "env/spack.yaml",
      "spack:\n  specs: [zlib]\n  mirrors:\n    d: oci://ghcr.io/me/cache\n",
    );
    const config = await loadMirrorsConfig({
      siteFile: site,
      envFile,
      env: { HOME: join(dir, "home") },
    });
    assert.deepEqual(config.mirrors.map((m) => m.name), ["d", "c", "b", "a"]);
    const b = config.mirrors.find((m) => m.name === "b")!;
    assert.equal(b.fetch.url, "https://b.example/user");
    assert.equal(b.signed, false);
    assert.equal(b.binary, false); // from the site scope, not overridden by the user scope
    assert.equal(b.file, join(dir, "home/.spack/mirrors.yaml"));
    assert.equal(config.mirrors[0].file, envFile);
    assert.deepEqual(config.scopes.map((s) => [s.name, s.exists]), [
      ["site", true],
      ["user", true],
      ["env", true],
    ]);
  });
});

Deno.test("mirrors:: in a higher scope drops every lower mirror; name:: replaces one mirror", async () => {
  await withTempDir(async (dir) => {
    const site = await write(
      dir,
      "site.yaml",
      "mirrors:\n  spack-public:\n    binary: false\n    url: https://mirror.spack.io\n",
    );
    await write(dir, "user/mirrors.yaml", "mirrors::\n  mine: https://mine.example\n");
    const env = await write(
      dir,
      "spack.yaml",
      "spack:\n  mirrors:\n    extra: https://x.example\n",
    );
    const overridden = await loadMirrorsConfig({
      siteFile: site,
      userDir: join(dir, "user"),
      envFile: env,
      env: {},
    });
    assert.deepEqual(overridden.mirrors.map((m) => m.name), ["extra", "mine"]);

    const lower = await write(
      dir,
      "lower.yaml",
      "mirrors:\n  m:\n    url: https://m.example/old\n    binary: false\n    autopush: true\n",
    );
    const higher = await write(
      dir,
      "higher.yaml",
      "mirrors:\n  m::\n    url: https://m.example/new\n",
    );
    const replaced = await loadMirrorsConfig({ files: [lower, higher], userDir: false, env: {} });
    const m = replaced.mirrors[0];
    assert.equal(m.fetch.url, "https://m.example/new");
    assert.equal(m.binary, true); // the lower scope's binary: false is gone with the replaced entry
    assert.equal(m.autopush, false);
  });
});

Deno.test("key+: prepends and key-: appends strings to the lower scope's value", async () => {
  await withTempDir(async (dir) => {
    const lower = await write(
      dir,
      "lower.yaml",
      "mirrors:\n  m:\n    url: https://m.example/cache\n",
    );
    const append = await write(dir, "append.yaml", "mirrors:\n  m:\n    url-: /sub\n");
    const prepend = await write(
      dir,
      "prepend.yaml",
      "mirrors:\n  m:\n    url+: https://p.example/\n",
    );
    const a = await loadMirrorsConfig({ files: [lower, append], userDir: false, env: {} });
    assert.equal(a.mirrors[0].fetch.url, "https://m.example/cache/sub");
    const p = await loadMirrorsConfig({ files: [lower, prepend], userDir: false, env: {} });
    assert.equal(p.mirrors[0].fetch.url, "https://p.example/https://m.example/cache");
  });
});

Deno.test("the user scope follows SPACK_USER_CONFIG_PATH and SPACK_DISABLE_LOCAL_CONFIG", async () => {
  await withTempDir(async (dir) => {
    await write(dir, "custom/mirrors.yaml", "mirrors:\n  custom: https://custom.example\n");
    await write(dir, "home/.spack/mirrors.yaml", "mirrors:\n  home: https://home.example\n");
    const home = join(dir, "home");
    const viaHome = await loadMirrorsConfig({ env: { HOME: home } });
    assert.deepEqual(viaHome.mirrors.map((m) => m.name), ["home"]);
    const viaVar = await loadMirrorsConfig({
      env: { HOME: home, SPACK_USER_CONFIG_PATH: join(dir, "custom") },
    });
    assert.deepEqual(viaVar.mirrors.map((m) => m.name), ["custom"]);
    const tilde = await loadMirrorsConfig({
      env: { HOME: dir, SPACK_USER_CONFIG_PATH: "~/custom" },
    });
    assert.deepEqual(tilde.mirrors.map((m) => m.name), ["custom"]);
    const disabled = await loadMirrorsConfig({
      env: { HOME: home, SPACK_DISABLE_LOCAL_CONFIG: "1" },
    });
    assert.deepEqual(disabled.mirrors, []);
    assert.deepEqual(disabled.scopes, []);
  });
});

Deno.test("spackScopes: defaults, system, site, user and the active environment, in order", () => {
  const scopes = mirrorScopes(
    spackScopes({ SPACK_ROOT: "/opt/spack", HOME: "/home/u", SPACK_ENV: "/work/env" }),
  );
  assert.deepEqual(scopes.map((s) => [s.name, s.file]), [
    ["defaults", "/opt/spack/etc/spack/defaults/base/mirrors.yaml"],
    ["system", "/etc/spack/mirrors.yaml"],
    ["site", "/opt/spack/etc/spack/mirrors.yaml"],
    ["user", "/home/u/.spack/mirrors.yaml"],
    ["env", "/work/env/spack.yaml"],
  ]);
  const local = mirrorScopes(
    spackScopes({
      HOME: "/home/u",
      SPACK_DISABLE_LOCAL_CONFIG: "",
      SPACK_SYSTEM_CONFIG_PATH: "/x",
    }),
  );
  assert.deepEqual(local, []);
});

Deno.test("every Spack 1.2 field: per-direction values win, defaults otherwise", async () => {
  await withTempDir(async (dir) => {
    const file = await write(
      dir,
      "mirrors.yaml",
      `mirrors:
  full:
    url: s3://bucket/cache
    view: v1
    access_pair:
      id: AKIDLITERAL
      secret_variable: S3_SECRET
    access_token_variable: S3_TOKEN
    profile: top-profile
    endpoint_url: https://s3.example.com
    source: false
    binary: true
    signed: false
    autopush: true
    fetch:
      url: s3://bucket/read
      access_pair:
        id_variable: READ_ID
        secret_variable: READ_SECRET
      profile: null
    push: s3://bucket/write
  short: https://short.example
  oci:
    url: oci://ghcr.io/me/cache
    signed: true
`,
    );
    const config = await loadMirrorsConfig({ files: [file], userDir: false, env: {} });
    const [full, short, oci] = config.mirrors;
    assert.deepEqual(full.fetch, {
      url: "s3://bucket/read",
      view: "v1",
      accessPair: { idVariable: "READ_ID", secretVariable: "READ_SECRET" },
      accessTokenVariable: "S3_TOKEN",
      endpointUrl: "https://s3.example.com",
      // `profile: null` in the fetch block hides the top-level profile.
    });
    assert.deepEqual(full.push, {
      url: "s3://bucket/write",
      view: "v1",
      accessPair: { id: "AKIDLITERAL", secretVariable: "S3_SECRET" },
      accessTokenVariable: "S3_TOKEN",
      endpointUrl: "https://s3.example.com",
      profile: "top-profile",
    });
    assert.deepEqual(
      [full.source, full.binary, full.signed, full.autopush],
      [false, true, false, true],
    );
    assert.deepEqual(
      [short.fetch.url, short.push.url, short.source, short.binary, short.signed, short.autopush],
      ["https://short.example", "https://short.example", true, true, true, false],
    );
    assert.equal(oci.signed, false); // OCI fetch URLs are never signed
  });
});

Deno.test("paths become file:// URLs: relative to the file's directory, ~, $VARS, $spack, $env", async () => {
  await withTempDir(async (dir) => {
    const file = await write(
      dir,
      "conf/mirrors.yaml",
      `mirrors:
  rel: ../caches/one
  home: ~/cache
  var: $CACHE_ROOT/two
  braced: \${CACHE_ROOT}/three
  spack: $spack/var/cache
  unknown: /x/$NOT_SET/y
  spaced: ./with space#1
  url:
    url: file:///already/a/url
    push: relative/push
`,
    );
    const envFile = await write(
      dir,
      "env/spack.yaml",
      "spack:\n  mirrors:\n    envrel: $env/local\n",
    );
    const config = await loadMirrorsConfig({
      files: [file],
      envFile,
      userDir: false,
      spackRoot: "/opt/spack",
      env: { HOME: "/home/me", CACHE_ROOT: "/data" },
    });
    const url = (name: string, d: "fetch" | "push" = "fetch") =>
      config.mirrors.find((m) => m.name === name)![d].url;
    assert.equal(url("rel"), `file://${dir}/caches/one`);
    assert.equal(url("home"), "file:///home/me/cache");
    assert.equal(url("var"), "file:///data/two");
    assert.equal(url("braced"), "file:///data/three");
    assert.equal(url("spack"), "file:///opt/spack/var/cache");
    assert.equal(url("unknown"), "file:///x/$NOT_SET/y".replace("$", "%24"));
    assert.equal(url("spaced"), `file://${dir}/conf/with%20space%231`);
    assert.equal(url("url"), "file:///already/a/url");
    assert.equal(url("url", "push"), `file://${dir}/conf/relative/push`);
    assert.equal(url("envrel"), `file://${dir}/env/local`);
  });
});

Deno.test("a mirror without a URL for a direction loads; the URL is absent", async () => {
  await withTempDir(async (dir) => {
    const file = await write(dir, "m.yaml", "mirrors:\n  ro:\n    fetch: https://ro.example\n");
    const [ro] = (await loadMirrorsConfig({ files: [file], userDir: false, env: {} })).mirrors;
    assert.equal(ro.fetch.url, "https://ro.example");
    assert.equal(ro.push.url, undefined);
  });
});

// Each row: file content, the key path the error must name, and what the message must say.
const REJECTED: [string, string, string, RegExp][] = [
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    url: s3://b\n    access_pair: [AKID, SECRET]\n",
    "mirrors.m.access_pair",
    /list form/,
  ],
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    url: s3://b\n    fetch:\n      url: s3://b\n      access_pair: [AKID, SECRET]\n",
    "mirrors.m.fetch.access_pair",
    /list form/,
  ],
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    url: oci://r/x\n    access_token: tok\n",
    "mirrors.m.access_token",
    /access_token_variable/,
  ],
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    url: oci://r/x\n    push:\n      url: oci://r/x\n      access_token: tok\n",
    "mirrors.m.push.access_token",
    /plain-text access tokens/,
  ],
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    url: oci://r/x\n    access_pair:\n      id: me\n      secret: hunter2\n",
    "mirrors.m.access_pair.secret",
    /secret_variable/,
  ],
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    url: oci://r/x\n    access_pair:\n      id: me\n      id_variable: U\n      secret_variable: P\n",
    "mirrors.m.access_pair",
    /exactly one of `id` and `id_variable`/,
  ],
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    url: oci://r/x\n    access_pair:\n      id: me\n",
    "mirrors.m.access_pair",
    /`secret_variable` is required/,
  ],
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    url: oci://r/x\n    access_pair:\n      id: 12\n      secret_variable: P\n",
    "mirrors.m.access_pair.id",
    /expected a string/,
  ],
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    url: oci://r/x\n    colour: blue\n",
    "mirrors.m.colour",
    /unknown key/,
  ],
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    pull: oci://r/x\n    url: oci://r/x\n",
    "mirrors.m.pull",
    /unknown key/,
  ],
  ["mirrors.yaml", "mirrors:\n  m:\n    push: oci://r/x\n", "mirrors.m", /`url` or `fetch`/],
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    url: oci://r/x\n    signed: 'no'\n",
    "mirrors.m.signed",
    /true or false/,
  ],
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    url: oci://r/x\n    profile: [a]\n",
    "mirrors.m.profile",
    /string or null/,
  ],
  ["mirrors.yaml", "mirrors:\n  m:\n    url: 42\n", "mirrors.m.url", /expected a string/],
  [
    "mirrors.yaml",
    "mirrors:\n  m:\n    url: oci://r/x\n    fetch: [oci://r/x]\n",
    "mirrors.m.fetch",
    /URL or a connection/,
  ],
  ["mirrors.yaml", "mirrors:\n  m: 12\n", "mirrors.m", /URL or a mapping/],
  ["mirrors.yaml", "mirrors:\n  - https://x\n", "mirrors", /mapping of mirror names/],
  ["mirrors.yaml", "mirrors: {}\nconfig: {}\n", "config", /unknown top-level key/],
  ["mirrors.yaml", "mirrors:\n  m: [unclosed\n", "", /invalid YAML/],
  [
    "spack.yaml",
    "spack:\n  mirrors:\n    m:\n      url: s3://b\n      access_pair: [AKID, SECRET]\n",
    "spack.mirrors.m.access_pair",
    /list form/,
  ],
];

Deno.test("forms Spack 1.2 rejects give a MirrorConfigError naming the file and key path", async () => {
  await withTempDir(async (dir) => {
    for (const [name, text, keyPath, detail] of REJECTED) {
      const file = await write(dir, name, text);
      const error = await loadMirrorsConfig({ files: [file], userDir: false, env: {} }).then(
        () => assert.fail(`accepted:\n${text}`),
        (e) => e as MirrorConfigError,
      );
      assert.ok(error instanceof ConfigError, `${text}: ${error}`);
      assert.equal(error.keyPath, keyPath, text);
      const prefix = keyPath ? `${file}: ${keyPath}: ` : `${file}: `;
      assert.ok(error.message.startsWith(prefix), error.message);
      assert.match(error.message, detail);
      assert.ok(!error.message.includes("hunter2"), "the message never quotes a secret");
    }
  });
});

Deno.test("empty files and an empty mirrors section read as no mirrors", async () => {
  await withTempDir(async (dir) => {
    const empty = await write(dir, "empty.yaml", "# nothing yet\n");
    const bare = await write(dir, "bare.yaml", "mirrors:\n");
    const env = await write(dir, "spack.yaml", "spack:\n  specs: []\n");
    const config = await loadMirrorsConfig({ files: [empty, bare, env], userDir: false, env: {} });
    assert.deepEqual(config.mirrors, []);
  });
});
