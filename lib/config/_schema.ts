/**
 * Spack 1.2's `mirrors` schema, checked value by value so that every rejection names the file
 * and the key path. Accepted sections come back with their mirror URLs canonicalised
 * (paths made absolute against the file's directory and turned into `file://` URLs).
 *
 * Source: Spack build cache format reference §5.1 (`lib/spack/spack/schema/mirrors.py`).
 */
import { MirrorConfigError } from "./errors.ts";
import { type PathContext, urlOrPathToUrl } from "./paths.ts";
import { splitKey, typeName } from "./_yaml.ts";

/** Keys of a connection: allowed at the top of a mirror and in its `fetch`/`push` blocks. */
export const CONNECTION_KEYS = [
  "url",
  "view",
  "access_pair",
  "access_token_variable",
  "profile",
  "endpoint_url",
] as const;

const MIRROR_KEYS = new Set<string>([
  ...CONNECTION_KEYS,
  "fetch",
  "push",
  "source",
  "binary",
  "signed",
  "autopush",
]);
const BOOLEAN_KEYS = new Set(["source", "binary", "signed", "autopush"]);
const NULLABLE_STRING_KEYS = new Set(["access_token_variable", "profile", "endpoint_url"]);

const PAIR_FORM =
  "{id: <user>, secret_variable: <VAR>} or {id_variable: <VAR>, secret_variable: <VAR>}";

/** Where a value sits: its file, its key path and how to resolve paths found in it. */
export interface SchemaContext {
  /** File being read, for messages. */
  readonly file: string;
  /** Key path of the `mirrors` section (`mirrors` or `spack.mirrors`). */
  readonly keyPath: string;
  /** How mirror paths in this file are made absolute; without it URLs are kept as written. */
  readonly paths?: PathContext;
}

function canonical(url: string, ctx: SchemaContext, resolve: boolean): string {
  return resolve && ctx.paths ? urlOrPathToUrl(url, ctx.paths) : url;
}

function fail(ctx: SchemaContext, path: string[], detail: string): never {
  throw new MirrorConfigError(ctx.file, [ctx.keyPath, ...path].filter(Boolean).join("."), detail);
}

/**
 * Checks a `mirrors` section (`null` reads as empty) and returns it with canonical URLs; keys
 * keep their `::`/`+:`/`-:` suffixes for merging.
 *
 * @throws {MirrorConfigError} for anything Spack 1.2's schema rejects.
 */
export function checkMirrorsSection(value: unknown, ctx: SchemaContext): Map<string, unknown> {
  if (value === null || value === undefined) return new Map();
  if (!(value instanceof Map)) {
    fail(ctx, [], `expected a mapping of mirror names to mirrors, got ${typeName(value)}`);
  }
  const out = new Map<string, unknown>();
  for (const [key, entry] of value as Map<string, unknown>) {
    const { name, mode } = splitKey(key);
    out.set(key, checkMirror(entry, [name], ctx, mode === "merge" || mode === "override"));
  }
  return out;
}

function checkMirror(
  value: unknown,
  path: string[],
  ctx: SchemaContext,
  resolve: boolean,
): unknown {
  if (typeof value === "string") return canonical(value, ctx, resolve);
  if (!(value instanceof Map)) {
    fail(ctx, path, `expected a URL or a mapping, got ${typeName(value)}`);
  }
  const entry = value as Map<string, unknown>;
  const names = new Set([...entry.keys()].map((k) => splitKey(k).name));
  if (!names.has("url") && !names.has("fetch")) {
    fail(ctx, path, "a mirror needs `url` or `fetch` (Spack 1.2 rejects a mirror without either)");
  }
  const out = new Map<string, unknown>();
  for (const [key, item] of entry) {
    const { name, mode } = splitKey(key);
    const at = [...path, name];
    const plain = mode === "merge" || mode === "override";
    if (name === "fetch" || name === "push") {
      out.set(key, checkDirection(item, at, ctx, resolve && plain));
    } else if (BOOLEAN_KEYS.has(name)) {
      if (typeof item !== "boolean") fail(ctx, at, `expected true or false, got ${typeName(item)}`);
      out.set(key, item);
    } else if (MIRROR_KEYS.has(name)) {
      out.set(key, checkConnectionValue(name, item, at, ctx, resolve && plain));
    } else {
      rejectUnknown(name, at, ctx, MIRROR_KEYS);
    }
  }
  return out;
}

function checkDirection(
  value: unknown,
  path: string[],
  ctx: SchemaContext,
  resolve: boolean,
): unknown {
  if (typeof value === "string") return canonical(value, ctx, resolve);
  if (!(value instanceof Map)) {
    fail(ctx, path, `expected a URL or a connection mapping, got ${typeName(value)}`);
  }
  const allowed = new Set<string>(CONNECTION_KEYS);
  const out = new Map<string, unknown>();
  for (const [key, item] of value as Map<string, unknown>) {
    const { name, mode } = splitKey(key);
    const at = [...path, name];
    if (!allowed.has(name)) rejectUnknown(name, at, ctx, allowed);
    const plain = mode === "merge" || mode === "override";
    out.set(key, checkConnectionValue(name, item, at, ctx, resolve && plain));
  }
  return out;
}

function checkConnectionValue(
  name: string,
  value: unknown,
  path: string[],
  ctx: SchemaContext,
  resolve: boolean,
): unknown {
  if (name === "access_pair") return checkAccessPair(value, path, ctx);
  if (NULLABLE_STRING_KEYS.has(name)) {
    if (value !== null && typeof value !== "string") {
      fail(ctx, path, `expected a string or null, got ${typeName(value)}`);
    }
    return value;
  }
  if (typeof value !== "string") fail(ctx, path, `expected a string, got ${typeName(value)}`);
  return name === "url" ? canonical(value, ctx, resolve) : value;
}

/**
 * Checks an `access_pair`: the object form `{id | id_variable, secret_variable}` only (Spack 1.2
 * and Stackinator share it).
 *
 * @throws {MirrorConfigError} for the list form, plain secrets, unknown keys, a missing
 *   `secret_variable`, or not exactly one of `id` and `id_variable`.
 */
export function checkAccessPair(
  value: unknown,
  path: string[],
  ctx: SchemaContext,
): Map<string, string> {
  if (Array.isArray(value)) {
    fail(
      ctx,
      path,
      "the list form [id, secret] holds a plain-text secret and is rejected by Spack 1.2; " +
        `write ${PAIR_FORM}`,
    );
  }
  if (!(value instanceof Map)) fail(ctx, path, `expected ${PAIR_FORM}, got ${typeName(value)}`);
  const pair = value as Map<string, unknown>;
  for (const [key, item] of pair) {
    const at = [...path, key];
    if (key === "secret" || key === "password") {
      fail(
        ctx,
        at,
        "plain-text secrets are rejected by Spack 1.2; name an environment variable with " +
          "`secret_variable`",
      );
    }
    if (key !== "id" && key !== "id_variable" && key !== "secret_variable") {
      fail(ctx, at, `unknown key (allowed: id, id_variable, secret_variable)`);
    }
    if (typeof item !== "string") fail(ctx, at, `expected a string, got ${typeName(item)}`);
  }
  if (!pair.has("secret_variable")) {
    fail(ctx, path, `\`secret_variable\` is required: ${PAIR_FORM}`);
  }
  if (pair.has("id") === pair.has("id_variable")) {
    fail(ctx, path, `exactly one of \`id\` and \`id_variable\` is required: ${PAIR_FORM}`);
  }
  return pair as Map<string, string>;
}

function rejectUnknown(
  name: string,
  path: string[],
  ctx: SchemaContext,
  allowed: Set<string>,
): never {
  if (name === "access_token") {
    fail(
      ctx,
      path,
      "plain-text access tokens are rejected by Spack 1.2; name an environment variable with " +
        "`access_token_variable`",
    );
  }
  fail(ctx, path, `unknown key (allowed: ${[...allowed].join(", ")})`);
}
