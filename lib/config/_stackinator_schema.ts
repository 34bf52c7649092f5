/**
 * Stackinator's `mirrors.yaml` schema (`stackinator/schema/mirror.json`) and legacy `cache.yaml`
 * (`schema/cache.json`), checked with messages naming the file and key path, and the schema
 * defaults filled in as Stackinator's validator does.
 *
 * Source: Spack build cache format reference §5.4.
 */
import { MirrorConfigError } from "./errors.ts";
import { checkAccessPair, CONNECTION_KEYS } from "./_schema.ts";
import { typeName } from "./_yaml.ts";
import type { SpackConnection, StackinatorMirror } from "./stackinator.ts";

/**
 * A `buildcache` or `sourcemirror` entry after the schema, defaults filled in; `name`,
 * `mountSpecific` and the keys (paths or base64, unread) are set for the build cache only.
 */
export interface RawStackinatorMirror extends Omit<StackinatorMirror, "name"> {
  readonly name?: string;
  readonly mountSpecific?: boolean;
  readonly privateKey?: string | null;
  readonly publicKey?: string | null;
}

/** A `bootstrap`, `sourcecache` or `concretizer` entry. */
export interface RawStackinatorPath {
  readonly description: string;
  readonly value: string;
}

/** The whole file after the schema. */
export interface RawStackinatorMirrors {
  readonly buildcache?: RawStackinatorMirror;
  readonly bootstrap?: RawStackinatorPath;
  readonly sourcemirror: ReadonlyMap<string, RawStackinatorMirror>;
  readonly sourcecache?: RawStackinatorPath;
  readonly concretizer?: RawStackinatorPath;
}

type Fail = (path: string[], detail: string) => never;

function failer(file: string): Fail {
  return (path, detail) => {
    throw new MirrorConfigError(file, path.join("."), detail);
  };
}

function asMap(value: unknown, path: string[], fail: Fail): Map<string, unknown> {
  if (!(value instanceof Map)) fail(path, `expected a mapping, got ${typeName(value)}`);
  return value as Map<string, unknown>;
}

function onlyKeys(
  map: Map<string, unknown>,
  allowed: readonly string[],
  path: string[],
  fail: Fail,
) {
  for (const key of map.keys()) {
    if (!allowed.includes(key)) {
      fail([...path, key], `unknown key (allowed: ${allowed.join(", ")})`);
    }
  }
}

function str(
  map: Map<string, unknown>,
  key: string,
  path: string[],
  fail: Fail,
): string | undefined {
  const v = map.get(key);
  if (v !== undefined && typeof v !== "string") {
    fail([...path, key], `expected a string, got ${typeName(v)}`);
  }
  return v as string | undefined;
}

function bool(
  map: Map<string, unknown>,
  key: string,
  path: string[],
  fail: Fail,
): boolean | undefined {
  const v = map.get(key);
  if (v !== undefined && typeof v !== "boolean") {
    fail([...path, key], `expected true or false, got ${typeName(v)}`);
  }
  return v as boolean | undefined;
}

function nullableStr(map: Map<string, unknown>, key: string, path: string[], fail: Fail) {
  const v = map.get(key);
  if (v !== undefined && v !== null && typeof v !== "string") {
    fail([...path, key], `expected a string or null, got ${typeName(v)}`);
  }
  return v as string | null | undefined;
}

// The order Stackinator copies top-level connection keys into `fetch`/`push` (reference §5.4).
const TOP_LEVEL_ORDER = [
  "url",
  "view",
  "profile",
  "endpoint_url",
  "access_token_variable",
  "access_pair",
] as const;

/** Connection keys of `map`, in `order` (default: as written, for pass-through objects). */
function connection(
  map: Map<string, unknown>,
  path: string[],
  file: string,
  fail: Fail,
  order: readonly string[] = [...map.keys()],
) {
  const conn: SpackConnection = {};
  for (const key of order as (keyof SpackConnection)[]) {
    if (!map.has(key)) continue;
    if (key === "access_pair") {
      const pair = checkAccessPair(map.get(key), [...path, key], { file, keyPath: "" });
      conn.access_pair = Object.fromEntries(pair) as SpackConnection["access_pair"];
    } else if (key === "url" || key === "view") {
      conn[key] = str(map, key, path, fail);
    } else {
      conn[key] = nullableStr(map, key, path, fail);
    }
  }
  return conn;
}

function direction(value: unknown, path: string[], file: string, fail: Fail) {
  if (value === undefined || typeof value === "string") return value;
  const map = asMap(value, path, fail);
  onlyKeys(map, CONNECTION_KEYS, path, fail);
  return connection(map, path, file, fail);
}

const MIRROR_KEYS = [
  "description",
  "source",
  "binary",
  "signed",
  "autopush",
  ...CONNECTION_KEYS,
  "fetch",
  "push",
];
const BUILDCACHE_KEYS = ["name", "mount_specific", "private_key", "public_key", ...MIRROR_KEYS];

function mirror(
  value: unknown,
  path: string[],
  file: string,
  buildcache: boolean,
): RawStackinatorMirror {
  const fail: Fail = failer(file);
  const map = asMap(value, path, fail);
  onlyKeys(map, buildcache ? BUILDCACHE_KEYS : MIRROR_KEYS, path, fail);
  if (!map.has("url") && !map.has("fetch") && !map.has("push")) {
    fail(path, "needs at least one of `url`, `fetch` and `push`");
  }
  const key = (k: string) => {
    nullableStr(map, k, path, fail);
    return (map.get(k) ?? null) as string | null;
  };
  return {
    description: str(map, "description", path, fail) ?? "",
    source: bool(map, "source", path, fail) ?? !buildcache,
    binary: bool(map, "binary", path, fail) ?? buildcache,
    signed: bool(map, "signed", path, fail),
    autopush: bool(map, "autopush", path, fail),
    connection: connection(map, path, file, fail, TOP_LEVEL_ORDER),
    fetch: direction(map.get("fetch"), [...path, "fetch"], file, fail),
    push: direction(map.get("push"), [...path, "push"], file, fail),
    ...(buildcache
      ? {
        name: str(map, "name", path, fail) ?? "buildcache",
        mountSpecific: bool(map, "mount_specific", path, fail) ?? false,
        privateKey: key("private_key"),
        publicKey: key("public_key"),
      }
      : {}),
  };
}

function pathEntry(value: unknown, path: string[], field: string, fail: Fail): RawStackinatorPath {
  const map = asMap(value, path, fail);
  onlyKeys(map, ["description", field], path, fail);
  const v = str(map, field, path, fail);
  if (v === undefined) fail(path, `\`${field}\` is required`);
  return { description: str(map, "description", path, fail) ?? "", value: v };
}

/**
 * Checks a parsed Stackinator `mirrors.yaml` (`null` for an empty file).
 *
 * @throws {MirrorConfigError} naming the key path for anything the schema rejects.
 */
export function checkStackinatorMirrors(value: unknown, file: string): RawStackinatorMirrors {
  const fail: Fail = failer(file);
  if (value === null || value === undefined) return { sourcemirror: new Map() };
  const root = asMap(value, [], fail);
  for (const key of root.keys()) {
    if (key === "mirrors") {
      fail(
        [key],
        "unknown key: a Stackinator mirrors.yaml has no `mirrors:` level " +
          "(top-level keys: buildcache, bootstrap, sourcemirror, sourcecache, concretizer)",
      );
    }
  }
  onlyKeys(
    root,
    ["buildcache", "bootstrap", "sourcemirror", "sourcecache", "concretizer"],
    [],
    fail,
  );
  const sources = new Map<string, RawStackinatorMirror>();
  if (root.has("sourcemirror")) {
    for (const [name, entry] of asMap(root.get("sourcemirror"), ["sourcemirror"], fail)) {
      sources.set(name, mirror(entry, ["sourcemirror", name], file, false));
    }
  }
  const optional = <T>(key: string, read: (v: unknown) => T) =>
    root.has(key) ? read(root.get(key)) : undefined;
  return {
    buildcache: optional("buildcache", (v) => mirror(v, ["buildcache"], file, true)),
    bootstrap: optional("bootstrap", (v) => pathEntry(v, ["bootstrap"], "url", fail)),
    sourcemirror: sources,
    sourcecache: optional("sourcecache", (v) => pathEntry(v, ["sourcecache"], "path", fail)),
    concretizer: optional("concretizer", (v) => pathEntry(v, ["concretizer"], "path", fail)),
  };
}

/**
 * Checks a legacy `cache.yaml` (`{root, key}`, both required; `key` a path or null).
 *
 * @throws {MirrorConfigError} for anything the schema rejects.
 */
export function checkStackinatorCache(value: unknown, file: string): {
  root: string;
  key: string | null;
} {
  const fail: Fail = failer(file);
  const map = asMap(value, [], fail);
  onlyKeys(map, ["root", "key"], [], fail);
  const root = str(map, "root", [], fail);
  if (root === undefined) fail(["root"], "is required");
  if (!map.has("key")) fail(["key"], "is required (a key path or null)");
  nullableStr(map, "key", [], fail);
  return { root, key: (map.get("key") ?? null) as string | null };
}
