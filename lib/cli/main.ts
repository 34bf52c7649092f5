/**
 * The `spackle` command line: parses arguments, calls the library, renders its progress
 * events. No logic of its own beyond that.
 *
 * @module
 */
import { streamOf, writeFileAtomic } from "../stream/io.ts";
import { Command } from "commander";
import { SpackleError, UsageError } from "../errors.ts";
import { installSpecs } from "../install/install.ts";
import { openConfiguredMirror } from "../config/open.ts";
import { mirrorCommand } from "./mirror.ts";
import { imageCommand } from "./image.ts";
import { ociCommand } from "./oci.ts";
import { maintainCommands } from "./maintain.ts";
import { composeImage } from "../image/compose.ts";
import { imageTarget } from "../image/location.ts";
import { OciMirror } from "../mirror/oci.ts";
import type { Mirror, PushReceipt } from "../mirror/types.ts";
import { isOciLayoutUrl } from "../oci/open.ts";
import { isOciUrl } from "../registry/reference.ts";
import { UrlMirror } from "../mirror/url.ts";
import { loadSigningKey, loadTrustedKeys, type Signer, trustCacheKeys } from "../signing/mod.ts";
import { pushSpecs } from "../push/push.ts";
import { selectSpecs } from "../spec/select.ts";
import { targetName } from "../spec/spec.ts";
import { openStore } from "../store/mod.ts";
import { positiveInt } from "./_args.ts";
import { copyCommand } from "./copy.ts";
import { ProgressRenderer } from "./progress.ts";
import denoJson from "../../deno.json" with { type: "json" };

/** Builds the `spackle` program (commander). `render` receives progress events. */
export function buildProgram(render: ProgressRenderer): Command {
  const program = new Command("spackle")
    .description("Spack binary build caches without Spack: push, list, install with relocation")
    .version(denoJson.version)
    .exitOverride()
    .showHelpAfterError();

  program.command("push")
    .description("push installed specs (and their installed dependencies) to a build cache")
    .argument("<mirror>", "build cache URL or directory")
    .argument("[specs...]", "name, name@version or /hashprefix; none means every installed spec")
    .requiredOption("--store <root>", "Spack install tree to push from")
    .option("-f, --force", "overwrite specs already in the build cache")
    // commander names the value after the last long flag: opts.rebuildIndex.
    .option("--update-index, --rebuild-index", "regenerate the build cache index afterwards")
    .option("--signed", "clearsign the spec manifests (the default when a key is given)")
    .option("-u, --unsigned", "push unsigned specs")
    .option(
      "-k, --key <key>",
      "signing key: an armored private key file, or a fingerprint or key id",
    )
    .option("--keyring <dir>", "directory of armored private keys to find --key in")
    .option("--gpg-home <dir>", "GnuPG home to export --key from (default $GNUPGHOME or ~/.gnupg)")
    .option("--base-image <ref>", "OCI caches: build each spec image on this base, runnable")
    .option("--tag <name>", "OCI caches: also tag one image of all pushed specs as NAME")
    .option("--json", "print the reference and digest of every manifest written, as JSON")
    .option(
      "-j, --jobs <n>",
      "specs processed concurrently; also the limit of requests in flight to a registry",
      positiveInt,
      2,
    )
    .action(async (mirrorUrl: string, selectors: string[], opts) => {
      const store = await openStore(opts.store);
      const signer = await pushSigner(mirrorUrl, opts, render);
      const { mirror } = await openConfiguredMirror(mirrorUrl, {
        direction: "push",
        onWarning: warn(render),
        registry: { concurrency: opts.jobs },
        signer,
        baseImage: opts.baseImage,
      });
      if ((opts.baseImage || opts.tag) && !(mirror instanceof OciMirror)) {
        throw new UsageError(`--base-image and --tag need an OCI build cache, not ${mirror.url}`);
      }
      const specs = selectors.length
        ? selectSpecs(store.specs, selectors, opts.store)
        : store.specs;
      const result = await pushSpecs(mirror, store, specs, {
        force: opts.force,
        updateIndex: opts.rebuildIndex,
        jobs: opts.jobs,
        onProgress: render.onProgress,
      });
      render.done();
      if (result.pushed.length === 0 && result.skipped.length > 0) {
        render.line("All specs are already in the buildcache. Use --force to overwrite them.");
      }
      const written: (Omit<PushReceipt, "spec"> & { spec?: string; tag?: string })[] = [
        ...result.manifests,
      ];
      if (opts.tag) {
        const image = await composeImage({
          base: opts.baseImage,
          mirror,
          specs: specs.map((s) => s.spec),
          target: imageTarget(mirror.url, opts.tag),
          registry: { concurrency: opts.jobs },
          onProgress: render.onProgress,
        });
        render.done();
        render.line(`Tagged ${image.reference}`);
        written.push({ tag: opts.tag, reference: image.reference, digest: image.digest });
      }
      if (opts.json) console.log(JSON.stringify(written, null, 2));
    });

  program.command("list")
    .description("list the specs in a build cache")
    .argument("<mirror>", "build cache URL or directory")
    .option("--json", "print JSON")
    .action(async (mirrorUrl: string, opts) => {
      const { mirror } = await openConfiguredMirror(mirrorUrl, { onWarning: warn(render) });
      const specs = (await mirror.listSpecs()).map((s) => s.node)
        .sort((a, b) => a.name.localeCompare(b.name) || a.hash.localeCompare(b.hash));
      if (opts.json) {
        const rows = specs.map((n) => ({
          name: n.name,
          version: n.version,
          hash: n.hash,
          platform: n.arch?.platform,
          os: n.arch?.platform_os,
          target: targetName(n),
        }));
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      const groups = Map.groupBy(
        specs,
        (n) => `${n.arch?.platform}-${n.arch?.platform_os}-${targetName(n)}`,
      );
      for (const [arch, nodes] of groups) {
        console.log(`-- ${arch} ${"-".repeat(Math.max(3, 60 - arch.length))}`);
        for (const n of nodes) console.log(`${n.hash.slice(0, 7)} ${n.name}@${n.version}`);
      }
      render.line(`${specs.length} cached build${specs.length === 1 ? "" : "s"}.`);
    });

  program.command("update-index")
    .alias("rebuild-index")
    .description("regenerate the index of a build cache from its spec manifests")
    .argument("<mirror>", "build cache URL or directory")
    .option("-k, --keys", "also regenerate the index of the public keys")
    .action(async (mirrorUrl: string, opts) => {
      const { mirror } = await openConfiguredMirror(mirrorUrl, {
        direction: "push",
        onWarning: warn(render),
      });
      const n = await mirror.updateIndex();
      render.line(`Indexed ${n} spec${n === 1 ? "" : "s"} in ${mirror.url}`);
      if (opts.keys) {
        const keys = await urlMirror(mirror).updateKeyIndex();
        render.line(`Indexed ${keys.length} key${keys.length === 1 ? "" : "s"}`);
      }
    });

  const keys = program.command("keys").description("public keys published in a build cache");
  keys.command("list")
    .description("list the keys a build cache publishes")
    .argument("<mirror>", "build cache URL or directory")
    .action(async (mirrorUrl: string) => {
      const mirror = urlMirror(
        (await openConfiguredMirror(mirrorUrl, { onWarning: warn(render) })).mirror,
      );
      for (const key of await trustCacheKeys(mirror)) {
        console.log(`${key.fingerprint} ${key.userIds.join(", ")}`);
      }
    });
  keys.command("trust")
    .description("save the keys a build cache publishes into a directory, for --trust-key DIR")
    .argument("<mirror>", "build cache URL or directory")
    .requiredOption("--into <dir>", "directory of trusted public keys")
    .action(async (mirrorUrl: string, opts) => {
      const mirror = urlMirror(
        (await openConfiguredMirror(mirrorUrl, { onWarning: warn(render) })).mirror,
      );
      await Deno.mkdir(opts.into, { recursive: true });
      for (const key of await trustCacheKeys(mirror)) {
        await writeFileAtomic(`${opts.into}/${key.fingerprint}.pub`, streamOf(key.armored));
        render.line(`Trusted ${key.fingerprint} ${key.userIds.join(", ")}`);
      }
    });

  program.command("install")
    .description("install specs and their link/run dependencies from a build cache, relocated")
    .argument("<mirror>", "build cache URL or directory")
    .argument("<specs...>", "name, name@version or /hashprefix")
    .requiredOption("--root <dir>", "install root")
    .option(
      "--padded-length <n>",
      "pad the install root to N characters, as Spack's padded_length",
      positiveInt,
    )
    .option("--no-check-signature", "install unsigned or unverifiable specs")
    .option(
      "--trust-key <path>",
      "armored public key file or directory of them to verify signatures with (repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("--trust-cache-keys", "trust the keys the build cache itself publishes")
    .action(async (mirrorUrl: string, selectors: string[], opts) => {
      const { mirror, resolved } = await openConfiguredMirror(mirrorUrl, {
        onWarning: warn(render),
      });
      const specs = selectSpecs(await mirror.listSpecs(), selectors, mirror.url);
      const trustedKeys = [
        ...await loadTrustedKeys(opts.trustKey),
        ...(opts.trustCacheKeys ? await trustCacheKeys(mirror) : []),
      ];
      const result = await installSpecs(mirror, specs, {
        root: opts.root,
        paddedLength: opts.paddedLength,
        // A mirror configured `signed: false` is not checked, as in Spack.
        checkSignature: opts.checkSignature && resolved.signed,
        trustedKeys,
        onProgress: render.onProgress,
      });
      render.done();
      for (const [, prefix] of result.installed) console.log(prefix);
    });

  program.addCommand(copyCommand(render).copyInheritedSettings(program));
  program.addCommand(mirrorCommand({ warn: warn(render) }));
  program.addCommand(imageCommand(render).copyInheritedSettings(program));
  program.addCommand(ociCommand(render).copyInheritedSettings(program));
  for (const c of maintainCommands(render)) program.addCommand(c.copyInheritedSettings(program));
  return program;
}

/** The signer of a push: none with --unsigned, or for OCI mirrors (Spack signs no OCI images). */
async function pushSigner(
  mirrorUrl: string,
  opts: { signed?: boolean; unsigned?: boolean; key?: string; keyring?: string; gpgHome?: string },
  render: ProgressRenderer,
): Promise<Signer | undefined> {
  if (opts.signed && opts.unsigned) {
    throw new UsageError("--signed and --unsigned exclude each other");
  }
  if (opts.unsigned || (!opts.signed && opts.key === undefined)) return undefined;
  if (isOciUrl(mirrorUrl) || isOciLayoutUrl(mirrorUrl)) {
    render.line(
      "warning: Code signing is currently not supported for OCI images. Use --unsigned to silence this warning.",
    );
    return undefined;
  }
  return await loadSigningKey({
    key: opts.key,
    keyring: opts.keyring,
    gpgHome: opts.gpgHome ?? Deno.env.get("GNUPGHOME") ??
      (opts.keyring === undefined ? `${Deno.env.get("HOME")}/.gnupg` : undefined),
    // From the environment, never a flag, so it stays out of process listings.
    passphrase: Deno.env.get("SPACKLE_SIGNING_PASSPHRASE"),
  });
}

function urlMirror(mirror: Mirror): UrlMirror {
  if (mirror instanceof UrlMirror) return mirror;
  throw new UsageError(`${mirror.url} publishes no signing keys (OCI build cache)`);
}

function warn(render: ProgressRenderer): (message: string) => void {
  return (message) => render.line(`warning: ${message}`);
}

/**
 * Runs the CLI with `args` (without the program name); returns the process exit code:
 * 0 success, 1 a failed operation, 2 bad usage.
 */
export async function main(args: string[]): Promise<number> {
  const render = new ProgressRenderer();
  const program = buildProgram(render);
  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (e) {
    render.done();
    const code = (e as { code?: string }).code;
    if (typeof code === "string" && code.startsWith("commander.")) {
      return code === "commander.helpDisplayed" || code === "commander.version" ? 0 : 2;
    }
    if (e instanceof SpackleError) {
      render.line(`error: ${e.message}`);
      return e instanceof UsageError ? 2 : 1;
    }
    throw e;
  }
}
