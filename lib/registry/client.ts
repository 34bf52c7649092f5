/**
 * A client for one OCI distribution registry: blobs (streamed, digest-verified, resumable),
 * uploads (monolithic, chunked, cross-repository mount), manifests, tags and referrers, with
 * authentication, retries and a per-registry concurrency limit.
 *
 * Sources: OCI distribution spec v1.1 (endpoints, upload flows, `Docker-Content-Digest`, `Link`
 * pagination, referrers API); Spack build cache format reference §4.10 and §4.11.
 *
 * @module
 */

import { createHash } from "node:crypto";
import denoConfig from "../../deno.json" with { type: "json" };
import {
  ConnectionError,
  DigestMismatchError,
  FormatError,
  NotFoundError,
  ReadTimeoutError,
  UsageError,
} from "../errors.ts";
import { RegistryAuthenticator, repositoryScopes } from "./auth.ts";
import {
  type CredentialProvider,
  type Credentials,
  dockerConfigCredentials,
} from "./credentials.ts";
import { isRetryableStatus, RegistryAuthError, RegistryError } from "./errors.ts";
import { MANIFEST_MEDIA_TYPES, OCI_INDEX } from "./media_types.ts";
import { requireSha256, SHA256_DIGEST_RE, sha256Digest } from "./_digest.ts";
import { nextLink, readLimited, redactUrl, redactUrlsIn, withQueryParam } from "../net/http.ts";
import { Limiter } from "./_limiter.ts";
import { REPOSITORY_RE, TAG_RE } from "./_names.ts";
import { BRIEF_RETRIES, connectionError, retriesAllowed } from "../net/failure.ts";
import {
  defaultReadTimeoutMs,
  parseRetryAfter,
  pauseBeforeRetry,
  type RetryEvent,
  type RetryPolicy,
} from "../net/retry.ts";
import { fixedChunks, readWithin, skipBytes } from "../stream/chunks.ts";

/** Settings of a {@linkcode RegistryClient}; every field is optional. */
export interface RegistryClientOptions {
  /** Speak plain HTTP instead of HTTPS (Spack `oci+http://` mirrors). Default `false`. */
  readonly plainHttp?: boolean;
  /**
   * Credentials, or a provider asked once on the first challenge. Default: Docker config files
   * and credential helpers ({@linkcode dockerConfigCredentials}).
   */
  readonly credentials?: Credentials | CredentialProvider;
  /** Operations allowed in flight at once against this registry (`-j`). Default 4. */
  readonly concurrency?: number;
  /** Retries after a failed attempt (408, 429, 5xx, dropped connection). Default 5. */
  readonly retries?: number;
  /** First back-off delay in ms; doubles per retry. Default 500. */
  readonly retryBaseDelayMs?: number;
  /** Upper bound of the back-off delay in ms. Default 8000. */
  readonly retryMaxDelayMs?: number;
  /** Upper bound in ms for a server's `Retry-After`. Default 60000. */
  readonly maxRetryAfterMs?: number;
  /** `User-Agent` header. Default `spackle/<version>`. */
  readonly userAgent?: string;
  /** Blobs larger than this many bytes are uploaded in chunks (PATCH). Default: never. */
  readonly chunkedThreshold?: number;
  /** Chunk size in bytes for chunked uploads; one chunk is held in memory. Default 8 MiB. */
  readonly chunkSize?: number;
  /**
   * Read timeout: milliseconds to wait for the response to a request without a body, and for
   * the next bytes of a blob download, before treating the connection as stalled (retried once).
   * Default: `SPACKLE_READ_TIMEOUT` seconds from the environment, else 10000.
   */
  readonly timeoutMs?: number;
  /** Called before each retry, e.g. to log it. */
  readonly onRetry?: (event: RetryEvent) => void;
}

export type { RetryEvent } from "../net/retry.ts";

/** Outcome of {@linkcode RegistryClient.pushBlob}: already there, mounted from another repository, or uploaded. */
export type PushBlobResult = "exists" | "mounted" | "uploaded";

/** Options of {@linkcode RegistryClient.pushBlob}. */
export interface PushBlobOptions {
  /** Repository on the same registry that holds the blob: try a cross-repository mount first. */
  readonly mountFrom?: string;
}

/** A manifest as fetched: its media type, its sha256 digest and its exact bytes. */
export interface Manifest {
  /** Media type from `Content-Type`, else the manifest's own `mediaType` field. */
  readonly mediaType: string;
  /** `sha256:<hex>` of `bytes` (verified against the reference or `Docker-Content-Digest`). */
  readonly digest: string;
  /** The manifest bytes, unmodified (re-serialising would change the digest). */
  readonly bytes: Uint8Array;
}

/** What a manifest HEAD tells: media type, digest and size in bytes. */
export interface ManifestInfo {
  /** Media type from `Content-Type`. */
  readonly mediaType: string;
  /** `sha256:<hex>` from `Docker-Content-Digest` (or computed when the header is missing). */
  readonly digest: string;
  /** Manifest size in bytes. */
  readonly size: number;
}

/** An OCI content descriptor, as listed by the referrers API. */
export interface Descriptor {
  /** Media type of the referenced content. */
  readonly mediaType: string;
  /** Digest of the referenced content. */
  readonly digest: string;
  /** Size in bytes. */
  readonly size: number;
  /** Artifact type of a referrer manifest, when set. */
  readonly artifactType?: string;
  /** Annotations of the referrer manifest. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Options of {@linkcode RegistryClient.listTags}. */
export interface ListTagsOptions {
  /** Page size asked for (`?n=`); the registry may return fewer. Default: the registry's. */
  readonly pageSize?: number;
}

const USER_AGENT = `spackle/${denoConfig.version}`;
const MAX_REDIRECTS = 10;
// Manifests are held in memory; cap them like containerd does.
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;
// Statuses with which a registry refuses a monolithic PUT: then upload in chunks instead.
const MONOLITHIC_REFUSED = new Set([405, 411, 413, 501]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

interface Call {
  readonly method: string;
  readonly url: URL;
  /** Token scopes the request needs (`repository:<name>:<action>` atoms). */
  readonly scopes: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
  /** Creates the body anew for every attempt (streams can be sent only once). */
  readonly body?: () => BodyInit | Uint8Array;
}

/**
 * Client for one registry host. Every operation holds one of `concurrency` slots while it runs
 * (a blob stream from {@linkcode getBlob} until it is read to the end or cancelled), is retried
 * with exponential back-off on 408, 429, 5xx and dropped connections (honouring `Retry-After`),
 * logs in when challenged (Bearer tokens cached per scope, or Basic), and never sends the
 * `Authorization` header to another origin (redirects to blob storage go without it).
 *
 * @example
 * ```ts
 * const client = new RegistryClient("127.0.0.1:5000", { plainHttp: true });
 * const bytes = new TextEncoder().encode("hello");
 * const digest = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
 * await client.pushBlob("demo/app", digest, bytes.length, () => new Blob([bytes]).stream());
 * const text = await new Response(await client.getBlob("demo/app", digest)).text();
 * ```
 */
export class RegistryClient {
  /** Registry host, `host[:port]`. */
  readonly host: string;
  /** Whether this client speaks plain HTTP. */
  readonly plainHttp: boolean;
  readonly #origin: string;
  readonly #auth: RegistryAuthenticator;
  readonly #limiter: Limiter;
  readonly #retry: RetryPolicy;
  readonly #userAgent: string;
  readonly #chunkedThreshold: number;
  readonly #chunkSize: number;
  readonly #timeoutMs: number;
  readonly #onRetry?: (event: RetryEvent) => void;

  /**
   * Creates a client for `host` (`host[:port]`, e.g. the `domain` of an image reference).
   *
   * @throws {UsageError} when the host or an option is invalid.
   */
  constructor(host: string, options: RegistryClientOptions = {}) {
    this.plainHttp = options.plainHttp ?? false;
    // Userinfo would be a credential: refuse it without repeating it.
    if (host.includes("@")) throw new UsageError("invalid registry host: userinfo is not allowed");
    let origin: URL;
    try {
      origin = new URL(`${this.plainHttp ? "http" : "https"}://${host}`);
    } catch {
      throw new UsageError(`invalid registry host ${JSON.stringify(host)}`);
    }
    if (origin.pathname !== "/" || origin.search || origin.hash) {
      throw new UsageError(`invalid registry host ${JSON.stringify(host)} (expected host[:port])`);
    }
    this.host = origin.host;
    this.#origin = origin.origin;
    const concurrency = positiveInteger("concurrency", options.concurrency ?? 4);
    this.#limiter = new Limiter(concurrency);
    this.#retry = {
      retries: nonNegative("retries", options.retries ?? 5),
      baseDelayMs: nonNegative("retryBaseDelayMs", options.retryBaseDelayMs ?? 500),
      maxDelayMs: nonNegative("retryMaxDelayMs", options.retryMaxDelayMs ?? 8000),
      maxRetryAfterMs: nonNegative("maxRetryAfterMs", options.maxRetryAfterMs ?? 60_000),
    };
    this.#userAgent = options.userAgent ?? USER_AGENT;
    this.#chunkedThreshold = nonNegative("chunkedThreshold", options.chunkedThreshold ?? Infinity);
    this.#chunkSize = positiveInteger("chunkSize", options.chunkSize ?? 8 * 1024 * 1024);
    this.#timeoutMs = positiveInteger("timeoutMs", options.timeoutMs ?? defaultReadTimeoutMs());
    this.#onRetry = options.onRetry;
    const credentials = options.credentials ?? dockerConfigCredentials();
    this.#auth = new RegistryAuthenticator(this.host, {
      credentials: typeof credentials === "function"
        ? credentials
        : () => Promise.resolve(credentials),
      fetch: (url, init) => this.#tokenFetch(url, init),
      allowPlainHttpRealm: this.plainHttp,
      clientId: "spackle",
    });
  }

  /**
   * Size in bytes of blob `digest` in `repo`, or `undefined` when the registry does not have it.
   *
   * @throws {RegistryError} on any status other than 200 and 404 (after retries).
   * @throws {RegistryAuthError} when login fails.
   */
  headBlob(repo: string, digest: string): Promise<number | undefined> {
    checkRepository(repo);
    requireSha256(digest);
    return this.#limiter.run(() => this.#headBlob(repo, digest, repositoryScopes(repo, ["pull"])));
  }

  /**
   * Streams blob `digest` of `repo`, verifying its sha256 while streaming: the stream errors
   * with {@linkcode DigestMismatchError} at the end if the bytes do not match. Redirects (e.g. to
   * object storage) are followed without credentials. A connection that drops mid-body is resumed
   * with a `Range` request after the bytes already delivered. Nothing is buffered whole. The
   * stream holds one of the client's `concurrency` slots until it ends or is cancelled.
   *
   * @throws {NotFoundError} when the registry does not have the blob.
   * @throws {RegistryError} when the request fails (after retries).
   */
  async getBlob(repo: string, digest: string): Promise<ReadableStream<Uint8Array>> {
    checkRepository(repo);
    requireSha256(digest);
    const call: Call = {
      method: "GET",
      url: this.#url(`/v2/${repo}/blobs/${digest}`),
      scopes: repositoryScopes(repo, ["pull"]),
    };
    const where = `${this.host}/${repo}@${digest}`;
    const open = (offset: number) => this.#withRetries(() => this.#openBlob(call, where, offset));
    const release = await this.#limiter.acquire();
    let reader: ReadableStreamDefaultReader<Uint8Array>;
    try {
      reader = (await open(0)).getReader();
    } catch (err) {
      release();
      throw err;
    }
    const hash = createHash("sha256");
    let received = 0;
    let resumes = 0;
    let stalls = 0;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        while (true) {
          let step: ReadableStreamReadResult<Uint8Array>;
          try {
            step = await readWithin(reader, this.#timeoutMs);
          } catch (err) {
            // Dropped or stalled: let go of this response and resume after what was delivered.
            reader.cancel().catch(() => {});
            const failure = new RegistryError(
              "GET",
              redactUrl(call.url),
              undefined,
              [],
              `body interrupted after ${received} bytes: ${redactUrlsIn(errorText(err))}`,
            );
            // A server that stalled once tends to stall again: one resume, not `retries`.
            const stalled = err instanceof ReadTimeoutError;
            try {
              if (resumes >= this.#retry.retries || (stalled && stalls++ >= BRIEF_RETRIES)) {
                throw failure;
              }
              await this.#pause(failure, resumes++);
              reader = (await open(received)).getReader();
            } catch (fatal) {
              release();
              controller.error(fatal);
              return;
            }
            continue;
          }
          if (step.done) {
            release();
            const actual = `sha256:${hash.digest("hex")}`;
            if (actual === digest) controller.close();
            else controller.error(new DigestMismatchError(where, digest, actual));
            return;
          }
          hash.update(step.value);
          received += step.value.length;
          controller.enqueue(step.value);
          return;
        }
      },
      cancel: async (reason) => {
        release();
        await reader.cancel(reason);
      },
    });
  }

  /**
   * Downloads blob `digest` of `repo` to the file `path`: written to a temporary sibling and
   * renamed into place only once the digest is verified, so a failed or corrupt download leaves
   * nothing at `path` (nor the temporary file).
   *
   * @throws {DigestMismatchError} when the bytes do not match `digest`.
   * @throws {NotFoundError} when the registry does not have the blob.
   * @throws {RegistryError} when the transfer fails (after retries and resumes).
   */
  async downloadBlob(repo: string, digest: string, path: string): Promise<void> {
    const partial = `${path}.partial-${crypto.randomUUID().slice(0, 8)}`;
    const file = await Deno.open(partial, { write: true, createNew: true });
    try {
      await (await this.getBlob(repo, digest)).pipeTo(file.writable);
      await Deno.rename(partial, path);
    } catch (err) {
      try {
        file.close();
      } catch {
        // pipeTo already closed it.
      }
      await Deno.remove(partial).catch(() => {});
      throw err;
    }
  }

  /**
   * Uploads a blob unless the repository already has it: HEAD (present ⇒ `"exists"`); with
   * `mountFrom`, a cross-repository mount (201 ⇒ `"mounted"`); else POST then one monolithic PUT
   * of `body()`, or chunked PATCH uploads then a final PUT when `size` exceeds the
   * `chunkedThreshold` option or the registry refuses the monolithic PUT (405, 411, 413, 501).
   * A failed chunk is resumed from the offset the registry reports; other failures restart the
   * upload with a fresh `body()`, so `body` must return a new stream on every call.
   *
   * @param size blob size in bytes.
   * @throws {UsageError} when `body()` yields a different number of bytes than `size`.
   * @throws {RegistryError} when the registry refuses the upload (e.g. `DIGEST_INVALID`).
   * @throws {DigestMismatchError} when the registry reports a different digest than `digest`.
   */
  pushBlob(
    repo: string,
    digest: string,
    size: number,
    body: () => ReadableStream<Uint8Array>,
    options: PushBlobOptions = {},
  ): Promise<PushBlobResult> {
    checkRepository(repo);
    requireSha256(digest);
    nonNegative("size", size);
    const from = options.mountFrom !== undefined && options.mountFrom !== repo
      ? options.mountFrom
      : undefined;
    if (from !== undefined) checkRepository(from);
    // Ask for push rights from the first request on, so one token serves the whole upload.
    const scopes = [
      ...repositoryScopes(repo, ["pull", "push"]),
      ...(from ? repositoryScopes(from, ["pull"]) : []),
    ];
    return this.#limiter.run(async () => {
      if (await this.#headBlob(repo, digest, scopes) !== undefined) return "exists";
      return await this.#withRetries(async () => {
        const session = await this.#startUpload(repo, digest, scopes, from);
        if (session === "mounted") return "mounted";
        if (
          size <= this.#chunkedThreshold && await this.#putMonolithic(session, digest, scopes, body)
        ) {
          return "uploaded";
        }
        // A refused monolithic PUT may have spoilt its session: chunks go to a fresh one (no
        // mount is asked for, so the answer is a session URL).
        const fresh = size <= this.#chunkedThreshold
          ? await this.#startUpload(repo, digest, scopes) as URL
          : session;
        await this.#uploadChunked(fresh, digest, size, scopes, body);
        return "uploaded";
      });
    });
  }

  /**
   * Fetches manifest `ref` (tag or digest) of `repo`, asking for the media types in `accept`
   * (default: OCI and Docker manifests and indexes). By digest, the bytes are verified against
   * it; by tag, against `Docker-Content-Digest` when the registry sends a sha256 one.
   *
   * @throws {NotFoundError} when there is no such manifest.
   * @throws {DigestMismatchError} when the bytes do not match.
   * @throws {FormatError} when the manifest exceeds 4 MiB or has no media type.
   * @throws {RegistryError} when the request fails (after retries).
   */
  getManifest(
    repo: string,
    ref: string,
    accept: readonly string[] = MANIFEST_MEDIA_TYPES,
  ): Promise<Manifest> {
    checkRepository(repo);
    checkManifestRef(ref);
    return this.#limiter.run(() => this.#getManifest(repo, ref, accept));
  }

  /**
   * Media type, digest and size of manifest `ref` of `repo` without downloading it, or
   * `undefined` when there is no such manifest.
   *
   * @throws {RegistryError} when the request fails (after retries).
   */
  headManifest(
    repo: string,
    ref: string,
    accept: readonly string[] = MANIFEST_MEDIA_TYPES,
  ): Promise<ManifestInfo | undefined> {
    checkRepository(repo);
    checkManifestRef(ref);
    return this.#limiter.run(() =>
      this.#withRetries(async () => {
        const call: Call = {
          method: "HEAD",
          url: this.#url(`/v2/${repo}/manifests/${ref}`),
          scopes: repositoryScopes(repo, ["pull"]),
          headers: { accept: accept.join(", ") },
        };
        const res = await this.#send(call);
        if (res.status === 404) return undefined;
        if (res.status !== 200) throw await this.#failure(call, res);
        await res.body?.cancel();
        const digest = res.headers.get("docker-content-digest");
        const mediaType = contentType(res);
        const size = Number(res.headers.get("content-length"));
        if (digest && SHA256_DIGEST_RE.test(digest) && mediaType && Number.isSafeInteger(size)) {
          return { mediaType, digest, size };
        }
        // Not enough headers to answer: fetch it and compute.
        const manifest = await this.#getManifest(repo, ref, accept);
        return {
          mediaType: manifest.mediaType,
          digest: manifest.digest,
          size: manifest.bytes.length,
        };
      })
    );
  }

  /**
   * Uploads manifest `bytes` of type `mediaType` under `ref` (a tag, or its own digest) and
   * returns its digest `sha256:<hex>`.
   *
   * @throws {UsageError} when `ref` is a digest that does not match `bytes`.
   * @throws {DigestMismatchError} when the registry reports another digest.
   * @throws {RegistryError} when the registry refuses it (e.g. `MANIFEST_BLOB_UNKNOWN`).
   */
  putManifest(repo: string, ref: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    checkRepository(repo);
    checkManifestRef(ref);
    const digest = sha256Digest(bytes);
    if (ref.startsWith("sha256:") && ref !== digest) {
      throw new UsageError(`manifest bytes hash to ${digest}, not to the reference ${ref}`);
    }
    const call: Call = {
      method: "PUT",
      url: this.#url(`/v2/${repo}/manifests/${ref}`),
      scopes: repositoryScopes(repo, ["pull", "push"]),
      headers: { "content-type": mediaType },
      body: () => bytes,
    };
    return this.#limiter.run(() =>
      this.#withRetries(async () => {
        const res = await this.#send(call);
        if (res.status < 200 || res.status > 299) throw await this.#failure(call, res);
        await res.body?.cancel();
        this.#checkReportedDigest(res, `${this.host}/${repo}:${ref}`, digest);
        return digest;
      })
    );
  }

  /**
   * Deletes manifest `ref` (a digest; some registries also accept a tag) from `repo`.
   *
   * @throws {NotFoundError} when there is no such manifest.
   * @throws {RegistryError} when the registry refuses (e.g. deletion disabled: 405 `UNSUPPORTED`).
   */
  deleteManifest(repo: string, ref: string): Promise<void> {
    checkRepository(repo);
    checkManifestRef(ref);
    const call: Call = {
      method: "DELETE",
      url: this.#url(`/v2/${repo}/manifests/${ref}`),
      scopes: repositoryScopes(repo, ["delete"]),
    };
    return this.#limiter.run(() =>
      this.#withRetries(async () => {
        const res = await this.#send(call);
        if (res.status === 404) {
          await res.body?.cancel();
          throw new NotFoundError(`manifest ${this.host}/${repo}:${ref}`);
        }
        if (res.status < 200 || res.status > 299) throw await this.#failure(call, res);
        await res.body?.cancel();
      })
    );
  }

  /**
   * All tags of `repo`, following `Link: <…>; rel="next"` pagination (same origin only).
   *
   * @throws {NotFoundError} when the repository does not exist.
   * @throws {FormatError} when a page is not the expected JSON.
   * @throws {RegistryError} when a request fails (after retries).
   */
  listTags(repo: string, options: ListTagsOptions = {}): Promise<string[]> {
    checkRepository(repo);
    const first = this.#url(`/v2/${repo}/tags/list`);
    if (options.pageSize !== undefined) {
      first.searchParams.set("n", String(positiveInteger("pageSize", options.pageSize)));
    }
    return this.#limiter.run(async () => {
      const tags: string[] = [];
      for await (
        const page of this.#pages(first, repositoryScopes(repo, ["pull"]), "application/json")
      ) {
        if (!page) throw new NotFoundError(`repository ${this.host}/${repo}`);
        const list = (page.json as { tags?: unknown }).tags ?? [];
        if (!Array.isArray(list) || !list.every((t) => typeof t === "string")) {
          throw new FormatError(page.url, "tags list is not an array of strings");
        }
        tags.push(...list);
      }
      return tags;
    });
  }

  /**
   * Descriptors of the manifests that refer to `digest` in `repo` (OCI referrers API), filtered
   * by `artifactType` (by the registry, or here when it did not apply the filter), following
   * pagination. `undefined` when the registry has no referrers API (404).
   *
   * @throws {FormatError} when a page is not an image index.
   * @throws {RegistryError} when a request fails (after retries).
   */
  referrers(
    repo: string,
    digest: string,
    artifactType?: string,
  ): Promise<Descriptor[] | undefined> {
    checkRepository(repo);
    requireSha256(digest);
    const first = this.#url(`/v2/${repo}/referrers/${digest}`);
    if (artifactType !== undefined) first.searchParams.set("artifactType", artifactType);
    return this.#limiter.run(async () => {
      const found: Descriptor[] = [];
      for await (const page of this.#pages(first, repositoryScopes(repo, ["pull"]), OCI_INDEX)) {
        if (!page) return undefined;
        const manifests = (page.json as { manifests?: unknown }).manifests;
        if (!Array.isArray(manifests)) {
          throw new FormatError(page.url, "referrers response is not an image index");
        }
        const filtered = artifactType !== undefined && !page.filters.includes("artifactType");
        found.push(
          ...manifests.filter((d: Descriptor) => !filtered || d.artifactType === artifactType),
        );
      }
      return found;
    });
  }

  /**
   * Every repository name the registry lists (`GET /v2/_catalog`), following `Link` pagination
   * (same origin only). Many registries restrict or disable the catalog.
   *
   * @throws {NotFoundError} when the registry has no catalog endpoint (404).
   * @throws {FormatError} when a page is not `{"repositories": [string…]}`.
   * @throws {RegistryError} when a request fails or is refused (e.g. 401/403, after retries).
   */
  catalog(options: ListTagsOptions = {}): Promise<string[]> {
    const first = this.#url("/v2/_catalog");
    if (options.pageSize !== undefined) {
      first.searchParams.set("n", String(positiveInteger("pageSize", options.pageSize)));
    }
    return this.#limiter.run(async () => {
      const names: string[] = [];
      for await (const page of this.#pages(first, ["registry:catalog:*"], "application/json")) {
        if (!page) throw new NotFoundError(`catalog of ${this.host}`);
        const list = (page.json as { repositories?: unknown }).repositories ?? [];
        if (!Array.isArray(list) || !list.every((r) => typeof r === "string")) {
          throw new FormatError(page.url, "catalog is not an array of repository names");
        }
        names.push(...list);
      }
      return names;
    });
  }

  // ---- requests -------------------------------------------------------------------------------

  #url(path: string): URL {
    return new URL(path, this.#origin);
  }

  /**
   * One logical request: attaches cached auth, follows redirects, answers one 401 challenge.
   * Throws a (retryable) {@linkcode RegistryError} for 408/429/5xx and dropped connections.
   */
  async #send(call: Call): Promise<Response> {
    let auth = this.#auth.cached(call.scopes);
    for (let round = 0;; round++) {
      const res = await this.#fetchFollowing(call, auth);
      if (res.status === 401) {
        const challenge = res.headers.get("www-authenticate");
        await res.body?.cancel();
        if (round > 0) {
          throw new RegistryAuthError(
            this.host,
            `${call.method} ${redactUrl(call.url)} still unauthorized after login (HTTP 401)`,
          );
        }
        if (auth) this.#auth.invalidate(auth);
        auth = await this.#auth.respond(challenge, call.scopes);
        continue;
      }
      if (isRetryableStatus(res.status)) throw await this.#failure(call, res);
      return res;
    }
  }

  async #fetchFollowing(call: Call, auth: string | undefined): Promise<Response> {
    let url = call.url;
    let method = call.method;
    let body = call.body;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers = new Headers(call.headers);
      headers.set("user-agent", this.#userAgent);
      // Credentials stay with the registry: blob storage behind a redirect gets none.
      if (auth && url.origin === this.#origin) headers.set("authorization", auth);
      let res: Response;
      const payload = body?.();
      // Only requests without a payload are timed: an upload takes as long as its bytes take.
      const empty = payload === undefined ||
        (payload instanceof Uint8Array && payload.length === 0);
      const timeout = empty ? new AbortController() : undefined;
      const timer = timeout && setTimeout(() => timeout.abort(), this.#timeoutMs);
      try {
        res = await fetch(url, {
          method,
          headers,
          body: (payload ?? null) as BodyInit | null,
          redirect: "manual",
          signal: timeout?.signal,
        });
      } catch (err) {
        const timedOut = timeout?.signal.aborted ? this.#timeoutMs : undefined;
        throw connectionError(method, redactUrl(url), err, timedOut);
      } finally {
        clearTimeout(timer);
      }
      const location = res.headers.get("location");
      if (!REDIRECTS.has(res.status) || location === null) return res;
      await res.body?.cancel();
      url = new URL(location, url);
      if (res.status === 303 || (res.status <= 302 && method === "POST")) {
        method = method === "HEAD" ? "HEAD" : "GET";
        body = undefined;
      }
    }
    throw new RegistryError(call.method, redactUrl(call.url), undefined, [], "too many redirects");
  }

  /** Runs `attempt` again after retryable failures, waiting as the policy and server say. */
  async #withRetries<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 0;; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (n >= this.#retriesFor(err)) throw err;
        await this.#pause(err as RegistryError | ConnectionError, n);
      }
    }
  }

  /** Retries `err` may have in all: none for errors that are not worth retrying. */
  #retriesFor(err: unknown): number {
    if (err instanceof ConnectionError) return retriesAllowed(err, this.#retry.retries);
    return err instanceof RegistryError && err.retryable ? this.#retry.retries : 0;
  }

  #pause(err: RegistryError | ConnectionError, n: number): Promise<void> {
    const reason = err instanceof ConnectionError
      ? err.reason
      : err.status === undefined
      ? "connection failed"
      : `HTTP ${err.status}`;
    const retryAfterMs = err instanceof RegistryError ? err.retryAfterMs : undefined;
    return pauseBeforeRetry(
      this.#retry,
      n,
      { method: err.method, url: err.url, reason },
      retryAfterMs,
      this.#onRetry,
    );
  }

  /** Token realm requests: timed and retried like registry requests, never given registry credentials. */
  #tokenFetch(url: URL, init: RequestInit): Promise<Response> {
    const method = init.method ?? "GET";
    return this.#withRetries(async () => {
      let res: Response;
      try {
        res = await fetch(url, {
          ...init,
          headers: { ...init.headers, "user-agent": this.#userAgent },
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (err) {
        const timedOut = (err as Error)?.name === "TimeoutError" ? this.#timeoutMs : undefined;
        throw connectionError(method, redactUrl(url), err, timedOut);
      }
      if (isRetryableStatus(res.status)) throw await this.#failure({ method, url }, res);
      return res;
    });
  }

  /**
   * Reads a JSON-sized body within the read timeout. A stall or a connection lost mid-body is a
   * `ConnectionError`, retried like a request that got no answer.
   */
  async #readBody(
    call: Pick<Call, "method" | "url">,
    res: Response,
    limit: number,
  ): Promise<Uint8Array | undefined> {
    try {
      return await readLimited(res, limit, this.#timeoutMs);
    } catch (err) {
      const where = redactUrl(call.url);
      if (err instanceof ReadTimeoutError) {
        throw new ConnectionError(call.method, where, err.message, "brief");
      }
      throw connectionError(call.method, where, err);
    }
  }

  /** Builds the error for an unexpected response, with the registry's error codes and messages. */
  async #failure(call: Pick<Call, "method" | "url">, res: Response): Promise<RegistryError> {
    const codes: string[] = [];
    const messages: string[] = [];
    try {
      const bytes = await readLimited(res, MAX_ERROR_BODY_BYTES, this.#timeoutMs);
      const parsed = bytes?.length ? JSON.parse(new TextDecoder().decode(bytes)) : undefined;
      for (const e of Array.isArray(parsed?.errors) ? parsed.errors : []) {
        if (typeof e?.code === "string") codes.push(e.code);
        if (typeof e?.message === "string") messages.push(e.message.slice(0, 200));
      }
    } catch {
      // Not a JSON error body: the status says enough.
    }
    const detail = codes.length
      ? codes.map((c, i) => (messages[i] ? `${c} (${messages[i]})` : c)).join("; ")
      : res.statusText || "unexpected response";
    return new RegistryError(
      call.method,
      redactUrl(res.url || call.url),
      res.status,
      codes,
      detail,
      parseRetryAfter(res.headers.get("retry-after")),
    );
  }

  #checkReportedDigest(res: Response, where: string, digest: string): void {
    const reported = res.headers.get("docker-content-digest");
    if (reported && reported.startsWith("sha256:") && reported !== digest) {
      throw new DigestMismatchError(where, digest, reported);
    }
  }

  /** Pages of a paginated JSON listing; yields `undefined` (and stops) on a first-page 404. */
  async *#pages(
    first: URL,
    scopes: readonly string[],
    accept: string,
  ): AsyncGenerator<{ url: string; json: unknown; filters: string[] } | undefined> {
    const seen = new Set<string>();
    let url: URL | undefined = first;
    while (url && !seen.has(url.href)) {
      seen.add(url.href);
      const call: Call = { method: "GET", url, scopes, headers: { accept } };
      const page = await this.#withRetries(async () => {
        const res = await this.#send(call);
        if (res.status === 404 && url === first) {
          await res.body?.cancel();
          return undefined;
        }
        if (res.status !== 200) throw await this.#failure(call, res);
        const bytes = await this.#readBody(call, res, MAX_MANIFEST_BYTES);
        let json: unknown;
        try {
          json = JSON.parse(new TextDecoder().decode(bytes));
        } catch {
          throw new FormatError(redactUrl(res.url), "not JSON");
        }
        if (!json || typeof json !== "object") {
          throw new FormatError(redactUrl(res.url), "not a JSON object");
        }
        const link = nextLink(res.headers.get("link"));
        const filters = (res.headers.get("oci-filters-applied") ?? "").split(",").map((f) =>
          f.trim()
        );
        return {
          url: redactUrl(res.url),
          json,
          filters,
          next: link ? new URL(link, res.url) : undefined,
        };
      });
      yield page;
      if (!page) return;
      url = page.next;
      if (url && url.origin !== this.#origin) {
        throw new RegistryError(
          "GET",
          redactUrl(call.url),
          200,
          [],
          "pagination link leaves the registry",
        );
      }
    }
  }

  // ---- blobs ----------------------------------------------------------------------------------

  #headBlob(repo: string, digest: string, scopes: readonly string[]): Promise<number | undefined> {
    const call: Call = { method: "HEAD", url: this.#url(`/v2/${repo}/blobs/${digest}`), scopes };
    return this.#withRetries(async () => {
      const res = await this.#send(call);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw await this.#failure(call, res);
      await res.body?.cancel();
      const size = Number(res.headers.get("content-length"));
      if (!Number.isSafeInteger(size)) {
        throw new RegistryError("HEAD", redactUrl(call.url), 200, [], "no Content-Length");
      }
      return size;
    });
  }

  async #openBlob(call: Call, where: string, offset: number): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#send(
      offset > 0 ? { ...call, headers: { range: `bytes=${offset}-` } } : call,
    );
    if (res.status === 404) {
      await res.body?.cancel();
      throw new NotFoundError(`blob ${where}`);
    }
    if (res.body && offset > 0 && res.status === 206) {
      if (res.headers.get("content-range")?.startsWith(`bytes ${offset}-`)) return res.body;
    } else if (res.body && res.status === 200) {
      return offset > 0 ? skipBytes(res.body, offset) : res.body;
    }
    throw await this.#failure(call, res);
  }

  /** POST to start an upload session (or mount): `"mounted"` or the session URL. */
  async #startUpload(
    repo: string,
    digest: string,
    scopes: readonly string[],
    mountFrom?: string,
  ): Promise<URL | "mounted"> {
    let url = this.#url(`/v2/${repo}/blobs/uploads/`);
    if (mountFrom !== undefined) {
      url = withQueryParam(withQueryParam(url, "mount", digest), "from", mountFrom);
    }
    const call: Call = { method: "POST", url, scopes, body: () => new Uint8Array(0) };
    const res = await this.#send(call);
    const location = res.headers.get("location");
    if (res.status === 201 && mountFrom !== undefined) {
      await res.body?.cancel();
      return "mounted";
    }
    if (res.status !== 202) throw await this.#failure(call, res);
    await res.body?.cancel();
    if (!location) {
      throw new RegistryError("POST", redactUrl(url), 202, [], "upload started without a Location");
    }
    return new URL(location, res.url);
  }

  /** Monolithic PUT of the whole body; `false` when the registry refuses that kind of upload. */
  async #putMonolithic(
    session: URL,
    digest: string,
    scopes: readonly string[],
    body: () => ReadableStream<Uint8Array>,
  ): Promise<boolean> {
    const call: Call = {
      method: "PUT",
      url: withQueryParam(session, "digest", digest),
      scopes,
      headers: { "content-type": "application/octet-stream" },
      body,
    };
    const res = await this.#send(call);
    if (MONOLITHIC_REFUSED.has(res.status)) {
      await res.body?.cancel();
      return false;
    }
    if (res.status !== 201) throw await this.#failure(call, res);
    await res.body?.cancel();
    this.#checkReportedDigest(res, `${this.host}${session.pathname}`, digest);
    return true;
  }

  async #uploadChunked(
    session: URL,
    digest: string,
    size: number,
    scopes: readonly string[],
    body: () => ReadableStream<Uint8Array>,
  ): Promise<void> {
    let url = session;
    let offset = 0;
    for await (const chunk of fixedChunks(body(), this.#chunkSize)) {
      url = await this.#patchChunk(url, offset, chunk, scopes);
      offset += chunk.length;
    }
    if (offset !== size) {
      throw new UsageError(`blob ${digest} has ${offset} bytes, not the ${size} announced`);
    }
    const call: Call = {
      method: "PUT",
      url: withQueryParam(url, "digest", digest),
      scopes,
      headers: { "content-type": "application/octet-stream" },
      body: () => new Uint8Array(0),
    };
    const res = await this.#send(call);
    if (res.status !== 201) throw await this.#failure(call, res);
    await res.body?.cancel();
    this.#checkReportedDigest(res, `${this.host}${session.pathname}`, digest);
  }

  /** PATCHes one chunk starting at `offset`; after a failure, resumes where the registry stopped. */
  async #patchChunk(
    url: URL,
    offset: number,
    chunk: Uint8Array,
    scopes: readonly string[],
  ): Promise<URL> {
    let start = offset;
    let data = chunk;
    for (let n = 0;; n++) {
      const call: Call = {
        method: "PATCH",
        url,
        scopes,
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `${start}-${start + data.length - 1}`,
        },
        body: () => data,
      };
      try {
        const res = await this.#send(call);
        if (res.status !== 202) throw await this.#failure(call, res);
        await res.body?.cancel();
        const location = res.headers.get("location");
        return location ? new URL(location, res.url) : url;
      } catch (err) {
        if (n >= this.#retriesFor(err)) throw err;
        await this.#pause(err as RegistryError | ConnectionError, n);
        const status = await this.#uploadStatus(url, scopes);
        const end = offset + chunk.length;
        if (status.next < offset || status.next > end) throw err;
        url = status.url;
        start = status.next;
        data = chunk.subarray(start - offset);
        if (data.length === 0) return url;
      }
    }
  }

  /** Where an upload session stands: its current URL and the next byte offset it expects. */
  #uploadStatus(url: URL, scopes: readonly string[]): Promise<{ url: URL; next: number }> {
    const call: Call = { method: "GET", url, scopes };
    return this.#withRetries(async () => {
      const res = await this.#send(call);
      if (res.status !== 204) throw await this.#failure(call, res);
      await res.body?.cancel();
      const range = /^(?:bytes=)?0-(\d+)$/.exec(res.headers.get("range") ?? "");
      const location = res.headers.get("location");
      // Distribution reports an empty upload as `0-0`, the same as one byte; chunks are never one
      // byte long, so read it as empty (a wrong guess fails with 416 and restarts the upload).
      return {
        url: location ? new URL(location, res.url) : url,
        next: range && range[1] !== "0" ? Number(range[1]) + 1 : 0,
      };
    });
  }

  // ---- manifests ------------------------------------------------------------------------------

  #getManifest(repo: string, ref: string, accept: readonly string[]): Promise<Manifest> {
    const call: Call = {
      method: "GET",
      url: this.#url(`/v2/${repo}/manifests/${ref}`),
      scopes: repositoryScopes(repo, ["pull"]),
      headers: { accept: accept.join(", ") },
    };
    const where = `${this.host}/${repo}${ref.startsWith("sha256:") ? "@" : ":"}${ref}`;
    return this.#withRetries(async () => {
      const res = await this.#send(call);
      if (res.status === 404) {
        await res.body?.cancel();
        throw new NotFoundError(`manifest ${where}`);
      }
      if (res.status !== 200) throw await this.#failure(call, res);
      const bytes = await this.#readBody(call, res, MAX_MANIFEST_BYTES);
      if (!bytes) throw new FormatError(where, `manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
      const digest = sha256Digest(bytes);
      const header = res.headers.get("docker-content-digest");
      const expected = ref.startsWith("sha256:")
        ? ref
        : header?.startsWith("sha256:")
        ? header
        : undefined;
      if (expected !== undefined && expected !== digest) {
        throw new DigestMismatchError(where, expected, digest);
      }
      const mediaType = contentType(res) ?? embeddedMediaType(bytes);
      if (!mediaType) throw new FormatError(where, "manifest has no media type");
      return { mediaType, digest, bytes };
    });
  }
}

// ---- helpers ------------------------------------------------------------------------------------

function checkRepository(repo: string): void {
  if (!REPOSITORY_RE.test(repo) || repo.length > 255) {
    throw new UsageError(
      `invalid repository name ${JSON.stringify(repo)} (lower-case path components)`,
    );
  }
}

function checkManifestRef(ref: string): void {
  if (!TAG_RE.test(ref) && !SHA256_DIGEST_RE.test(ref)) {
    throw new UsageError(
      `invalid manifest reference ${JSON.stringify(ref)} (a tag or sha256 digest)`,
    );
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${name} must be a positive integer`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(value >= 0)) throw new UsageError(`${name} must be a non-negative number`);
  return value;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The media type of a response, without parameters; `undefined` for generic JSON or none. */
function contentType(res: Response): string | undefined {
  const type = res.headers.get("content-type")?.split(";")[0].trim().toLowerCase();
  return type && type !== "application/json" && type !== "text/plain" &&
      type !== "application/octet-stream"
    ? type
    : undefined;
}

function embeddedMediaType(bytes: Uint8Array): string | undefined {
  try {
    const mediaType = JSON.parse(new TextDecoder().decode(bytes))?.mediaType;
    return typeof mediaType === "string" ? mediaType : undefined;
  } catch {
    return undefined;
  }
}
