/**
 * Installing a Spack environment without Spack: its lockfile's concrete roots and their link/run
 * closure from the configured mirrors (environment scope first), then its view.
 *
 * @module
 */
import { loadMirrorsConfig, spackScopes } from "../config/load.ts";
import { type ConfiguredMirror, openConfiguredMirror } from "../config/open.ts";
import type { EnvSource } from "../config/types.ts";
import { SpackleError, UsageError } from "../errors.ts";
import { forEachConcurrently } from "../concurrency.ts";
import { type InstallOptions, type InstallResult, installSpecs } from "../install/install.ts";
import { MirrorChain } from "../mirror/chain.ts";
import type { OpenMirrorOptions } from "../mirror/open.ts";
import type { Mirror } from "../mirror/types.ts";
import {
  type ConcreteSpec,
  isExternal,
  shortSpec,
  specFromNodes,
  type SpecNode,
  traverse,
} from "../spec/spec.ts";
import { paddedRoot, relativePrefix } from "../store/mod.ts";
import { buildView, type ViewResult } from "../view/view.ts";
import type { Environment } from "./environment.ts";

/** Spack's largest `padded_length`, used for `padded_length: true`. */
const MAX_PADDED_LENGTH = 3796;

/** Specs of an environment that no mirror holds; nothing was installed. */
export class MissingSpecsError extends SpackleError {
  /** Creates the error listing `missing` (`name@version/hash7`) and the caches searched. */
  constructor(readonly missing: readonly string[], readonly mirrors: string) {
    super(
      "MISSING_SPECS",
      `${missing.length} spec(s) are in no build cache (${mirrors}):\n` +
        missing.map((s) => `  ${s}`).join("\n") +
        "\nnothing was installed (use --skip-missing to install the rest)",
    );
  }
}

/** Options of {@link openEnvironmentMirrors}. */
export interface EnvironmentMirrorsOptions {
  /** Mirror names or URLs to use instead of the configured ones, in order. */
  mirrors?: readonly string[];
  /** Environment variables (credentials, `$SPACK_*` scopes); default the process's. */
  env?: EnvSource;
  /** Called when a cache fails and the next one is tried. */
  onSkip?: (mirror: Mirror, error: Error) => void;
  /** How each cache is opened (warnings, retries); see `openMirror`. */
  open?: OpenMirrorOptions;
}

/**
 * The caches an environment installs from, as one {@link MirrorChain}: `options.mirrors` when
 * given, else every mirror of Spack's configuration scopes with the environment's `spack.yaml`
 * as the highest one, in Spack's order.
 *
 * @example
 * ```ts
 * import { openEnvironment } from "@spackle/spackle";
 * import { openEnvironmentMirrors } from "@spackle/spackle/env";
 * const env = await openEnvironment("./myenv");
 * const chain = await openEnvironmentMirrors(env);
 * console.log(chain.mirrors.map((m) => m.url));
 * ```
 *
 * @throws {UsageError} when no mirror is configured or given.
 * @throws {MirrorConfigError} for configuration Spack would reject.
 * @throws {MirrorCredentialsError} when a variable the configuration names is unset.
 */
export async function openEnvironmentMirrors(
  env: Environment,
  options: EnvironmentMirrorsOptions = {},
): Promise<MirrorChain> {
  const configured = await configuredEnvironmentMirrors(env, options);
  return new MirrorChain(configured.map((c) => c.mirror), { onSkip: options.onSkip });
}

/**
 * The caches {@link openEnvironmentMirrors} chains, each with what its configuration says
 * (`resolved.signed` tells whether Spack would check its signatures).
 *
 * @example
 * ```ts
 * import { openEnvironment } from "@spackle/spackle";
 * import { configuredEnvironmentMirrors } from "@spackle/spackle/env";
 * const env = await openEnvironment("./myenv");
 * const unsigned = (await configuredEnvironmentMirrors(env)).every((c) => !c.resolved.signed);
 * ```
 *
 * @throws {UsageError} when no mirror is configured or given.
 * @throws {MirrorConfigError} for configuration Spack would reject.
 * @throws {MirrorCredentialsError} when a variable the configuration names is unset.
 */
export async function configuredEnvironmentMirrors(
  env: Environment,
  options: Omit<EnvironmentMirrorsOptions, "onSkip"> = {},
): Promise<ConfiguredMirror[]> {
  const config = await loadMirrorsConfig({
    ...spackScopes(options.env),
    envFile: env.manifestPath,
  });
  const names = options.mirrors?.length
    ? options.mirrors
    : config.mirrors.filter((m) => m.binary).map((m) => m.name);
  if (!names.length) {
    throw new UsageError(
      `no mirror is configured for ${env.dir} (add one to spack.yaml or pass --mirror)`,
    );
  }
  const mirrors: ConfiguredMirror[] = [];
  for (const name of names) {
    mirrors.push(await openConfiguredMirror(name, { ...options.open, config, env: options.env }));
  }
  return mirrors;
}

/** Options of {@link installEnvironment}. */
export interface InstallEnvironmentOptions extends Omit<InstallOptions, "root" | "paddedLength"> {
  /** Install root; default the environment's `config: install_tree: root`. */
  root?: string;
  /** Pad the root as Spack's `padded_length`; default the environment's setting. */
  paddedLength?: number;
  /** Install what the caches hold and leave out specs they lack (and their dependents). */
  skipMissing?: boolean;
  /** Where the default view goes (default: the environment's); `false` builds no view. */
  view?: string | false;
  /** Specs availability is checked for concurrently (default 8). */
  jobs?: number;
}

/** What {@link installEnvironment} did. */
export interface InstallEnvironmentResult extends InstallResult {
  /** The store root specs went into (padded when asked). */
  storeRoot: string;
  /** The cache each spec installed now came from, by `name@version/hash7`. */
  sources: Map<string, string>;
  /** Specs no cache held, left out with `skipMissing` (`name@version/hash7`). */
  missing: string[];
  /** The view built, when there is one. */
  view?: ViewResult;
}

/**
 * Installs the concrete roots of `env`'s lockfile and their link/run dependencies from `mirror`
 * (usually {@link openEnvironmentMirrors}), then builds the environment's default view over the
 * installed prefixes. Before anything is installed, every needed spec is looked up: those no cache
 * holds are reported together ({@link MissingSpecsError}), or left out with `skipMissing`
 * together with the roots that need them.
 *
 * @example
 * ```ts
 * import { openEnvironment } from "@spackle/spackle";
 * import { installEnvironment, openEnvironmentMirrors } from "@spackle/spackle/env";
 * const env = await openEnvironment("./myenv");
 * const result = await installEnvironment(env, await openEnvironmentMirrors(env), {
 *   root: "/opt/sw",
 *   checkSignature: false,
 * });
 * console.log(result.view?.root);
 * ```
 *
 * @throws {UsageError} when the environment has no lockfile or no install root is known.
 * @throws {MissingSpecsError} when specs are in no cache and `skipMissing` is not set.
 * @throws {InstallError} as {@link installSpecs} does.
 */
export async function installEnvironment(
  env: Environment,
  mirror: Mirror,
  options: InstallEnvironmentOptions = {},
): Promise<InstallEnvironmentResult> {
  if (!env.lockfile) {
    throw new UsageError(`${env.dir} has no spack.lock: concretize it with Spack first`);
  }
  const root = options.root ?? env.installTree.root;
  if (!root) {
    throw new UsageError(`${env.manifestPath} sets no install_tree root: pass --root`);
  }
  const padding = env.installTree.paddedLength === true
    ? MAX_PADDED_LENGTH
    : env.installTree.paddedLength;
  const paddedLength = options.paddedLength ?? padding;
  const roots = env.roots.map((r) => r.concrete);

  const missing = await missingSpecs(roots, mirror, options.jobs ?? 8);
  if (missing.size && !options.skipMissing) {
    throw new MissingSpecsError([...missing.values()].map(shortSpec), mirror.url);
  }
  const installable = roots.filter((spec) => !closure(spec).some((n) => missing.has(n.hash)));

  const sources = new Map<string, string>();
  const result = await installSpecs(mirror, installable, {
    ...options,
    root,
    paddedLength,
    onProgress: (event) => {
      if (event.kind === "spec" && event.state === "done" && event.source) {
        sources.set(event.spec, event.source);
      }
      options.onProgress?.(event);
    },
  });

  const storeRoot = paddedLength ? paddedRoot(root, paddedLength) : root;
  const out: InstallEnvironmentResult = {
    ...result,
    storeRoot,
    sources,
    missing: [...missing.values()].map(shortSpec),
  };
  const view = env.defaultView;
  if (view && options.view !== false) {
    out.view = await buildView({
      ...view,
      root: options.view ?? view.root,
      specs: installable,
      prefixOf: (node) => `${storeRoot}/${relativePrefix(node)}`,
    });
  }
  return out;
}

/** The non-external link/run closure of `spec`, root included. */
function closure(spec: ConcreteSpec): SpecNode[] {
  return traverse(spec, ["link", "run"]).filter((n) => !isExternal(n));
}

/** Nodes of the roots' closures that `mirror` lacks, by DAG hash. */
async function missingSpecs(
  roots: readonly ConcreteSpec[],
  mirror: Mirror,
  jobs: number,
): Promise<Map<string, SpecNode>> {
  const needed = new Map<string, ConcreteSpec>();
  for (const root of roots) {
    for (const node of closure(root)) needed.set(node.hash, specFromNodes(node.hash, root.nodes));
  }
  const specs = [...needed.values()];
  const missing = new Map<string, SpecNode>();
  await forEachConcurrently(specs.length, jobs, async (i) => {
    if (!await mirror.hasSpec(specs[i].node)) missing.set(specs[i].node.hash, specs[i].node);
  });
  return missing;
}
