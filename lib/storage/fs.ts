/**
 * A mirror directory on a local or network filesystem (`file://` URLs and plain paths).
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MirrorNotFoundError, SpackleError, UsageError } from "../errors.ts";
import { sha256Hex } from "../stream/digest.ts";
import { streamOf, writeFileAtomic } from "../stream/io.ts";
import type { ObjectStore, VersionedObject } from "./types.ts";

/** A lock file older than this (ms) was left by a writer that died; it is broken. */
const STALE_LOCK_MS = 30_000;
/** How long (ms) a conditional write waits for another writer's lock before giving up. */
const LOCK_WAIT_MS = 120_000;
/** Directories read at once while listing. */
const LIST_DIRS_AT_ONCE = 32;

/**
 * A conditional write waited too long for the lock another writer holds on an object.
 *
 * @example
 * ```ts
 * import { FsStore, LockTimeoutError } from "@spackle/spackle/storage";
 * const store = new FsStore("./cache");
 * const index = await store.getVersioned("v3/manifests/index/index.manifest.json");
 * try {
 *   await store.putIfVersion("v3/manifests/index/index.manifest.json", new Uint8Array(), index?.version);
 * } catch (e) {
 *   if (e instanceof LockTimeoutError) console.error(`remove ${e.lock} if no writer runs`);
 * }
 * ```
 */
export class LockTimeoutError extends SpackleError {
  /** Creates the error for the lock file `lock`, held for over `seconds`. */
  constructor(readonly lock: string, seconds: number) {
    super("LOCK_TIMEOUT", `lock ${lock} held by another writer for over ${seconds} s`);
  }
}

/** Turns a `file://` URL or a plain path into an absolute filesystem path. */
export function localPath(urlOrPath: string): string {
  if (urlOrPath.startsWith("file://")) return fileURLToPath(urlOrPath);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(urlOrPath)) {
    throw new UsageError(`not a local path or file:// URL: ${urlOrPath}`);
  }
  return resolve(urlOrPath);
}

/**
 * {@link ObjectStore} over a directory. Writes go to a temporary name and are renamed.
 *
 * @example
 * ```ts
 * import { FsStore } from "@spackle/spackle/storage";
 * const store = new FsStore("./cache");
 * for await (const key of store.list("v3/manifests/spec/")) console.log(key);
 * ```
 */
export class FsStore implements ObjectStore {
  /** Absolute path of the mirror root. */
  readonly root: string;
  /** `file://` URL of the mirror root. */
  readonly url: string;
  /** Always true: a directory can be written (permissions permitting). */
  readonly writable = true;

  /** Opens the mirror at `urlOrPath` (`file://…` or a path); the directory need not exist yet. */
  constructor(urlOrPath: string) {
    this.root = localPath(urlOrPath);
    this.url = pathToFileURL(this.root).href;
  }

  #path(key: string): string {
    if (key.split("/").some((part) => part === ".." || part === "")) {
      throw new UsageError(`invalid object key: ${key}`);
    }
    return join(this.root, key);
  }

  /** See {@link ObjectStore.get}. */
  async get(key: string): Promise<ReadableStream<Uint8Array> | undefined> {
    try {
      return (await Deno.open(this.#path(key), { read: true })).readable;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }

  /** See {@link ObjectStore.exists}. */
  async exists(key: string): Promise<boolean> {
    try {
      return (await Deno.stat(this.#path(key))).isFile;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
  }

  /** See {@link ObjectStore.put}. */
  async put(key: string, body: ReadableStream<Uint8Array>): Promise<void> {
    const path = this.#path(key);
    await Deno.mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, body);
  }

  /** See {@link ObjectStore.putFile}. */
  async putFile(key: string, source: string): Promise<void> {
    const path = this.#path(key);
    await Deno.mkdir(dirname(path), { recursive: true });
    try {
      await Deno.chmod(source, 0o644);
      await Deno.rename(source, path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotSupported) && (e as { code?: string }).code !== "EXDEV") {
        throw e;
      }
      await writeFileAtomic(path, (await Deno.open(source)).readable);
      await Deno.remove(source);
    }
  }

  /** See {@link ObjectStore.getVersioned}: the version is the SHA-256 of the bytes. */
  async getVersioned(key: string): Promise<VersionedObject | undefined> {
    try {
      const bytes = await Deno.readFile(this.#path(key));
      return { bytes, version: sha256Hex(bytes) };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }

  /**
   * See {@link ObjectStore.putIfVersion}: compares and renames while holding `<key>.lock`
   * (created exclusively; a lock older than 30 s is taken for abandoned and broken), so writers
   * on one host or sharing a filesystem with exclusive create (local, NFSv3+) take turns.
   *
   * @throws {LockTimeoutError} when another writer holds the lock for over two minutes.
   */
  async putIfVersion(
    key: string,
    bytes: Uint8Array,
    version: string | undefined,
  ): Promise<boolean> {
    const path = this.#path(key);
    await Deno.mkdir(dirname(path), { recursive: true });
    const release = await acquireLock(`${path}.lock`);
    try {
      const current = await this.getVersioned(key);
      if (current?.version !== version) return false;
      await writeFileAtomic(path, streamOf(bytes));
      return true;
    } finally {
      await release();
    }
  }

  /** See {@link ObjectStore.stat}. */
  async stat(key: string): Promise<{ size: number; modified?: Date } | undefined> {
    try {
      const info = await Deno.stat(this.#path(key));
      return { size: info.size, modified: info.mtime ?? undefined };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }

  /** See {@link ObjectStore.delete}: the file goes, emptied parent directories stay. */
  async delete(key: string): Promise<void> {
    try {
      await Deno.remove(this.#path(key));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }

  /**
   * See {@link ObjectStore.list}: directories are read up to 32 at a time (a cache of 30,000
   * specs has as many package directories). A prefix with no directory lists nothing, but only
   * in a mirror directory that exists: listing a mirror that is not there is an error, not an
   * empty cache.
   *
   * @throws {MirrorNotFoundError} when the mirror root does not exist or is not a directory.
   */
  async *list(prefix: string): AsyncIterable<string> {
    const pending = [prefix.replace(/\/+$/, "")];
    while (pending.length) {
      const batch = pending.splice(0, LIST_DIRS_AT_ONCE);
      const read = await Promise.all(batch.map((base) => this.#readDir(base)));
      for (const { files, dirs } of read) {
        yield* files;
        pending.push(...dirs);
      }
    }
  }

  /** Keys of the files and of the subdirectories directly under key `base`. */
  async #readDir(base: string): Promise<{ files: string[]; dirs: string[] }> {
    const files: string[] = [];
    const dirs: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.#path(base))) {
        const key = `${base}/${entry.name}`;
        if (entry.isDirectory) dirs.push(key);
        else if (entry.isFile && !entry.name.endsWith(".tmp")) files.push(key);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
      await this.#checkRoot();
    }
    return { files, dirs };
  }

  /** Throws when the mirror root itself is missing or not a directory. */
  async #checkRoot(): Promise<void> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(this.root);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new MirrorNotFoundError(this.root, "no such directory");
      }
      throw e;
    }
    if (!info.isDirectory) throw new MirrorNotFoundError(this.root, "not a directory");
  }
}

/** Creates `path` exclusively, waiting for (or breaking, when stale) another holder's lock. */
async function acquireLock(path: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
      file.close();
      return () => Deno.remove(path).catch(() => {});
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    const age = await Deno.stat(path).then((s) => Date.now() - (s.mtime?.getTime() ?? 0), () => 0);
    if (age > STALE_LOCK_MS) {
      await Deno.remove(path).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) {
      throw new LockTimeoutError(path, LOCK_WAIT_MS / 1000);
    }
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
  }
}
