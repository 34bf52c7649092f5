/**
 * A build cache served over HTTP(S), read-only as in Spack (build cache format reference
 * §1.12): objects are fetched with GET, existence is asked with HEAD, and keys are listed from
 * the HTML directory listings a web server generates, when it generates them. A cache whose
 * server does not list directories is read through its index.
 *
 * @module
 */
import { MirrorNotFoundError, UsageError } from "../errors.ts";
import { redactUserinfo } from "../net/http.ts";
import type { ObjectStore } from "./types.ts";
import { encodeKey, type RemoteStoreOptions, StorageRequestError, Transport } from "./_http.ts";
import { parseDirectoryListing } from "./_listing.ts";

export { type RemoteStoreOptions, StorageRequestError } from "./_http.ts";

/** Directory levels below a listed prefix that {@link HttpStore.list} descends into. */
const MAX_LISTING_DEPTH = 16;

/**
 * The `Authorization` header value for every request: a fixed value, or a function asked before
 * each attempt (so a token can be refreshed). `undefined` sends no header.
 */
export type HttpAuthorization = string | (() => string | undefined | Promise<string | undefined>);

/** Options of {@link HttpStore}. */
export interface HttpStoreOptions extends RemoteStoreOptions {
  /**
   * `Authorization` header to send, e.g. from {@link basicAuthorization} or
   * {@link bearerAuthorization}. Default: Basic with the URL's userinfo, when it has one.
   */
  readonly authorization?: HttpAuthorization;
}

/**
 * An `Authorization` value for HTTP Basic authentication (RFC 7617, UTF-8).
 *
 * @example
 * ```ts
 * import { basicAuthorization, HttpStore } from "@spackle/spackle/storage";
 * const password = Deno.env.get("CACHE_PASSWORD") ?? "";
 * const store = new HttpStore("https://cache.example.org/spack", {
 *   authorization: basicAuthorization("ci", password),
 * });
 * ```
 */
export function basicAuthorization(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * An `Authorization` value for a bearer token (RFC 6750).
 *
 * @example
 * ```ts
 * import { bearerAuthorization, HttpStore } from "@spackle/spackle/storage";
 * const store = new HttpStore("https://cache.example.org/spack", {
 *   authorization: () => bearerAuthorization(Deno.env.get("CACHE_TOKEN") ?? ""),
 * });
 * ```
 */
export function bearerAuthorization(token: string): string {
  return `Bearer ${token}`;
}

/**
 * {@link ObjectStore} over an `http://` or `https://` URL. Read-only: `put` and `putFile`
 * throw. Failed requests (dropped connections, 408, 429, 5xx) are retried with back-off, and a
 * download whose connection drops resumes where it stopped.
 *
 * @example
 * ```ts
 * import { HttpStore } from "@spackle/spackle/storage";
 * import { UrlMirror } from "@spackle/spackle/mirror";
 * const mirror = new UrlMirror(new HttpStore("https://binaries.example.org/cache"));
 * for (const spec of await mirror.listSpecs()) console.log(spec.node.name);
 * ```
 */
export class HttpStore implements ObjectStore {
  /** The mirror root, without userinfo, query or fragment, with no trailing slash. */
  readonly url: string;
  /** Always false: Spack cannot write HTTP mirrors, nor can Spackle. */
  readonly writable = false;
  readonly #base: URL;
  readonly #authorization?: HttpAuthorization;
  readonly #transport: Transport;

  /**
   * Opens the mirror at `url`. Credentials in the URL's userinfo become Basic authentication
   * (unless `options.authorization` is given) and never appear in `url` or in errors.
   *
   * @throws {UsageError} for a URL that is not `http(s)://` or has a query or fragment.
   */
  constructor(url: string, options: HttpStoreOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`not a valid URL: ${JSON.stringify(redactUserinfo(url))}`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new UsageError(`not an http(s) URL: ${redactUserinfo(url)}`);
    }
    if (parsed.search || parsed.hash) {
      throw new UsageError(
        `an HTTP mirror URL cannot have a query or fragment: ${redactUserinfo(url)}`,
      );
    }
    let userinfo: string | undefined;
    try {
      userinfo = parsed.username || parsed.password
        ? basicAuthorization(
          decodeURIComponent(parsed.username),
          decodeURIComponent(parsed.password),
        )
        : undefined;
    } catch {
      throw new UsageError(`malformed percent-encoding in the userinfo of ${redactUserinfo(url)}`);
    }
    parsed.username = "";
    parsed.password = "";
    parsed.pathname = parsed.pathname.replace(/\/*$/, "/");
    this.#base = parsed;
    this.url = parsed.href.replace(/\/$/, "");
    this.#authorization = options.authorization ?? userinfo;
    this.#transport = new Transport(options);
  }

  #urlOf(key: string): URL {
    return new URL(encodeKey(key), this.#base);
  }

  async #request(
    method: string,
    url: URL,
    extra?: Record<string, string>,
  ): Promise<Response> {
    return await this.#transport.send({ method, where: url.href }, async (headers) => {
      for (const [name, value] of Object.entries(extra ?? {})) headers.set(name, value);
      const auth = typeof this.#authorization === "function"
        ? await this.#authorization()
        : this.#authorization;
      if (auth !== undefined) headers.set("authorization", auth);
      return new Request(url, { method, headers });
    });
  }

  async #failure(method: string, url: URL, res: Response): Promise<StorageRequestError> {
    await res.body?.cancel();
    return new StorageRequestError(
      method,
      url.href,
      res.status,
      res.statusText || "unexpected response",
    );
  }

  /**
   * See {@link ObjectStore.get}. `undefined` for 404 and 410.
   *
   * @throws {StorageRequestError} for other failures (after retries).
   */
  async get(key: string): Promise<ReadableStream<Uint8Array> | undefined> {
    const url = this.#urlOf(key);
    const res = await this.#request("GET", url);
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status !== 200 || !res.body) throw await this.#failure("GET", url, res);
    return this.#transport.resumable(
      { method: "GET", where: url.href },
      res,
      (offset, etag) =>
        this.#request("GET", url, {
          range: `bytes=${offset}-`,
          ...(etag === undefined ? {} : { "if-match": etag }),
        }),
    );
  }

  /**
   * See {@link ObjectStore.exists}. Asks with HEAD; a server that refuses HEAD (405, 501) is
   * asked with a GET whose body is not read.
   *
   * @throws {StorageRequestError} for answers other than 2xx, 404 and 410 (after retries).
   */
  async exists(key: string): Promise<boolean> {
    const url = this.#urlOf(key);
    let method = "HEAD";
    let res = await this.#request(method, url);
    if (res.status === 405 || res.status === 501) {
      await res.body?.cancel();
      method = "GET";
      res = await this.#request(method, url);
    }
    if (res.ok || res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      return res.ok;
    }
    throw await this.#failure(method, url, res);
  }

  /**
   * Always fails (after cancelling `body`): HTTP mirrors are read-only.
   *
   * @throws {UsageError}
   */
  put(key: string, body: ReadableStream<Uint8Array>): Promise<void> {
    return body.cancel().then(() => {
      throw this.#readOnly(key);
    });
  }

  /**
   * Always fails: HTTP mirrors are read-only.
   *
   * @throws {UsageError}
   */
  putFile(key: string, _path: string): Promise<void> {
    return Promise.reject(this.#readOnly(key));
  }

  #readOnly(key: string): UsageError {
    return new UsageError(`cannot write ${key}: HTTP mirror ${this.url} is read-only`);
  }

  /**
   * See {@link ObjectStore.list}. Walks the HTML directory listings under `prefix` (at most 16
   * levels deep); yields nothing where the server gives none (a 4xx answer or a page that is
   * not HTML).
   *
   * @throws {StorageRequestError} for 5xx answers (after retries).
   * @throws {MirrorNotFoundError} when the prefix and the mirror root both answer 404.
   */
  async *list(prefix: string): AsyncIterable<string> {
    yield* this.#walk(prefix.replace(/\/+$/, ""), 0);
  }

  async *#walk(dir: string, depth: number): AsyncIterable<string> {
    const url = new URL(`${encodeKey(dir)}/`, this.#base);
    const res = await this.#request("GET", url);
    const type = res.headers.get("content-type") ?? "";
    if (res.status !== 200 || !/^(text\/html|application\/xhtml\+xml)\b/i.test(type)) {
      if (res.status >= 500) throw await this.#failure("GET", url, res);
      await res.body?.cancel();
      if (depth === 0 && res.status === 404) await this.#checkRoot();
      return;
    }
    // Links resolve against where the listing came from (after redirects).
    const html = await this.#transport.text({ method: "GET", where: url.href }, res);
    const { files, dirs } = parseDirectoryListing(html, new URL(res.url || url));
    for (const name of files) yield `${dir}/${name}`;
    // Symbolic links can make a served tree endless; cache keys are a few levels deep.
    if (depth >= MAX_LISTING_DEPTH) return;
    for (const name of dirs) yield* this.#walk(`${dir}/${name}`, depth + 1);
  }

  // A root that answers 404 and has no layout.json is no cache at all (a typo'd URL).
  async #checkRoot(): Promise<void> {
    const res = await this.#request("GET", this.#base);
    await res.body?.cancel();
    if (res.status === 404 && !await this.exists("v3/layout.json")) {
      throw new MirrorNotFoundError(this.url, "the server answers 404 for it");
    }
  }
}
