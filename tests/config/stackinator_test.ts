/**
 * Stackinator's mirrors.yaml: every good and bad case of Stackinator's own test data, the schema
 * failures the reference lists, and the Spack mirrors Stackinator generates (reference §5.4).
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import * as openpgp from "openpgp";
import {
  loadMirrorsConfig,
  MirrorConfigError,
  parseStackinatorMirrors,
  type StackinatorMirrors,
  stackinatorMirrorsYaml,
  stackinatorSpackMirrors,
} from "../../lib/config/mod.ts";
import { UsageError } from "../../lib/errors.ts";
import { TESTDATA } from "../_support/fixtures.ts";
import { withTempDir } from "../_support/temp.ts";

const DATA = join(TESTDATA, "_from-stackinator/unittests/data");
const SYSTEMS = join(DATA, "systems");

/** What each bad fixture must fail with: the key path and the problem named in the message. */
const BAD: Record<string, [string, RegExp]> = {
  "mirror-bad-key": ["buildcache.private_key", /not a valid GPG key.*bad_key\.gpg/],
  "mirror-bad-keypath": [
    "buildcache.private_key",
    /'\/path\/doesnt\/exist' is neither a file nor base64/,
  ],
  "mirror-bad-sourcecache": ["sourcecache.path", /'relative\/not\/absolute' is not absolute/],
  "mirror-bad-concretizer": ["concretizer.path", /concretizer cache path .* is not absolute/],
};

/** What each good fixture must parse to (values read off the fixture files). */
const GOOD: Record<string, (m: StackinatorMirrors) => Promise<void> | void> = {
  "mirror-ok": async (m) => {
    const cache = m.buildcache!;
    assert.equal(cache.name, "buildcache");
    assert.deepEqual(cache.connection, { url: "https://mirror.spack.io" });
    assert.deepEqual(
      [cache.mountSpecific, cache.source, cache.binary, cache.description],
      [false, false, true, ""],
    );
    // The relative private key is read from the file next to the systems directory.
    const priv = cache.privateKey!;
    assert.equal(priv.origin, "file");
    assert.equal(priv.path, resolve(DATA, "test-gpg-priv.asc"));
    assert.deepEqual(priv.data, await Deno.readFile(join(DATA, "test-gpg-priv.asc")));
    // The inline base64 public key is the published test public key.
    assert.equal(cache.publicKey!.origin, "base64");
    const inline = await openpgp.readKey({ binaryKey: cache.publicKey!.data });
    const published = await openpgp.readKey({
      binaryKey: await Deno.readFile(join(DATA, "test-gpg-pub.asc")),
    });
    assert.equal(inline.getFingerprint(), published.getFingerprint());
    assert.deepEqual(m.bootstrap, { url: "https://mirror.spack.io", description: "" });
    assert.deepEqual(m.sourceMirrors.map((s) => [s.name, s.connection.url, s.source, s.binary]), [
      ["mirror1", "https://github.com", true, false],
      ["mirror2", "https://github.com/spack", true, false],
    ]);
    assert.deepEqual(m.sourceCache, { path: "/scratch/spack-sources", description: "" });
    assert.deepEqual(m.concretizer, { path: "/scratch/spack-concretizer", description: "" });
  },
  "mirror-no-sourcecache": (m) => {
    assert.equal(m.buildcache, undefined);
    assert.equal(m.sourceCache, undefined);
    assert.equal(m.concretizer, undefined);
    assert.equal(m.bootstrap?.url, "https://mirror.spack.io");
    assert.deepEqual(m.sourceMirrors.map((s) => s.name), ["mirror1"]);
  },
  "mirror-readonly-cache": (m) => {
    assert.deepEqual(m.buildcache?.connection, { url: "https://mirror.spack.io" });
    assert.equal(m.buildcache?.privateKey, undefined);
    assert.equal(m.buildcache?.publicKey, undefined);
    const spack = stackinatorSpackMirrors(m);
    assert.deepEqual(spack.get("buildcache"), {
      source: false,
      binary: true,
      fetch: { url: "https://mirror.spack.io" },
      push: { url: "https://mirror.spack.io" },
    });
  },
  "mirror-s3": (m) => {
    const conn = {
      url: "s3://my-bucket/buildcache",
      endpoint_url: "https://s3.example.com",
      access_pair: { id_variable: "AWS_ACCESS_KEY_ID", secret_variable: "AWS_SECRET_ACCESS_KEY" },
    };
    assert.deepEqual(m.buildcache?.fetch, conn);
    assert.deepEqual(m.buildcache?.push, conn);
    assert.equal(m.buildcache?.privateKey?.origin, "file");
    const sources = m.sourceMirrors[0];
    assert.equal(sources.name, "s3-sources");
    const s3 = {
      url: "s3://my-bucket/sources",
      profile: "my-profile",
      endpoint_url: "https://s3.example.com",
    };
    assert.deepEqual([sources.fetch, sources.push], [s3, s3]);
    // Passed through verbatim, key order included.
    const spack = stackinatorSpackMirrors(m);
    assert.deepEqual(Object.keys(spack.get("buildcache")!.fetch), [
      "url",
      "endpoint_url",
      "access_pair",
    ]);
    assert.deepEqual(spack.get("s3-sources")?.push, s3);
  },
};

Deno.test("every Stackinator mirror fixture: bad ones fail with a clear error, good ones parse", async () => {
  const dirs: string[] = [];
  for await (const e of Deno.readDir(SYSTEMS)) if (e.name.startsWith("mirror-")) dirs.push(e.name);
  assert.deepEqual(dirs.sort(), [...Object.keys(BAD), ...Object.keys(GOOD)].sort());
  for (const dir of dirs.sort()) {
    const file = join(SYSTEMS, dir, "mirrors.yaml");
    if (dir in BAD) {
      const [keyPath, detail] = BAD[dir];
      await assert.rejects(parseStackinatorMirrors(file, { env: {} }), (e: unknown) => {
        assert.ok(e instanceof MirrorConfigError, `${dir}: ${e}`);
        assert.equal(e.keyPath, keyPath, dir);
        assert.ok(e.message.startsWith(`${file}: ${keyPath}: `), e.message);
        assert.match(e.message, detail);
        return true;
      });
    } else {
      await GOOD[dir](await parseStackinatorMirrors(file, { env: {} }));
    }
  }
});

Deno.test("legacy cache.yaml replaces the build cache: mount specific, with or without a key", async () => {
  const file = join(SYSTEMS, "mirror-ok/mirrors.yaml");
  const warnings: string[] = [];
  const withKey = await parseStackinatorMirrors(file, {
    env: {},
    cacheFile: join(SYSTEMS, "mirror-ok/cache.yaml"),
    onWarning: (m) => warnings.push(m),
  });
  assert.match(warnings.join("\n"), /deprecated/);
  const cache = withKey.buildcache!;
  assert.deepEqual(
    [cache.name, cache.connection.url, cache.mountSpecific, cache.source, cache.binary],
    ["buildcache", "/tmp/foo", true, false, true],
  );
  assert.equal(cache.privateKey?.path, resolve(DATA, "test-gpg-priv.asc"));
  assert.equal(cache.publicKey, undefined);
  const noKey = await parseStackinatorMirrors(file, {
    env: {},
    cacheFile: join(SYSTEMS, "mirror-ok/cache-nokey.yaml"),
  });
  assert.equal(noKey.buildcache?.privateKey, undefined);

  // mount_specific appends the mount point, without its leading slash, to both URLs.
  const spack = stackinatorSpackMirrors(withKey, "/user-environment");
  assert.deepEqual([...spack.keys()], ["buildcache", "mirror1", "mirror2"]);
  assert.deepEqual(spack.get("buildcache")?.fetch, { url: "/tmp/foo/user-environment" });
  assert.deepEqual(spack.get("buildcache")?.push, { url: "/tmp/foo/user-environment" });
  assert.deepEqual(spack.get("mirror1"), {
    source: true,
    binary: false,
    fetch: { url: "https://github.com" },
    push: { url: "https://github.com" },
  });
  assert.throws(() => stackinatorSpackMirrors(withKey), UsageError);
});

Deno.test("generated Spack mirrors.yaml loads back with the same mirrors", async () => {
  await withTempDir(async (dir) => {
    const stack = await parseStackinatorMirrors(join(SYSTEMS, "mirror-s3/mirrors.yaml"), {
      env: {},
    });
    const file = join(dir, "mirrors.yaml");
    await Deno.writeTextFile(file, stackinatorMirrorsYaml(stack));
    const config = await loadMirrorsConfig({ files: [file], userDir: false, env: {} });
    assert.deepEqual(config.mirrors.map((m) => [m.name, m.binary, m.source]), [
      ["buildcache", true, false],
      ["s3-sources", false, true],
    ]);
    assert.deepEqual(config.mirrors[0].push, {
      url: "s3://my-bucket/buildcache",
      accessPair: { idVariable: "AWS_ACCESS_KEY_ID", secretVariable: "AWS_SECRET_ACCESS_KEY" },
      endpointUrl: "https://s3.example.com",
    });
    assert.equal(config.mirrors[1].fetch.profile, "my-profile");
  });
});

// Schema failures the reference lists for Stackinator's validator (§5.4).
const SCHEMA_BAD: [string, string, RegExp][] = [
  ["buildcache:\n  private_key: /k.gpg\n", "buildcache", /`url`, `fetch` and `push`/],
  ["buildcache:\n  url: s3://b\n  access_pair: [a, b]\n", "buildcache.access_pair", /list form/],
  [
    "buildcache:\n  url: s3://b\n  access_pair: {id: a, id_variable: B, secret_variable: C}\n",
    "buildcache.access_pair",
    /exactly one of `id` and `id_variable`/,
  ],
  ["buildcache:\n  url: s3://b\n  colour: blue\n", "buildcache.colour", /unknown key/],
  ["sourcecache: {}\n", "sourcecache", /`path` is required/],
  ["mirrors:\n  m: https://x\n", "mirrors", /no `mirrors:` level/],
  [
    "sourcemirror:\n  m:\n    description: nothing\n",
    "sourcemirror.m",
    /`url`, `fetch` and `push`/,
  ],
  [
    "buildcache:\n  url: s3://b\n  mount_specific: yes please\n",
    "buildcache.mount_specific",
    /true or false/,
  ],
  [
    "buildcache:\n  fetch:\n    url: s3://b\n    secret: x\n",
    "buildcache.fetch.secret",
    /unknown key/,
  ],
  ["bootstrap:\n  url: ./missing\n", "bootstrap.url", /metadata\/sources/],
];

Deno.test("Stackinator schema failures name the key path", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "mirrors.yaml");
    for (const [text, keyPath, detail] of SCHEMA_BAD) {
      await Deno.writeTextFile(file, text);
      await assert.rejects(parseStackinatorMirrors(file, { env: {} }), (e: unknown) => {
        assert.ok(e instanceof MirrorConfigError, `${text}: ${e}`);
        assert.equal(e.keyPath, keyPath, text);
        assert.match(e.message, detail);
        return true;
      });
    }
  });
});

Deno.test("keys: $VARs expanded, inline armoured base64 accepted; local bootstrap directories", async () => {
  await withTempDir(async (dir) => {
    const armoured =
      "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n-----END PGP PUBLIC KEY BLOCK-----\n";
    await Deno.mkdir(join(dir, "keys"));
    await Deno.writeTextFile(join(dir, "keys/pub.asc"), armoured);
    await Deno.mkdir(join(dir, "boot/metadata/binaries"), { recursive: true });
    const file = join(dir, "mirrors.yaml");
    await Deno.writeTextFile(
      file,
      `bootstrap:\n  url: file://${dir}/boot\nbuildcache:\n  url: oci://r/x\n` +
        `  public_key: $KEYS/pub.asc\n  private_key: ${btoa(armoured)}\n` +
        "sourcecache:\n  path: $SCRATCH/sources\n",
    );
    const stack = await parseStackinatorMirrors(file, {
      env: { KEYS: join(dir, "keys"), SCRATCH: "/scratch" },
    });
    assert.equal(stack.buildcache?.publicKey?.path, join(dir, "keys/pub.asc"));
    assert.equal(stack.buildcache?.privateKey?.origin, "base64");
    assert.equal(new TextDecoder().decode(stack.buildcache?.privateKey?.data), armoured);
    assert.deepEqual(stack.bootstrap?.local, {
      path: join(dir, "boot"),
      sources: false,
      binaries: true,
    });
    assert.equal(stack.sourceCache?.path, "/scratch/sources");
  });
});
