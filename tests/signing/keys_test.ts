import assert from "node:assert/strict";
import { join } from "node:path";
import { generateKey } from "openpgp";
import { FormatError, NotFoundError, UsageError } from "../../lib/errors.ts";
import {
  createSigner,
  loadSigningKey,
  loadTrustedKeys,
  normalizeKeyId,
  readTrustedKeys,
  verifyClearsigned,
} from "../../lib/signing/mod.ts";
import { TESTDATA } from "../_support/fixtures.ts";
import { withTempDir } from "../_support/temp.ts";
import { FIXTURE_FPR, gpg, newKey, withGpgHome } from "./_keys.ts";

const STACKINATOR_KEYS = join(TESTDATA, "_from-stackinator/unittests/data");

Deno.test("key selectors are printed as GnuPG prints them", () => {
  const spaced = FIXTURE_FPR.toLowerCase().replace(/(.{4})/g, "$1 ");
  assert.equal(normalizeKeyId(`0x${spaced}`), FIXTURE_FPR);
  assert.equal(normalizeKeyId(FIXTURE_FPR.slice(-16).toLowerCase()), FIXTURE_FPR.slice(-16));
  for (const bad of ["", "xyz", FIXTURE_FPR.slice(1)]) {
    assert.throws(() => normalizeKeyId(bad), UsageError);
  }
});

Deno.test("binary key files read with the fingerprint gpg shows; a locked key needs its passphrase", async () => {
  const file = join(STACKINATOR_KEYS, "test-gpg-pub.asc");
  await withGpgHome(async (home) => {
    const shown = await gpg(home, ["--with-colons", "--show-keys", file]);
    const fpr = shown.stdout.split("\n").find((l) => l.startsWith("fpr:"))!.split(":")[9];
    const [key] = await readTrustedKeys(await Deno.readFile(file), file);
    assert.equal(key.fingerprint, fpr);
    assert.equal(key.keyId, fpr.slice(-16));
  });
  await assert.rejects(
    createSigner(await Deno.readFile(join(STACKINATOR_KEYS, "test-gpg-priv.asc"))),
    (e) => e instanceof UsageError && /passphrase/.test(e.message),
  );
});

Deno.test("protected keys unlock with the right passphrase only; v6 keys are refused", async () => {
  const { privateKey } = await newKey("Locked", "right horse");
  await assert.rejects(createSigner(privateKey, { passphrase: "wrong" }), UsageError);
  const signer = await createSigner(privateKey, { passphrase: "right horse" });
  const signed = await signer.clearsign('{\n"version":3\n}');
  assert.equal(
    (await verifyClearsigned(signed, [signer.publicKey], "x")).text,
    '{\n"version":3\n}\n',
  );
  const v6 = await generateKey({
    type: "curve25519",
    userIDs: [{ email: "v6@example.org" }],
    format: "armored",
    config: { v6Keys: true },
  });
  await assert.rejects(
    createSigner(v6.privateKey),
    (e) => e instanceof UsageError && /v6 key/.test(e.message),
  );
});

Deno.test("a keyring directory: keys selected by fingerprint or key id, one default, or a clear refusal", async () => {
  await withTempDir(async (dir) => {
    const a = await newKey("Key A");
    const b = await newKey("Key B");
    const c = await newKey("Key C");
    await Deno.writeTextFile(join(dir, "a.asc"), a.privateKey);
    await Deno.writeTextFile(join(dir, "b.asc"), b.privateKey);
    await Deno.writeTextFile(join(dir, "c.pub"), c.publicKey);
    await assert.rejects(
      loadSigningKey({ keyring: dir }),
      (e) =>
        e instanceof UsageError && e.message.includes(a.signer.fingerprint) &&
        e.message.includes(b.signer.fingerprint),
    );
    const byFpr = await loadSigningKey({ keyring: dir, key: b.signer.fingerprint });
    assert.equal(byFpr.fingerprint, b.signer.fingerprint);
    const byId = await loadSigningKey({ keyring: dir, key: a.signer.publicKey.keyId });
    assert.equal(byId.fingerprint, a.signer.fingerprint);
    // A public key is not a signing key.
    await assert.rejects(
      loadSigningKey({ keyring: dir, key: c.signer.fingerprint }),
      (e) => e instanceof NotFoundError && e.message.includes(c.signer.fingerprint),
    );
    const byFile = await loadSigningKey({ key: join(dir, "a.asc") });
    assert.equal(byFile.fingerprint, a.signer.fingerprint);
    await assert.rejects(loadSigningKey({ key: a.signer.fingerprint }), UsageError);

    await Deno.remove(join(dir, "b.asc"));
    assert.equal((await loadSigningKey({ keyring: dir })).fingerprint, a.signer.fingerprint);
    await Deno.remove(join(dir, "a.asc"));
    await assert.rejects(
      loadSigningKey({ keyring: dir }),
      (e) => e instanceof UsageError && /no default key/.test(e.message),
    );
  });
});

Deno.test("trusted keys load from files and directories; private keys count by their public part", async () => {
  await withTempDir(async (dir) => {
    const a = await newKey("Trusted A");
    const b = await newKey("Trusted B");
    await Deno.writeTextFile(join(dir, "a.pub"), a.publicKey);
    await Deno.writeTextFile(join(dir, "a.asc"), a.privateKey);
    await Deno.writeTextFile(join(dir, "both.pub"), `${a.publicKey}\n${b.publicKey}`);
    const keys = await loadTrustedKeys([dir]);
    assert.deepEqual(
      keys.map((k) => k.fingerprint).sort(),
      [a.signer.fingerprint, b.signer.fingerprint].sort(),
    );
    assert.ok(keys.every((k) => k.armored.startsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----")));
    await Deno.writeTextFile(join(dir, "notes.txt"), "not a key");
    await assert.rejects(
      loadTrustedKeys([dir]),
      (e) => e instanceof FormatError && e.message.includes("notes.txt"),
    );
  });
});
