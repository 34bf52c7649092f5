import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../lib/errors.ts";
import {
  loadSigningKey,
  readTrustedKeys,
  SignatureError,
  verifyClearsigned,
} from "../../lib/signing/mod.ts";
import { SPACK12 } from "../_support/fixtures.ts";
import { gpg, gpgGenerateKey, newKey, withGpgHome } from "./_keys.ts";

const MANIFEST = join(
  SPACK12,
  "fs-unsigned/v3/manifests/spec/harness-hello/harness-hello-1.0-hkbpthod3rj3wdmbruquumixalrd6svw.spec.manifest.json",
);

async function gpgVerify(home: string, document: string): Promise<number> {
  const file = join(home, "document.asc");
  await Deno.writeTextFile(file, document);
  return (await gpg(home, ["--verify", file])).code;
}

Deno.test("gpg --verify accepts manifests Spackle clearsigns and rejects a tampered one", async () => {
  const { publicKey, signer } = await newKey("Spackle CI");
  const manifest = await Deno.readTextFile(MANIFEST);
  const signed = await signer.clearsign(manifest);
  const dashed = await signer.clearsign("-----BEGIN not armor\n- a list item");
  await withGpgHome(async (home) => {
    assert.equal((await gpg(home, ["--import"], publicKey)).code, 0);
    assert.equal(await gpgVerify(home, signed), 0);
    assert.equal(await gpgVerify(home, dashed), 0);
    assert.notEqual(await gpgVerify(home, signed.replace("11085", "11084")), 0);
  });
});

Deno.test("a document gpg clearsigns verifies with Spackle, naming gpg's fingerprint", async () => {
  await withGpgHome(async (home) => {
    const fpr = await gpgGenerateKey(home);
    const input = join(home, "manifest.json");
    await Deno.copyFile(MANIFEST, input);
    const out = join(home, "manifest.json.sig");
    const signing = await gpg(home, ["--clearsign", "--armor", "--output", out, input]);
    assert.equal(signing.code, 0, signing.stderr);
    const signed = await Deno.readTextFile(out);
    const exported = await gpg(home, ["--armor", "--export", fpr]);
    const keys = await readTrustedKeys(exported.stdout, "gpg export");
    const verified = await verifyClearsigned(signed, keys, out);
    assert.equal(verified.fingerprint, fpr);
    assert.equal(verified.text, `${await Deno.readTextFile(MANIFEST)}\n`);
    await assert.rejects(
      verifyClearsigned(signed.replace("4ec6cd43", "4ec6cd44"), keys, out),
      SignatureError,
    );
  });
});

Deno.test("a signing key taken from a GnuPG home publishes gpg's own export and signs for gpg", async () => {
  await withGpgHome(async (home) => {
    const fpr = await gpgGenerateKey(home, "s3cret");
    await assert.rejects(loadSigningKey({ gpgHome: home, key: fpr }), UsageError);
    // Selected by long key id; the only key is also the default.
    for (const key of [fpr.slice(-16).toLowerCase(), undefined]) {
      const signer = await loadSigningKey({ gpgHome: home, key, passphrase: "s3cret" });
      assert.equal(signer.fingerprint, fpr);
      assert.equal(signer.publicKeyArmored, (await gpg(home, ["--armor", "--export", fpr])).stdout);
      assert.equal(await gpgVerify(home, await signer.clearsign('{\n"a":1\n}')), 0);
    }
  });
});
