/**
 * The few GnuPG calls a signing key can come from: list secret keys, export one (secret and
 * public part). Always with an explicit `--homedir`, never the ambient keyring by accident.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** Runs `gpg --homedir HOME --batch --no-tty ARGS…`, feeding `stdin` when given. */
export async function runGpg(
  home: string,
  args: string[],
  stdin?: string,
): Promise<Deno.CommandOutput> {
  const child = new Deno.Command("gpg", {
    args: ["--homedir", home, "--batch", "--no-tty", ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  return await child.output();
}

async function gpg(home: string, args: string[], stdin?: string): Promise<Uint8Array> {
  let out: Deno.CommandOutput;
  try {
    out = await runGpg(home, args, stdin);
  } catch (e) {
    throw new UsageError(`cannot run gpg: ${(e as Error).message}`);
  }
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim();
    throw new UsageError(`gpg ${args.join(" ")} failed in ${home}: ${stderr}`);
  }
  return out.stdout;
}

/** Fingerprints (uppercase) of the primary secret keys in the GnuPG home `home`. */
export async function gpgSecretKeys(home: string): Promise<string[]> {
  const text = new TextDecoder().decode(
    await gpg(home, ["--with-colons", "--list-secret-keys"]),
  );
  const fingerprints: string[] = [];
  let afterPrimary = false;
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields[0] === "fpr" && afterPrimary) fingerprints.push(fields[9].toUpperCase());
    afterPrimary = fields[0] === "sec";
  }
  return fingerprints;
}

/**
 * `gpg --armor --export-secret-keys FPR`; GnuPG asks for the passphrase of a protected key,
 * given here through loopback pinentry (empty when `passphrase` is undefined).
 */
export async function gpgExportSecretKey(
  home: string,
  fingerprint: string,
  passphrase: string | undefined,
): Promise<Uint8Array> {
  return await gpg(
    home,
    [
      "--pinentry-mode",
      "loopback",
      "--passphrase-fd",
      "0",
      "--armor",
      "--export-secret-keys",
      fingerprint,
    ],
    `${passphrase ?? ""}\n`,
  );
}

/** `gpg --armor --export FPR`: the public key exactly as Spack publishes it. */
export async function gpgExportPublicKey(home: string, fingerprint: string): Promise<string> {
  return new TextDecoder().decode(await gpg(home, ["--armor", "--export", fingerprint]));
}
