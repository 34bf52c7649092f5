// Connections that cannot be made, and servers that stop sending: the cause is kept, retries
// are shown, failures retrying cannot fix fail at once, and a stalled body is given up after
// one resume instead of six long waits.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConnectionError } from "../../lib/errors.ts";
import { describeFetchFailure } from "../../lib/net/failure.ts";
import { RegistryClient, type RetryEvent } from "../../lib/registry/client.ts";
import { readAll } from "../../lib/stream/io.ts";
import { spackle, spackleWithEnv } from "../_support/cli.ts";
import { freePort, startRegistry } from "../_support/registry.ts";

const retryLines = (stderr: string) => stderr.split("\n").filter((l) => /; retry \d+ in /.test(l));

Deno.test("connection refused: shown as such, retried briefly with progress lines", async () => {
  const port = freePort();
  const run = await spackle("list", `oci+http://127.0.0.1:${port}/spack/cache`);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /^error: GET http:\/\/127\.0\.0\.1:\d+\/v2\/.*: connection refused$/m);
  const retries = retryLines(run.stderr);
  assert.equal(retries.length, 1, run.stderr);
  assert.match(retries[0], /connection refused; retry 1 in \d/);
});

Deno.test("TLS to a plain-HTTP server fails at once, suggesting oci+http://", async () => {
  const registry = await startRegistry();
  try {
    const run = await spackle("list", `oci://${registry.host}/spack/cache`);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^error: GET https:\/\/.*: TLS handshake failed: .*oci\+http:\/\//m);
    assert.deepEqual(retryLines(run.stderr), []);
  } finally {
    await registry.stop();
  }
});

Deno.test("an HTTPS server whose certificate is not trusted fails at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spackle-tls-" });
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  const made = await new Deno.Command("openssl", {
    args: ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert]
      .concat(["-days", "1", "-subj", "/CN=127.0.0.1"]),
    stdout: "null",
    stderr: "null",
  }).output();
  assert.ok(made.success, "openssl made a self-signed certificate");
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(cert),
    key: await Deno.readTextFile(key),
    onListen() {},
  }, () => new Response("not reached", { status: 404 }));
  try {
    const run = await spackle("list", `https://127.0.0.1:${server.addr.port}/cache`);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /^error: GET https:\/\/127\.0\.0\.1:\d+\/cache\/.*: TLS certificate not trusted/m,
    );
    assert.deepEqual(retryLines(run.stderr), []);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A raw loopback HTTP server that answers every request with headers and the first `sent` bytes
 * of a `size`-byte body, then sends nothing more until stopped. Records each request line and
 * its Range header.
 */
function startStallingServer(size: number, sent: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  const open: Deno.Conn[] = [];
  const body = new Uint8Array(size).fill(0x61);
  (async () => {
    for await (const conn of listener) {
      open.push(conn);
      (async () => {
        const buf = new Uint8Array(8192);
        const n = await conn.read(buf).catch(() => null);
        if (!n) return;
        const head = new TextDecoder().decode(buf.subarray(0, n));
        const range = /^range: *bytes=(\d+)-/im.exec(head);
        requests.push(`${head.split("\r\n")[0]}${range ? ` range=${range[1]}` : ""}`);
        const start = range ? Number(range[1]) : 0;
        const status = range
          ? `206 Partial Content\r\nContent-Range: bytes ${start}-${size - 1}/${size}`
          : "200 OK";
        const headers = `HTTP/1.1 ${status}\r\nContent-Type: application/octet-stream\r\n` +
          `Content-Length: ${size - start}\r\n\r\n`;
        await conn.write(new TextEncoder().encode(headers)).catch(() => {});
        await conn.write(body.subarray(start, start + sent)).catch(() => {});
      })();
    }
  })().catch(() => {});
  return {
    host: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    requests,
    stop() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Closed by the client already.
        }
      }
    },
  };
}

Deno.test("a server that stalls mid-body: read timeout from SPACKLE_READ_TIMEOUT, one resume", async () => {
  const server = startStallingServer(100_000, 1000);
  try {
    const run = await spackleWithEnv(
      { SPACKLE_READ_TIMEOUT: "0.3" },
      "list",
      `http://${server.host}/cache`,
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^error: GET http:\/\/.*index\.manifest\.json: .*no data for 0\.3 s/m);
    // The first request, and one resume from where it stopped: not six.
    assert.deepEqual(server.requests, [
      "GET /cache/v3/manifests/index/index.manifest.json HTTP/1.1",
      "GET /cache/v3/manifests/index/index.manifest.json HTTP/1.1 range=1000",
    ]);
    assert.equal(retryLines(run.stderr).length, 1, run.stderr);
  } finally {
    server.stop();
  }
});

Deno.test("registry client: a stalled blob is resumed once, then fails naming the read timeout", async () => {
  const server = startStallingServer(50_000, 500);
  try {
    const events: RetryEvent[] = [];
    const client = new RegistryClient(server.host, {
      plainHttp: true,
      timeoutMs: 200,
      retryBaseDelayMs: 1,
      onRetry: (e) => events.push(e),
    });
    const digest = `sha256:${"0".repeat(64)}`;
    await assert.rejects(
      client.getBlob("stall/repo", digest).then(readAll),
      (err: unknown) => {
        assert.ok(err instanceof Error && /no data for 0\.2 s/.test(err.message), String(err));
        return true;
      },
    );
    assert.deepEqual(server.requests, [
      `GET /v2/stall/repo/blobs/${digest} HTTP/1.1`,
      `GET /v2/stall/repo/blobs/${digest} HTTP/1.1 range=500`,
    ]);
    assert.equal(events.length, 1);
  } finally {
    server.stop();
  }
});

Deno.test("registry client: a TLS handshake with a plain-HTTP registry is not retried", async () => {
  const registry = await startRegistry();
  try {
    const events: RetryEvent[] = [];
    const tls = new RegistryClient(registry.host, { onRetry: (e) => events.push(e) });
    await assert.rejects(tls.listTags("x/y"), (err: unknown) => {
      assert.ok(err instanceof ConnectionError);
      assert.equal(err.retry, "no");
      assert.match(err.reason, /TLS handshake failed/);
      return true;
    });
    assert.deepEqual(events, []);
  } finally {
    await registry.stop();
  }
});

Deno.test("fetch failures Deno reports (cause chain) are named, and DNS is not retried", () => {
  // The shape Deno 2 throws: TypeError("fetch failed") with the reason in `cause`.
  const failure = (text: string) =>
    new TypeError("fetch failed", {
      cause: new Error(
        `error sending request for url (https://h/): client error (Connect): ${text}`,
      ),
    });
  assert.deepEqual(
    describeFetchFailure(
      failure("dns error: failed to lookup address information: Name or service not known"),
    ),
    { reason: "host name does not resolve (DNS)", retry: "no" },
  );
  assert.deepEqual(
    describeFetchFailure(failure("invalid peer certificate: UnknownIssuer")),
    { reason: "TLS certificate not trusted (UnknownIssuer)", retry: "no" },
  );
  assert.deepEqual(
    describeFetchFailure(failure("tcp connect error: Connection refused (os error 111)")),
    { reason: "connection refused", retry: "brief" },
  );
});

Deno.test("a registry that stalls mid-manifest: read timeout, one retry, then an error", async () => {
  const server = startStallingServer(4000, 100);
  try {
    const run = await spackleWithEnv(
      { SPACKLE_READ_TIMEOUT: "0.3" },
      "list",
      `oci+http://${server.host}/stall/cache`,
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^error: GET http:\/\/.*manifests\/index\.spack: no data for 0\.3 s/m);
    assert.deepEqual(server.requests, [
      "GET /v2/stall/cache/manifests/index.spack HTTP/1.1",
      "GET /v2/stall/cache/manifests/index.spack HTTP/1.1",
    ]);
  } finally {
    server.stop();
  }
});
