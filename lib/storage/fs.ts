/**
 * A mirror directory on a local or network filesystem (`file://` URLs and plain paths).
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MirrorNotFoundError, UsageError } from "../errors.ts";
import { writeFileAtomic } from "../stream/io.ts";
import type { ObjectStore } from "./types.ts";

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

  /** See {@link ObjectStore.delete}: the file goes, emptied parent directories stay. */
  async delete(key: string): Promise<void> {
    try {
      await Deno.remove(this.#path(key));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }

  /**
   * See {@link ObjectStore.list}. A prefix with no directory lists nothing, but only in a mirror
   * directory that exists: listing a mirror that is not there is an error, not an empty cache.
   *
   * @throws {MirrorNotFoundError} when the mirror root does not exist or is not a directory.
   */
  async *list(prefix: string): AsyncIterable<string> {
    const base = prefix.replace(/\/+$/, "");
    const dir = this.#path(base);
    try {
      for await (const entry of Deno.readDir(dir)) {
        const key = `${base}/${entry.name}`;
        if (entry.isDirectory) yield* this.list(key);
        else if (entry.isFile && !entry.name.endsWith(".tmp")) yield key;
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
      await this.#checkRoot();
    }
  }

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
