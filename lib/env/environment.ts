/**
 * Spack environments on disk: a directory with `spack.yaml` (the manifest) and, once
 * concretized, `spack.lock`. {@link openEnvironment} reads both: the user specs, the views the
 * manifest asks for, its install tree settings, its own mirrors, and the concrete roots.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { definedOnly } from "../config/defined.ts";
import { envLookup } from "../config/env_lookup.ts";
import { expandPath } from "../config/paths.ts";
import { loadMirrorsConfig } from "../config/load.ts";
import type { EnvSource, MirrorsConfig } from "../config/types.ts";
import type { ViewLink, ViewLinkType, ViewSelection } from "../view/view.ts";
import { EnvironmentManifestError } from "./errors.ts";
import { allLockedRoots, type LockedRoot, type Lockfile, readLockfile } from "./lockfile.ts";

/** Name of the view `view: true` (or a path) defines, and the one activation uses. */
export const DEFAULT_VIEW_NAME = "default";

/** One view an environment defines (`view:` of `spack.yaml`). */
export interface EnvironmentView extends ViewSelection {
  /** The view's name (`default` for `view: true` or `view: <path>`). */
  readonly name: string;
  /** Absolute path of the view (the symlink Spack swaps). */
  readonly root: string;
  /** `link_type`, when set (Spack's default is `symlink`). */
  readonly linkType?: ViewLinkType;
}

/** `config: install_tree:` of the manifest. */
export interface InstallTreeConfig {
  /** `root`, expanded and absolute (relative paths against the environment directory). */
  readonly root?: string;
  /** `padded_length`: characters, or `true` for Spack's maximum; absent when off. */
  readonly paddedLength?: number | true;
}

/** An opened environment. Made by {@link openEnvironment}. */
export interface Environment {
  /** Absolute path of the environment directory (`$SPACK_ENV` when active). */
  readonly dir: string;
  /** `<dir>/spack.yaml`. */
  readonly manifestPath: string;
  /** `<dir>/spack.lock`. */
  readonly lockfilePath: string;
  /** `spack: specs:` entries that are strings, as written. */
  readonly userSpecs: readonly string[];
  /** Views in manifest order; none for `view: false`. */
  readonly views: readonly EnvironmentView[];
  /** The view named `default`, which activation puts on `PATH`. */
  readonly defaultView?: EnvironmentView;
  /** `config: install_tree:` settings. */
  readonly installTree: InstallTreeConfig;
  /** `include_concrete:` paths, absolute. */
  readonly includeConcrete: readonly string[];
  /** The manifest's own `mirrors:` (only this scope; merge with others through `loadMirrorsConfig`). */
  readonly mirrors: MirrorsConfig;
  /** The lockfile, when the environment is concretized. */
  readonly lockfile?: Lockfile;
  /** Concrete roots: the environment's own, then included environments' (empty if no lockfile). */
  readonly roots: readonly LockedRoot[];
}

/** Options of {@link openEnvironment}. */
export interface OpenEnvironmentOptions {
  /** Environment variables for path expansion in the manifest; default the process's. */
  readonly env?: EnvSource;
}

/**
 * Opens the Spack environment in `dir`: `spack.yaml` (required) and `spack.lock` (optional).
 *
 * Views as Spack reads `view:` — absent or `true`: `default` at `<dir>/.spack-env/view`; `false`:
 * none; a string: `default` at that path; a mapping: one view per name with `root` (required),
 * `select`, `exclude`, `projections`, `link` (`all`, `run`, `roots`) and `link_type`
 * (`symlink`/`soft`, `hardlink`/`hard`, `copy`/`relocate`). View roots and `install_tree: root`
 * expand `$env`, environment variables and `~`, relative to `dir`.
 *
 * @example
 * ```ts
 * import { openEnvironment } from "@spackle/spackle";
 * const env = await openEnvironment("./myenv");
 * console.log(env.defaultView?.root, env.roots.map((r) => r.spec));
 * ```
 * @throws {EnvironmentManifestError} for invalid YAML, a missing `spack:` mapping, or a `view`,
 *   `specs`, `include_concrete` or `config: install_tree` value of the wrong shape (file and key).
 * @throws {LockfileError} for a malformed `spack.lock`.
 * @throws {MirrorConfigError} for a `mirrors:` section Spack would reject.
 * @throws {Deno.errors.NotFound} when `dir` has no `spack.yaml`.
 */
export async function openEnvironment(
  dir: string,
  options: OpenEnvironmentOptions = {},
): Promise<Environment> {
  const envDir = resolve(dir);
  const manifestPath = join(envDir, "spack.yaml");
  const lockfilePath = join(envDir, "spack.lock");
  const spack = readManifest(manifestPath, await Deno.readTextFile(manifestPath));
  const m = new ManifestReader(manifestPath, envDir, envLookup(options.env));
  const views = m.views(spack.view);
  let lockfile: Lockfile | undefined;
  try {
    lockfile = await readLockfile(lockfilePath);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return {
    dir: envDir,
    manifestPath,
    lockfilePath,
    userSpecs: m.specs(spack.specs),
    views,
    ...definedView(views.find((v) => v.name === DEFAULT_VIEW_NAME)),
    installTree: m.installTree(spack.config),
    includeConcrete: m.paths(spack.include_concrete, "spack.include_concrete"),
    mirrors: await loadMirrorsConfig({ envFile: manifestPath, userDir: false, env: options.env }),
    ...(lockfile ? { lockfile } : {}),
    roots: lockfile ? allLockedRoots(lockfile) : [],
  };
}

function definedView(view: EnvironmentView | undefined): { defaultView?: EnvironmentView } {
  return view ? { defaultView: view } : {};
}

/** The `spack:` mapping of a manifest. */
function readManifest(path: string, text: string): Record<string, unknown> {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) {
    throw new EnvironmentManifestError(
      path,
      "",
      `invalid YAML: ${doc.errors[0].message.split("\n")[0]}`,
    );
  }
  const top = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown> | null;
  const spack = top?.spack ?? top?.["spack:"];
  if (!isObject(spack)) {
    throw new EnvironmentManifestError(path, "spack", "expected a mapping (is this a spack.yaml?)");
  }
  return spack;
}

const LINKS: readonly ViewLink[] = ["all", "run", "roots"];
const LINK_TYPES: Record<string, ViewLinkType> = {
  symlink: "symlink",
  soft: "symlink",
  hardlink: "hardlink",
  hard: "hardlink",
  copy: "copy",
  relocate: "copy",
};
const VIEW_KEYS = new Set(["root", "select", "exclude", "projections", "link", "link_type"]);

/** Checks and converts the environment settings of one manifest. */
class ManifestReader {
  constructor(
    readonly file: string,
    readonly dir: string,
    readonly env: (name: string) => string | undefined,
  ) {}

  error(key: string, detail: string): EnvironmentManifestError {
    return new EnvironmentManifestError(this.file, key, detail);
  }

  path(value: string): string {
    const expanded = expandPath(value, { env: this.env, baseDir: this.dir, envDir: this.dir });
    return isAbsolute(expanded) ? resolve(expanded) : resolve(this.dir, expanded);
  }

  views(value: unknown): EnvironmentView[] {
    const key = "spack.view";
    if (value === undefined || value === null || value === true) {
      return [{ name: DEFAULT_VIEW_NAME, root: join(this.dir, ".spack-env/view") }];
    }
    if (value === false) return [];
    if (typeof value === "string") return [{ name: DEFAULT_VIEW_NAME, root: this.path(value) }];
    if (!isObject(value)) throw this.error(key, "expected true, false, a path or a mapping");
    return Object.entries(value).map(([name, raw]) => this.view(name, raw, `${key}.${name}`));
  }

  view(name: string, raw: unknown, key: string): EnvironmentView {
    if (!isObject(raw)) throw this.error(key, "expected a mapping with `root`");
    for (const k of Object.keys(raw)) {
      if (!VIEW_KEYS.has(k)) throw this.error(`${key}.${k}`, "unknown view setting");
    }
    if (typeof raw.root !== "string") throw this.error(`${key}.root`, "expected a path");
    const link = raw.link;
    if (link !== undefined && !LINKS.includes(link as ViewLink)) {
      throw this.error(`${key}.link`, `expected one of ${LINKS.join(", ")}`);
    }
    const linkType = raw.link_type;
    if (linkType !== undefined && !(typeof linkType === "string" && linkType in LINK_TYPES)) {
      throw this.error(`${key}.link_type`, `expected one of ${Object.keys(LINK_TYPES).join(", ")}`);
    }
    const projections = raw.projections;
    if (
      projections !== undefined &&
      !(isObject(projections) && Object.values(projections).every((p) => typeof p === "string"))
    ) {
      throw this.error(`${key}.projections`, "expected a mapping of spec to path template");
    }
    const list = (k: "select" | "exclude") =>
      raw[k] === undefined ? undefined : this.strings(raw[k], `${key}.${k}`);
    return definedOnly({
      name,
      root: this.path(raw.root),
      link: link as ViewLink | undefined,
      linkType: linkType === undefined ? undefined : LINK_TYPES[linkType as string],
      select: list("select"),
      exclude: list("exclude"),
      projections: projections as Record<string, string> | undefined,
    });
  }

  specs(value: unknown): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.error("spack.specs", "expected a list");
    // Matrices and `$definitions` are kept out: only concrete roots from the lockfile matter here.
    return value.filter((s): s is string => typeof s === "string");
  }

  paths(value: unknown, key: string): string[] {
    if (value === undefined || value === null) return [];
    return this.strings(value, key).map((p) => this.path(p));
  }

  strings(value: unknown, key: string): string[] {
    if (!Array.isArray(value) || !value.every((s) => typeof s === "string")) {
      throw this.error(key, "expected a list of strings");
    }
    return value;
  }

  installTree(config: unknown): InstallTreeConfig {
    if (config === undefined || config === null) return {};
    if (!isObject(config)) throw this.error("spack.config", "expected a mapping");
    const tree = config.install_tree;
    const key = "spack.config.install_tree";
    if (tree === undefined || tree === null) return {};
    // Spack before 0.16 took the root itself as a string.
    if (typeof tree === "string") return { root: this.path(tree) };
    if (!isObject(tree)) throw this.error(key, "expected a mapping");
    const root = tree.root;
    if (root !== undefined && typeof root !== "string") {
      throw this.error(`${key}.root`, "expected a path");
    }
    const padded = tree.padded_length;
    if (
      padded !== undefined &&
      !(typeof padded === "boolean" || (Number.isInteger(padded) && (padded as number) >= 0))
    ) {
      throw this.error(`${key}.padded_length`, "expected a boolean or a non-negative integer");
    }
    return definedOnly({
      root: root === undefined ? undefined : this.path(root),
      // `false` and `0` turn padding off.
      paddedLength: padded === true || (typeof padded === "number" && padded > 0)
        ? padded as number | true
        : undefined,
    });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
