/**
 * An install tree on disk ("store"): its database, the installed specs with the prefixes Spack
 * recorded for them, and where those prefixes are now. A store copied elsewhere keeps its recorded
 * prefixes (they are baked into its files), so both are tracked.
 *
 * @module
 */
import { join } from "node:path";
import { exists } from "../stream/io.ts";
import { FormatError, NotFoundError, UsageError } from "../errors.ts";
import { selectSpecs } from "../spec/select.ts";
import { type ConcreteSpec, isExternal, parseSpecFile, type SpecNode } from "../spec/spec.ts";
import { DB_DIRNAME, type InstallDatabase, type InstallRecord, readDatabase } from "./database.ts";
import { PATH_PLACEHOLDER, relativePrefix, unpaddedRoot } from "./projection.ts";

/** One installed, non-external spec of a store. */
export interface InstalledSpec {
  /** The concrete spec read from `<prefix>/.spack/spec.json` (root node and whole DAG). */
  readonly spec: ConcreteSpec;
  /** The root node, `spec.node` (so installed specs can be passed to `selectSpecs`). */
  readonly node: SpecNode;
  /** The prefix as recorded by Spack (database `path`); the files refer to this path. */
  readonly prefix: string;
  /** The directory that holds the prefix now (differs from `prefix` in a moved store). */
  readonly dir: string;
  /** The database record. */
  readonly record: InstallRecord;
}

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** The recorded install root, when it cannot or should not be detected from the database. */
  root?: string;
}

/** An opened install tree. Made by {@link openStore}. */
export interface Store {
  /** Directory on disk that holds the install root (the one with `.spack-db/`). */
  readonly dir: string;
  /** Install root as recorded in the prefixes (padded if the store was padded). */
  readonly root: string;
  /** The recorded root without padding; Spack keeps `bin/sbang` below it. */
  readonly unpaddedRoot: string;
  /** The sbang path scripts of this store were patched with: `<unpaddedRoot>/bin/sbang`. */
  readonly sbangPath: string;
  /** The database as read. */
  readonly database: InstallDatabase;
  /** Installed, non-external specs under `root`, in database order. */
  readonly specs: readonly InstalledSpec[];
  /** The installed spec with exactly this DAG hash, if any. */
  get(hash: string): InstalledSpec | undefined;
  /**
   * The prefix Spack recorded for any node of this store's DAGs: the database `path`, an
   * external's own path, or else where the default projection puts it below `root`.
   *
   * @throws {FormatError} for a node unknown to the database that has no version or arch.
   */
  prefixOf(node: SpecNode): string;
  /**
   * The one installed spec matching `selector`, a spec in Spack's syntax (`zlib`, `zlib@1.3:`, `/hash`)
   * (`selectSpecs` of `lib/spec/select.ts`).
   *
   * @throws {UsageError} when the selector matches several specs (they are listed).
   * @throws {NotFoundError} when nothing matches.
   */
  resolve(selector: string): InstalledSpec;
}

/**
 * Opens the install tree at `dir`: reads `.spack-db/index.json` and the `.spack/spec.json` of
 * every installed, non-external record below the recorded root. `dir` may also be the unpadded
 * directory above a padded root (the padding components are followed down to the database).
 *
 * The recorded root is `options.root` or detected: each record `path` should be
 * `<root>/<default projection of its spec>`; if no record follows the default projection, the
 * recorded prefixes are matched against the directories present under `dir`.
 *
 * @example
 * ```ts
 * const store = await openStore("examples/sample-store/data");
 * const hello = store.resolve("sample-hello");
 * console.log(hello.prefix, hello.dir);
 * ```
 * @throws {NotFoundError} when `dir` holds no install-tree database.
 * @throws {UsageError} when `options.root` is given but no installed prefix lies below it.
 * @throws {FormatError} when the database is unreadable, the recorded root cannot be told, or a
 *   prefix recorded as installed lacks a matching `.spack/spec.json`.
 */
export async function openStore(dir: string, options: OpenStoreOptions = {}): Promise<Store> {
  const base = await findDatabaseRoot(
    await Deno.realPath(dir).catch((e) => {
      throw e instanceof Deno.errors.NotFound ? new NotFoundError(`install tree ${dir}`) : e;
    }),
  );
  const database = await readDatabase(base);
  const root = (options.root?.replace(/(.)\/+$/, "$1")) ?? await detectRoot(database, base);
  const under = (path: string | null): path is string => !!path?.startsWith(`${root}/`);
  const records = [...database.installs].filter(([, r]) => isPlaced(r) && under(r.path));
  if (options.root && !records.length && [...database.installs.values()].some(isPlaced)) {
    throw new UsageError(`no installed spec of ${base} lies under the given root ${root}`);
  }
  const specs = await Promise.all(
    records.map(([hash, r]) => readInstalled(hash, r, join(base, r.path!.slice(root.length + 1)))),
  );
  const byHash = new Map(specs.map((s) => [s.spec.node.hash, s]));
  const unpadded = unpaddedRoot(root);
  return {
    dir: base,
    root,
    unpaddedRoot: unpadded,
    sbangPath: `${unpadded}/bin/sbang`,
    database,
    specs,
    get: (hash) => byHash.get(hash),
    prefixOf: (node) =>
      database.installs.get(node.hash)?.path ?? node.external?.path ??
        `${root}/${relativePrefix(node)}`,
    resolve: (selector) => selectSpecs(specs, [selector], base)[0],
  };
}

async function readInstalled(
  hash: string,
  record: InstallRecord,
  dir: string,
): Promise<InstalledSpec> {
  const file = join(dir, ".spack", "spec.json");
  let spec: ConcreteSpec;
  try {
    spec = parseSpecFile(JSON.parse(await Deno.readTextFile(file)), file);
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(file, `cannot read the spec of installed ${hash}: ${e}`, { cause: e });
  }
  if (spec.node.hash !== hash) {
    throw new FormatError(file, `holds spec ${spec.node.hash}, the database records ${hash}`);
  }
  return { spec, node: spec.node, prefix: record.path!, dir, record };
}

/** `dir` itself if it holds `.spack-db`, else the padding directories below it are followed. */
async function findDatabaseRoot(dir: string): Promise<string> {
  let current = dir;
  for (;;) {
    if (await exists(join(current, DB_DIRNAME, "index.json"))) return current;
    const padding: string[] = [];
    for await (const entry of Deno.readDir(current)) {
      if (entry.isDirectory && isPaddingComponent(entry.name)) padding.push(entry.name);
    }
    if (padding.length !== 1) throw new NotFoundError(`install-tree database below ${dir}`);
    current = join(current, padding[0]);
  }
}

function isPaddingComponent(name: string): boolean {
  return name === `${PATH_PLACEHOLDER}_` || (name !== "" && PATH_PLACEHOLDER.startsWith(name));
}

/** An installed, non-external record: one with files in this install tree. */
function isPlaced(r: InstallRecord): boolean {
  return r.installed && !isExternal(r.spec) && !!r.path;
}

async function detectRoot(db: InstallDatabase, base: string): Promise<string> {
  const roots = new Set<string>();
  const placed: string[] = [];
  for (const r of db.installs.values()) {
    if (isExternal(r.spec) || !r.path) continue;
    if (isPlaced(r)) placed.push(r.path);
    let rel: string;
    try {
      rel = relativePrefix(r.spec);
    } catch {
      continue; // a node without arch or version cannot follow the default projection
    }
    if (r.path.endsWith(`/${rel}`)) roots.add(r.path.slice(0, -rel.length - 1));
  }
  if (roots.size > 1) {
    throw new FormatError(
      join(base, DB_DIRNAME),
      `records lie in several install roots (${[...roots].join(", ")}); pass the root explicitly`,
    );
  }
  if (roots.size === 1) return [...roots][0];
  // Another projection: find which tail of a recorded prefix exists below `base`.
  for (const path of placed) {
    const parts = path.split("/");
    for (let i = parts.length - 1; i > 1; i--) {
      if (await exists(join(base, ...parts.slice(i), ".spack", "spec.json"))) {
        return parts.slice(0, i).join("/");
      }
    }
  }
  if (placed.length) {
    throw new FormatError(
      join(base, DB_DIRNAME),
      "cannot tell the recorded install root from the database; pass the root explicitly",
    );
  }
  return base;
}
