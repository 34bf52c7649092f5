// Spack environments on the command line: `env activate|deactivate`, `install --env` and the
// environment's specs for `push --env`.

import { Command, Option } from "commander";
import { NotFoundError, UsageError } from "../errors.ts";
import {
  activationScript,
  configuredEnvironmentMirrors,
  deactivationScript,
  type Environment,
  installEnvironment,
  openEnvironment,
  type Shell,
} from "../env/mod.ts";
import type { ConfiguredMirror } from "../config/open.ts";
import type { InstallOptions } from "../install/install.ts";
import { MirrorChain } from "../mirror/chain.ts";
import type { Mirror } from "../mirror/types.ts";
import { UrlMirror } from "../mirror/url.ts";
import { loadTrustedKeys, trustCacheKeys, type TrustedKey } from "../signing/mod.ts";
import type { InstalledSpec, Store } from "../store/mod.ts";
import { toJson } from "./_args.ts";
import { network } from "./_network.ts";
import type { ProgressRenderer } from "./progress.ts";

/** The environment directory: `dir`, else `$SPACK_ENV`. */
export function environmentDir(dir: string | undefined): string {
  const found = dir ?? Deno.env.get("SPACK_ENV");
  if (!found) throw new UsageError("no environment: pass its directory or set SPACK_ENV");
  return found;
}

/** Builds `spackle env` (activate, deactivate). */
export function envCommand(): Command {
  const env = new Command("env").description("Spack environments: activate and deactivate views");
  shellOptions(
    env.command("activate")
      .description("print shell code that activates an environment's default view")
      .argument("[dir]", "the environment directory (default $SPACK_ENV)"),
  ).action(async (dir: string | undefined, opts) => {
    const environment = await openEnvironment(environmentDir(dir));
    console.log((await activationScript(activation(environment, shellOf(opts)))).trimEnd());
  });
  shellOptions(
    env.command("deactivate")
      .description("print shell code that undoes `spackle env activate` ($SPACK_ENV)"),
  ).action(async (opts) => {
    const dir = Deno.env.get("SPACK_ENV");
    if (!dir) throw new UsageError("no active environment (SPACK_ENV is not set)");
    const environment = await openEnvironment(dir);
    console.log((await deactivationScript(activation(environment, shellOf(opts)))).trimEnd());
  });
  return env;
}

function shellOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--sh", "print sh/bash/zsh code").conflicts(["csh", "fish"]))
    .addOption(new Option("--csh", "print csh/tcsh code").conflicts(["fish"]))
    .addOption(new Option("--fish", "print fish code"));
}

function shellOf(opts: { sh?: boolean; csh?: boolean; fish?: boolean }): Shell {
  if (opts.sh) return "sh";
  if (opts.csh) return "csh";
  if (opts.fish) return "fish";
  throw new UsageError("pick a shell: --sh, --csh or --fish");
}

function activation(env: Environment, shell: Shell) {
  return {
    envDir: env.dir,
    view: env.defaultView,
    roots: env.roots.map((r) => r.concrete),
    shell,
    env: Deno.env,
  };
}

/** Options of `install --env`, as commander parses them. */
export interface InstallEnvOptions {
  root?: string;
  mirror?: string[];
  paddedLength?: number;
  skipMissing?: boolean;
  /** A directory, `false` for --no-view; absent for the environment's own. */
  view?: string | false;
  checkSignature: boolean;
  trustKey?: string[];
  trustCacheKeys?: boolean;
  maxExpansion?: number;
  jobs?: number;
  threads?: number;
  json?: boolean;
}

/**
 * `install --env DIR`: the environment's roots from its mirrors (or --mirror), then its view.
 * Signatures are checked unless every cache used is configured `signed: false` (or
 * --no-check-signature).
 */
export async function installEnvironmentCommand(
  dir: string,
  opts: InstallEnvOptions,
  render: ProgressRenderer,
): Promise<void> {
  const env = await openEnvironment(dir);
  const configured = await configuredEnvironmentMirrors(env, {
    mirrors: opts.mirror,
    open: network(render),
  });
  const chain = new MirrorChain(configured.map((c) => c.mirror), { onSkip: skipWarner(render) });
  const result = await installEnvironment(env, chain, {
    ...await installOptions(opts, configured, render),
    skipMissing: opts.skipMissing,
    view: opts.view,
  });
  render.done();
  const n = result.installed.size;
  const already = result.skipped.size ? ` (${result.skipped.size} already installed)` : "";
  render.line(`Installed ${n} spec${n === 1 ? "" : "s"}${already} into ${result.storeRoot}`);
  for (const [spec, url] of result.sources) render.line(`  ${spec} from ${url}`);
  if (result.missing.length) {
    render.line(`warning: ${result.missing.length} spec(s) are in no build cache, left out:`);
    for (const spec of result.missing) render.line(`  ${spec}`);
  }
  if (result.view) render.line(`View: ${result.view.root}`);
  if (opts.json) {
    return console.log(toJson({
      installed: result.installed,
      skipped: result.skipped,
      sources: result.sources,
      missing: result.missing,
      view: result.view?.root ?? null,
    }));
  }
  for (const [, prefix] of result.installed) console.log(prefix);
}

/** A `MirrorChain` onSkip that warns once per cache. */
export function skipWarner(render: ProgressRenderer): (mirror: Mirror, error: Error) => void {
  const warned = new Set<string>();
  return (mirror, error) => {
    if (warned.has(mirror.url)) return;
    warned.add(mirror.url);
    render.line(`warning: skipping ${mirror.url}: ${error.message.split("\n")[0]}`);
  };
}

/** The keys every URL cache of `mirrors` publishes (OCI caches publish none). */
/**
 * The install options the `install` flags give, for caches `configured`: signatures are checked
 * unless --no-check-signature or every cache is configured `signed: false` (as Spack; in a chain,
 * every spec is checked as soon as one cache asks for signatures).
 */
export async function installOptions(
  opts: InstallEnvOptions,
  configured: readonly ConfiguredMirror[],
  render: ProgressRenderer,
): Promise<Omit<InstallOptions, "root"> & { root?: string }> {
  return {
    root: opts.root,
    paddedLength: opts.paddedLength,
    checkSignature: opts.checkSignature && configured.some((c) => c.resolved.signed),
    trustedKeys: [
      ...await loadTrustedKeys(opts.trustKey ?? []),
      ...(opts.trustCacheKeys ? await cacheKeys(configured.map((c) => c.mirror)) : []),
    ],
    maxExpansion: opts.maxExpansion,
    jobs: opts.jobs,
    threads: opts.threads,
    onProgress: render.onProgress,
  };
}

/** The keys the URL-layout caches among `mirrors` publish (chains included). */
export async function cacheKeys(mirrors: readonly Mirror[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const m of mirrors) {
    if (m instanceof MirrorChain) keys.push(...await cacheKeys(m.mirrors));
    else if (m instanceof UrlMirror) keys.push(...await trustCacheKeys(m));
  }
  return keys;
}

/**
 * The environment's concrete roots as installed in `store` (push adds their installed
 * dependencies, as `spack buildcache push` does inside an environment).
 *
 * @throws {NotFoundError} naming the roots `store` does not hold.
 */
export async function environmentRoots(dir: string, store: Store): Promise<InstalledSpec[]> {
  const env = await openEnvironment(dir);
  if (!env.lockfile) {
    throw new UsageError(`${env.dir} has no spack.lock: concretize it with Spack first`);
  }
  const found = env.roots.map((r) => ({ root: r, installed: store.get(r.hash) }));
  const absent = found.filter((f) => !f.installed).map((f) => `${f.root.spec}/${f.root.hash}`);
  if (absent.length) {
    throw new NotFoundError(`environment roots ${absent.join(", ")} in ${store.dir}`);
  }
  return found.map((f) => f.installed!);
}
