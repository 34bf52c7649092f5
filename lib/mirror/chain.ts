/**
 * Several build caches read as one, in order, as Spack reads the mirrors of all its configuration
 * scopes: each spec comes from the first cache that has it, and a cache that cannot be reached is
 * reported and skipped while another one can serve.
 *
 * @module
 */
import { NotFoundError, SpackleError, UsageError } from "../errors.ts";
import type { ConcreteSpec, SpecNode } from "../spec/spec.ts";
import type {
  CacheEntry,
  Mirror,
  PushedTarball,
  PushReceipt,
  UpdateIndexOptions,
} from "./types.ts";

/** Options of {@link MirrorChain}. */
export interface MirrorChainOptions {
  /**
   * Called when a cache fails (unreachable, refused, unreadable) and the chain goes on with the
   * next one. Without it such failures are silent unless no cache can serve.
   */
  onSkip?: (mirror: Mirror, error: Error) => void;
}

/** Every cache of a {@link MirrorChain} failed for one request; `failures` gives each error. */
export class MirrorChainError extends SpackleError {
  /** Creates the error for `what` from each cache's failure. */
  constructor(what: string, readonly failures: { url: string; error: Error }[]) {
    super(
      "MIRRORS_FAILED",
      `no build cache could serve ${what}:\n` +
        failures.map((f) => `  ${f.url}: ${f.error.message}`).join("\n"),
    );
  }
}

/**
 * A read-only {@link Mirror} over `mirrors` in order of preference. `listSpecs` merges every
 * cache's specs (first cache wins for a hash); `getEntry` returns the entry of the first cache
 * that holds the spec, and `openTarball` reads it from that same cache. {@link sourceOf} tells
 * which cache an entry came from.
 *
 * @example
 * ```ts
 * import { installSpecs, openMirror } from "@spackle/spackle";
 * import { MirrorChain } from "@spackle/spackle/mirror";
 * const chain = new MirrorChain([
 *   await openMirror("./site-cache"),
 *   await openMirror("oci://ghcr.io/acme/buildcache"),
 * ], { onSkip: (m, e) => console.warn(`skipping ${m.url}: ${e.message}`) });
 * await installSpecs(chain, await chain.listSpecs(), { root: "/opt/sw", checkSignature: false });
 * ```
 */
export class MirrorChain implements Mirror {
  /** The caches, most preferred first. */
  readonly mirrors: readonly Mirror[];
  readonly #onSkip?: (mirror: Mirror, error: Error) => void;
  readonly #entrySource = new WeakMap<CacheEntry, Mirror>();
  /** Caches that could not be reached: asked no more in this run (reported once). */
  readonly #down = new Map<Mirror, Error>();

  /**
   * Chains `mirrors` (at least one).
   *
   * @throws {UsageError} when `mirrors` is empty.
   */
  constructor(mirrors: readonly Mirror[], options: MirrorChainOptions = {}) {
    if (!mirrors.length) throw new UsageError("no build cache to read from");
    this.mirrors = mirrors;
    this.#onSkip = options.onSkip;
  }

  /** The caches' URLs, joined with `, `. */
  get url(): string {
    return this.mirrors.map((m) => m.url).join(", ");
  }

  /** Always false: a chain is read-only; push to one cache. */
  get writable(): boolean {
    return false;
  }

  /** The cache `entry` (from {@link getEntry}) came from. */
  sourceOf(entry: CacheEntry): Mirror | undefined {
    return this.#entrySource.get(entry);
  }

  /**
   * The specs of every reachable cache, merged by DAG hash (first cache wins).
   *
   * @throws {MirrorChainError} when no cache can be read.
   */
  async listSpecs(): Promise<ConcreteSpec[]> {
    const found = new Map<string, ConcreteSpec>();
    const failures: { url: string; error: Error }[] = [];
    for (const mirror of this.mirrors) {
      try {
        for (const spec of await mirror.listSpecs()) {
          if (!found.has(spec.node.hash)) found.set(spec.node.hash, spec);
        }
      } catch (e) {
        failures.push(this.#skip(mirror, e));
      }
    }
    if (failures.length === this.mirrors.length) throw new MirrorChainError("a listing", failures);
    return [...found.values()];
  }

  /**
   * The entry of the first cache that holds `spec`, or `undefined` when none does.
   *
   * @throws {MirrorChainError} when no cache has it and at least one could not be asked.
   */
  async getEntry(spec: ConcreteSpec): Promise<CacheEntry | undefined> {
    const failures: { url: string; error: Error }[] = [];
    for (const mirror of this.mirrors) {
      const down = this.#down.get(mirror);
      if (down) {
        failures.push({ url: mirror.url, error: down });
        continue;
      }
      try {
        const found = await mirror.getEntry(spec);
        if (found) {
          const entry = { ...found, mirror: mirror.url };
          this.#entrySource.set(entry, mirror);
          return entry;
        }
      } catch (e) {
        // A cache that lies about a spec (wrong hash, bad signature text) is not skipped: that
        // is an attack or a corrupt cache the user must hear about, not an outage.
        if (!isOutage(e)) throw e;
        failures.push(this.#skip(mirror, e));
      }
    }
    if (failures.length) throw new MirrorChainError(`the entry of ${spec.node.name}`, failures);
    return undefined;
  }

  /**
   * The tarball of `entry`, from the cache that gave it.
   *
   * @throws {UsageError} when `entry` did not come from this chain's {@link getEntry}.
   */
  openTarball(entry: CacheEntry): Promise<ReadableStream<Uint8Array>> {
    const mirror = this.#entrySource.get(entry);
    if (!mirror) throw new UsageError(`entry ${entry.source} did not come from this mirror chain`);
    return mirror.openTarball(entry);
  }

  /**
   * The blob from the first cache that has it, checked against its digest.
   *
   * @throws {MirrorChainError} when no cache can give it.
   */
  async fetchBlob(digest: string, size?: number): Promise<ReadableStream<Uint8Array>> {
    const failures: { url: string; error: Error }[] = [];
    for (const mirror of this.mirrors) {
      try {
        return await mirror.fetchBlob(digest, size);
      } catch (e) {
        failures.push(this.#skip(mirror, e));
      }
    }
    throw new MirrorChainError(`blob ${digest}`, failures);
  }

  /** True when any reachable cache holds a complete entry for `node`. */
  async hasSpec(node: SpecNode): Promise<boolean> {
    for (const mirror of this.mirrors) {
      if (this.#down.has(mirror)) continue;
      try {
        if (await mirror.hasSpec(node)) return true;
      } catch (e) {
        this.#skip(mirror, e);
      }
    }
    return false;
  }

  /**
   * Refuses: push to one cache, not to a chain.
   *
   * @throws {UsageError} always.
   */
  pushSpec(_spec: ConcreteSpec, _tarball: PushedTarball): Promise<PushReceipt[]> {
    return Promise.reject(new UsageError("a mirror chain is read-only: push to one build cache"));
  }

  /**
   * Refuses: update each cache's index on its own.
   *
   * @throws {UsageError} always.
   */
  updateIndex(_options?: UpdateIndexOptions): Promise<number> {
    return Promise.reject(new UsageError("a mirror chain has no index of its own"));
  }

  #skip(mirror: Mirror, e: unknown): { url: string; error: Error } {
    const error = e instanceof Error ? e : new Error(String(e));
    const unreachable = error instanceof SpackleError &&
      /^(CONNECTION|READ_TIMEOUT|MIRROR_NOT_FOUND)/.test(error.code);
    if (unreachable) this.#down.set(mirror, error);
    this.#onSkip?.(mirror, error);
    return { url: mirror.url, error };
  }
}

/** Errors that mean "this cache cannot answer now", as opposed to "it answered wrongly". */
function isOutage(e: unknown): boolean {
  if (e instanceof NotFoundError) return true;
  if (!(e instanceof SpackleError)) return true; // network and OS errors
  return /^(REGISTRY|STORAGE|MIRROR_NOT_FOUND|CONNECTION|READ_TIMEOUT)/.test(e.code);
}
