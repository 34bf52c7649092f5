// Retries, resumption, verification and credential hygiene under injected faults: a proxy in
// front of a real registry answers 500/429, cuts connections, corrupts bytes, ignores ranges.
import assert from "node:assert/strict";
import { ConnectionError, DigestMismatchError } from "../../lib/errors.ts";
import {
  RegistryClient,
  type RegistryClientOptions,
  RegistryError,
  type RetryEvent,
} from "../../lib/registry/mod.ts";
import { parseRetryAfter } from "../../lib/net/retry.ts";
import {
  freePort,
  readAll,
  startFaultProxy,
  startRegistry,
  testBlob,
} from "../_support/registry.ts";

function client(
  host: string,
  events: RetryEvent[],
  options: RegistryClientOptions = {},
): RegistryClient {
  return new RegistryClient(host, {
    plainHttp: true,
    credentials: () => Promise.resolve(undefined),
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 4,
    onRetry: (e) => events.push(e),
    ...options,
  });
}

Deno.test("retries: 500 twice then success, 429 with Retry-After, exhausted retries", async () => {
  const registry = await startRegistry();
  const proxy = startFaultProxy(registry.url);
  try {
    const events: RetryEvent[] = [];
    const c = client(proxy.host, events);
    const blob = testBlob(50_000);

    proxy.inject({ kind: "status", status: 500, match: { method: "PUT" }, times: 2 });
    assert.equal(await c.pushBlob("faults/a", blob.digest, blob.size, blob.body), "uploaded");
    assert.deepEqual(events.map((e) => [e.method, e.reason, e.attempt]), [["PUT", "HTTP 500", 1], [
      "PUT",
      "HTTP 500",
      2,
    ]]);
    // Each retry restarted the upload with a fresh body: POST, PUT per attempt.
    assert.deepEqual(
      proxy.requests.map((r) => `${r.method} ${r.status}`),
      ["HEAD 404", "POST 202", "PUT 500", "POST 202", "PUT 500", "POST 202", "PUT 201"],
    );
    assert.deepEqual(await readAll(await c.getBlob("faults/a", blob.digest)), blob.bytes);

    events.length = 0;
    proxy.inject({
      kind: "status",
      status: 429,
      retryAfter: "1",
      match: { method: "HEAD" },
      times: 1,
    });
    assert.equal(await c.headBlob("faults/a", blob.digest), blob.size);
    assert.deepEqual(events.map((e) => [e.reason, e.delayMs]), [["HTTP 429", 1000]]);

    events.length = 0;
    proxy.inject({
      kind: "status",
      status: 503,
      match: { method: "GET", path: /manifests/ },
      times: 100,
    });
    const few = client(proxy.host, events, { retries: 2 });
    await assert.rejects(() => few.getManifest("faults/a", "latest"), (err: unknown) => {
      assert.ok(err instanceof RegistryError);
      assert.equal(err.status, 503);
      assert.deepEqual(err.codes, ["INJECTED"]);
      assert.ok(err.retryable);
      return true;
    });
    assert.equal(events.length, 2);
  } finally {
    await proxy.stop();
    await registry.stop();
  }
});

Deno.test("parseRetryAfter: delay-seconds and HTTP-date (RFC 9110 §10.2.3)", () => {
  const now = Date.parse("Wed, 21 Oct 2015 07:27:58 GMT");
  assert.equal(parseRetryAfter("3", now), 3000);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now), 2000);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

Deno.test("getBlob: a connection cut mid-body is resumed; corrupt bytes are refused", async () => {
  const registry = await startRegistry();
  const proxy = startFaultProxy(registry.url);
  try {
    const events: RetryEvent[] = [];
    const c = client(proxy.host, events);
    const blob = testBlob(1_000_000);
    await c.pushBlob("faults/b", blob.digest, blob.size, blob.body);
    const blobPath = /\/blobs\/sha256:/;

    proxy.requests.length = 0;
    proxy.inject({
      kind: "cut",
      afterBytes: 300_000,
      match: { method: "GET", path: blobPath },
      times: 1,
    });
    assert.deepEqual(await readAll(await c.getBlob("faults/b", blob.digest)), blob.bytes);
    const gets = proxy.requests.filter((r) => r.method === "GET");
    assert.equal(gets.length, 2);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1].headers.get("range") ?? "")?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 300_000, `resumed at ${resumedAt}`);
    assert.equal(gets[1].status, 206);
    assert.deepEqual(events.map((e) => e.reason), ["connection failed"]);

    // A server that ignores Range sends the whole blob again: the delivered prefix is skipped.
    proxy.requests.length = 0;
    proxy.inject({
      kind: "cut",
      afterBytes: 200_000,
      match: { method: "GET", path: blobPath },
      times: 1,
    });
    proxy.inject({ kind: "dropRange", match: { method: "GET", path: blobPath }, times: 1 });
    assert.deepEqual(await readAll(await c.getBlob("faults/b", blob.digest)), blob.bytes);
    assert.deepEqual(proxy.requests.map((r) => `${r.method} ${r.status} ${r.fault}`), [
      "GET 200 cut",
      "GET 200 dropRange",
    ]);

    proxy.inject({ kind: "corrupt", match: { method: "GET", path: blobPath }, times: 1 });
    await assert.rejects(
      async () => await readAll(await c.getBlob("faults/b", blob.digest)),
      DigestMismatchError,
    );

    proxy.inject({ kind: "corrupt", match: { method: "GET", path: blobPath }, times: 1 });
    const dir = await Deno.makeTempDir();
    try {
      await assert.rejects(
        () => c.downloadBlob("faults/b", blob.digest, `${dir}/blob`),
        DigestMismatchError,
      );
      assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing is kept of a corrupt download");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await proxy.stop();
    await registry.stop();
  }
});

Deno.test("concurrency: at most `concurrency` operations in flight; blob streams hold a slot", async () => {
  const registry = await startRegistry();
  const proxy = startFaultProxy(registry.url);
  try {
    const c = client(proxy.host, [], { concurrency: 2 });
    const blobs = Array.from({ length: 6 }, () => testBlob(20_000));
    await Promise.all(blobs.map((b) => c.pushBlob("faults/c", b.digest, b.size, b.body)));
    assert.ok(proxy.maxInFlight <= 2, `max in flight ${proxy.maxInFlight}`);

    const first = await c.getBlob("faults/c", blobs[0].digest);
    const second = await c.getBlob("faults/c", blobs[1].digest);
    let thirdOpened = false;
    const third = c.getBlob("faults/c", blobs[2].digest).then((s) => {
      thirdOpened = true;
      return s;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(thirdOpened, false, "a third stream waits for a free slot");
    await first.cancel();
    assert.deepEqual(await readAll(await third), blobs[2].bytes);
    assert.deepEqual(await readAll(second), blobs[1].bytes);
  } finally {
    await proxy.stop();
    await registry.stop();
  }
});

Deno.test("redirects to another origin drop Authorization; credentials never appear in errors", async () => {
  const blob = testBlob(10_000);
  const credentials = { username: "carol", password: "top-secret-pw" };
  const expected = `Basic ${btoa(`${credentials.username}:${credentials.password}`)}`;
  const storageAuth: (string | null)[] = [];
  const registryAuth: (string | null)[] = [];
  const storage = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    storageAuth.push(req.headers.get("authorization"));
    return new Response(blob.bytes);
  });
  const storagePort = (storage.addr as Deno.NetAddr).port;
  const registry = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    registryAuth.push(req.headers.get("authorization"));
    if (req.headers.get("authorization") !== expected) {
      return new Response(null, {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="test"' },
      });
    }
    if (new URL(req.url).pathname.endsWith("/fail")) return new Response(null, { status: 500 });
    const location = `http://127.0.0.1:${storagePort}/bucket/blob?X-Amz-Signature=presigned-secret`;
    return new Response(null, { status: 307, headers: { location } });
  });
  const host = `127.0.0.1:${(registry.addr as Deno.NetAddr).port}`;
  try {
    const c = client(host, [], { credentials, retries: 1 });
    assert.deepEqual(await readAll(await c.getBlob("redirect/a", blob.digest)), blob.bytes);
    assert.deepEqual(registryAuth, [null, expected]);
    assert.deepEqual(storageAuth, [null]);

    // Errors name the URL without query and never a credential.
    const refused = new RegistryClient(`127.0.0.1:${freePort()}`, {
      plainHttp: true,
      credentials,
      retries: 1,
      retryBaseDelayMs: 1,
    });
    await assert.rejects(() => refused.headBlob("redirect/a", blob.digest), (err: unknown) => {
      assert.ok(err instanceof ConnectionError);
      assert.match(err.message, /: connection refused$/);
      return true;
    });
    await assert.rejects(() => c.getManifest("redirect/a", "fail"), (err: unknown) => {
      assert.ok(err instanceof RegistryError);
      for (const secret of [credentials.password, expected.slice(6)]) {
        assert.ok(!err.message.includes(secret));
      }
      return true;
    });
    storageAuth.length = 0;
    const corrupt = testBlob(10_000);
    await assert.rejects(
      () => c.getBlob("redirect/a", corrupt.digest).then(readAll),
      (err: unknown) => {
        assert.ok(err instanceof DigestMismatchError);
        assert.ok(!err.message.includes("presigned-secret"));
        return true;
      },
    );
    assert.deepEqual(storageAuth, [null]);
  } finally {
    await registry.shutdown();
    await storage.shutdown();
  }
});

Deno.test("timeouts: a silent server and a stalled blob body count as dropped connections", async () => {
  const blob = testBlob(50_000);
  const seen: string[] = [];
  // Handlers that go silent wait for this, released when the test is over.
  const over = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const range = req.headers.get("range");
    seen.push(`${req.method} ${range ?? ""}`);
    if (req.method === "HEAD") {
      await over.promise; // silent until the test is over
      return new Response(null, { status: 599 });
    }
    if (range) {
      const start = Number(/bytes=(\d+)-/.exec(range)![1]);
      return new Response(blob.bytes.slice(start), {
        status: 206,
        headers: { "content-range": `bytes ${start}-${blob.size - 1}/${blob.size}` },
      });
    }
    // The first 1000 bytes, then silence.
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(blob.bytes.slice(0, 1000));
          return;
        }
        await over.promise;
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-length": String(blob.size) } });
  });
  const host = `127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  try {
    const events: RetryEvent[] = [];
    const c = client(host, events, { timeoutMs: 200, retries: 1 });
    assert.deepEqual(await readAll(await c.getBlob("stall/a", blob.digest)), blob.bytes);
    assert.deepEqual(seen, ["GET ", "GET bytes=1000-"]);
    await assert.rejects(() => c.headBlob("stall/a", blob.digest), (err: unknown) => {
      assert.ok(err instanceof ConnectionError);
      assert.match(err.message, /no response within 0\.2 s/);
      return true;
    });
    assert.deepEqual(events.map((e) => e.reason), [
      "connection failed",
      "no response within 0.2 s",
    ]);
  } finally {
    over.resolve();
    await server.shutdown();
  }
});
