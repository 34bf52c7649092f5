/**
 * Spack's install-tree database, `<root>/.spack-db/index.json` (`spack.database.Database`):
 * one install record per DAG hash, written as DB version 8 in compact JSON (build cache format
 * reference §1.6 gives the shared document shape; the install tree adds `path`, `installed`,
 * `explicit`, `installation_time` and `deprecated_for` to each record).
 *
 * @module
 */
import { join } from "node:path";
import { FormatError, NotFoundError } from "../errors.ts";
import { compactJson } from "../spec/json.ts";
import { type ConcreteSpec, parseSpecFile, shortSpec, type SpecNode } from "../spec/spec.ts";
import { withExclusiveLock } from "./_fs.ts";
import { streamOf, writeFileAtomic } from "../stream/io.ts";
import { NODE_FORMAT_OF_DB, upgradeNode } from "./_upgrade.ts";
import { relativePrefix } from "./projection.ts";

/** Directory of the database below the install root (`_DB_DIRNAME`). */
export const DB_DIRNAME = ".spack-db";

/** Database version Spack 1.x writes (`_DB_VERSION`). */
export const DB_VERSION = "8";

/**
 * One install record, field for field as Spack writes it for an install tree
 * (`DEFAULT_INSTALL_RECORD_FIELDS`, plus `origin` when set).
 */
export interface InstallRecord {
  /** The node dict with its `hash` (spec format 5 form; older nodes are upgraded on read). */
  spec: SpecNode;
  /** Number of records in this database whose node has an edge (any type) to this one. */
  ref_count: number;
  /** Install prefix; an external's own path; `null` for externals without a path. */
  path: string | null;
  /** Whether the prefix holds this installation (an uninstalled dependency is kept as false). */
  installed: boolean;
  /** Installed on request rather than as a dependency. */
  explicit: boolean;
  /** Seconds since the epoch (Python `time.time()`). */
  installation_time: number;
  /** DAG hash of the spec this one was deprecated for, else `null`. */
  deprecated_for: string | null;
  /** Where the spec came from, written only when set. */
  origin?: string;
}

/** An install-tree database in memory: records by DAG hash, in file order. */
export interface InstallDatabase {
  /** The version that was read (`"6"`, `"7"` or `"8"`); writing always produces version 8. */
  version: string;
  /** Install records by DAG hash, dependencies before dependents for records Spackle adds. */
  installs: Map<string, InstallRecord>;
}

/** Where a node lives, as {@link mergeSpecs} records it. */
export interface NodeLocation {
  /** The record's `path`. */
  path: string | null;
  /** The record's `installed`. */
  installed: boolean;
}

/** Options of {@link addInstalled}. */
export interface AddInstalledOptions {
  /** Install prefix of a non-external node; default `<root>/<relativePrefix(node)>`. */
  prefix?: (node: SpecNode) => string;
}

/**
 * Path of the database directory of the install root `root`: `<root>/.spack-db`.
 *
 * @example
 * ```ts
 * import { databaseDir } from "@spackle/spackle/store";
 * databaseDir("/opt/spack/opt/spack"); // "/opt/spack/opt/spack/.spack-db"
 * ```
 */
export function databaseDir(root: string): string {
  return join(root, DB_DIRNAME);
}

/**
 * Parses index.json text of database version 6, 7 or 8 (the versions Spack 1.x reads without a
 * reindex). Nodes of v6 and v7 are brought to the spec format 5 form Spack would write them in
 * (edge `parameters`, `compiler` moved to `annotations`); stored hashes are kept. Missing record
 * fields take Spack's defaults (`installed` false, `path` null, `ref_count` 0).
 *
 * @example
 * ```ts
 * const db = parseDatabase(await Deno.readTextFile("/opt/spack/.spack-db/index.json"), "index.json");
 * ```
 * @throws {FormatError} naming `source` for malformed JSON, another version, or a bad record.
 */
export function parseDatabase(text: string, source: string): InstallDatabase {
  let doc: { database?: { version?: unknown; installs?: unknown } };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FormatError(source, `malformed database JSON: ${(e as Error).message}`);
  }
  const version = String(doc?.database?.version);
  const installs = doc?.database?.installs;
  if (!installs || typeof installs !== "object") {
    throw new FormatError(source, "not a Spack database (missing database.installs)");
  }
  const format = NODE_FORMAT_OF_DB[version];
  if (format === undefined) {
    throw new FormatError(source, `database version ${version} is not supported (6, 7 or 8)`);
  }
  const records = new Map<string, InstallRecord>();
  for (const [hash, raw] of Object.entries(installs as Record<string, unknown>)) {
    records.set(hash, parseRecord(hash, raw, format, source));
  }
  // Validates names and hashes, and normalises any edge form spec.ts knows.
  if (records.size) {
    parseSpecFile({ spec: { nodes: [...records.values()].map((r) => r.spec) } }, source);
  }
  return { version, installs: records };
}

function parseRecord(hash: string, raw: unknown, format: number, source: string): InstallRecord {
  const rec = raw as Partial<Record<keyof InstallRecord, unknown>> | null;
  const node = rec?.spec as SpecNode | undefined;
  if (!node || typeof node !== "object" || typeof node.name !== "string") {
    throw new FormatError(source, `install record ${hash} has no spec`);
  }
  const path = typeof rec!.path === "string" && rec!.path !== "None" ? rec!.path : null;
  const record: InstallRecord = {
    spec: upgradeNode({ ...node, hash: node.hash ?? hash }, format),
    ref_count: typeof rec!.ref_count === "number" ? rec!.ref_count : 0,
    path,
    installed: rec!.installed === true,
    explicit: rec!.explicit === true,
    installation_time: typeof rec!.installation_time === "number"
      ? rec!.installation_time
      : nowSeconds(),
    deprecated_for: typeof rec!.deprecated_for === "string" ? rec!.deprecated_for : null,
  };
  if (typeof rec!.origin === "string" && rec!.origin) record.origin = rec!.origin;
  return record;
}

/**
 * The index.json text Spack 1.x writes for `db`: version 8, compact JSON, records in map order
 * with fields `spec, ref_count, path, installed, explicit, installation_time, deprecated_for`
 * and `origin` only when set.
 *
 * @example
 * ```ts
 * import { readDatabase, serializeDatabase } from "@spackle/spackle/store";
 * const db = await readDatabase("/opt/spack/opt/spack");
 * await Deno.writeTextFile("index.json", serializeDatabase(db));
 * ```
 */
export function serializeDatabase(db: InstallDatabase): string {
  const installs: Record<string, unknown> = {};
  for (const [hash, r] of db.installs) {
    installs[hash] = {
      spec: r.spec,
      ref_count: r.ref_count,
      path: r.path,
      installed: r.installed,
      explicit: r.explicit,
      installation_time: r.installation_time,
      deprecated_for: r.deprecated_for,
      ...(r.origin ? { origin: r.origin } : {}),
    };
  }
  return compactJson({ database: { version: DB_VERSION, installs } });
}

/**
 * Reads `<root>/.spack-db/index.json`.
 *
 * @example
 * ```ts
 * const db = await readDatabase("/opt/spack/opt/spack");
 * ```
 * @throws {NotFoundError} when the install root has no database.
 * @throws {FormatError} when it cannot be parsed (see {@link parseDatabase}).
 */
export async function readDatabase(root: string): Promise<InstallDatabase> {
  const path = join(databaseDir(root), "index.json");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new NotFoundError(`install-tree database ${path}`);
    throw e;
  }
  return parseDatabase(text, path);
}

/**
 * Writes `db` as `<root>/.spack-db/index.json` (created with its directory if missing) under an
 * exclusive lock on `<root>/.spack-db/lock`, atomically (temp file and rename), then a fresh
 * `index_verifier` so a running Spack notices the change.
 *
 * @example
 * ```ts
 * import { readDatabase, writeDatabase } from "@spackle/spackle/store";
 * const db = await readDatabase("/opt/spack/opt/spack");
 * await writeDatabase("/opt/spack/opt/spack", db);
 * ```
 */
export async function writeDatabase(root: string, db: InstallDatabase): Promise<void> {
  await Deno.mkdir(databaseDir(root), { recursive: true });
  await withExclusiveLock(join(databaseDir(root), "lock"), () => writeUnlocked(root, db));
}

async function writeUnlocked(root: string, db: InstallDatabase): Promise<void> {
  await writeFileAtomic(join(databaseDir(root), "index.json"), streamOf(serializeDatabase(db)));
  await writeFileAtomic(join(databaseDir(root), "index_verifier"), streamOf(crypto.randomUUID()));
}

/**
 * Adds the DAGs of `specs` to `db` in memory, as Spack's `Database._add` does: each missing
 * node gets a record after its missing dependencies (all edge types are tracked), and every edge
 * of a new record adds one to its dependency's `ref_count`. Nodes already present keep their
 * records, except that a listed root is re-checked (`installed`, `installation_time`).
 * `explicit` names the hashes installed on request; a record is never demoted to implicit.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { mergeSpecs, readDatabase } from "@spackle/spackle/store";
 * const db = await readDatabase("/opt/s");
 * const [spec] = await (await openMirror("./cache")).listSpecs();
 * mergeSpecs(db, [spec], new Set([spec.node.hash]), (n) => ({ path: `/opt/s/${n.hash}`, installed: true }));
 * ```
 * @param locate Path and installed state of a node, called for each record created or re-checked.
 * @param now Installation time for new and re-checked records, seconds since the epoch.
 * @throws {FormatError} when a spec's edge points at a node missing from its DAG and from `db`.
 */
export function mergeSpecs(
  db: InstallDatabase,
  specs: readonly ConcreteSpec[],
  explicit: ReadonlySet<string>,
  locate: (node: SpecNode) => NodeLocation,
  now: number = nowSeconds(),
): void {
  const add = (node: SpecNode, nodes: ConcreteSpec["nodes"]) => {
    for (const edge of node.dependencies ?? []) {
      if (db.installs.has(edge.hash)) continue;
      const dep = nodes.get(edge.hash);
      if (!dep) {
        throw new FormatError(shortSpec(node), `dependency ${edge.name}/${edge.hash} is missing`);
      }
      add(dep, nodes);
    }
    db.installs.set(node.hash, {
      spec: node,
      ref_count: 0,
      ...locate(node),
      explicit: explicit.has(node.hash),
      installation_time: now,
      deprecated_for: null,
    });
    for (const edge of node.dependencies ?? []) db.installs.get(edge.hash)!.ref_count++;
  };
  for (const spec of specs) {
    const existing = db.installs.get(spec.node.hash);
    if (!existing) {
      add(spec.node, spec.nodes);
      continue;
    }
    existing.installed = locate(spec.node).installed;
    existing.installation_time = now;
    existing.explicit ||= explicit.has(spec.node.hash);
  }
}

/**
 * Records freshly installed `specs` (and every node of their DAGs) in the database of the install
 * root `root`, holding the database lock across read, merge ({@link mergeSpecs}) and atomic
 * write, so parallel installs into one root keep each other's records. A missing database is
 * created. A node counts as installed when `<prefix>/.spack/spec.json` holds its hash (Spack's
 * `ensure_installed`); externals are recorded at their external path.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { addInstalled } from "@spackle/spackle/store";
 * const [spec] = await (await openMirror("./cache")).listSpecs();
 * await addInstalled("/opt/spack/opt/spack", [spec], new Set([spec.node.hash]));
 * ```
 * @returns The database as written.
 * @throws {FormatError} when the existing database cannot be parsed or a DAG is incomplete.
 */
export async function addInstalled(
  root: string,
  specs: readonly ConcreteSpec[],
  explicit: ReadonlySet<string>,
  options: AddInstalledOptions = {},
): Promise<InstallDatabase> {
  const prefixOf = options.prefix ?? ((node: SpecNode) => join(root, relativePrefix(node)));
  const located = new Map<string, NodeLocation>();
  for (const spec of specs) {
    for (const node of spec.nodes.values()) {
      if (!located.has(node.hash)) located.set(node.hash, await locateNode(node, prefixOf));
    }
  }
  await Deno.mkdir(databaseDir(root), { recursive: true });
  return await withExclusiveLock(join(databaseDir(root), "lock"), async () => {
    let db: InstallDatabase;
    try {
      db = await readDatabase(root);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      db = { version: DB_VERSION, installs: new Map() };
    }
    mergeSpecs(db, specs, explicit, (node) => located.get(node.hash)!);
    await writeUnlocked(root, db);
    return db;
  });
}

async function locateNode(
  node: SpecNode,
  prefixOf: (node: SpecNode) => string,
): Promise<NodeLocation> {
  if (node.external) return { path: node.external.path ?? null, installed: true };
  const path = prefixOf(node);
  return { path, installed: await holdsSpec(path, node.hash) };
}

async function holdsSpec(prefix: string, hash: string): Promise<boolean> {
  const file = join(prefix, ".spack", "spec.json");
  try {
    return parseSpecFile(JSON.parse(await Deno.readTextFile(file)), file).node.hash === hash;
  } catch {
    return false; // missing or unreadable: Spack records the spec as not installed
  }
}

function nowSeconds(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}
