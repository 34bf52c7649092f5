/**
 * Mirror URLs written as paths: Spack's variable expansion (`$spack`, `$user`, `$tempdir`, …,
 * environment variables, `~`), absolute against the directory of the file that holds them, and
 * the `file://` URL Spack makes of them.
 *
 * Source: Spack build cache format reference §5.1 (`_url_or_path_to_url`,
 * `spack.util.path.canonicalize_path`).
 */
import { tmpdir, userInfo } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { OCI_LAYOUT_SCHEME } from "../oci/open.ts";
import type { EnvLookup } from "./env_lookup.ts";

/** URL schemes Spack takes as URLs; anything else is a path. */
const URL_SCHEMES = new Set([
  "file",
  "http",
  "https",
  "sftp",
  "ftp",
  "s3",
  "gs",
  "oci",
  "oci+http",
]);

/** What path expansion may use besides environment variables. */
export interface PathContext {
  /** Environment variables. */
  readonly env: EnvLookup;
  /** Directory of the YAML file the path came from; relative paths resolve against it. */
  readonly baseDir: string;
  /** Spack's root, for `$spack` (else `SPACK_ROOT` from `env`). */
  readonly spackRoot?: string;
  /** Directory of the active environment, for `$env`. */
  readonly envDir?: string;
}

/** The scheme of `value` as Python's `urlparse` sees it (lower case), or `""`. */
function urlScheme(value: string): string {
  return /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1].toLowerCase() ?? "";
}

/** Whether Spack takes `value` as a URL rather than a path. */
export function isMirrorUrl(value: string): boolean {
  return URL_SCHEMES.has(urlScheme(value));
}

/** The user's home directory as `~` expands it. */
function homeDir(env: EnvLookup): string {
  return env("HOME") || userInfo().homedir;
}

/** Spack's `$name` / `${name}` configuration variables that make sense without a Spack install. */
function configVariable(name: string, ctx: PathContext): string | undefined {
  switch (name) {
    case "spack":
      return ctx.spackRoot ?? ctx.env("SPACK_ROOT");
    case "env":
      return ctx.envDir;
    case "user":
      return ctx.env("USER") || ctx.env("LOGNAME") || userInfo().username;
    case "tempdir":
      return ctx.env("TMPDIR") || ctx.env("TEMP") || ctx.env("TMP") || tmpdir();
    case "user_cache_path":
      return expandHome(ctx.env("SPACK_USER_CACHE_PATH") ?? "~/.spack", ctx.env);
    case "platform":
      return Deno.build.os;
    case "date": {
      const d = new Date();
      const pad = (n: number) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    }
    default:
      return undefined;
  }
}

/** `path` with a leading `~` replaced by the home directory. */
export function expandHome(path: string, env: EnvLookup): string {
  return path === "~" || path.startsWith("~/") ? homeDir(env) + path.slice(1) : path;
}

/**
 * Expands a path as Spack's `substitute_path_variables`: configuration variables (unknown ones
 * are left as written), then environment variables (unset ones left as written, like Python's
 * `os.path.expandvars`), then a leading `~`.
 */
export function expandPath(path: string, ctx: PathContext): string {
  const withConfig = path.replace(
    /\$\{(\w+)\}|\$(\w+)\b/g,
    (match, braced: string | undefined, bare: string | undefined) =>
      configVariable((braced ?? bare ?? "").toLowerCase(), ctx) ?? match,
  );
  return expandHome(expandEnvVars(withConfig, ctx.env), ctx.env);
}

/** `$VAR` and `${VAR}` replaced from `env`, unset ones kept (Python's `os.path.expandvars`). */
export function expandEnvVars(value: string, env: EnvLookup): string {
  return value.replace(
    /\$\{([^}]*)\}|\$(\w+)/g,
    (match, braced: string | undefined, bare: string | undefined) =>
      env(braced ?? bare ?? "") ?? match,
  );
}

/** Percent-encodes a path as Python's `urllib.parse.quote` with `/` safe (UTF-8 bytes). */
function quotePath(path: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(path)) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~/]/.test(ch)
      ? ch
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The URL Spack uses for a mirror URL or path written in a configuration file: URLs with a
 * supported scheme unchanged, anything else expanded, made absolute against `ctx.baseDir` and
 * turned into a `file://` URL.
 */
export function urlOrPathToUrl(value: string, ctx: PathContext): string {
  if (isMirrorUrl(value)) return value;
  // Spackle's OCI image-layout directories (`oci-layout:PATH`): the path is resolved as any path.
  if (value.startsWith(OCI_LAYOUT_SCHEME)) {
    const path = expandPath(value.slice(OCI_LAYOUT_SCHEME.length), ctx);
    return OCI_LAYOUT_SCHEME + (isAbsolute(path) ? resolve(path) : resolve(ctx.baseDir, path));
  }
  const expanded = expandPath(value, ctx);
  const absolute = isAbsolute(expanded) ? resolve(expanded) : resolve(ctx.baseDir, expanded);
  return `file://${quotePath(absolute)}`;
}
