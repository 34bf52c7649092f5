import assert from "node:assert/strict";
import { join } from "node:path";
import { installSpecs } from "../../lib/install/install.ts";
import { pruneCache } from "../../lib/maintain/prune.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { FsStore } from "../../lib/storage/fs.ts";
import { S3Store } from "../../lib/storage/s3.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { streamOf } from "../../lib/stream/io.ts";
import { spackle } from "../_support/cli.ts";
import { copyFixture, HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { S3RVER_KEYS, startS3 } from "../_support/s3.ts";

const TWO_DAYS_AGO = new Date(Date.now() - 2 * 86_400_000);

/** Writes `text` as a blob of the cache at `root`; returns its key. */
async function addBlob(root: string, text: string, mtime?: Date): Promise<string> {
  const hex = sha256Hex(new TextEncoder().encode(text));
  const key = `blobs/sha256/${hex.slice(0, 2)}/${hex}`;
  await new FsStore(root).put(key, streamOf(text));
  if (mtime) await Deno.utime(join(root, key), mtime, mtime);
  return key;
}

/** Makes every blob of the cache at `root` two days old. */
async function ageBlobs(root: string): Promise<string[]> {
  const keys = await Array.fromAsync(new FsStore(root).list("blobs"));
  for (const key of keys) await Deno.utime(join(root, key), TWO_DAYS_AGO, TWO_DAYS_AGO);
  return keys;
}

async function withCache(fn: (cache: string) => Promise<void>): Promise<void> {
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  try {
    await fn(cache);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
}

Deno.test("prune: orphan blobs older than the grace period go, after a dry run that removes nothing", async () => {
  await withCache(async (cache) => {
    const referenced = await ageBlobs(cache);
    const old = await addBlob(cache, "left behind by an interrupted push", TWO_DAYS_AGO);
    const fresh = await addBlob(cache, "a push in progress");

    const dry = await spackle("prune", cache, "--grace", "1d", "--dry-run", "--json");
    assert.equal(dry.code, 0, dry.stderr);
    const preview = JSON.parse(dry.stdout);
    assert.deepEqual(preview.orphans, [old]);
    assert.equal(preview.recent, 1);
    assert.match(dry.stderr, /Would remove 0 unlisted and 0 broken spec manifests, 1 orphan blobs/);
    assert.ok(await new FsStore(cache).exists(old));

    const real = await spackle("prune", cache, "--grace", "1d", "--json");
    assert.equal(real.code, 0, real.stderr);
    assert.deepEqual(JSON.parse(real.stdout).orphans, [old]);
    const left = await Array.fromAsync(new FsStore(cache).list("blobs"));
    assert.deepEqual(left.sort(), [...referenced, fresh].sort());
    const mirror = await openMirror(cache);
    assert.equal((await mirror.listSpecs()).length, 2);
  });
});

Deno.test("prune --keeplist: unlisted specs and their blobs go, the index is rebuilt; broken manifests go", async () => {
  await withCache(async (cache) => {
    await ageBlobs(cache);
    const keeplist = join(cache, "..", `keep-${crypto.randomUUID()}.txt`);
    await Deno.writeTextFile(keeplist, `# keep the library\n/${HARNESS.libdep} harness-libdep\n`);
    try {
      const mirror = await openMirror(cache);
      const [hello] = (await mirror.listSpecs()).filter((s) => s.node.hash === HARNESS.hello);
      const tarball = (await mirror.getEntry(hello))!.tarball.digest.slice("sha256:".length);

      const out = await spackle("prune", cache, "--keeplist", keeplist, "--grace", "1h", "--json");
      assert.equal(out.code, 0, out.stderr);
      const result = JSON.parse(out.stdout);
      assert.equal(result.unlisted.length, 1);
      assert.match(result.unlisted[0], /harness-hello-1\.0-hkbptho/);
      assert.equal(result.indexed, 1);
      assert.ok(result.orphans.includes(`blobs/sha256/${tarball.slice(0, 2)}/${tarball}`));
      const after = await openMirror(cache);
      assert.deepEqual((await after.listSpecs()).map((s) => s.node.hash), [HARNESS.libdep]);

      // The library's tarball goes missing: its manifest is broken and is removed too.
      const [libdep] = await after.listSpecs();
      const gone = (await after.getEntry(libdep))!.tarball.digest.slice("sha256:".length);
      await Deno.remove(join(cache, "blobs/sha256", gone.slice(0, 2), gone));
      const broken = await spackle("prune", cache, "--json");
      assert.equal(broken.code, 0, broken.stderr);
      assert.equal(JSON.parse(broken.stdout).broken.length, 1);
      assert.deepEqual(await (await openMirror(cache)).listSpecs(), []);

      // A keep-list line that is not a hash is refused before anything is removed.
      await Deno.writeTextFile(keeplist, "harness-hello\n");
      assert.equal((await spackle("prune", cache, "--keeplist", keeplist)).code, 1);
    } finally {
      await Deno.remove(keeplist);
    }
  });
});

Deno.test("ObjectStore.delete on S3: the object goes; deleting a missing key is no error", async () => {
  const s3 = await startS3(["bucket"]);
  try {
    const store = new S3Store("s3://bucket/cache", {
      endpointUrl: s3.endpoint,
      env: {},
      ...S3RVER_KEYS,
    });
    await store.put("blobs/x", streamOf("x"));
    assert.ok(await store.exists("blobs/x"));
    await store.delete("blobs/x");
    assert.equal(await store.exists("blobs/x"), false);
    await store.delete("blobs/x");
  } finally {
    await s3.stop();
  }
});

Deno.test("prune on S3: a keep-list and orphans, dry run first; the kept spec still installs", async () => {
  const s3 = await startS3(["bucket"]);
  try {
    const options = { endpointUrl: s3.endpoint, env: {}, ...S3RVER_KEYS };
    const store = new S3Store("s3://bucket/cache", options);
    const fixture = new FsStore(join(SPACK12, "fs-unsigned"));
    for (const prefix of ["v3", "blobs"]) {
      for await (const key of fixture.list(prefix)) await store.put(key, (await fixture.get(key))!);
    }
    const orphan = "blobs/sha256/00/" + "0".repeat(64);
    await store.put(orphan, streamOf("left behind"));
    // S3 sets the time itself: a grace period of zero makes everything old enough.
    const keep = new Set([HARNESS.libdep]);
    const dry = await pruneCache(store, {
      keep,
      graceMs: 0,
      dryRun: true,
      now: new Date(Date.now() + 5000),
    });
    assert.equal(dry.unlisted.length, 1);
    assert.ok(dry.orphans.includes(orphan));
    assert.ok(await store.exists(orphan), "a dry run removes nothing");
    const real = await pruneCache(store, { keep, graceMs: 0, now: new Date(Date.now() + 5000) });
    assert.deepEqual(real.unlisted, dry.unlisted);
    assert.equal(real.indexed, 1);
    assert.equal(await store.exists(orphan), false);
    const mirror = await openMirror("s3://bucket/cache", { s3: options });
    const specs = await mirror.listSpecs();
    assert.deepEqual(specs.map((s) => s.node.name), ["harness-libdep"]);
    const root = await Deno.makeTempDir({ prefix: "spackle-prune-s3-" });
    try {
      await installSpecs(mirror, specs, { root, checkSignature: false });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  } finally {
    await s3.stop();
  }
});
