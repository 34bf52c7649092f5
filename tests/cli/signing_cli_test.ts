import assert from "node:assert/strict";
import { join } from "node:path";
import { SAMPLE_STORE as SAMPLE, spackle } from "../_support/cli.ts";
import { withTempDir } from "../_support/temp.ts";
import { newKey } from "../signing/_keys.ts";

Deno.test("CLI: push --key signs; install verifies with --trust-key or the cache's keys", async () => {
  await withTempDir(async (work) => {
    const key = await newKey("Spackle CLI Test");
    const keyFile = join(work, "signing.asc");
    await Deno.writeTextFile(keyFile, key.privateKey);
    const cache = join(work, "cache");
    const push = await spackle(
      "push",
      cache,
      "--store",
      SAMPLE,
      "--key",
      keyFile,
      "--update-index",
    );
    assert.equal(push.code, 0, push.stderr);
    const manifests = join(cache, "v3", "manifests", "spec", "sample-hello");
    const [manifest] = [...Deno.readDirSync(manifests)].map((e) => e.name);
    assert.match(
      await Deno.readTextFile(join(manifests, manifest)),
      /^-----BEGIN PGP SIGNED MESSAGE-----\n/,
    );

    const listed = await spackle("keys", "list", cache);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${key.signer.fingerprint} Spackle CLI Test`, "m"));

    // Signed, but no key trusted: refused, naming the key.
    const untrusted = await spackle("install", cache, "sample-hello", "--root", join(work, "r0"));
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, new RegExp(key.signer.fingerprint.slice(-16)));

    const pub = join(work, "trusted");
    await Deno.mkdir(pub);
    await Deno.writeTextFile(join(pub, "key.pub"), key.publicKey);
    const root = join(work, "r1");
    const ok = await spackle("install", cache, "sample-hello", "--root", root, "--trust-key", pub);
    assert.equal(ok.code, 0, ok.stderr);
    const prefix = ok.stdout.trim().split("\n").at(-1)!;
    const run = await new Deno.Command(join(prefix, "bin", "hello")).output();
    assert.match(new TextDecoder().decode(run.stdout), /RESULT OK/);

    // The explicit trust step: the cache's own keys, saved then used.
    const saved = await spackle("keys", "trust", cache, "--into", join(work, "saved"));
    assert.equal(saved.code, 0, saved.stderr);
    const viaSaved = await spackle(
      "install",
      cache,
      "sample-hello",
      "--root",
      join(work, "r3"),
      "--trust-key",
      join(work, "saved"),
    );
    assert.equal(viaSaved.code, 0, viaSaved.stderr);
    const viaCache = await spackle(
      "install",
      cache,
      "sample-hello",
      "--root",
      join(work, "r2"),
      "--trust-cache-keys",
    );
    assert.equal(viaCache.code, 0, viaCache.stderr);

    const both = await spackle("push", cache, "--store", SAMPLE, "--signed", "--unsigned");
    assert.equal(both.code, 2);
  });
});
