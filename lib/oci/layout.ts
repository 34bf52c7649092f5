/**
 * OCI image-layout directories (`oci-layout`, `index.json`, `blobs/sha256/<hex>`), read and
 * written as an {@link ImageRepository}: what `skopeo copy oci:DIR:TAG`, `umoci` and Spack's
 * fixtures use to carry images on disk.
 *
 * Source: OCI image-spec v1.1 `image-layout.md` (tags are `org.opencontainers.image.ref.name`
 * annotations of the `index.json` entries).
 *
 * @module
 */
import { join } from "node:path";
import { FormatError, MirrorNotFoundError, NotFoundError } from "../errors.ts";
import type { Manifest, PushBlobResult } from "../registry/client.ts";
import { OCI_INDEX } from "../registry/media_types.ts";
import { FsStore } from "../storage/fs.ts";
import { sha256Hex, verifySha256 } from "../stream/digest.ts";
import { readAll, streamOf, writeFileAtomic } from "../stream/io.ts";
import type { ImageRepository } from "./repository.ts";

/** The annotation holding an entry's tag in `index.json`. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

const LAYOUT_FILE = "oci-layout";
const LAYOUT_JSON = '{"imageLayoutVersion": "1.0.0"}';
const DIGEST_RE = /^sha256:([0-9a-f]{64})$/;

/** One `index.json` entry: a manifest descriptor, tagged through its annotations. */
interface IndexEntry {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

interface LayoutIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: IndexEntry[];
  [key: string]: unknown;
}

/**
 * {@link ImageRepository} over an OCI image-layout directory. Blobs are written under a temporary
 * name, verified, then renamed; `index.json` is rewritten atomically under an exclusive lock of
 * the `oci-layout` file, so concurrent writers (in this process or others) lose no tag.
 *
 * @example
 * ```ts
 * import { OciLayout } from "@spackle/spackle/oci";
 * const layout = new OciLayout("./images");
 * console.log(await layout.listTags());
 * ```
 */
export class OciLayout implements ImageRepository {
  /** Absolute path of the layout directory. */
  readonly root: string;
  readonly #blobs: FsStore;
  // Serialises index.json updates within this process (flock is per open file, not per call).
  #indexQueue: Promise<unknown> = Promise.resolve();

  /** Opens the layout at `path` (a directory path or `file://` URL); it is created on first write. */
  constructor(path: string) {
    this.#blobs = new FsStore(path);
    this.root = this.#blobs.root;
  }

  /** See {@link ImageRepository.location}: the directory path. */
  get location(): string {
    return this.root;
  }

  #key(digest: string): string {
    const hex = DIGEST_RE.exec(digest)?.[1];
    if (!hex) throw new FormatError(digest, "not a sha256:<64 hex> digest");
    return `blobs/sha256/${hex}`;
  }

  /** See {@link ImageRepository.headBlob}. */
  async headBlob(digest: string): Promise<number | undefined> {
    try {
      return (await Deno.stat(join(this.root, this.#key(digest)))).size;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }

  /** See {@link ImageRepository.getBlob}: the file streamed through a sha256 check. */
  async getBlob(digest: string): Promise<ReadableStream<Uint8Array>> {
    const stream = await this.#blobs.get(this.#key(digest));
    if (!stream) throw new NotFoundError(`blob ${digest} in ${this.root}`);
    return stream.pipeThrough(verifySha256(digest, join(this.root, this.#key(digest))));
  }

  /** See {@link ImageRepository.pushBlob}: `mountFrom` is ignored (no mounts between directories). */
  async pushBlob(
    digest: string,
    size: number,
    body: () => ReadableStream<Uint8Array>,
  ): Promise<PushBlobResult> {
    const key = this.#key(digest);
    if (await this.headBlob(digest) === size) return "exists";
    await this.#init();
    await this.#blobs.put(
      key,
      body().pipeThrough(verifySha256(digest, `${digest} for ${this.root}`)),
    );
    return "uploaded";
  }

  /**
   * See {@link ImageRepository.getManifest}: a tag is looked up in `index.json`, a digest read as
   * a blob. The media type is the index entry's, else the manifest's own `mediaType`.
   */
  async getManifest(ref: string): Promise<Manifest> {
    let digest = ref;
    let mediaType: string | undefined;
    if (!DIGEST_RE.test(ref)) {
      const entry = (await this.#readIndex()).manifests.find((m) =>
        m.annotations?.[REF_NAME_ANNOTATION] === ref
      );
      if (!entry) throw new NotFoundError(`manifest ${this.root}:${ref}`);
      digest = entry.digest;
      mediaType = entry.mediaType;
    } else if (await this.headBlob(ref) === undefined) {
      throw new NotFoundError(`manifest ${this.root}@${ref}`);
    }
    const bytes = await readAll(await this.getBlob(digest));
    mediaType ??= ownMediaType(bytes, `${this.root}@${digest}`);
    return { mediaType, digest, bytes };
  }

  /**
   * See {@link ImageRepository.putManifest}: stores the manifest blob; a tag also replaces the
   * `index.json` entry of that tag (other entries kept in place).
   */
  async putManifest(ref: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    const digest = `sha256:${sha256Hex(bytes)}`;
    if (DIGEST_RE.test(ref) && ref !== digest) {
      throw new FormatError(ref, `manifest bytes hash to ${digest}`);
    }
    await this.pushBlob(digest, bytes.length, () => streamOf(bytes));
    if (DIGEST_RE.test(ref)) return digest;
    await this.#updateIndex((index) => {
      const entry: IndexEntry = {
        mediaType,
        digest,
        size: bytes.length,
        annotations: { [REF_NAME_ANNOTATION]: ref },
      };
      const at = index.manifests.findIndex((m) => m.annotations?.[REF_NAME_ANNOTATION] === ref);
      if (at >= 0) index.manifests[at] = entry;
      else index.manifests.push(entry);
    });
    return digest;
  }

  /**
   * See {@link ImageRepository.listTags}: the `ref.name` of every `index.json` entry.
   *
   * @throws {MirrorNotFoundError} when the directory does not exist or is not a directory.
   */
  async listTags(): Promise<string[]> {
    const info = await Deno.stat(this.root).catch((e) => {
      if (e instanceof Deno.errors.NotFound) {
        throw new MirrorNotFoundError(this.root, "no such directory");
      }
      throw e;
    });
    if (!info.isDirectory) throw new MirrorNotFoundError(this.root, "not a directory");
    return (await this.#readIndex()).manifests
      .map((m) => m.annotations?.[REF_NAME_ANNOTATION])
      .filter((t): t is string => typeof t === "string");
  }

  /**
   * See {@link ImageRepository.deleteManifest}: drops the `index.json` entries of `digest`; the
   * blobs stay (`umoci gc` reclaims them).
   *
   * @throws {NotFoundError} when no `index.json` entry names `digest`.
   */
  async deleteManifest(digest: string): Promise<void> {
    this.#key(digest);
    const named = (index: LayoutIndex) => index.manifests.some((m) => m.digest === digest);
    if (!named(await this.#readIndex())) {
      throw new NotFoundError(`manifest ${this.root}@${digest} in index.json`);
    }
    await this.#updateIndex((index) => {
      index.manifests = index.manifests.filter((m) => m.digest !== digest);
    });
  }

  async #readIndex(): Promise<LayoutIndex> {
    const path = join(this.root, "index.json");
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return { schemaVersion: 2, manifests: [] };
      throw e;
    }
    let index: LayoutIndex;
    try {
      index = JSON.parse(text);
    } catch (e) {
      throw new FormatError(path, `malformed JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(index?.manifests)) throw new FormatError(path, "no manifests array");
    return index;
  }

  /** Creates the directory and its `oci-layout` file when missing. */
  async #init(): Promise<void> {
    const path = join(this.root, LAYOUT_FILE);
    try {
      const version = JSON.parse(await Deno.readTextFile(path)).imageLayoutVersion;
      if (typeof version !== "string" || !version.startsWith("1.")) {
        throw new FormatError(path, `unsupported imageLayoutVersion ${JSON.stringify(version)}`);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      await Deno.mkdir(this.root, { recursive: true });
      await writeFileAtomic(path, streamOf(LAYOUT_JSON));
    }
  }

  #updateIndex(edit: (index: LayoutIndex) => void): Promise<void> {
    const run = this.#indexQueue.then(async () => {
      await this.#init();
      using lock = await Deno.open(join(this.root, LAYOUT_FILE), { read: true });
      await lock.lock(true);
      const index = await this.#readIndex();
      index.mediaType ??= OCI_INDEX;
      edit(index);
      await writeFileAtomic(join(this.root, "index.json"), streamOf(JSON.stringify(index)));
    });
    this.#indexQueue = run.catch(() => {});
    return run;
  }
}

function ownMediaType(bytes: Uint8Array, where: string): string {
  try {
    const type = JSON.parse(new TextDecoder().decode(bytes)).mediaType;
    if (typeof type === "string") return type;
  } catch {
    // reported below
  }
  throw new FormatError(where, "manifest has no mediaType");
}
