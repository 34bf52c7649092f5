import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { UrlMirror } from "../../lib/mirror/url.ts";
import { installSpecs } from "../../lib/install/install.ts";
import { selectSpecs } from "../../lib/spec/select.ts";
import { DigestMismatchError, InstallError, UsageError } from "../../lib/errors.ts";
import { FsStore } from "../../lib/storage/fs.ts";
import {
  basicAuthorization,
  bearerAuthorization,
  HttpStore,
  StorageRequestError,
} from "../../lib/storage/http.ts";
import type { RetryEvent } from "../../lib/registry/client.ts";
import { readAll, streamOf } from "../../lib/stream/io.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { copyFixture, HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { assertHarnessInstalled, harnessPrefixes } from "../_support/harness.ts";
import { startStaticServer } from "../_support/http_server.ts";
import { startFaultProxy } from "../_support/registry.ts";

const HELLO_TARBALL = "4ec6cd439ad6aa5857a428e39313ed605467c683edb339dea857669a5c965190";
const blobPath = (hex: string) => `blobs/sha256/${hex.slice(0, 2)}/${hex}`;

/** Serves a private copy of Spack's fs-unsigned cache with Python's http.server. */
async function withServedCache(
  fn: (url: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await copyFixture(join(SPACK12, "fs-unsigned"));
  const server = await startStaticServer(dir);
  try {
    await fn(server.url, dir);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out.sort();
}

Deno.test("UrlMirror over HttpStore (python http.server): lists Spack's cache and installs it", async () => {
  await withServedCache(async (url, dir) => {
    const root = await Deno.makeTempDir({ prefix: "spackle-http-install-" });
    try {
      const store = new HttpStore(`${url}/`);
      assert.equal(store.url, url);
      assert.equal(store.writable, false);
      const mirror = new UrlMirror(store);
      const specs = await mirror.listSpecs();
      assert.deepEqual(
        specs.map((s) => s.node.hash).sort(),
        [HARNESS.hello, HARNESS.libdep].sort(),
      );
      const [hello] = selectSpecs(specs, ["harness-hello"], url);
      assert.equal(await mirror.hasSpec(hello.node), true);
      const result = await installSpecs(mirror, [hello], { root, checkSignature: false });
      assert.deepEqual([...result.installed.keys()], [HARNESS.libdep, HARNESS.hello]);
      await assertHarnessInstalled(root);

      // The directory listings give the same keys as the directory itself.
      for (const prefix of ["v3", "blobs/sha256"]) {
        assert.deepEqual(
          await collect(store.list(prefix)),
          await collect(new FsStore(dir).list(prefix)),
        );
      }
      // Without the index, the spec manifests are found by walking the listings.
      await Deno.remove(join(dir, "v3/manifests/index"), { recursive: true });
      const scanned = await new UrlMirror(new HttpStore(url)).listSpecs();
      assert.deepEqual(
        scanned.map((s) => s.node.hash).sort(),
        specs.map((s) => s.node.hash).sort(),
      );
      await assert.rejects(mirror.updateIndex(), UsageError);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
});

Deno.test("HttpStore on a server without directory listings: UrlMirror lists from the index alone", async () => {
  await withServedCache(async (url, dir) => {
    // http.server serves a directory's index.html instead of its listing, like a web server
    // with listings turned off.
    const walk = async (path: string): Promise<void> => {
      await Deno.writeTextFile(join(path, "index.html"), "<html><body>no listing</body></html>");
      for await (const e of Deno.readDir(path)) if (e.isDirectory) await walk(join(path, e.name));
    };
    await walk(dir);
    const store = new HttpStore(url);
    assert.deepEqual(await collect(store.list("v3/manifests")), []);
    const mirror = new UrlMirror(store);
    const specs = await mirror.listSpecs();
    assert.deepEqual(specs.map((s) => s.node.hash).sort(), [HARNESS.hello, HARNESS.libdep].sort());
    const entry = (await mirror.getEntry(specs.find((s) => s.node.hash === HARNESS.hello)!))!;
    const tarball = await readAll(await mirror.openTarball(entry));
    assert.equal(`sha256:${sha256Hex(tarball)}`, entry.tarball.digest);
    // With neither index nor listings there is nothing to find.
    await Deno.remove(join(dir, "v3/manifests/index"), { recursive: true });
    assert.deepEqual(await mirror.listSpecs(), []);
  });
});

Deno.test("HttpStore: missing objects, read-only writes, and a tampered blob that installs nothing", async () => {
  await withServedCache(async (url, dir) => {
    const root = await Deno.makeTempDir({ prefix: "spackle-http-tamper-" });
    try {
      const store = new HttpStore(url);
      assert.equal(await store.get("v3/manifests/nothing.json"), undefined);
      assert.equal(await store.exists("v3/manifests/nothing.json"), false);
      assert.equal(await store.exists("v3/layout.json"), true);
      assert.deepEqual(await collect(store.list("no/such/dir")), []);
      // A symbolic link loop in the served tree does not make listing endless.
      await Deno.symlink(".", join(dir, "v3/manifests/spec/loop"));
      const looped = await collect(store.list("v3/manifests/spec"));
      for (const key of await collect(new FsStore(dir).list("v3/manifests/spec/harness-hello"))) {
        assert.ok(looped.includes(key), key);
      }
      assert.equal(
        new TextDecoder().decode(await readAll((await store.get("v3/layout.json"))!)),
        await Deno.readTextFile(join(dir, "v3/layout.json")),
      );
      await assert.rejects(store.put("v3/x", streamOf("x")), UsageError);
      await assert.rejects(store.putFile("v3/x", join(dir, "v3/layout.json")), UsageError);
      await assert.rejects(store.get("../etc/passwd"), UsageError);

      const path = join(dir, blobPath(HELLO_TARBALL));
      const bytes = await Deno.readFile(path);
      bytes[bytes.length - 20] ^= 0x55;
      await Deno.writeFile(path, bytes);
      const mirror = new UrlMirror(store);
      await assert.rejects(
        async () => await readAll(await mirror.fetchBlob(`sha256:${HELLO_TARBALL}`)),
        (e) =>
          e instanceof DigestMismatchError &&
          e.message.includes(`${url}/${blobPath(HELLO_TARBALL)}`),
      );
      const [hello] = selectSpecs(await mirror.listSpecs(), ["harness-hello"], url);
      await assert.rejects(
        installSpecs(mirror, [hello], { root, checkSignature: false }),
        (e) => e instanceof InstallError && /harness-hello/.test(e.message),
      );
      await assert.rejects(Deno.lstat(harnessPrefixes(root).H), Deno.errors.NotFound);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
});

Deno.test("HttpStore retries 5xx and 429, falls back from a refused HEAD, and resumes a dropped download", async () => {
  await withServedCache(async (url, dir) => {
    const proxy = startFaultProxy(url);
    try {
      const retries: RetryEvent[] = [];
      const store = new HttpStore(proxy.url, {
        retryBaseDelayMs: 0,
        onRetry: (e) => retries.push(e),
      });
      const key = blobPath(HELLO_TARBALL);
      const expected = await Deno.readFile(join(dir, key));

      proxy.inject({ kind: "status", status: 503, times: 2, match: { method: "GET" } });
      proxy.inject({
        kind: "status",
        status: 429,
        retryAfter: "0",
        times: 1,
        match: { method: "GET" },
      });
      assert.deepEqual(await readAll((await store.get(key))!), expected);
      assert.deepEqual(retries.map((e) => e.reason), ["HTTP 503", "HTTP 503", "HTTP 429"]);
      assert.equal(retries[2].delayMs, 0);

      proxy.inject({ kind: "status", status: 405, times: 1, match: { method: "HEAD" } });
      const before = proxy.requests.length;
      assert.equal(await store.exists(key), true);
      assert.deepEqual(
        proxy.requests.slice(before).map((r) => `${r.method} ${r.status}`),
        ["HEAD 405", "GET 200"],
      );

      // The connection drops after 4000 bytes; http.server ignores Range, so the resumed
      // answer is the whole object again and its first 4000 bytes are skipped.
      proxy.inject({ kind: "cut", afterBytes: 4000, times: 1, match: { method: "GET" } });
      const start = proxy.requests.length;
      assert.deepEqual(await readAll((await store.get(key))!), expected);
      const resumed = proxy.requests.slice(start);
      assert.equal(resumed.length, 2);
      assert.equal(resumed[1].headers.get("range"), "bytes=4000-");
    } finally {
      await proxy.stop();
    }
  });
});

Deno.test("HttpStore sends Basic or Bearer auth, and keeps URL credentials out of url and errors", async () => {
  await withServedCache(async (url) => {
    const proxy = startFaultProxy(url);
    try {
      const withUserinfo = new HttpStore(proxy.url.replace("://", "://ci%40example:s3cr%3At@"), {
        retries: 1,
        retryBaseDelayMs: 0,
      });
      assert.equal(withUserinfo.url, proxy.url);
      assert.equal(await withUserinfo.exists("v3/layout.json"), true);
      assert.equal(
        proxy.requests.at(-1)!.headers.get("authorization"),
        `Basic ${btoa("ci@example:s3cr:t")}`,
      );

      proxy.inject({ kind: "status", status: 500, times: 2 });
      await assert.rejects(withUserinfo.get("v3/layout.json"), (e) => {
        assert.ok(e instanceof StorageRequestError);
        assert.equal(e.status, 500);
        assert.equal(e.url, `${proxy.url}/v3/layout.json`);
        assert.ok(!e.message.includes("s3cr") && !e.message.includes("ci%40example"), e.message);
        return true;
      });

      let calls = 0;
      const tokens = new HttpStore(proxy.url, {
        authorization: () => bearerAuthorization(`token-${++calls}`),
      });
      await readAll((await tokens.get("v3/layout.json"))!);
      assert.equal(proxy.requests.at(-1)!.headers.get("authorization"), "Bearer token-1");
    } finally {
      await proxy.stop();
    }
  });
});

Deno.test("basicAuthorization encodes user and password as UTF-8 (RFC 7617)", () => {
  assert.equal(
    basicAuthorization("jörg", "pä:ss"),
    `Basic ${Buffer.from("jörg:pä:ss", "utf8").toString("base64")}`,
  );
});

Deno.test("HttpStore refuses URLs it cannot serve, without echoing credentials", () => {
  assert.throws(() => new HttpStore("ftp://example.org/cache"), UsageError);
  assert.throws(() => new HttpStore("https://example.org/cache?sig=abc"), UsageError);
  assert.throws(
    () => new HttpStore("ftp://user:hunter2@example.org/"),
    (e) => e instanceof UsageError && !e.message.includes("hunter2"),
  );
  assert.throws(
    () => new HttpStore("https://user:bad%ZZhunter2@example.org/"),
    (e) => e instanceof UsageError && !e.message.includes("hunter2"),
  );
});
