import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { DigestMismatchError, FormatError, UsageError } from "../../lib/errors.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import {
  KEY_INDEX_MANIFEST_KEY,
  keyManifestKey,
  listCacheKeys,
  publishKey,
  trustCacheKeys,
  updateKeyIndex,
} from "../../lib/signing/mod.ts";
import { FsStore } from "../../lib/storage/fs.ts";
import { copyFixture, SPACK12, V2_MIRRORS } from "../_support/fixtures.ts";
import { withTempDir } from "../_support/temp.ts";
import { FIXTURE_FPR, FIXTURE_KEY, newKey } from "./_keys.ts";

const SIGNED = join(SPACK12, "fs-signed");

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  await walk(dir);
  return out.sort();
}

Deno.test("publishing the fixture key writes the same bytes Spack wrote: key blob, key manifest, key index", async () => {
  await withTempDir(async (dir) => {
    const fpr = await publishKey(new FsStore(dir), await Deno.readTextFile(FIXTURE_KEY));
    assert.equal(fpr, FIXTURE_FPR);
    const written = await filesUnder(dir);
    assert.deepEqual(
      written,
      [
        "blobs/sha256/0f/0fee18a51231549bae81f53fa2309669d1c2808d6c5d69d2e7d29d284a03ebdd",
        "blobs/sha256/8f/8fffc13f193353493af33d3ea1343a79eeb810810b0feb891c37eb50d793d3ee",
        KEY_INDEX_MANIFEST_KEY,
        keyManifestKey(FIXTURE_FPR),
      ].sort(),
    );
    for (const file of written) {
      assert.deepEqual(
        await Deno.readFile(join(dir, file)),
        await Deno.readFile(join(SIGNED, file)),
      );
    }
  });
});

Deno.test("a cache's published keys are listed digest-checked, and trusted only when asked", async () => {
  const [key] = await listCacheKeys(new FsStore(SIGNED));
  assert.equal(key.fingerprint, FIXTURE_FPR);
  assert.equal(key.armored, await Deno.readTextFile(FIXTURE_KEY));
  const trusted = await trustCacheKeys(await openMirror(SIGNED));
  assert.deepEqual(trusted.map((k) => k.fingerprint), [FIXTURE_FPR]);
  assert.deepEqual(await listCacheKeys(new FsStore(join(SPACK12, "fs-unsigned"))), []);
  const [v2] = await trustCacheKeys(new FsStore(join(V2_MIRRORS, "signed")));
  const [pub] = [...Deno.readDirSync(join(V2_MIRRORS, "signed/build_cache/_pgp"))]
    .map((e) => e.name).filter((n) => n.endsWith(".pub"));
  assert.equal(`${v2.fingerprint}.pub`, pub);
});

Deno.test("a tampered key blob or a key published under another fingerprint is refused", async () => {
  const cache = await copyFixture(SIGNED);
  try {
    const blob = join(
      cache,
      "blobs/sha256/8f/8fffc13f193353493af33d3ea1343a79eeb810810b0feb891c37eb50d793d3ee",
    );
    const original = await Deno.readFile(blob);
    const bytes = original.slice();
    bytes[100] ^= 0x01;
    await Deno.writeFile(blob, bytes);
    await assert.rejects(listCacheKeys(new FsStore(cache)), DigestMismatchError);
    await Deno.writeFile(blob, original);

    const other = await newKey("Impostor");
    await Deno.copyFile(
      join(cache, keyManifestKey(FIXTURE_FPR)),
      join(cache, keyManifestKey(other.signer.fingerprint)),
    );
    const store = new FsStore(cache);
    assert.deepEqual(
      await updateKeyIndex(store),
      [FIXTURE_FPR, other.signer.fingerprint].sort(),
    );
    await assert.rejects(
      listCacheKeys(store),
      (e) => e instanceof FormatError && e.message.includes(other.signer.fingerprint),
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("the key index lists every published key, sorted; private keys are never published", async () => {
  await withTempDir(async (dir) => {
    const store = new FsStore(dir);
    const a = await newKey("Index A");
    const b = await newKey("Index B");
    await publishKey(store, b.publicKey);
    await publishKey(store, a.publicKey);
    const sorted = [a.signer.fingerprint, b.signer.fingerprint].sort();
    assert.deepEqual((await listCacheKeys(store)).map((k) => k.fingerprint), sorted);
    const index = JSON.parse(await Deno.readTextFile(join(dir, KEY_INDEX_MANIFEST_KEY)));
    const blob = index.data[0];
    const text = await Deno.readTextFile(
      join(dir, "blobs/sha256", blob.checksum.slice(0, 2), blob.checksum),
    );
    assert.equal(text, `{"keys":{"${sorted[0]}":{},"${sorted[1]}":{}}}`);
    await assert.rejects(publishKey(store, a.privateKey), UsageError);
  });
});
