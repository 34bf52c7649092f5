/**
 * Loading Spack's mirror configuration from its scopes (extra files, site, user, environment),
 * merged as Spack merges them.
 *
 * Source: Spack build cache format reference §5.1 (schema, defaults, per-direction values) and
 * §5.2 (scopes, `mirrors::`).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { isOciUrl } from "../registry/reference.ts";
import { definedOnly } from "./defined.ts";
import { envLookup } from "./env_lookup.ts";
import { mergeScopes, stripKeyModes } from "./_merge.ts";
import { expandHome, type PathContext, urlOrPathToUrl } from "./paths.ts";
import { mirrorsSection, type ScopeSection } from "./_section.ts";
import { readYaml, splitKey } from "./_yaml.ts";
import type {
  AccessPair,
  ConfigScope,
  EnvSource,
  MirrorConnection,
  MirrorDescriptor,
  MirrorDirection,
  MirrorsConfig,
} from "./types.ts";

/** Which files {@link loadMirrorsConfig} reads, lowest precedence first. */
export interface LoadMirrorsOptions {
  /**
   * Further scope files below all others, lowest precedence first, named by their path. A file
   * whose top level has `spack:` is read as an environment manifest.
   */
  readonly files?: readonly string[];
  /** Spack's defaults scope: `$SPACK_ROOT/etc/spack/defaults/base/mirrors.yaml`. */
  readonly defaultsFile?: string;
  /** System scope: `/etc/spack/mirrors.yaml` (or under `$SPACK_SYSTEM_CONFIG_PATH`). */
  readonly systemFile?: string;
  /** Site scope: `$SPACK_ROOT/etc/spack/mirrors.yaml`. */
  readonly siteFile?: string;
  /**
   * User configuration directory holding `mirrors.yaml`. Default: `$SPACK_USER_CONFIG_PATH`,
   * else `~/.spack`. `false` skips the user scope, as does `SPACK_DISABLE_LOCAL_CONFIG` in `env`.
   */
  readonly userDir?: string | false;
  /** An environment's `spack.yaml` (its `spack: mirrors:`), the highest-precedence scope. */
  readonly envFile?: string;
  /** Environment variables for credentials and path expansion; default the process's. */
  readonly env?: EnvSource;
  /** Spack's root directory, for `$spack` in paths; default `$SPACK_ROOT`. */
  readonly spackRoot?: string;
}

/**
 * The scopes Spack itself reads, from its environment variables: defaults and site under
 * `$SPACK_ROOT` (when set), system under `$SPACK_SYSTEM_CONFIG_PATH` or `/etc/spack`, user under
 * `$SPACK_USER_CONFIG_PATH` or `~/.spack` (system and user skipped when
 * `SPACK_DISABLE_LOCAL_CONFIG` is set), and the active environment's `$SPACK_ENV/spack.yaml`.
 *
 * @example
 * ```ts
 * const config = await loadMirrorsConfig(spackScopes());
 * ```
 */
export function spackScopes(env?: EnvSource): LoadMirrorsOptions {
  const get = envLookup(env);
  const root = get("SPACK_ROOT");
  const local = get("SPACK_DISABLE_LOCAL_CONFIG") === undefined;
  const active = get("SPACK_ENV");
  return {
    ...(root ? { defaultsFile: join(root, "etc/spack/defaults/base/mirrors.yaml") } : {}),
    ...(local
      ? { systemFile: join(get("SPACK_SYSTEM_CONFIG_PATH") ?? "/etc/spack", "mirrors.yaml") }
      : {}),
    ...(root ? { siteFile: join(root, "etc/spack/mirrors.yaml"), spackRoot: root } : {}),
    ...(active ? { envFile: join(active, "spack.yaml") } : {}),
    ...(env ? { env } : {}),
  };
}

/**
 * The scope files {@link loadMirrorsConfig} reads for `options`, lowest precedence first, with
 * Spack's scope names (`defaults`, `system`, `site`, `user`, `env`; extra files are named by their
 * path). Nothing is read: `exists` is reported as `false`.
 *
 * @example
 * ```ts
 * const user = mirrorScopes({ env: { HOME: "/home/me" } }).find((s) => s.name === "user");
 * user?.file; // "/home/me/.spack/mirrors.yaml"
 * ```
 */
export function mirrorScopes(options: LoadMirrorsOptions = {}): ConfigScope[] {
  const env = envLookup(options.env);
  const named: [string, string | undefined][] = [
    ...(options.files ?? []).map((file) => [file, file] as [string, string]),
    ["defaults", options.defaultsFile],
    ["system", options.systemFile],
    ["site", options.siteFile],
  ];
  if (options.userDir !== false && env("SPACK_DISABLE_LOCAL_CONFIG") === undefined) {
    const dir = options.userDir ?? env("SPACK_USER_CONFIG_PATH") ?? "~/.spack";
    named.push(["user", join(expandHome(dir, env), "mirrors.yaml")]);
  }
  named.push(["env", options.envFile]);
  return named.filter((s): s is [string, string] => s[1] !== undefined)
    .map(([name, file]) => ({ name, file, exists: false }));
}

async function readScope(scope: ConfigScope, options: LoadMirrorsOptions): Promise<ScopeSection> {
  const file = await readYaml(scope.file);
  const section = mirrorsSection(file, {
    env: envLookup(options.env),
    baseDir: dirname(scope.file),
    spackRoot: options.spackRoot,
    envDir: options.envFile ? dirname(options.envFile) : undefined,
  });
  return { scope: { ...scope, exists: file.exists }, ...section };
}

/**
 * Loads and merges the mirror configuration: extra `files`, then the defaults, system, site, user
 * and environment scopes (higher precedence later). Missing files are skipped. Mappings merge key
 * by key with the higher scope first; `mirrors::` in a scope drops every mirror from lower scopes and
 * `name::` replaces one mirror instead of merging it (Spack reference §5.2). Each file is checked
 * against Spack 1.2's schema; paths in mirror URLs are made absolute against the directory of the
 * file that holds them and turned into `file://` URLs.
 *
 * @throws {MirrorConfigError} for invalid YAML or anything Spack 1.2's schema rejects (the list
 *   form of `access_pair`, plain `access_token`, unknown keys, wrong types), naming the file and
 *   the key path.
 * @example
 * ```ts
 * const config = await loadMirrorsConfig({ envFile: "./spack.yaml" });
 * for (const m of config.mirrors) console.log(m.name, m.fetch.url);
 * ```
 */
export async function loadMirrorsConfig(options: LoadMirrorsOptions = {}): Promise<MirrorsConfig> {
  const sections: ScopeSection[] = [];
  for (const scope of mirrorScopes(options)) sections.push(await readScope(scope, options));

  let merged = new Map<string, unknown>();
  const definedIn = new Map<string, string>();
  for (const { scope, mirrors, override } of sections) {
    if (override) {
      merged = new Map();
      definedIn.clear();
    }
    merged = mergeScopes(merged, mirrors) as Map<string, unknown>;
    for (const key of mirrors.keys()) definedIn.set(splitKey(key).name, scope.file);
  }

  const cwd: PathContext = { env: envLookup(options.env), baseDir: Deno.cwd() };
  const descriptors = [...merged].map(([name, value]) =>
    describeMirror(name, value, definedIn.get(name) ?? "", cwd)
  );
  return { mirrors: descriptors, scopes: sections.map((s) => s.scope) };
}

/** Spack's `Mirror` view of one merged entry (reference §5.1 "Semantics"). */
function describeMirror(
  name: string,
  value: unknown,
  file: string,
  cwd: PathContext,
): MirrorDescriptor {
  if (typeof value === "string") {
    const url = urlOrPathToUrl(value, cwd);
    return {
      name,
      fetch: { url },
      push: { url },
      signed: !isOciUrl(url),
      binary: true,
      source: true,
      autopush: false,
      file,
    };
  }
  const entry = stripKeyModes(value) as Map<string, unknown>;
  const fetch = connection(entry, "fetch", cwd);
  const flag = (key: string, fallback: boolean) => {
    const v = entry.get(key);
    return typeof v === "boolean" ? v : fallback;
  };
  return {
    name,
    fetch,
    push: connection(entry, "push", cwd),
    signed: fetch.url !== undefined && isOciUrl(fetch.url) ? false : flag("signed", true),
    binary: flag("binary", true),
    source: flag("source", true),
    autopush: flag("autopush", false),
    file,
  };
}

function connection(
  entry: Map<string, unknown>,
  direction: MirrorDirection,
  cwd: PathContext,
): MirrorConnection {
  const block = entry.get(direction);
  // A value in the direction's block wins, even when it is null; else the top-level value.
  const get = (key: string): unknown =>
    block instanceof Map && block.has(key) ? block.get(key) : entry.get(key);
  const str = (key: string) => {
    const v = get(key);
    return typeof v === "string" ? v : undefined;
  };
  const rawUrl = typeof block === "string" ? block : str("url");
  const pair = get("access_pair");
  let accessPair: AccessPair | undefined;
  if (pair instanceof Map) {
    accessPair = {
      ...(pair.has("id") ? { id: pair.get("id") as string } : {}),
      ...(pair.has("id_variable") ? { idVariable: pair.get("id_variable") as string } : {}),
      secretVariable: pair.get("secret_variable") as string,
    };
  }
  return definedOnly({
    url: rawUrl === undefined ? undefined : urlOrPathToUrl(rawUrl, cwd),
    view: str("view"),
    accessPair,
    accessTokenVariable: str("access_token_variable"),
    endpointUrl: str("endpoint_url"),
    profile: str("profile"),
  });
}
