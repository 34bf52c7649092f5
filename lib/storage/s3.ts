/**
 * A build cache in an S3 bucket (`s3://bucket/prefix`), on AWS or an S3-compatible server
 * (MinIO, Ceph, …), read and written as Spack does through boto3 (build cache format reference
 * §1.12, mirror connection fields §5.1): HEAD for existence, ListObjectsV2 for listing, PUT for
 * small objects and multipart uploads for large ones. Requests are signed with SigV4
 * (`aws4fetch`), or sent unsigned when there are no credentials.
 *
 * @module
 */
import { AwsClient } from "aws4fetch";
import { FormatError, UsageError } from "../errors.ts";
import { sha256Hex } from "../stream/digest.ts";
import { fixedChunks } from "../stream/chunks.ts";
import type { ObjectStore, VersionedObject } from "./types.ts";
import {
  type AwsSettings,
  type BucketUrls,
  bucketUrls,
  resolveAwsSettings,
} from "./_aws_config.ts";
import {
  encodeKey,
  errorText,
  type RemoteStoreOptions,
  type RequestLabel,
  StorageRequestError,
  Transport,
} from "./_http.ts";
import { elementText, escapeXmlText, innerXml } from "./_xml.ts";

export { type RemoteStoreOptions, StorageRequestError } from "./_http.ts";

const MIB = 1024 * 1024;
/** S3 allows at most this many parts in one multipart upload. */
const MAX_PARTS = 10_000;
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Options of {@link S3Store}: the mirror's connection (Spack's `mirrors.yaml` fields) and tuning. */
export interface S3StoreOptions extends RemoteStoreOptions {
  /**
   * An S3-compatible endpoint, e.g. `http://127.0.0.1:9000` (Spack's `endpoint_url`); buckets
   * are then addressed path-style. A bare host means `https://`. Default: `S3_ENDPOINT_URL`,
   * `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` from the environment, else AWS itself
   * (virtual-host style).
   */
  readonly endpointUrl?: string;
  /** Signing region. Default: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's, `us-east-1`. */
  readonly region?: string;
  /** Access key ID (the `id` of Spack's `access_pair`); needs `secretAccessKey`. */
  readonly accessKeyId?: string;
  /** Secret access key (Spack's `access_pair` secret). */
  readonly secretAccessKey?: string;
  /** Session token of temporary credentials (Spack's `access_token_variable`). */
  readonly sessionToken?: string;
  /** AWS profile in `~/.aws/credentials` / `~/.aws/config` (Spack's `profile`). */
  readonly profile?: string;
  /**
   * Environment to read `AWS_*` variables, `S3_ENDPOINT_URL` and `HOME` from. Default: the
   * process environment (needs `--allow-env`).
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Bodies of at least this many bytes are uploaded in parts. Default 8 MiB. */
  readonly multipartThreshold?: number;
  /**
   * Bytes per part of a multipart upload; one part (or, below the threshold, the whole body) is
   * held in memory. S3 wants at least 5 MiB except for the last part. Default 8 MiB; a file
   * too large for 10,000 such parts gets larger parts.
   */
  readonly partSize?: number;
  /** Keys asked for per ListObjectsV2 page (1 to 1000). Default 1000. */
  readonly listPageSize?: number;
  /** Told about problems that do not fail the operation (a multipart upload that could not be aborted). */
  readonly onWarning?: (message: string) => void;
}

interface Connection extends BucketUrls {
  /** Signs requests; `undefined` for anonymous access. */
  readonly signer?: AwsClient;
}

/**
 * {@link ObjectStore} over `s3://bucket/prefix`. Writes are atomic, as S3 makes every completed
 * PUT and multipart upload: readers see the old object or the new one. A body that fails while
 * being uploaded leaves no object, and its multipart upload is aborted. Credentials are kept
 * private and never appear in `url`, errors or events.
 *
 * @example
 * ```ts
 * import { S3Store } from "@spackle/spackle/storage";
 * import { UrlMirror } from "@spackle/spackle/mirror";
 * const store = new S3Store("s3://my-bucket/cache", {
 *   endpointUrl: "http://127.0.0.1:9000",
 *   accessKeyId: "minio",
 *   secretAccessKey: Deno.env.get("MINIO_SECRET")!,
 * });
 * const mirror = new UrlMirror(store);
 * console.log(await mirror.updateIndex(), "specs indexed");
 * ```
 */
export class S3Store implements ObjectStore {
  /** `s3://bucket` or `s3://bucket/prefix`, without a trailing slash. */
  readonly url: string;
  /** Always true (permissions permitting). */
  readonly writable = true;
  /** The bucket name. */
  readonly bucket: string;
  /** The key prefix of the mirror root inside the bucket, without slashes at either end. */
  readonly prefix: string;
  readonly #options: S3StoreOptions;
  readonly #transport: Transport;
  readonly #threshold: number;
  readonly #partSize: number;
  readonly #pageSize: number;
  readonly #warn: (message: string) => void;
  #connection?: Promise<Connection>;

  /**
   * Opens the mirror at `url` (`s3://bucket[/prefix]`). Nothing is contacted and no credential
   * is looked up until the first request.
   *
   * @throws {UsageError} for a URL that is not `s3://bucket[/prefix]` or bad sizes.
   */
  constructor(url: string, options: S3StoreOptions = {}) {
    const m = /^s3:\/\/([^/?#]+)\/*([^?#]*?)\/*$/i.exec(url);
    if (m?.[1].includes("@")) {
      throw new UsageError(
        `credentials cannot be written in an s3:// URL (${url}): use an AWS profile, ` +
          "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a mirror's access_pair variables",
      );
    }
    if (!m) throw new UsageError(`not an s3://bucket[/prefix] URL: ${url}`);
    this.bucket = m[1];
    this.prefix = m[2];
    if (this.prefix) encodeKey(this.prefix);
    this.url = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ""}`;
    this.#options = options;
    this.#transport = new Transport(options);
    this.#threshold = positive("multipartThreshold", options.multipartThreshold ?? 8 * MIB);
    this.#partSize = positive("partSize", options.partSize ?? 8 * MIB);
    this.#pageSize = positive("listPageSize", options.listPageSize ?? 1000);
    if (this.#pageSize > 1000) throw new UsageError("listPageSize must be at most 1000");
    this.#warn = options.onWarning ?? (() => {});
  }

  #connect(): Promise<Connection> {
    this.#connection ??= resolveAwsSettings(this.#options).then((s) => connection(this.bucket, s));
    return this.#connection;
  }

  #fullKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  #where(key: string): string {
    return `${this.url}/${key}`;
  }

  /** Sends a request for `url`, signed when there are credentials; `body` is hashed for SigV4. */
  async #send(
    label: RequestLabel,
    url: string,
    init: { headers?: Record<string, string>; body?: Uint8Array } = {},
  ): Promise<Response> {
    const { signer } = await this.#connect();
    // A signed payload: S3 checks the body against the hash the signature covers.
    const payloadHash = signer ? sha256Hex(init.body ?? "") : "";
    return await this.#transport.send(label, async (headers) => {
      for (const [name, value] of Object.entries(init.headers ?? {})) headers.set(name, value);
      const request = { method: label.method, headers, body: init.body as BodyInit | undefined };
      if (!signer) return new Request(url, request);
      headers.set("x-amz-content-sha256", payloadHash);
      return await signer.sign(url, request);
    });
  }

  async #objectUrl(key: string): Promise<string> {
    return `${(await this.#connect()).bucketUrl}${encodeKey(this.#fullKey(key))}`;
  }

  /** The error for an unexpected answer, with S3's error code and message when it sent them. */
  async #failure(label: RequestLabel, res: Response): Promise<StorageRequestError> {
    let code: string | undefined;
    let message: string | undefined;
    try {
      const xml = await this.#transport.text(label, res, MAX_ERROR_BODY_BYTES);
      code = elementText(xml, "Code", label.where);
      message = elementText(xml, "Message", label.where)?.slice(0, 300);
    } catch {
      // No readable error document: the status says enough.
    }
    await res.body?.cancel().catch(() => {});
    const region = res.headers.get("x-amz-bucket-region");
    const detail = [code ?? (res.statusText || "unexpected response"), message]
      .filter(Boolean).join(": ") + (region ? ` (the bucket is in region ${region})` : "");
    return new StorageRequestError(label.method, label.where, res.status, detail, code);
  }

  /**
   * See {@link ObjectStore.get}: a stream that resumes (ranged GET of the same ETag) after a
   * dropped connection.
   *
   * @throws {StorageRequestError} for failures other than a missing key (after retries),
   *   including a missing bucket.
   */
  async get(key: string): Promise<ReadableStream<Uint8Array> | undefined> {
    const url = await this.#objectUrl(key);
    const label = { method: "GET", where: this.#where(key) };
    const res = await this.#send(label, url);
    if (res.status === 404) {
      const failure = await this.#failure(label, res);
      if (failure.serviceCode === "NoSuchBucket") throw failure;
      return undefined;
    }
    if (res.status !== 200 || !res.body) throw await this.#failure(label, res);
    return this.#transport.resumable(label, res, (offset, etag) =>
      this.#send(label, url, {
        headers: { range: `bytes=${offset}-`, ...(etag === undefined ? {} : { "if-match": etag }) },
      }));
  }

  /**
   * See {@link ObjectStore.getVersioned}: the version is the object's ETag.
   *
   * @throws {StorageRequestError} as {@link S3Store.get} does, or when S3 sends no ETag.
   */
  getVersioned(key: string): Promise<VersionedObject | undefined> {
    return this.#getVersioned(key, 0);
  }

  async #getVersioned(key: string, attempt: number): Promise<VersionedObject | undefined> {
    const label = { method: "GET", where: this.#where(key) };
    const res = await this.#send(label, await this.#objectUrl(key));
    if (res.status === 404) {
      const failure = await this.#failure(label, res);
      if (failure.serviceCode === "NoSuchBucket") throw failure;
      return undefined;
    }
    const version = res.headers.get("etag");
    if (res.status !== 200 || !version) throw await this.#failure(label, res);
    try {
      return { bytes: new Uint8Array(await res.arrayBuffer()), version };
    } catch (e) {
      // A small object cut off mid-body: read it again (the version may have changed too).
      if (attempt >= 3) throw new StorageRequestError("GET", label.where, 200, errorText(e));
      return await this.#getVersioned(key, attempt + 1);
    }
  }

  /**
   * See {@link ObjectStore.putIfVersion}: one PUT with `If-Match: <ETag>` (or
   * `If-None-Match: *` for an absent key); 412 Precondition Failed and 409 (a concurrent
   * conditional write) mean another writer won.
   *
   * @throws {StorageRequestError} for other refusals (after retries).
   */
  async putIfVersion(
    key: string,
    bytes: Uint8Array,
    version: string | undefined,
  ): Promise<boolean> {
    const label = { method: "PUT", where: this.#where(key) };
    const headers: Record<string, string> = version === undefined
      ? { "if-none-match": "*" }
      : { "if-match": version };
    const res = await this.#send(label, await this.#objectUrl(key), { headers, body: bytes });
    if (res.status === 412 || res.status === 409) {
      await res.body?.cancel();
      return false;
    }
    if (res.status !== 200) throw await this.#failure(label, res);
    await res.body?.cancel();
    return true;
  }

  /**
   * See {@link ObjectStore.exists} (HEAD).
   *
   * @throws {StorageRequestError} for answers other than 200 and 404, e.g. 403 when the
   *   credentials may not read the bucket.
   */
  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  /** See {@link ObjectStore.stat} (HEAD: `Content-Length`, `Last-Modified`). */
  async stat(key: string): Promise<{ size: number; modified?: Date } | undefined> {
    const label = { method: "HEAD", where: this.#where(key) };
    const res = await this.#send(label, await this.#objectUrl(key));
    if (res.status === 200 || res.status === 404) {
      await res.body?.cancel();
      if (res.status === 404) return undefined;
      const modified = res.headers.get("last-modified");
      return {
        size: Number(res.headers.get("content-length") ?? 0),
        modified: modified ? new Date(modified) : undefined,
      };
    }
    throw await this.#failure(label, res);
  }

  /**
   * See {@link ObjectStore.put}: one PUT below `multipartThreshold`, else a multipart upload in
   * parts of `partSize` (only one part in memory at a time). If `body` errors, the multipart
   * upload is aborted and the error rethrown; no object appears.
   *
   * @throws {StorageRequestError} when S3 refuses a request (after retries).
   */
  async put(key: string, body: ReadableStream<Uint8Array>): Promise<void> {
    await this.#upload(key, body, this.#partSize);
  }

  /**
   * See {@link ObjectStore.putFile}: uploads the file as {@link S3Store.put} does (parts grown so
   * that the file fits in 10,000 of them), then removes the local file.
   *
   * @throws {StorageRequestError} when S3 refuses a request (after retries).
   */
  async putFile(key: string, path: string): Promise<void> {
    const file = await Deno.open(path, { read: true });
    const { size } = await file.stat();
    await this.#upload(key, file.readable, Math.max(this.#partSize, Math.ceil(size / MAX_PARTS)));
    await Deno.remove(path);
  }

  /**
   * See {@link ObjectStore.delete} (`DeleteObject`; S3 answers 204 for a missing key too).
   *
   * @throws {StorageRequestError} when S3 refuses (e.g. 403 without `s3:DeleteObject`).
   */
  async delete(key: string): Promise<void> {
    const label = { method: "DELETE", where: this.#where(key) };
    const res = await this.#send(label, await this.#objectUrl(key));
    if (res.status !== 204 && res.status !== 200 && res.status !== 404) {
      throw await this.#failure(label, res);
    }
    await res.body?.cancel();
  }

  async #upload(key: string, body: ReadableStream<Uint8Array>, partSize: number): Promise<void> {
    const chunks = fixedChunks(body, partSize);
    try {
      const url = await this.#objectUrl(key);
      // Up to the threshold the body is gathered for one PUT; beyond it, parts go out as read.
      const head: Uint8Array[] = [];
      let size = 0;
      let step = await chunks.next();
      while (!step.done && size + step.value.byteLength < this.#threshold) {
        head.push(step.value.slice());
        size += step.value.byteLength;
        step = await chunks.next();
      }
      if (step.done) {
        const label = { method: "PUT", where: this.#where(key) };
        const res = await this.#send(label, url, { body: concat(head, size) });
        if (res.status !== 200) throw await this.#failure(label, res);
        await res.body?.cancel();
        return;
      }
      await this.#multipart(key, url, [...head, step.value], chunks);
    } catch (err) {
      // Stop the source: through the chunker if it started reading, else directly.
      await chunks.return(undefined).catch(() => {});
      await body.cancel(err).catch(() => {});
      throw err;
    }
  }

  /** Uploads `first` and then the rest of `chunks` as the parts of one multipart upload. */
  async #multipart(
    key: string,
    url: string,
    first: Uint8Array[],
    chunks: AsyncGenerator<Uint8Array>,
  ): Promise<void> {
    const where = this.#where(key);
    const started = await this.#send({ method: "POST", where }, `${url}?uploads`);
    if (started.status !== 200) throw await this.#failure({ method: "POST", where }, started);
    const uploadId = elementText(
      await this.#transport.text({ method: "POST", where }, started),
      "UploadId",
      where,
    );
    if (!uploadId) throw new FormatError(where, "CreateMultipartUpload answered without UploadId");
    const uploadQuery = `uploadId=${encodeURIComponent(uploadId)}`;
    const etags: string[] = [];
    const uploadPart = async (part: Uint8Array): Promise<void> => {
      if (etags.length === MAX_PARTS) {
        throw new UsageError(`${where}: more than ${MAX_PARTS} parts; raise partSize`);
      }
      const label = { method: "PUT", where: `${where} (part ${etags.length + 1})` };
      const res = await this.#send(
        label,
        `${url}?partNumber=${etags.length + 1}&${uploadQuery}`,
        { body: part },
      );
      if (res.status !== 200) throw await this.#failure(label, res);
      await res.body?.cancel();
      const etag = res.headers.get("etag");
      if (!etag) throw new FormatError(where, `part ${etags.length + 1} answered without ETag`);
      etags.push(etag);
    };
    try {
      for (const part of first) await uploadPart(part);
      for (let step = await chunks.next(); !step.done; step = await chunks.next()) {
        await uploadPart(step.value);
      }
      await this.#complete(where, `${url}?${uploadQuery}`, etags);
    } catch (err) {
      await this.#abort(where, `${url}?${uploadQuery}`, uploadId);
      throw err;
    }
  }

  async #complete(where: string, url: string, etags: string[]): Promise<void> {
    const xml = "<CompleteMultipartUpload>" +
      etags.map((etag, i) =>
        `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXmlText(etag)}</ETag></Part>`
      ).join("") +
      "</CompleteMultipartUpload>";
    const label = { method: "POST", where };
    const res = await this.#send(label, url, {
      headers: { "content-type": "application/xml" },
      body: new TextEncoder().encode(xml),
    });
    if (res.status !== 200) throw await this.#failure(label, res);
    // S3 may answer 200 and still fail the completion, in the body.
    const text = await this.#transport.text(label, res);
    if (innerXml(text, "Error", where).length) {
      const code = elementText(text, "Code", where);
      const detail = [code, elementText(text, "Message", where)].filter(Boolean).join(": ");
      throw new StorageRequestError("POST", where, res.status, detail, code);
    }
  }

  /** Aborts a multipart upload so its parts are not kept; a failure to do so is only warned about. */
  async #abort(where: string, url: string, uploadId: string): Promise<void> {
    const label = { method: "DELETE", where };
    try {
      const res = await this.#send(label, url);
      if (res.status === 204 || res.status === 200 || res.status === 404) {
        await res.body?.cancel();
        return;
      }
      throw await this.#failure(label, res);
    } catch (err) {
      this.#warn(
        `could not abort multipart upload ${uploadId} of ${where}; its parts stay in the ` +
          `bucket until a lifecycle rule removes them: ${errorText(err)}`,
      );
    }
  }

  /**
   * See {@link ObjectStore.list}: ListObjectsV2 under `prefix/`, page by page.
   *
   * @throws {StorageRequestError} when listing is refused (after retries).
   * @throws {FormatError} for an answer that is not a ListObjectsV2 result.
   */
  async *list(prefix: string): AsyncIterable<string> {
    const dir = prefix.replace(/\/+$/, "");
    const full = `${this.#fullKey(dir)}/`;
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    const { listUrl } = await this.#connect();
    const label = { method: "GET", where: `${this.#where(dir)}/` };
    let token: string | undefined;
    do {
      const query = new URLSearchParams({
        "list-type": "2",
        prefix: full,
        "max-keys": String(this.#pageSize),
        "encoding-type": "url",
      });
      if (token !== undefined) query.set("continuation-token", token);
      const res = await this.#send(label, `${listUrl}?${query}`);
      if (res.status !== 200) throw await this.#failure(label, res);
      const xml = await this.#transport.text(label, res);
      if (!/<ListBucketResult[\s>]/.test(xml)) {
        throw new FormatError(label.where, "not a ListObjectsV2 result");
      }
      const urlEncoded = elementText(xml, "EncodingType", label.where) === "url";
      for (const contents of innerXml(xml, "Contents", label.where)) {
        let key = elementText(contents, "Key", label.where) ?? "";
        if (urlEncoded) key = decodeURIComponent(key.replace(/\+/g, " "));
        if (key.startsWith(full) && !key.endsWith("/")) yield key.slice(strip);
      }
      const truncated = elementText(xml, "IsTruncated", label.where) === "true";
      token = truncated ? elementText(xml, "NextContinuationToken", label.where) : undefined;
      if (truncated && !token) {
        throw new FormatError(label.where, "truncated listing without NextContinuationToken");
      }
    } while (token !== undefined);
  }
}

/** The bucket's URLs and a signer for the resolved settings. */
function connection(bucket: string, settings: AwsSettings): Connection {
  const credentials = settings.credentials;
  return {
    ...bucketUrls(bucket, settings),
    signer: credentials
      ? new AwsClient({
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken,
        service: "s3",
        region: settings.region,
        retries: 0,
      })
      : undefined,
  };
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}
