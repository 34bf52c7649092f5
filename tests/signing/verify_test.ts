import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { parseManifest, serializeManifest, stripClearsign } from "../../lib/buildcache/manifest.ts";
import {
  loadTrustedKeys,
  SignatureError,
  type SignatureProblem,
  verifyClearsigned,
} from "../../lib/signing/mod.ts";
import { SPACK12, V2_MIRRORS } from "../_support/fixtures.ts";
import { FIXTURE_FPR, FIXTURE_KEY, newKey } from "./_keys.ts";

const SPEC_MANIFESTS = [
  "v3/manifests/spec/harness-hello/harness-hello-1.0-hkbpthod3rj3wdmbruquumixalrd6svw.spec.manifest.json",
  "v3/manifests/spec/harness-libdep/harness-libdep-1.0-6zoocyjnti5ypmuqeet2sz6f2lxnfsxn.spec.manifest.json",
];
const signedPath = (key: string) => join(SPACK12, "fs-signed", key);
const BEGIN_SIGNATURE = "-----BEGIN PGP SIGNATURE-----";

function isSignatureError(problem: SignatureProblem, ...mentions: string[]) {
  return (e: unknown) => {
    assert.ok(e instanceof SignatureError, String(e));
    assert.equal(e.code, problem, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `${e.message} lacks ${m}`);
    return true;
  };
}

Deno.test("Spack's clearsigned manifests verify with the fixture key; the text is what readers parse", async () => {
  const keys = await loadTrustedKeys([FIXTURE_KEY]);
  assert.deepEqual(keys.map((k) => k.fingerprint), [FIXTURE_FPR]);
  for (const key of SPEC_MANIFESTS) {
    const signed = await Deno.readTextFile(signedPath(key));
    const verified = await verifyClearsigned(signed, keys, key);
    assert.equal(verified.fingerprint, FIXTURE_FPR);
    assert.equal(verified.keyId, FIXTURE_FPR.slice(-16));
    assert.equal(verified.text, stripClearsign(signed, key));
    // The signed body is the unsigned cache's manifest (indent-0, no newline) plus the line end
    // gpg puts before the signature.
    const unsigned = await Deno.readTextFile(join(SPACK12, "fs-unsigned", key));
    assert.equal(verified.text, `${unsigned}\n`);
  }
});

Deno.test("one byte changed in a signed manifest body fails verification, naming the manifest", async () => {
  const keys = await loadTrustedKeys([FIXTURE_KEY]);
  const signed = await Deno.readTextFile(signedPath(SPEC_MANIFESTS[0]));
  const tampered = signed.replace('"contentLength":11085', '"contentLength":11086');
  assert.notEqual(tampered, signed);
  await assert.rejects(
    verifyClearsigned(tampered, keys, "hello.spec.manifest.json"),
    isSignatureError("SIGNATURE_BAD", "hello.spec.manifest.json"),
  );
  // A flipped bit in the signature packet itself fails too.
  const at = signed.indexOf(BEGIN_SIGNATURE) + BEGIN_SIGNATURE.length + 40;
  const flipped = signed.slice(0, at) + (signed[at] === "A" ? "B" : "A") + signed.slice(at + 1);
  await assert.rejects(verifyClearsigned(flipped, keys, "flipped"), SignatureError);
});

Deno.test("a signer that is not trusted is refused, naming its key id and fingerprint", async () => {
  const signed = await Deno.readTextFile(signedPath(SPEC_MANIFESTS[1]));
  const other = await newKey("Someone Else");
  for (const keys of [[], [other.signer.publicKey]]) {
    await assert.rejects(
      verifyClearsigned(signed, keys, "libdep"),
      isSignatureError("SIGNATURE_UNTRUSTED", FIXTURE_FPR.slice(-16), FIXTURE_FPR, "libdep"),
    );
  }
});

Deno.test("an unsigned manifest is refused as missing its signature, naming the source", async () => {
  const keys = await loadTrustedKeys([FIXTURE_KEY]);
  const plain = await Deno.readTextFile(join(SPACK12, "fs-unsigned", SPEC_MANIFESTS[0]));
  await assert.rejects(
    verifyClearsigned(plain, keys, "file:///cache/x.spec.manifest.json"),
    isSignatureError("SIGNATURE_MISSING", "file:///cache/x.spec.manifest.json"),
  );
});

Deno.test("documents whose readable text is not the signed text are refused", async () => {
  const keys = await loadTrustedKeys([FIXTURE_KEY]);
  const signed = await Deno.readTextFile(signedPath(SPEC_MANIFESTS[0]));
  // A second manifest and signature header appended: Spack's extraction would read past the
  // first signature.
  const appended = `${signed}{"version":3,"data":[]}\n${BEGIN_SIGNATURE}\n`;
  await assert.rejects(verifyClearsigned(appended, keys, "appended"), SignatureError);
  // An extra armor header: Spack's extraction would return it as part of the JSON.
  const header = signed.replace("Hash: SHA512\n", "Hash: SHA512\nComment: hello\n");
  await assert.rejects(verifyClearsigned(header, keys, "header"), SignatureError);
  // Dash-escaped lines verify in OpenPGP but Spack would parse the escaped text.
  const { signer } = await newKey("Dash");
  const dashed = await signer.clearsign("-----\n- item");
  assert.ok(dashed.includes("\n- -----\n- - item\n"), dashed);
  await assert.rejects(
    verifyClearsigned(dashed, [signer.publicKey], "dashed"),
    isSignatureError("SIGNATURE_BAD", "differs"),
  );
});

Deno.test("legacy v2 signed spec files verify with the key the mirror publishes in _pgp", async () => {
  const dir = join(V2_MIRRORS, "signed/build_cache");
  const [keyFile] = [...Deno.readDirSync(join(dir, "_pgp"))].filter((e) => e.name.endsWith(".pub"));
  const keys = await loadTrustedKeys([join(dir, "_pgp", keyFile.name)]);
  assert.equal(keys[0].fingerprint, basename(keyFile.name, ".pub"));
  const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".spec.json.sig"));
  assert.ok(files.length >= 4);
  for (const { name } of files) {
    const text = await Deno.readTextFile(join(dir, name));
    const verified = await verifyClearsigned(text, keys, name);
    assert.equal(verified.fingerprint, keys[0].fingerprint);
    assert.ok(JSON.parse(verified.text).binary_cache_checksum.hash.length === 64);
  }
});

Deno.test("signer output has the shape of Spack's gpg --clearsign manifests and verifies", async () => {
  const fixture = await Deno.readTextFile(signedPath(SPEC_MANIFESTS[0]));
  const plain = await Deno.readTextFile(join(SPACK12, "fs-unsigned", SPEC_MANIFESTS[0]));
  const text = serializeManifest(parseManifest(plain, "plain").data);
  assert.equal(text, plain);
  const { signer } = await newKey("Shape");
  const signed = await signer.clearsign(text);
  // Same armor header block and same body as the Spack-made document: only the signature differs.
  const head = (s: string) => s.slice(0, s.indexOf("{"));
  const body = (s: string) => s.slice(s.indexOf("{"), s.indexOf(BEGIN_SIGNATURE));
  assert.equal(head(signed), "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n");
  assert.equal(head(signed), head(fixture));
  assert.equal(body(signed), body(fixture));
  assert.ok(signed.slice(signed.indexOf(BEGIN_SIGNATURE)).startsWith(`${BEGIN_SIGNATURE}\n\n`));
  assert.ok(signed.endsWith("\n-----END PGP SIGNATURE-----\n"));
  assert.deepEqual(parseManifest(signed, "signed").data, parseManifest(plain, "plain").data);
  const verified = await verifyClearsigned(signed, [signer.publicKey], "signed");
  assert.equal(verified.text, stripClearsign(signed, "signed"));
  assert.equal(verified.fingerprint, signer.fingerprint);
});
