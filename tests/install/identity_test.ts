// An entry must hold the spec asked for: a manifest at another spec's key, a spec blob whose
// content does not hash to its hash, a retagged OCI image or a renamed v2 spec file is refused
// by every mirror before anything is downloaded or installed.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  FormatError,
  InstallError,
  installSpecs,
  loadTrustedKeys,
  type Mirror,
  openMirror,
  selectSpecs,
  SpecMismatchError,
} from "../../mod.ts";
import {
  blobKey,
  INDEX_MANIFEST_KEY,
  parseManifest,
  serializeManifest,
} from "../../lib/buildcache/mod.ts";
import { checkEntrySpec } from "../../lib/buildcache/identity.ts";
import { dagHash } from "../../lib/spec/hash.ts";
import { copyFixture, HARNESS, SPACK12, V2_MIRRORS } from "../_support/fixtures.ts";
import { startRegistry } from "../_support/registry.ts";
import { withTempDir } from "../_support/temp.ts";
import { serveLayout } from "../oci/_skopeo.ts";
import {
  assertNothingInstalled,
  editSpecBlob,
  MANIFEST,
  snapshot,
  writeBlob,
} from "../_support/hostile_cache.ts";

/**
 * Installs `name` from the altered copy `cache` and asserts a {@link SpecMismatchError} naming
 * `key`, `expected` and `found`; nothing is installed and the cache is unchanged.
 */
async function assertRefused(
  cache: string,
  name: string,
  mismatch: { key: RegExp; expected: string; found: string },
  options: { checkSignature?: boolean; mirror?: Mirror } = {},
): Promise<void> {
  const before = await snapshot(cache);
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    const mirror = options.mirror ?? await openMirror(cache);
    const [spec] = selectSpecs(await mirror.listSpecs(), [name], cache);
    const trustedKeys = await loadTrustedKeys([join(SPACK12, "keys/harness-signing-key.pub")]);
    await assert.rejects(
      installSpecs(mirror, [spec], {
        root,
        checkSignature: options.checkSignature ?? false,
        trustedKeys,
      }),
      (e) => {
        assert.ok(e instanceof InstallError, String(e));
        assert.match(e.message, new RegExp(name));
        const cause = e.cause;
        assert.ok(cause instanceof SpecMismatchError, String(cause));
        assert.match(cause.key, mismatch.key);
        assert.equal(cause.expected, mismatch.expected);
        assert.equal(cause.found, mismatch.found);
        return true;
      },
    );
    await assertNothingInstalled(root);
  });
  assert.deepEqual(await snapshot(cache), before, "the cache is unchanged");
}

for (const kind of ["fs-unsigned", "fs-signed"]) {
  Deno.test(`${kind}: a manifest placed at another spec's key is refused`, async () => {
    const cache = await copyFixture(join(SPACK12, kind));
    try {
      // harness-hello's (validly signed) manifest now sits at harness-libdep's key.
      await Deno.copyFile(join(cache, MANIFEST.hello), join(cache, MANIFEST.libdep));
      await assertRefused(cache, "harness-libdep", {
        key: /harness-libdep-1\.0-6zoocyj\w+\.spec\.manifest\.json$/,
        expected: HARNESS.libdep,
        found: HARNESS.hello,
      }, { checkSignature: kind === "fs-signed" });
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  });
}

const FORGERIES: [string, string, (nodes: Record<string, unknown>[]) => Record<string, unknown>][] =
  [
    ["a spec blob whose content does not hash to its DAG hash", HARNESS.libdep, (nodes) => {
      (nodes[0].parameters as Record<string, unknown>).build_system = "evil";
      return nodes[0];
    }],
    [
      "a forged dependency node in the spec blob (the whole DAG is hashed)",
      HARNESS.glibc,
      (nodes) => {
        const glibc = nodes.find((n) => n.name === "glibc")!;
        glibc.version = "9.99";
        return glibc;
      },
    ],
  ];

for (const [what, expected, forge] of FORGERIES) {
  Deno.test(`${what} is refused`, async () => {
    const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
    try {
      let found = "";
      await editSpecBlob(cache, MANIFEST.libdep, (doc) => {
        found = dagHash(forge(doc.spec.nodes));
      });
      await assertRefused(cache, "harness-libdep", {
        key: /harness-libdep-1\.0-6zoocyj/,
        expected,
        found,
      });
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  });
}

Deno.test("with stored hashes trusted, another name or version under the right hash is refused", async () => {
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  try {
    await editSpecBlob(cache, MANIFEST.libdep, (doc) => {
      doc.spec.nodes[0].version = "6.6.6";
    });
    const mirror = await openMirror(cache, { verifySpecHashes: false });
    await assertRefused(cache, "harness-libdep", {
      key: /harness-libdep/,
      expected: HARNESS.libdep,
      found: HARNESS.libdep,
    }, { mirror });
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

/** A copy of Spack's OCI layout whose harness-libdep tag points at harness-hello's image. */
async function retaggedLayout(): Promise<string> {
  const cache = await copyFixture(join(SPACK12, "oci/buildcache"));
  const index = JSON.parse(await Deno.readTextFile(join(cache, "index.json")));
  const tagged = (tag: string) =>
    index.manifests.find((m: { annotations: Record<string, string> }) =>
      m.annotations["org.opencontainers.image.ref.name"].startsWith(tag)
    );
  const { digest, size } = tagged("harness-hello");
  Object.assign(tagged("harness-libdep"), { digest, size });
  await Deno.writeTextFile(join(cache, "index.json"), JSON.stringify(index));
  return cache;
}

const RETAGGED = {
  key: /harness-libdep-1\.0-6zoocyj\w+\.spack$/,
  expected: HARNESS.libdep,
  found: HARNESS.hello,
};

Deno.test("OCI layout: a spec tag pointing at another spec's image is refused", async () => {
  const cache = await retaggedLayout();
  try {
    await assertRefused(cache, "harness-libdep", RETAGGED);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("OCI registry: a spec tag pointing at another spec's image is refused", async () => {
  const cache = await retaggedLayout();
  const registry = await startRegistry();
  try {
    await serveLayout(cache, registry.host, "spack/buildcache");
    const mirror = await openMirror(`oci+http://${registry.host}/spack/buildcache`);
    await assertRefused(cache, "harness-libdep", RETAGGED, { mirror });
  } finally {
    await registry.stop();
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("an index record holding another hash than its key is refused", async () => {
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  try {
    const manifestPath = join(cache, INDEX_MANIFEST_KEY);
    const manifest = parseManifest(await Deno.readTextFile(manifestPath), manifestPath);
    const record = manifest.data[0];
    const db = JSON.parse(
      await Deno.readTextFile(join(cache, blobKey("sha256", record.checksum))),
    );
    db.database.installs[HARNESS.libdep].spec.hash = HARNESS.hello;
    const bytes = new TextEncoder().encode(JSON.stringify(db));
    const checksum = await writeBlob(cache, bytes);
    manifest.data[0] = { ...record, checksum, contentLength: bytes.byteLength };
    await Deno.writeTextFile(manifestPath, serializeManifest(manifest.data));
    const mirror = await openMirror(cache);
    await assert.rejects(
      mirror.listSpecs(),
      (e) =>
        e instanceof FormatError && e.message.includes(`index record ${HARNESS.libdep}`) &&
        e.message.includes(HARNESS.hello),
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("legacy v2: a spec file renamed to another spec's name is refused", async () => {
  const cache = await copyFixture(join(V2_MIRRORS, "unsigned"));
  try {
    const dir = join(cache, "build_cache");
    const libelf = "test-debian6-m1-gcc-10.2.1-libelf-0.8.13-jr3yipyxyjulcdvckwwwjrrumis7glpa";
    const runtime = "test-debian6-m1-none-none-gcc-runtime-10.2.1-izgzpzeljwairalfjm3k6fntbb64nt6n";
    await Deno.copyFile(join(dir, `${runtime}.spec.json`), join(dir, `${libelf}.spec.json`));
    // The index still lists libelf; only the spec file under its name changed.
    const mirror = await openMirror(cache);
    const specs = (await mirror.listSpecs()).filter((s) =>
      s.node.hash === "jr3yipyxyjulcdvckwwwjrrumis7glpa"
    );
    assert.equal(specs.length, 1);
    const before = await snapshot(cache);
    await withTempDir(async (root) => {
      await assert.rejects(
        installSpecs(mirror, specs, { root, checkSignature: false }),
        (e) =>
          e instanceof InstallError && e.cause instanceof SpecMismatchError &&
          e.cause.key.endsWith(`${libelf}.spec.json`) &&
          e.cause.found === "izgzpzeljwairalfjm3k6fntbb64nt6n",
      );
      // gcc-runtime, a dependency of libelf, installs first; libelf must not.
      const left: string[] = [];
      for await (const e of Deno.readDir(root)) left.push(e.name);
      for (const name of left) {
        for await (const e of Deno.readDir(join(root, name))) {
          assert.doesNotMatch(e.name, /jr3yipyx/);
        }
      }
    });
    assert.deepEqual(await snapshot(cache), before);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("every entry of the Spack-made fixtures passes the identity check, hashes recomputed", async () => {
  const caches = [
    ["fs-unsigned", true],
    ["fs-signed", true],
    ["oci/buildcache", true],
    ["oci/buildcache-base-oci", true],
    ["oci/buildcache-base-docker", true],
  ] as const;
  for (const [name] of caches) {
    const mirror = await openMirror(join(SPACK12, name));
    const specs = await mirror.listSpecs();
    assert.ok(specs.length >= 2, name);
    for (const spec of specs) {
      const entry = (await mirror.getEntry(spec))!;
      checkEntrySpec(entry.spec, {
        key: entry.source,
        keyHash: spec.node.hash,
        wanted: spec.node,
        rehash: true,
      });
      for (const [hash, node] of entry.spec.nodes) assert.equal(dagHash(node), hash, name);
    }
  }
  for (const kind of ["unsigned", "signed"]) {
    const mirror = await openMirror(join(V2_MIRRORS, kind));
    for (const spec of await mirror.listSpecs()) assert.ok(await mirror.getEntry(spec));
  }
});
