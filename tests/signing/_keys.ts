/** Keys for the signing tests: small EdDSA keys made by OpenPGP.js or GnuPG in a temp home. */
import { join } from "node:path";
import { generateKey } from "openpgp";
import { createSigner, type Signer } from "../../lib/signing/mod.ts";
import { runGpg } from "../../lib/signing/_gpg.ts";
import { SPACK12 } from "../_support/fixtures.ts";

/** The public key of the Spack 1.2 `fs-signed` fixture. */
export const FIXTURE_KEY = join(SPACK12, "keys/harness-signing-key.pub");
/** Its fingerprint, as `keys/fingerprint.txt` gives it. */
export const FIXTURE_FPR = Deno.readTextFileSync(join(SPACK12, "keys/fingerprint.txt")).trim();

/** A fresh v4 Ed25519 key (armored, optionally protected) and its signer. */
export async function newKey(
  name: string,
  passphrase?: string,
): Promise<{ privateKey: string; publicKey: string; signer: Signer }> {
  const { privateKey, publicKey } = await generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name, email: "signing@example.org" }],
    passphrase,
    format: "armored",
  });
  return { privateKey, publicKey, signer: await createSigner(privateKey, { passphrase }) };
}

/** Runs `gpg --homedir HOME --batch ARGS…`, optionally feeding `stdin`. */
export async function gpg(
  home: string,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await runGpg(home, args, stdin);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Runs `fn` with a fresh GnuPG home (cheap key protection); afterwards stops the gpg-agent started for that home (and
 * only that one) and removes the directory.
 */
export async function withGpgHome(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "spackle-gpg-" });
  // Cheap passphrase protection (GnuPG calibrates about 100 ms per use otherwise).
  await Deno.writeTextFile(join(home, "gpg-agent.conf"), "s2k-count 65536\n");
  await Deno.writeTextFile(join(home, "gpg.conf"), "s2k-count 65536\n");
  try {
    await fn(home);
  } finally {
    await new Deno.Command("gpgconf", { args: ["--homedir", home, "--kill", "gpg-agent"] })
      .output();
    await Deno.remove(home, { recursive: true });
  }
}

/** Makes an Ed25519 signing key in the GnuPG home `home`; returns its fingerprint. */
export async function gpgGenerateKey(home: string, passphrase = ""): Promise<string> {
  const made = await gpg(home, [
    "--pinentry-mode",
    "loopback",
    "--passphrase",
    passphrase,
    "--quick-gen-key",
    "Spackle GnuPG Test <gpg@example.org>",
    "ed25519",
    "sign",
    "never",
  ]);
  if (made.code !== 0) throw new Error(`gpg --quick-gen-key failed: ${made.stderr}`);
  const listed = await gpg(home, ["--with-colons", "--list-secret-keys"]);
  const fpr = listed.stdout.split("\n").find((l) => l.startsWith("fpr:"))?.split(":")[9];
  if (!fpr) throw new Error(`no fingerprint in: ${listed.stdout}`);
  return fpr;
}
