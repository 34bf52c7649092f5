/**
 * A real S3-compatible server for tests: `s3rver` (in this process) on a free loopback port,
 * with a fresh data directory. It checks that the access key ID exists (`S3RVER`) but not the
 * SigV4 signature itself, and has no AbortMultipartUpload (it answers 405).
 *
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES (`des`, CBC), a cipher
 * Deno's `node:crypto` does not have (nor Node with OpenSSL 3 by default): every truncated
 * listing failed with HTTP 500. {@link enableDes} supplies it as three-key DES with the three
 * keys equal, which is DES itself (same bytes as `openssl enc -des-cbc`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import crypto from "node:crypto";
// Test-only: a full specifier keeps s3rver out of the package's import map, so users never fetch it.
// deno-lint-ignore no-import-prefix
import S3rver from "npm:s3rver@^3.7.1";

let desEnabled = false;

/** Makes `node:crypto` accept `des` (DES-CBC, 8-byte key) as s3rver needs. */
function enableDes(): void {
  if (desEnabled) return;
  desEnabled = true;
  const { createCipheriv, createDecipheriv } = crypto;
  const asTripleDes = (algorithm: string, key: crypto.CipherKey) =>
    algorithm.toLowerCase() === "des" && key instanceof Uint8Array && key.length === 8
      ? { algorithm: "des-ede3-cbc", key: Buffer.concat([key, key, key]) }
      : undefined;
  // deno-lint-ignore no-explicit-any
  const patched = crypto as any;
  // deno-lint-ignore no-explicit-any
  patched.createCipheriv = (algorithm: string, key: crypto.CipherKey, ...rest: any[]) => {
    const des = asTripleDes(algorithm, key);
    // deno-lint-ignore no-explicit-any
    return (createCipheriv as any)(des?.algorithm ?? algorithm, des?.key ?? key, ...rest);
  };
  // deno-lint-ignore no-explicit-any
  patched.createDecipheriv = (algorithm: string, key: crypto.CipherKey, ...rest: any[]) => {
    const des = asTripleDes(algorithm, key);
    // deno-lint-ignore no-explicit-any
    return (createDecipheriv as any)(des?.algorithm ?? algorithm, des?.key ?? key, ...rest);
  };
}

/** The key pair s3rver's built-in account accepts. */
export const S3RVER_KEYS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/**
 * The environment a `spackle` process needs to reach `s3` as a user's AWS variables give it (no
 * secret on a command line), with Spack's user configuration scope switched off.
 */
export function s3ProcessEnv(s3: TestS3): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: S3RVER_KEYS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_KEYS.secretAccessKey,
    AWS_ENDPOINT_URL: s3.endpoint,
    AWS_REGION: "us-east-1",
    SPACK_DISABLE_LOCAL_CONFIG: "1",
  };
}

/** A running s3rver. */
export interface TestS3 {
  /** `http://127.0.0.1:PORT`, for `endpointUrl`. */
  readonly endpoint: string;
  /** Where s3rver keeps buckets and objects. */
  readonly dir: string;
  /** Stops the server and deletes its data. */
  stop(): Promise<void>;
}

/** Options of {@link startS3}. */
export interface StartS3Options {
  /**
   * Enforce conditional PUTs (`If-Match: <ETag>`, `If-None-Match: *`) as S3 does since 2024,
   * which s3rver ignores: a small proxy in front of it answers 412 when the condition fails,
   * taking conditional PUTs of one key one at a time.
   */
  conditionalWrites?: boolean;
}

/** Starts s3rver with the buckets `buckets` created. */
export async function startS3(
  buckets: readonly string[],
  options: StartS3Options = {},
): Promise<TestS3> {
  enableDes();
  const dir = await Deno.makeTempDir({ prefix: "spackle-s3rver-" });
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const { port } = await server.run() as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const proxy = options.conditionalWrites ? conditionalProxy(endpoint) : undefined;
  return {
    endpoint: proxy ? `http://127.0.0.1:${proxy.addr.port}` : endpoint,
    dir,
    stop: async () => {
      await proxy?.shutdown();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Forwards to `upstream`, checking `If-Match`/`If-None-Match` of PUTs against its ETags. */
function conditionalProxy(upstream: string): Deno.HttpServer<Deno.NetAddr> {
  const turns = new Map<string, Promise<unknown>>();
  const forward = (req: Request, method = req.method, body: BodyInit | null = req.body) => {
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.delete("host");
    if (method === "HEAD") ["if-match", "if-none-match"].forEach((h) => headers.delete(h));
    return fetch(`${upstream}${url.pathname}${url.search}`, { method, headers, body });
  };
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const ifMatch = req.headers.get("if-match");
    const ifNoneMatch = req.headers.get("if-none-match");
    if (req.method !== "PUT" || (ifMatch === null && ifNoneMatch === null)) {
      const res = await forward(req);
      // Buffered: s3rver sharing this process's event loop with the proxy stalls streamed bodies.
      const empty = req.method === "HEAD" || res.status === 204 || res.status === 304;
      return new Response(empty ? null : await res.arrayBuffer(), res);
    }
    const key = new URL(req.url).pathname;
    const body = await req.arrayBuffer();
    const turn = (turns.get(key) ?? Promise.resolve()).then(async () => {
      const head = await forward(req, "HEAD", null);
      await head.body?.cancel();
      const etag = head.status === 200 ? head.headers.get("etag") : null;
      const failed = ifNoneMatch === "*" ? etag !== null : etag === null || etag !== ifMatch;
      if (failed) return new Response(null, { status: 412 });
      const res = await forward(req, "PUT", body);
      return new Response(await res.arrayBuffer(), res);
    });
    turns.set(key, turn.catch(() => {}));
    return await turn;
  });
}
