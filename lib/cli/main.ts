/**
 * The `spackle` command line: parses arguments, calls the library, renders its progress
 * events. No logic of its own beyond that.
 *
 * @module
 */
import { streamOf, writeFileAtomic } from "../stream/io.ts";
import { Command, CommanderError } from "commander";
import { UsageError } from "../errors.ts";
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
import { MirrorChain } from "../mirror/chain.ts";
import type { ConfiguredMirror } from "../config/open.ts";
import { loadSigningKey, type Signer, trustCacheKeys } from "../signing/mod.ts";
import { pushSpecs } from "../push/push.ts";
import { selectSpecs } from "../spec/select.ts";
import { openStore } from "../store/mod.ts";
import {
  collectPaths,
  directoryPath,
  imageTag,
  nonNegativeInt,
  positiveInt,
  SPEC_SYNTAX,
  toJson,
} from "./_args.ts";
import { reportError } from "./_errors.ts";
import { network, NO_CACHE_VARIABLE, warn } from "./_network.ts";
import { copyCommand } from "./copy.ts";
import {
  envCommand,
  environmentRoots,
  installEnvironmentCommand,
  installOptions,
  skipWarner,
} from "./env.ts";
import { listCommand } from "./list.ts";
import { ProgressRenderer } from "./progress.ts";
import denoJson from "../../deno.json" with { type: "json" };

/** Collects a repeatable option's values in order. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Builds the `spackle` program (commander). `render` receives progress events. */
export function buildProgram(render: ProgressRenderer): Command {
  const program = new Command("spackle")
    .description("Spack binary build caches without Spack: push, list, install with relocation")
    .version(denoJson.version)
    .option(
      "--no-cache",
      "read every index and spec blob from the build cache, not the local copy kept under " +
        "$SPACKLE_CACHE_DIR, $XDG_CACHE_HOME/spackle or ~/.cache/spackle",
    )
    .hook("preAction", (cmd) => {
      if (cmd.opts().cache === false) Deno.env.set(NO_CACHE_VARIABLE, "1");
    });

  program.command("push")
    .description("push installed specs (and their installed dependencies) to a build cache")
    .argument("<mirror>", "build cache URL or directory")
    .argument("[specs...]", `${SPEC_SYNTAX}; none means every installed spec (or --env's)`)
    .requiredOption("--store <root>", "Spack install tree to push from", directoryPath)
    .option(
      "--env <dir>",
      "push the concrete roots of this Spack environment (and their installed dependencies)",
      directoryPath,
    )
    .option("-f, --force", "overwrite specs already in the build cache")
    // commander names the value after the last long flag: opts.rebuildIndex.
    .option("--update-index, --rebuild-index", "regenerate the build cache index afterwards")
    .option("--signed", "clearsign the spec manifests (the default when a key is given)")
    .option("-u, --unsigned", "push unsigned specs")
    .option(
      "-k, --key <key>",
      "signing key: an armored private key file, or a fingerprint or key id",
    )
    .option("--keyring <dir>", "directory of armored private keys to find --key in", directoryPath)
    .option(
      "--gpg-home <dir>",
      "GnuPG home to export --key from (default $GNUPGHOME or ~/.gnupg)",
      directoryPath,
    )
    .option("--base-image <ref>", "OCI caches: build each spec image on this base, runnable")
    .option(
      "--tag <name>",
      "OCI caches: also tag one image of all pushed specs as NAME",
      imageTag,
    )
    .option(
      "--json",
      "print every manifest written as JSON: [{spec?, tag?, reference, digest}]",
    )
    .option(
      "-j, --jobs <n>",
      "specs processed concurrently; also the limit of requests in flight to a registry",
      positiveInt,
      2,
    )
    .option(
      "--threads <n>",
      "compression threads shared by all specs (default: the number of cores)",
      positiveInt,
    )
    .action(async (mirrorUrl: string, selectors: string[], opts) => {
      const store = await openStore(opts.store);
      const signer = await pushSigner(mirrorUrl, opts, render);
      const { mirror } = await openConfiguredMirror(mirrorUrl, {
        ...network(render),
        direction: "push",
        registry: { concurrency: opts.jobs, onRetry: render.onRetry },
        signer,
        baseImage: opts.baseImage,
      });
      if ((opts.baseImage || opts.tag) && !(mirror instanceof OciMirror)) {
        throw new UsageError(`--base-image and --tag need an OCI build cache, not ${mirror.url}`);
      }
      if (opts.env && selectors.length) {
        throw new UsageError("--env pushes the environment's roots: give no SPEC");
      }
      const specs = opts.env
        ? await environmentRoots(opts.env, store)
        : selectors.length
        ? selectSpecs(store.specs, selectors, opts.store)
        : store.specs;
      const result = await pushSpecs(mirror, store, specs, {
        force: opts.force,
        updateIndex: opts.rebuildIndex,
        jobs: opts.jobs,
        threads: opts.threads,
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
          registry: { concurrency: opts.jobs, onRetry: render.onRetry },
          onProgress: render.onProgress,
        });
        render.done();
        render.line(`Tagged ${image.reference}`);
        written.push({ tag: opts.tag, reference: image.reference, digest: image.digest });
      }
      if (opts.json) console.log(toJson(written));
    });

  program.addCommand(listCommand(render));

  program.command("update-index")
    .alias("rebuild-index")
    .description("regenerate the index of a build cache from its spec manifests")
    .argument("<mirror>", "build cache URL or directory")
    .option("-k, --keys", "also regenerate the index of the public keys")
    .option("--full", "read every manifest again instead of only those the index lacks")
    .option("-j, --jobs <n>", "manifests read concurrently (default 8)", positiveInt)
    .option("--json", "print JSON: {specs: number indexed, keys?: [fingerprint]}")
    .action(async (mirrorUrl: string, opts) => {
      const options = network(render);
      const { mirror } = await openConfiguredMirror(mirrorUrl, {
        ...options,
        direction: "push",
        registry: { ...options.registry, concurrency: opts.jobs },
      });
      const n = await mirror.updateIndex({ full: opts.full, jobs: opts.jobs });
      render.line(`Indexed ${n} spec${n === 1 ? "" : "s"} in ${mirror.url}`);
      const keys = opts.keys ? await urlMirror(mirror).updateKeyIndex() : undefined;
      if (keys) render.line(`Indexed ${keys.length} key${keys.length === 1 ? "" : "s"}`);
      if (opts.json) console.log(toJson({ specs: n, keys }));
    });

  const keys = program.command("keys").description("public keys published in a build cache");
  keys.command("list")
    .description("list the keys a build cache publishes")
    .argument("<mirror>", "build cache URL or directory")
    .option("--json", "print JSON: [{fingerprint, keyId, userIds, source, armored}]")
    .action(async (mirrorUrl: string, opts) => {
      const mirror = urlMirror((await openConfiguredMirror(mirrorUrl, network(render))).mirror);
      const keys = await trustCacheKeys(mirror);
      if (opts.json) return console.log(toJson(keys));
      for (const key of keys) console.log(`${key.fingerprint} ${key.userIds.join(", ")}`);
    });
  keys.command("trust")
    .description("save the keys a build cache publishes into a directory, for --trust-key DIR")
    .argument("<mirror>", "build cache URL or directory")
    .requiredOption("--into <dir>", "directory of trusted public keys", directoryPath)
    .option("--json", "print JSON: [{fingerprint, userIds, path}] of the keys saved")
    .action(async (mirrorUrl: string, opts) => {
      const mirror = urlMirror((await openConfiguredMirror(mirrorUrl, network(render))).mirror);
      await Deno.mkdir(opts.into, { recursive: true });
      const saved = [];
      for (const key of await trustCacheKeys(mirror)) {
        const path = `${opts.into}/${key.fingerprint}.pub`;
        await writeFileAtomic(path, streamOf(key.armored));
        render.line(`Trusted ${key.fingerprint} ${key.userIds.join(", ")}`);
        saved.push({ fingerprint: key.fingerprint, userIds: key.userIds, path });
      }
      if (opts.json) console.log(toJson(saved));
    });

  program.command("install")
    .description(
      "install specs and their link/run dependencies from build caches, relocated; " +
        "or a Spack environment's specs and view (--env)",
    )
    .argument("[mirror]", "build cache URL, directory or mirror name (unless --mirror is given)")
    .argument("[specs...]", SPEC_SYNTAX)
    .option(
      "--root <dir>",
      "install root (with --env, default: the environment's install_tree root)",
      directoryPath,
    )
    .option(
      "--mirror <name|url>",
      "build cache to install from, repeatable: each spec comes from the first that has it",
      collect,
    )
    .option(
      "--env <dir>",
      "install a Spack environment's concrete roots and build its view " +
        "(default $SPACK_ENV when no SPEC is given)",
      directoryPath,
    )
    .option("--skip-missing", "with --env: install what the caches hold, list what they lack")
    .option("--view <dir>", "with --env: build the default view here instead", directoryPath)
    .option("--no-view", "with --env: build no view")
    .option(
      "--padded-length <n>",
      "pad the install root to N characters, as Spack's padded_length",
      positiveInt,
    )
    .option("--no-check-signature", "install unsigned or unverifiable specs")
    .option(
      "--trust-key <path>",
      "armored public key file or directory of them to verify signatures with (repeatable)",
      collectPaths,
    )
    .option("--trust-cache-keys", "trust the keys the build caches themselves publish")
    .option("-j, --jobs <n>", "specs installed concurrently (default 4)", positiveInt)
    .option(
      "--threads <n>",
      "gunzip large tarballs on N worker threads (default 0: in the main thread, faster when " +
        "the machine has no idle core)",
      nonNegativeInt,
    )
    .option(
      "--max-expansion <n>",
      "refuse a tarball that unpacks to more than N times its compressed size (default 50, " +
        "at least 64 MiB)",
      positiveInt,
    )
    .option(
      "--json",
      "print JSON: {installed: {hash: prefix}, skipped: {hash: prefix}}; with --env also " +
        "sources: {spec: url}, missing: [spec], view",
    )
    .action(async (first: string | undefined, rest: string[], opts) => {
      const positional = first === undefined ? [] : [first, ...rest];
      // An empty SPACK_ENV is no environment, as for Spack.
      const envDir = opts.env ??
        (positional.length ? undefined : Deno.env.get("SPACK_ENV") || undefined);
      if (envDir !== undefined) {
        if (positional.length) {
          throw new UsageError("--env installs the environment's specs: give no SPEC");
        }
        return await installEnvironmentCommand(envDir, opts, render);
      }
      if (opts.skipMissing || opts.view !== undefined) {
        throw new UsageError("--skip-missing, --view and --no-view need --env");
      }
      const names: string[] = opts.mirror ?? positional.splice(0, 1);
      if (!names.length) throw new UsageError("no build cache: give MIRROR or --mirror");
      if (!positional.length) throw new UsageError("no spec to install (or --env DIR)");
      if (!opts.root) throw new UsageError("required option '--root <dir>' not specified");
      const configured: ConfiguredMirror[] = [];
      for (const name of names) configured.push(await openConfiguredMirror(name, network(render)));
      const mirror = configured.length === 1
        ? configured[0].mirror
        : new MirrorChain(configured.map((c) => c.mirror), { onSkip: skipWarner(render) });
      const specs = selectSpecs(await mirror.listSpecs(), positional, mirror.url);
      const result = await installSpecs(mirror, specs, {
        ...await installOptions(opts, configured, render),
        root: opts.root,
      });
      render.done();
      if (opts.json) return console.log(toJson(result));
      for (const [, prefix] of result.installed) console.log(prefix);
    });

  program.addCommand(envCommand());
  program.addCommand(copyCommand(render));
  program.addCommand(mirrorCommand({ warn: warn(render) }));
  program.addCommand(imageCommand(render));
  program.addCommand(ociCommand(render));
  for (const c of maintainCommands(render)) program.addCommand(c);
  usageHints(program, "spackle");
  return program;
}

/**
 * Every command exits through `main` on a parse error and prints one line plus where to find
 * its usage, not the whole help.
 */
function usageHints(cmd: Command, path: string): void {
  cmd.exitOverride().showHelpAfterError(`(run '${path} --help' for usage)`);
  for (const sub of cmd.commands) usageHints(sub, `${path} ${sub.name()}`);
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

/**
 * Runs the CLI with `args` (without the program name); returns the process exit code:
 * 0 success, 1 a failed operation, 2 bad usage.
 */
export async function main(args: string[], render = new ProgressRenderer()): Promise<number> {
  let program: Command | undefined;
  let running = "spackle";
  try {
    program = buildProgram(render);
    program.hook("preAction", (_top, action) => {
      running = commandPath(action);
    });
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (e) {
    render.done();
    if (e instanceof CommanderError) {
      // commander printed the help, the version, or the error and the usage hint itself.
      return e.exitCode === 0 ? 0 : 2;
    }
    const { message, usage } = reportError(e);
    render.line(`error: ${message}`);
    if (usage) render.line(`(run '${running} --help' for usage)`);
    return usage ? 2 : 1;
  }
}

/**
 * Makes a failure outside the command's own promise chain (a rejected promise nobody awaited,
 * an exception in a timer) end the process like any other: one `error:` line, exit status 1.
 */
export function reportUncaught(): void {
  const fail = (reason: unknown) => {
    new ProgressRenderer().line(`error: ${reportError(reason).message}`);
    Deno.exit(1);
  };
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    fail(e.reason);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    fail(e.error);
  });
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}
