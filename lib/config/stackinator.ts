/**
 * Stackinator's `mirrors.yaml` (`stack-config --mirror FILE`): a build cache, a bootstrap
 * mirror, source mirrors, a source cache and a concretizer cache, checked and resolved as
 * Stackinator does, and the Spack `mirrors:` section Stackinator generates from it.
 *
 * Source: Spack build cache format reference §5.4 (`stackinator/mirror.py`,
 * `stackinator/schema/mirror.json`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { dirname, isAbsolute, resolve } from "node:path";
import { UsageError } from "../errors.ts";
import { type EnvLookup, envLookup } from "./env_lookup.ts";
import { expandEnvVars } from "./paths.ts";
import { type PlainValue, renderBlock } from "./_splice.ts";
import {
  checkStackinatorCache,
  checkStackinatorMirrors,
  type RawStackinatorMirror,
  type RawStackinatorPath,
} from "./_stackinator_schema.ts";
import { plainValue, readYaml } from "./_yaml.ts";
import { MirrorConfigError } from "./errors.ts";
import type { EnvSource } from "./types.ts";

/** A connection with Spack's YAML key names, as Stackinator passes it through. */
export interface SpackConnection {
  /** Mirror URL (`url`). */
  url?: string;
  /** Index view (`view`). */
  view?: string;
  /** AWS profile (`profile`). */
  profile?: string | null;
  /** S3-compatible endpoint (`endpoint_url`). */
  endpoint_url?: string | null;
  /** Variable holding an S3 session token (`access_token_variable`). */
  access_token_variable?: string | null;
  /** Credentials by variable name (`access_pair`). */
  access_pair?: { id?: string; id_variable?: string; secret_variable: string };
}

/** A GPG key given to a Stackinator build cache, as a file path or inline base64. */
export interface StackinatorKey {
  /** `file` when the (expanded, resolved) value named a file, else `base64`. */
  readonly origin: "file" | "base64";
  /** The resolved path, for `origin: "file"`. */
  readonly path?: string;
  /** The key bytes: ASCII-armoured text or binary OpenPGP packets. */
  readonly data: Uint8Array;
}

/** A Stackinator mirror entry (`buildcache`, or one `sourcemirror`), schema defaults applied. */
export interface StackinatorMirror {
  /** Spack mirror name: `buildcache.name` (default `buildcache`) or the `sourcemirror` key. */
  readonly name: string;
  /** Free text (`description`). */
  readonly description: string;
  /** Source mirror (`source`; default false for the build cache, true for source mirrors). */
  readonly source: boolean;
  /** Binary mirror (`binary`; default true for the build cache, false for source mirrors). */
  readonly binary: boolean;
  /** `signed`, when given. */
  readonly signed?: boolean;
  /** `autopush`, when given. */
  readonly autopush?: boolean;
  /** Top-level connection keys present, Spack spelling. */
  readonly connection: SpackConnection;
  /** `fetch` as written: a URL or a connection. */
  readonly fetch?: string | SpackConnection;
  /** `push` as written: a URL or a connection. */
  readonly push?: string | SpackConnection;
}

/** The `buildcache` entry. */
export interface StackinatorBuildcache extends StackinatorMirror {
  /** Append the stack's mount point to the URLs (`mount_specific`, default false). */
  readonly mountSpecific: boolean;
  /** Signing key (`private_key`); when set, Stackinator pushes built specs. */
  readonly privateKey?: StackinatorKey;
  /** Verification key (`public_key`). */
  readonly publicKey?: StackinatorKey;
}

/** The `bootstrap` entry: where Spack's bootstrap sources come from. */
export interface StackinatorBootstrap {
  /** `url` as written. */
  readonly url: string;
  /** Free text (`description`). */
  readonly description: string;
  /**
   * For a local directory (no remote scheme and host): its resolved path and which of
   * `metadata/sources` and `metadata/binaries` it holds (at least one).
   */
  readonly local?: { readonly path: string; readonly sources: boolean; readonly binaries: boolean };
}

/** A `sourcecache` or `concretizer` entry: an absolute directory. */
export interface StackinatorCachePath {
  /** Absolute path, environment variables expanded. */
  readonly path: string;
  /** Free text (`description`). */
  readonly description: string;
}

/** A parsed Stackinator `mirrors.yaml`. */
export interface StackinatorMirrors {
  /** The file read. */
  readonly file: string;
  /** The binary build cache, if any. */
  readonly buildcache?: StackinatorBuildcache;
  /** Bootstrap mirror, if any. */
  readonly bootstrap?: StackinatorBootstrap;
  /** Source mirrors in file order. */
  readonly sourceMirrors: readonly StackinatorMirror[];
  /** `config:source_cache` directory, if any. */
  readonly sourceCache?: StackinatorCachePath;
  /** Concretization cache directory, if any. */
  readonly concretizer?: StackinatorCachePath;
}

/** Options of {@link parseStackinatorMirrors}. */
export interface StackinatorOptions {
  /** Environment for `$VAR` expansion; default the process's. */
  readonly env?: EnvSource;
  /**
   * Legacy `--cache cache.yaml` (`{root, key}`): replaces the build cache with `{name:
   * buildcache, url: root, private_key: key, mount_specific: true, source: false, binary: true}`.
   */
  readonly cacheFile?: string;
  /** Receives warnings (the legacy cache file is deprecated). */
  readonly onWarning?: (message: string) => void;
}

const ARMOR_HEADERS = [
  "-----BEGIN PGP PRIVATE KEY BLOCK-----",
  "-----BEGIN PGP PUBLIC KEY BLOCK-----",
  "-----BEGIN PGP MESSAGE-----",
  "-----BEGIN PGP SIGNATURE-----",
];

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * A key value as Stackinator reads it: an existing file (relative to the mirrors file), else
 * base64 (characters outside the alphabet ignored, padding required, as Python's
 * `base64.b64decode`). The bytes must be ASCII-armoured OpenPGP or binary OpenPGP packets.
 */
async function readKey(
  value: string,
  mirror: string,
  keyPath: string,
  file: string,
  env: EnvLookup,
): Promise<StackinatorKey> {
  const path = resolve(dirname(file), expandEnvVars(value, env));
  let key: StackinatorKey;
  if (await isFile(path)) {
    key = { origin: "file", path, data: await Deno.readFile(path) };
  } else {
    const compact = value.replace(/[^A-Za-z0-9+/=]/g, "");
    if (compact.length === 0 || compact.length % 4 !== 0) {
      throw new MirrorConfigError(
        file,
        keyPath,
        `key for mirror '${mirror}' is not valid: '${value}' is neither a file nor base64 ` +
          "(must be a path to a GPG key or a base64-encoded GPG key)",
      );
    }
    key = { origin: "base64", data: new Uint8Array(Buffer.from(compact, "base64")) };
  }
  const head = new TextDecoder().decode(key.data.subarray(0, 64)).trimStart();
  // A binary OpenPGP packet starts with a tag byte whose high bit is set (RFC 4880 §4.2).
  const binary = key.data.length > 0 && (key.data[0] & 0x80) !== 0;
  if (!binary && !ARMOR_HEADERS.some((h) => head.startsWith(h))) {
    throw new MirrorConfigError(
      file,
      keyPath,
      `key for mirror '${mirror}' is not a valid GPG key` +
        (key.path ? ` (${key.path} holds no ASCII-armoured or binary OpenPGP data)` : ""),
    );
  }
  return key;
}

/** A `sourcecache` or `concretizer` entry: `$VAR`s expanded, the path must be absolute. */
function cacheEntry(
  entry: RawStackinatorPath,
  key: "sourcecache" | "concretizer",
  file: string,
  env: EnvLookup,
): StackinatorCachePath {
  const path = expandEnvVars(entry.value, env);
  if (!isAbsolute(path)) {
    const what = key === "sourcecache" ? "source cache" : "concretizer cache";
    throw new MirrorConfigError(file, `${key}.path`, `the ${what} path '${path}' is not absolute`);
  }
  return { path, description: entry.description };
}

function isRemote(url: string): boolean {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)/.exec(url);
  return m !== null && m[1].toLowerCase() !== "file" && m[2] !== "";
}

async function bootstrapEntry(
  url: string,
  description: string,
  file: string,
  env: EnvLookup,
): Promise<StackinatorBootstrap> {
  if (isRemote(url)) return { url, description };
  const path = resolve(dirname(file), expandEnvVars(url.replace(/^file:\/\//, ""), env));
  const sources = await isDirectory(`${path}/metadata/sources`);
  const binaries = await isDirectory(`${path}/metadata/binaries`);
  if (!sources && !binaries) {
    throw new MirrorConfigError(
      file,
      "bootstrap.url",
      `the bootstrap mirror '${path}' is not a directory holding metadata/sources or ` +
        "metadata/binaries",
    );
  }
  return { url, description, local: { path, sources, binaries } };
}

function publicMirror(name: string, raw: RawStackinatorMirror): StackinatorMirror {
  return {
    name,
    description: raw.description,
    source: raw.source,
    binary: raw.binary,
    ...(raw.signed !== undefined ? { signed: raw.signed } : {}),
    ...(raw.autopush !== undefined ? { autopush: raw.autopush } : {}),
    connection: raw.connection,
    ...(raw.fetch !== undefined ? { fetch: raw.fetch } : {}),
    ...(raw.push !== undefined ? { push: raw.push } : {}),
  };
}

async function legacyCache(
  cacheFile: string,
  options: StackinatorOptions,
): Promise<RawStackinatorMirror> {
  const { root, key } = checkStackinatorCache(
    plainValue(await readYaml(cacheFile, "1.1")),
    cacheFile,
  );
  options.onWarning?.(
    `${cacheFile}: the cache configuration file is deprecated; configure the build cache in ` +
      "mirrors.yaml (buildcache:) instead",
  );
  return {
    name: "buildcache",
    description: "",
    source: false,
    binary: true,
    mountSpecific: true,
    privateKey: key,
    publicKey: null,
    connection: { url: root },
  };
}

/**
 * Reads a Stackinator `mirrors.yaml` (YAML 1.1, as PyYAML reads it): checks it against
 * Stackinator's schema, fills the schema defaults, reads `private_key`/`public_key` (a file path,
 * relative to the mirrors file and with `$VAR`s expanded, else inline base64; the bytes must be
 * OpenPGP), requires absolute `sourcecache`/`concretizer` paths and a local bootstrap directory to
 * hold `metadata/sources` or `metadata/binaries`. Connection values pass through verbatim.
 *
 * @throws {MirrorConfigError} naming the file and key path: schema violations (unknown keys, a
 *   mirror without `url`/`fetch`/`push`, the list form of `access_pair`, …), a key that is neither
 *   a file nor base64 or not a GPG key, a relative cache path, an unusable bootstrap directory.
 * @throws {NotFound} (Deno) when `path` does not exist, as Stackinator fails on a missing file.
 * @example
 * ```ts
 * const stack = await parseStackinatorMirrors("./config/mirrors.yaml");
 * console.log(stack.buildcache?.name, stack.sourceMirrors.map((m) => m.name));
 * ```
 */
export async function parseStackinatorMirrors(
  path: string,
  options: StackinatorOptions = {},
): Promise<StackinatorMirrors> {
  const env = envLookup(options.env);
  const yaml = await readYaml(path, "1.1");
  if (!yaml.exists) throw new Deno.errors.NotFound(`mirrors file not found: ${path}`);
  const raw = checkStackinatorMirrors(plainValue(yaml), path);
  const cache = options.cacheFile ? await legacyCache(options.cacheFile, options) : raw.buildcache;

  let buildcache: StackinatorBuildcache | undefined;
  if (cache) {
    const name = cache.name ?? "buildcache";
    const key = (value: string | null | undefined, field: string) =>
      value ? readKey(value, name, `buildcache.${field}`, path, env) : undefined;
    const privateKey = await key(cache.privateKey, "private_key");
    const publicKey = await key(cache.publicKey, "public_key");
    buildcache = {
      ...publicMirror(name, cache),
      mountSpecific: cache.mountSpecific ?? false,
      ...(privateKey ? { privateKey } : {}),
      ...(publicKey ? { publicKey } : {}),
    };
  }
  return {
    file: path,
    ...(buildcache ? { buildcache } : {}),
    ...(raw.bootstrap
      ? {
        bootstrap: await bootstrapEntry(raw.bootstrap.value, raw.bootstrap.description, path, env),
      }
      : {}),
    sourceMirrors: [...raw.sourcemirror].map(([name, m]) => publicMirror(name, m)),
    ...(raw.sourcecache
      ? { sourceCache: cacheEntry(raw.sourcecache, "sourcecache", path, env) }
      : {}),
    ...(raw.concretizer
      ? { concretizer: cacheEntry(raw.concretizer, "concretizer", path, env) }
      : {}),
  };
}

/** A mirror in the form Stackinator writes to Spack's `mirrors.yaml`. */
export interface StackinatorSpackMirror {
  /** `source` of the Stackinator entry. */
  readonly source: boolean;
  /** `binary` of the Stackinator entry. */
  readonly binary: boolean;
  /** Fetch connection: explicit `fetch` (a string becomes `{url}`), else the top-level keys. */
  readonly fetch: SpackConnection;
  /** Push connection, chosen as `fetch`; always written, even for read-only caches. */
  readonly push: SpackConnection;
  /** `signed`, when the Stackinator entry gives it. */
  readonly signed?: boolean;
  /** `autopush`, when the Stackinator entry gives it. */
  readonly autopush?: boolean;
}

function spackConnection(
  mirror: StackinatorMirror,
  direction: "fetch" | "push",
  mount?: string,
): SpackConnection {
  const given = mirror[direction];
  const conn: SpackConnection = typeof given === "string"
    ? { url: given }
    : given
    ? { ...given }
    : { ...mirror.connection };
  if (mount !== undefined && conn.url !== undefined) {
    conn.url = `${conn.url.replace(/\/+$/, "")}/${mount.replace(/^\/+/, "")}`;
  }
  return conn;
}

/**
 * The Spack mirrors Stackinator generates (plain `mirrors:`, no `::`): the build cache first,
 * then the source mirrors in file order, each `{source, binary, fetch, push[, signed][,
 * autopush]}` with both connections always present (reference §5.4). With `mount_specific`,
 * the mount point (without its leading `/`) is appended to both build cache URLs.
 *
 * @throws {UsageError} when the build cache is mount specific and no `mountPoint` is given.
 * @example
 * ```ts
 * const stack = await parseStackinatorMirrors("mirrors.yaml");
 * const mirrors = stackinatorSpackMirrors(stack, "/user-environment");
 * mirrors.get("buildcache")?.fetch.url; // e.g. "https://cache.example.org/user-environment"
 * ```
 */
export function stackinatorSpackMirrors(
  stack: StackinatorMirrors,
  mountPoint?: string,
): Map<string, StackinatorSpackMirror> {
  const out = new Map<string, StackinatorSpackMirror>();
  const add = (m: StackinatorMirror, mount?: string) =>
    out.set(m.name, {
      source: m.source,
      binary: m.binary,
      fetch: spackConnection(m, "fetch", mount),
      push: spackConnection(m, "push", mount),
      ...(m.signed !== undefined ? { signed: m.signed } : {}),
      ...(m.autopush !== undefined ? { autopush: m.autopush } : {}),
    });
  const cache = stack.buildcache;
  if (cache) {
    if (cache.mountSpecific && mountPoint === undefined) {
      throw new UsageError(`build cache ${cache.name} is mount specific: a mount point is needed`);
    }
    add(cache, cache.mountSpecific ? mountPoint : undefined);
  }
  for (const m of stack.sourceMirrors) add(m);
  return out;
}

function toPlain(value: unknown): PlainValue {
  if (value !== null && typeof value === "object") {
    return new Map(
      Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toPlain(v)]),
    );
  }
  return value as PlainValue;
}

/**
 * {@link stackinatorSpackMirrors} as the text of a Spack `mirrors.yaml` (`mirrors:` at the top,
 * two-space indentation), loadable by `loadMirrorsConfig`.
 *
 * @throws {UsageError} as {@link stackinatorSpackMirrors}.
 * @example
 * ```ts
 * import { parseStackinatorMirrors, stackinatorMirrorsYaml } from "@spackle/spackle/config";
 * const stack = await parseStackinatorMirrors("./config/mirrors.yaml");
 * await Deno.writeTextFile("mirrors.yaml", stackinatorMirrorsYaml(stack, "/user-environment"));
 * ```
 */
export function stackinatorMirrorsYaml(stack: StackinatorMirrors, mountPoint?: string): string {
  const mirrors = new Map(
    [...stackinatorSpackMirrors(stack, mountPoint)].map(([name, m]) => [name, toPlain(m)]),
  );
  return renderBlock(new Map([["mirrors", mirrors]]), 0, 2);
}
