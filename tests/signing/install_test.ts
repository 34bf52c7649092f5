import assert from "node:assert/strict";
import { join } from "node:path";
import { InstallError } from "../../lib/errors.ts";
import { installSpecs } from "../../lib/install/install.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { pushSpecs } from "../../lib/push/push.ts";
import {
  KEY_INDEX_MANIFEST_KEY,
  listCacheKeys,
  loadTrustedKeys,
  SignatureError,
  trustCacheKeys,
} from "../../lib/signing/mod.ts";
import { selectSpecs } from "../../lib/spec/select.ts";
import { FsStore } from "../../lib/storage/fs.ts";
import { openStore } from "../../lib/store/mod.ts";
import { SAMPLE_STORE } from "../_support/cli.ts";
import { copyFixture, HARNESS, SPACK12, V2_MIRRORS } from "../_support/fixtures.ts";
import { assertHarnessInstalled, harnessPrefixes } from "../_support/harness.ts";
import { withTempDir } from "../_support/temp.ts";
import { FIXTURE_FPR, FIXTURE_KEY, newKey } from "./_keys.ts";

const LIBDEP_MANIFEST =
  "v3/manifests/spec/harness-libdep/harness-libdep-1.0-6zoocyjnti5ypmuqeet2sz6f2lxnfsxn.spec.manifest.json";

/** Runs `fn` on a fresh copy of Spack's signed cache and an install root beside it. */
async function withSignedCache(fn: (cache: string, root: string) => Promise<void>): Promise<void> {
  const cache = await copyFixture(join(SPACK12, "fs-signed"));
  try {
    await withTempDir((dir) => fn(cache, join(dir, "r")));
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
}

async function assertNothingInstalled(root: string): Promise<void> {
  const { H, D } = harnessPrefixes(root);
  await assert.rejects(Deno.lstat(D), Deno.errors.NotFound);
  await assert.rejects(Deno.lstat(H), Deno.errors.NotFound);
}

Deno.test("Spack's signed cache installs with signature checks on and its key trusted", async () => {
  await withSignedCache(async (cache, root) => {
    const mirror = await openMirror(cache);
    const [hello] = selectSpecs(await mirror.listSpecs(), ["harness-hello"], cache);
    const trustedKeys = await loadTrustedKeys([FIXTURE_KEY]);
    const result = await installSpecs(mirror, [hello], { root, checkSignature: true, trustedKeys });
    assert.deepEqual([...result.installed.keys()], [HARNESS.libdep, HARNESS.hello]);
    await assertHarnessInstalled(root);
  });
});

Deno.test("without the key trusted the install is refused naming spec and key id; nothing installed", async () => {
  await withSignedCache(async (cache, root) => {
    const mirror = await openMirror(cache);
    const [hello] = selectSpecs(await mirror.listSpecs(), ["harness-hello"], cache);
    await assert.rejects(installSpecs(mirror, [hello], { root }), (e) => {
      assert.ok(e instanceof InstallError, String(e));
      assert.match(e.message, /harness-libdep@1\.0\/6zoocyj/);
      assert.ok(e.message.includes(FIXTURE_FPR.slice(-16)), e.message);
      assert.ok(e.cause instanceof SignatureError && e.cause.code === "SIGNATURE_UNTRUSTED");
      return true;
    });
    await assertNothingInstalled(root);
  });
});

Deno.test("a tampered signed manifest is refused before anything is installed", async () => {
  await withSignedCache(async (cache, root) => {
    const path = join(cache, LIBDEP_MANIFEST);
    const text = await Deno.readTextFile(path);
    const size = /"contentLength":(\d+)/.exec(text)![1];
    await Deno.writeTextFile(path, text.replace(size, String(Number(size) + 1)));
    const mirror = await openMirror(cache);
    const [hello] = selectSpecs(await mirror.listSpecs(), ["harness-hello"], cache);
    const trustedKeys = await loadTrustedKeys([FIXTURE_KEY]);
    await assert.rejects(installSpecs(mirror, [hello], { root, trustedKeys }), (e) => {
      assert.ok(e instanceof InstallError, String(e));
      assert.match(e.message, /harness-libdep@1\.0\/6zoocyj/);
      assert.ok(e.cause instanceof SignatureError && e.cause.code === "SIGNATURE_BAD");
      assert.ok(e.message.includes(LIBDEP_MANIFEST), e.message);
      return true;
    });
    await assertNothingInstalled(root);
  });
});

Deno.test("a legacy v2 signed mirror installs verifying against the keys it publishes, once trusted", async () => {
  await withTempDir(async (dir) => {
    const mirror = await openMirror(join(V2_MIRRORS, "signed"));
    const trustedKeys = await trustCacheKeys(mirror);
    const specs = await mirror.listSpecs();
    const result = await installSpecs(mirror, specs, { root: join(dir, "r"), trustedKeys });
    assert.equal(result.installed.size, specs.length);
  });
});

Deno.test("push signed: clearsigned manifests, published key and key index; install verifies them", async () => {
  await withTempDir(async (dir) => {
    const cache = join(dir, "cache");
    const store = await openStore(SAMPLE_STORE);
    const first = await newKey("Sample Signer");
    const signed = await openMirror(cache, { signer: first.signer });
    const pushed = await pushSpecs(signed, store, store.specs, { jobs: 1, updateIndex: true });
    assert.equal(pushed.pushed.length, 2);
    const manifests: string[] = [];
    for await (const key of new FsStore(cache).list("v3/manifests/spec")) manifests.push(key);
    assert.equal(manifests.length, 2);
    for (const key of manifests) {
      const text = await Deno.readTextFile(join(cache, key));
      assert.ok(text.startsWith("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{"), key);
    }
    const published = await listCacheKeys(new FsStore(cache));
    assert.deepEqual(published.map((k) => k.fingerprint), [first.signer.fingerprint]);
    assert.equal(published[0].armored, first.signer.publicKeyArmored);
    await Deno.stat(join(cache, KEY_INDEX_MANIFEST_KEY));

    // The same signer finds both entries complete; another signer cannot verify them, so it
    // pushes them again, as Spack does when pushing signed.
    assert.equal((await pushSpecs(signed, store, store.specs, { jobs: 1 })).skipped.length, 2);
    const second = await newKey("Second Signer");
    const resigned = await openMirror(cache, { signer: second.signer });
    const again = await pushSpecs(resigned, store, store.specs, { jobs: 1, updateIndex: true });
    assert.equal(again.pushed.length, 2);
    assert.deepEqual(
      (await listCacheKeys(new FsStore(cache))).map((k) => k.fingerprint),
      [first.signer.fingerprint, second.signer.fingerprint].sort(),
    );

    const reader = await openMirror(cache);
    const [hello] = selectSpecs(await reader.listSpecs(), ["sample-hello"], cache);
    await assert.rejects(
      installSpecs(reader, [hello], {
        root: join(dir, "r"),
        trustedKeys: [first.signer.publicKey],
      }),
      (e) => e instanceof InstallError && e.message.includes(second.signer.publicKey.keyId),
    );
    const root = join(dir, "r");
    const result = await installSpecs(reader, [hello], {
      root,
      trustedKeys: await trustCacheKeys(reader),
    });
    const prefix = result.installed.get(hello.node.hash)!;
    const run = await new Deno.Command(join(prefix, "bin/hello"), { clearEnv: true, env: {} })
      .output();
    assert.ok(run.success, new TextDecoder().decode(run.stderr));
    assert.match(new TextDecoder().decode(run.stdout), /RESULT OK\n$/);
  });
});
