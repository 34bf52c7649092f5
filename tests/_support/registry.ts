/**
 * Test harness: a real OCI registry (Debian's `docker-registry`, CNCF distribution 2.8) on
 * loopback, optionally behind htpasswd Basic auth or Bearer token auth served by a token server
 * of our own, plus a fault-injecting proxy for retry tests.
 *
 * @module
 */

import { createHash, createSign } from "node:crypto";
import { join } from "node:path";

const REGISTRY_BIN = "/usr/bin/docker-registry";
const SERVICE = "spackle-test-registry";
const ISSUER = "spackle-test-token-issuer";

/** A user the test registry (htpasswd) or its token server accepts. */
export interface TestUser {
  /** User name. */
  readonly username: string;
  /** Password. */
  readonly password: string;
}

/** How {@linkcode startRegistry} configures the registry. */
export interface StartRegistryOptions {
  /** `none` (default), `htpasswd` (Basic) or `token` (Bearer via our token server). */
  readonly auth?: "none" | "htpasswd" | "token";
  /** Users accepted by htpasswd or the token server. */
  readonly users?: readonly TestUser[];
  /** Refresh tokens the token server accepts (OAuth2 `grant_type=refresh_token`). */
  readonly identityTokens?: readonly string[];
  /** Make the registry send relative `Location` headers (`http.relativeurls`). */
  readonly relativeUrls?: boolean;
}

/** One request the token server answered. */
export interface TokenRequest {
  /** `GET` (Basic or anonymous) or `POST` (refresh token). */
  readonly method: string;
  /** `scope` parameters asked for. */
  readonly scopes: readonly string[];
  /** User name that authenticated, if any. */
  readonly user?: string;
  /** HTTP status the token server answered. */
  readonly status: number;
}

/** What the token server grants; tests change it to provoke refused tokens. */
export interface TokenPolicy {
  /** The next this-many tokens leave out the `push` action (the registry then answers 401). */
  withholdPushTimes: number;
}

/** A running test registry. */
export interface TestRegistry {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** Requests seen by the token server (empty unless `auth: "token"`). */
  readonly tokenRequests: TokenRequest[];
  /** Token server policy, changeable while running. */
  readonly tokenPolicy: TokenPolicy;
  /** Stops the registry (and token server) and deletes its storage. */
  stop(): Promise<void>;
}

/** Fails clearly when Debian's registry is not installed (`.ci/run` installs it). */
async function requireRegistryBinary(): Promise<void> {
  await Deno.stat(REGISTRY_BIN).catch(() => {
    throw new Error(`${REGISTRY_BIN} is missing: apt-get install docker-registry`);
  });
}

/** A loopback TCP port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function run(cmd: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  if (!out.success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** Starts a registry on a free loopback port with fresh storage. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  await requireRegistryBinary();
  const dir = await Deno.makeTempDir({ prefix: "spackle-registry-" });
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  const users = options.users ?? [];
  const tokenRequests: TokenRequest[] = [];
  const tokenPolicy: TokenPolicy = { withholdPushTimes: 0 };
  let tokenServer: Deno.HttpServer | undefined;

  const config: Record<string, unknown> = {
    version: "0.1",
    log: { level: "error", accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, "data") }, delete: { enabled: true } },
    http: { addr: host, secret: crypto.randomUUID(), relativeurls: options.relativeUrls ?? false },
  };
  if (options.auth === "htpasswd") {
    const lines = [];
    for (const u of users) {
      lines.push((await run("htpasswd", ["-nbB", u.username, u.password])).trim());
    }
    await Deno.writeTextFile(join(dir, "htpasswd"), lines.join("\n") + "\n");
    config.auth = { htpasswd: { realm: "spackle-test", path: join(dir, "htpasswd") } };
  } else if (options.auth === "token") {
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=spackle-test-token",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ]);
    const keyPem = await Deno.readTextFile(join(dir, "key.pem"));
    const certPem = await Deno.readTextFile(join(dir, "cert.pem"));
    tokenServer = serveTokens(
      keyPem,
      certPem,
      users,
      options.identityTokens ?? [],
      tokenRequests,
      tokenPolicy,
    );
    const realm = `http://127.0.0.1:${(tokenServer.addr as Deno.NetAddr).port}/token`;
    config.auth = {
      token: { realm, service: SERVICE, issuer: ISSUER, rootcertbundle: join(dir, "cert.pem") },
    };
  }
  // JSON is YAML, which the registry reads.
  await Deno.writeTextFile(join(dir, "config.yml"), JSON.stringify(config));
  const logPath = join(dir, "registry.log");
  const child = new Deno.Command("sh", {
    args: ["-c", `exec "$0" serve "$1" >"$2" 2>&1`, REGISTRY_BIN, join(dir, "config.yml"), logPath],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();

  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
    await tokenServer?.shutdown();
    await Deno.remove(dir, { recursive: true });
  };

  for (let i = 0;; i++) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.body?.cancel();
      break;
    } catch {
      if (i === 200) {
        const log = await Deno.readTextFile(logPath).catch(() => "");
        await stop();
        throw new Error(`registry did not start:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url: `http://${host}`, host, tokenRequests, tokenPolicy, stop };
}

function base64url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/**
 * A token server in the style of the Docker token spec. Distribution 2.8 verifies the JWT
 * signature with the key of the certificate in the `x5c` header, after checking that certificate
 * chains to `rootcertbundle` (here the same self-signed certificate); it then checks `iss`,
 * `aud` (= service), `exp`/`nbf` and grants what `access` lists.
 */
function serveTokens(
  keyPem: string,
  certPem: string,
  users: readonly TestUser[],
  identityTokens: readonly string[],
  log: TokenRequest[],
  policy: TokenPolicy,
): Deno.HttpServer {
  const certDer = certPem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  const sign = (subject: string, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.map((s) => {
      const parts = s.split(":");
      return {
        type: parts[0],
        name: parts.slice(1, -1).join(":"),
        actions: parts[parts.length - 1].split(","),
      };
    });
    const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT", x5c: [certDer] }));
    const claims = base64url(JSON.stringify({
      iss: ISSUER,
      sub: subject,
      aud: SERVICE,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    }));
    const signature = createSign("RSA-SHA256").update(`${header}.${claims}`).sign(keyPem);
    return `${header}.${claims}.${base64url(new Uint8Array(signature))}`;
  };
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    let user: string | undefined;
    let scopes: string[];
    let ok: boolean;
    if (req.method === "POST") {
      const form = new URLSearchParams(await req.text());
      scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
      ok = form.get("grant_type") === "refresh_token" &&
        identityTokens.includes(form.get("refresh_token") ?? "");
      user = ok ? "identity-token-user" : undefined;
    } else {
      const url = new URL(req.url);
      scopes = url.searchParams.getAll("scope");
      const auth = req.headers.get("authorization");
      if (auth?.startsWith("Basic ")) {
        const [name, ...rest] = atob(auth.slice(6)).split(":");
        ok = users.some((u) => u.username === name && u.password === rest.join(":"));
        user = ok ? name : undefined;
      } else {
        ok = true; // anonymous: a token that grants nothing
      }
    }
    const status = ok ? 200 : 401;
    log.push({ method: req.method, scopes, user, status });
    if (!ok) return new Response('{"details":"bad credentials"}', { status });
    let granted = user ? scopes : [];
    if (policy.withholdPushTimes > 0) {
      policy.withholdPushTimes--;
      granted = granted.map((s) =>
        s.replace(
          /:([^:]*)$/,
          (_, a: string) => `:${a.split(",").filter((x) => x !== "push").join(",")}`,
        )
      );
    }
    const token = sign(user ?? "", granted);
    return Response.json({ token, access_token: token, expires_in: 300 });
  });
}

/** Which proxied requests a fault applies to. */
export interface FaultMatch {
  /** HTTP method, e.g. `GET`. */
  readonly method?: string;
  /** Matched against the path and query. */
  readonly path?: RegExp;
}

/**
 * A fault to inject `times` times, after letting `skip` matching requests through: answer with
 * `status` (and `Retry-After`), cut the connection after `afterBytes` bytes of the response body,
 * flip byte `atByte` (default 0) of the response body, flip byte `atByte` of the request body on
 * its way to the registry (`corruptUpload`), or forward the request without its `Range` header
 * (a server that ignores ranges).
 */
export type Fault =
  & { readonly match?: FaultMatch; times: number; skip?: number }
  & (
    | { readonly kind: "status"; readonly status: number; readonly retryAfter?: string }
    | { readonly kind: "cut"; readonly afterBytes: number }
    | { readonly kind: "corrupt"; readonly atByte?: number }
    | { readonly kind: "corruptUpload"; readonly atByte?: number }
    | { readonly kind: "dropRange" }
  );

/** One request seen by the proxy. */
export interface ProxiedRequest {
  /** HTTP method. */
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  /** Request headers as received. */
  readonly headers: Headers;
  /** Status sent back (a fault's or the registry's). */
  readonly status: number;
  /** Which fault was applied, if any. */
  readonly fault?: Fault["kind"];
}

/** A running fault-injecting proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** Every request seen, in order. */
  readonly requests: ProxiedRequest[];
  /** Most requests seen in flight at once (until their response headers were sent). */
  readonly maxInFlight: number;
  /** Adds a fault; faults are tried in order and each fires `times` times. */
  inject(fault: Fault): void;
  /** Stops the proxy. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startFaultProxy}. */
export interface FaultProxyOptions {
  /**
   * Serve `GET /v2/<name>/tags/list` in pages of `?n=` tags after `?last=`, with a `Link` header,
   * from the registry's full list. Distribution 2.8 ignores `n` for tags (it paginates only the
   * catalog); this reproduces what distribution 3 and the OCI spec do.
   */
  readonly paginateTags?: boolean;
}

/** Starts a loopback HTTP proxy forwarding everything to `target` (an origin URL). */
export function startFaultProxy(target: string, options: FaultProxyOptions = {}): FaultProxy {
  const faults: Fault[] = [];
  const requests: ProxiedRequest[] = [];
  let self = "";
  let inFlight = 0;
  let maxInFlight = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    try {
      return await forward(req);
    } finally {
      inFlight--;
    }
  });
  const forward = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname + url.search;
    let fault = faults.find((f) =>
      f.times > 0 && (!f.match?.method || f.match.method === req.method) &&
      (!f.match?.path || f.match.path.test(path))
    );
    if (fault?.skip) {
      fault.skip--;
      fault = undefined;
    }
    if (fault) fault.times--;
    const record = (status: number) =>
      requests.push({ method: req.method, path, headers: req.headers, status, fault: fault?.kind });
    if (fault?.kind === "status") {
      await req.body?.cancel();
      record(fault.status);
      const headers = fault.retryAfter ? { "retry-after": fault.retryAfter } : undefined;
      return new Response(`{"errors":[{"code":"INJECTED","message":"fault ${fault.status}"}]}`, {
        status: fault.status,
        headers,
      });
    }
    if (options.paginateTags && req.method === "GET" && url.pathname.endsWith("/tags/list")) {
      const res = await paginatedTags(target, url);
      record(res.status);
      return res;
    }
    const headers = new Headers(req.headers);
    headers.delete("host");
    if (fault?.kind === "dropRange") headers.delete("range");
    let sent: ReadableStream<Uint8Array> | null = req.body;
    if (sent && fault?.kind === "corruptUpload") sent = flipByte(sent, fault.atByte ?? 0);
    const upstream = await fetch(target + path, {
      method: req.method,
      headers,
      body: sent as BodyInit | null,
      redirect: "manual",
    });
    record(upstream.status);
    const out = new Headers(upstream.headers);
    const location = out.get("location");
    if (location?.startsWith(target)) out.set("location", self + location.slice(target.length));
    let body: ReadableStream<Uint8Array> | null = upstream.body;
    if (body && fault?.kind === "cut") body = cutAfter(body, fault.afterBytes);
    if (body && fault?.kind === "corrupt") body = flipByte(body, fault.atByte ?? 0);
    return new Response(body as BodyInit | null, { status: upstream.status, headers: out });
  };
  const port = (server.addr as Deno.NetAddr).port;
  self = `http://127.0.0.1:${port}`;
  return {
    url: self,
    host: `127.0.0.1:${port}`,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    inject: (fault) => faults.push(fault),
    stop: () => server.shutdown(),
  };
}

async function paginatedTags(target: string, url: URL): Promise<Response> {
  const upstream = await fetch(target + url.pathname);
  if (!upstream.ok) return upstream;
  const { name, tags } = await upstream.json() as { name: string; tags: string[] };
  const n = Number(url.searchParams.get("n") ?? tags.length);
  const last = url.searchParams.get("last");
  const rest = tags.sort().filter((t) => last === null || t > last);
  const page = rest.slice(0, n);
  const headers = new Headers({ "content-type": "application/json" });
  if (rest.length > n) {
    headers.set(
      "link",
      `<${url.pathname}?n=${n}&last=${encodeURIComponent(page[page.length - 1])}>; rel="next"`,
    );
  }
  return Response.json({ name, tags: page }, { headers });
}

function cutAfter(body: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      if (sent + value.length >= limit) {
        controller.enqueue(value.subarray(0, limit - sent));
        await reader.cancel();
        // Ending the body before its Content-Length makes the server drop the connection.
        controller.close();
        return;
      }
      sent += value.length;
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** `body` with byte `at` inverted, wherever the chunk boundaries fall. */
function flipByte(body: ReadableStream<Uint8Array>, at: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const i = at - offset;
        offset += chunk.length;
        if (i >= 0 && i < chunk.length) {
          chunk = chunk.slice();
          chunk[i] ^= 0xff;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

/** A blob of `size` pseudo-random bytes with its digest and a body factory for `pushBlob`. */
export interface TestBlob {
  /** The bytes. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** `sha256:<hex>`. */
  readonly digest: string;
  /** Byte count. */
  readonly size: number;
  /** A fresh stream of the bytes, in 16 KiB pieces. */
  body(): ReadableStream<Uint8Array>;
}

/** Makes a {@linkcode TestBlob} of `size` random bytes (or of the given bytes). */
export function testBlob(size: number | Uint8Array<ArrayBuffer>): TestBlob {
  let bytes: Uint8Array<ArrayBuffer>;
  if (typeof size === "number") {
    bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  } else {
    bytes = size;
  }
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  return {
    bytes,
    digest,
    size: bytes.length,
    body: () => {
      let at = 0;
      return new ReadableStream({
        pull(controller) {
          if (at >= bytes.length) return controller.close();
          controller.enqueue(bytes.slice(at, at + 16384));
          at += 16384;
        },
      });
    },
  };
}

/** Reads a stream to the end into one array. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
