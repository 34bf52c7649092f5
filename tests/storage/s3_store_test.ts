import assert from "node:assert/strict";
import { join } from "node:path";
import { UrlMirror } from "../../lib/mirror/url.ts";
import { installSpecs } from "../../lib/install/install.ts";
import { pushSpecs } from "../../lib/push/push.ts";
import { openStore } from "../../lib/store/mod.ts";
import { selectSpecs } from "../../lib/spec/select.ts";
import { UsageError } from "../../lib/errors.ts";
import { FsStore } from "../../lib/storage/fs.ts";
import { S3Store, type S3StoreOptions, StorageRequestError } from "../../lib/storage/s3.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { readAll, streamOf } from "../../lib/stream/io.ts";
import { SAMPLE_STORE } from "../_support/cli.ts";
import { seededRandom } from "../_support/random.ts";
import { type FaultProxy, startFaultProxy } from "../_support/registry.ts";
import { S3RVER_KEYS, startS3 } from "../_support/s3.ts";

/** Runs `fn` against s3rver (bucket `bucket`) behind a request-recording proxy. */
async function withS3(fn: (proxy: FaultProxy) => Promise<void>): Promise<void> {
  const s3 = await startS3(["bucket"]);
  const proxy = startFaultProxy(s3.endpoint);
  try {
    await fn(proxy);
  } finally {
    await proxy.stop();
    await s3.stop();
  }
}

/** Options for a store on the test server; `env: {}` keeps the process environment out. */
function options(proxy: FaultProxy, extra: S3StoreOptions = {}): S3StoreOptions {
  return { endpointUrl: proxy.url, env: {}, retryBaseDelayMs: 0, ...S3RVER_KEYS, ...extra };
}

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out.sort();
}

/** `size` seeded pseudo-random bytes as a stream of uneven chunks (up to 40 KiB each). */
function randomBody(
  size: number,
  seed: number,
): { bytes: Uint8Array; stream: ReadableStream<Uint8Array> } {
  const random = seededRandom(seed);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = Math.floor(random() * 256);
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= size) return controller.close();
      const n = 1 + Math.floor(random() * 40 * 1024);
      controller.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
  return { bytes, stream };
}

Deno.test("UrlMirror over S3Store (s3rver): push the sample store, list page by page, index, install back", async () => {
  await withS3(async (proxy) => {
    const work = await Deno.makeTempDir({ prefix: "spackle-s3-push-" });
    try {
      const store = new S3Store("s3://bucket/cache/", options(proxy, { listPageSize: 2 }));
      assert.equal(store.url, "s3://bucket/cache");
      const mirror = new UrlMirror(store);
      const installed = await openStore(SAMPLE_STORE);
      const pushed = await pushSpecs(mirror, installed, installed.specs, { updateIndex: true });
      assert.equal(pushed.pushed.length, 2);

      // The same push to a directory writes the same objects, byte for byte (tarballs are
      // deterministic), and listing the bucket in pages of 2 finds exactly those keys.
      const reference = join(work, "reference");
      await pushSpecs(new UrlMirror(new FsStore(reference)), installed, installed.specs, {
        updateIndex: true,
      });
      const fsKeys = [
        ...await collect(new FsStore(reference).list("v3")),
        ...await collect(new FsStore(reference).list("blobs")),
      ];
      const s3Keys = [...await collect(store.list("v3")), ...await collect(store.list("blobs"))];
      assert.deepEqual(s3Keys, fsKeys);
      for (const key of fsKeys) {
        assert.deepEqual(
          await readAll((await store.get(key))!),
          await Deno.readFile(join(reference, key)),
          key,
        );
      }
      const pages = proxy.requests.filter((r) => r.path.includes("continuation-token="));
      assert.ok(pages.length >= 2, `${pages.length} follow-up pages`);

      const specs = await mirror.listSpecs();
      assert.deepEqual(
        specs.map((s) => s.node.name).sort(),
        installed.specs.map((s) => s.spec.node.name).sort(),
      );
      const again = await pushSpecs(mirror, installed, installed.specs, {});
      assert.equal(again.skipped.length, 2, "complete entries are not pushed again");
      assert.equal(await mirror.updateIndex(), 2);

      const root = join(work, "r");
      const [hello] = selectSpecs(specs, ["sample-hello"], store.url);
      const result = await installSpecs(mirror, [hello], { root, checkSignature: false });
      const prefix = result.installed.get(hello.node.hash)!;
      const run = await new Deno.Command(join(prefix, "bin/hello"), { clearEnv: true, env: {} })
        .output();
      assert.match(new TextDecoder().decode(run.stdout), /RESULT OK\n$/);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  });
});

Deno.test("S3Store multipart: large bodies and files round-trip in parts; dropped downloads resume", async () => {
  await withS3(async (proxy) => {
    const work = await Deno.makeTempDir({ prefix: "spackle-s3-multipart-" });
    try {
      const partSize = 100 * 1024;
      const store = new S3Store(
        "s3://bucket/mp",
        options(proxy, { multipartThreshold: 256 * 1024, partSize }),
      );
      const { bytes, stream } = randomBody(1024 * 1024 + 123, 7);
      let start = proxy.requests.length;
      await store.put("blobs/big", stream);
      const sent = proxy.requests.slice(start);
      const parts = sent.filter((r) => r.method === "PUT" && r.path.includes("partNumber="));
      assert.equal(parts.length, Math.ceil(bytes.length / partSize));
      // S3 wants a Content-Length on every PUT; chunked transfer encoding is refused.
      assert.deepEqual(
        parts.map((r) => r.headers.get("content-length")),
        parts.map((_, i) => String(Math.min(partSize, bytes.length - i * partSize))),
      );
      assert.deepEqual(sent.map((r) => r.status), sent.map(() => 200));
      assert.equal(sha256Hex(await readAll((await store.get("blobs/big"))!)), sha256Hex(bytes));

      // Below the threshold: one PUT.
      start = proxy.requests.length;
      await store.put("small", streamOf("small object"));
      assert.deepEqual(proxy.requests.slice(start).map((r) => r.method), ["PUT"]);

      // A file above the threshold goes in parts too, and is moved (the local copy removed).
      const file = join(work, "tarball.tar.gz");
      const fileBytes = randomBody(300 * 1024, 11).bytes;
      await Deno.writeFile(file, fileBytes);
      start = proxy.requests.length;
      await store.putFile("blobs/file", file);
      assert.equal(
        proxy.requests.slice(start).filter((r) => r.path.includes("partNumber=")).length,
        3,
      );
      await assert.rejects(Deno.lstat(file), Deno.errors.NotFound);
      assert.equal(
        sha256Hex(await readAll((await store.get("blobs/file"))!)),
        sha256Hex(fileBytes),
      );

      // The connection drops after 200000 bytes: the rest comes from a ranged GET (206).
      proxy.inject({ kind: "cut", afterBytes: 200_000, times: 1, match: { method: "GET" } });
      start = proxy.requests.length;
      assert.equal(sha256Hex(await readAll((await store.get("blobs/big"))!)), sha256Hex(bytes));
      const gets = proxy.requests.slice(start);
      assert.deepEqual(gets.map((r) => [r.headers.get("range"), r.status]), [[null, 200], [
        "bytes=200000-",
        206,
      ]]);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  });
});

Deno.test("S3Store: a body that fails mid-upload leaves no object and its multipart upload is aborted", async () => {
  await withS3(async (proxy) => {
    const warnings: string[] = [];
    const store = new S3Store(
      "s3://bucket/mp",
      options(proxy, {
        multipartThreshold: 64 * 1024,
        partSize: 64 * 1024,
        onWarning: (m) => warnings.push(m),
      }),
    );
    const broken = new Error("source went away");
    let sent = 0;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 300 * 1024) return controller.error(broken);
        controller.enqueue(new Uint8Array(16 * 1024).fill(sent & 0xff));
        sent += 16 * 1024;
      },
    });
    const start = proxy.requests.length;
    await assert.rejects(store.put("blobs/partial", failing), (e) => e === broken);
    const requests = proxy.requests.slice(start);
    const uploadId = /uploadId=([^&]+)/.exec(
      requests.find((r) => r.path.includes("partNumber="))!.path,
    )![1];
    const abort = requests.find((r) => r.method === "DELETE");
    assert.ok(
      abort && abort.path.includes(`uploadId=${uploadId}`),
      "the multipart upload is aborted",
    );
    // s3rver has no AbortMultipartUpload (405): the store then warns, naming the upload.
    assert.equal(warnings.length, abort.status === 204 ? 0 : 1);
    assert.ok(
      warnings.every((w) => w.includes(uploadId) && w.includes("s3://bucket/mp/blobs/partial")),
    );
    assert.equal(await store.exists("blobs/partial"), false);
    assert.deepEqual(await collect(store.list("blobs")), []);

    // Below the threshold nothing is sent before the body is complete.
    const before = proxy.requests.length;
    const shortFailing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(1000));
        controller.error(broken);
      },
    });
    await assert.rejects(store.put("blobs/short", shortFailing), (e) => e === broken);
    assert.equal(proxy.requests.length, before);
  });
});

Deno.test("S3Store: missing keys and buckets, refused credentials without secrets, anonymous and token requests", async () => {
  await withS3(async (proxy) => {
    const store = new S3Store("s3://bucket/c", options(proxy));
    assert.equal(await store.get("v3/none.json"), undefined);
    assert.equal(await store.exists("v3/none.json"), false);
    assert.deepEqual(await collect(store.list("v3")), []);

    const noBucket = new S3Store("s3://no-such-bucket/c", options(proxy));
    await assert.rejects(
      noBucket.get("v3/layout.json"),
      (e) =>
        e instanceof StorageRequestError && e.serviceCode === "NoSuchBucket" && e.status === 404,
    );
    await assert.rejects(
      collect(noBucket.list("v3")),
      (e) => e instanceof StorageRequestError && e.serviceCode === "NoSuchBucket",
    );

    const secret = "wJalrXUtnFEMI-not-a-real-secret";
    const wrong = new S3Store(
      "s3://bucket/c",
      options(proxy, { accessKeyId: "AKIAWRONGKEY", secretAccessKey: secret }),
    );
    await assert.rejects(wrong.put("v3/x", streamOf("x")), (e) => {
      assert.ok(e instanceof StorageRequestError);
      assert.equal(e.status, 403);
      assert.equal(e.serviceCode, "InvalidAccessKeyId");
      assert.ok(e.message.startsWith("PUT s3://bucket/c/v3/x: HTTP 403"), e.message);
      assert.ok(!e.message.includes("AKIAWRONGKEY") && !e.message.includes(secret), e.message);
      return true;
    });
    assert.ok(!JSON.stringify(wrong).includes(secret));
    assert.ok(!Deno.inspect(wrong, { depth: 10 }).includes(secret));

    // Signed requests carry SigV4 with the key ID (and the session token when there is one).
    await store.put("v3/signed", streamOf("signed"));
    const signed = proxy.requests.at(-1)!.headers;
    assert.match(
      signed.get("authorization")!,
      /^AWS4-HMAC-SHA256 Credential=S3RVER\/\d{8}\/us-east-1\/s3\/aws4_request, /,
    );
    assert.equal(signed.get("x-amz-content-sha256"), sha256Hex("signed"));
    const withToken = new S3Store(
      "s3://bucket/c",
      options(proxy, { sessionToken: "session-token-1" }),
    );
    assert.equal(await withToken.exists("v3/signed"), true);
    assert.equal(proxy.requests.at(-1)!.headers.get("x-amz-security-token"), "session-token-1");

    // No credentials anywhere: unsigned requests (s3rver allows anonymous access).
    const anonymous = new S3Store("s3://bucket/c", { endpointUrl: proxy.url, env: {} });
    assert.equal(
      new TextDecoder().decode(await readAll((await anonymous.get("v3/signed"))!)),
      "signed",
    );
    assert.equal(proxy.requests.at(-1)!.headers.get("authorization"), null);
  });
});

Deno.test("S3Store finds credentials in a profile of a shared credentials file", async () => {
  await withS3(async (proxy) => {
    const dir = await Deno.makeTempDir({ prefix: "spackle-aws-" });
    try {
      const credentials = join(dir, "credentials");
      await Deno.writeTextFile(
        credentials,
        `[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = x\n\n` +
          `[ci]\naws_access_key_id = ${S3RVER_KEYS.accessKeyId}\naws_secret_access_key = ${S3RVER_KEYS.secretAccessKey}\n`,
      );
      const env = { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: join(dir, "none") };
      const viaProfile = new S3Store("s3://bucket/p", {
        endpointUrl: proxy.url,
        env,
        profile: "ci",
      });
      await viaProfile.put("k", streamOf("from profile"));
      assert.match(proxy.requests.at(-1)!.headers.get("authorization")!, /Credential=S3RVER\//);
      const viaDefault = new S3Store("s3://bucket/p", { endpointUrl: proxy.url, env });
      await assert.rejects(
        viaDefault.exists("k"),
        (e) => e instanceof StorageRequestError && e.status === 403,
      );
      assert.match(
        proxy.requests.at(-1)!.headers.get("authorization")!,
        /Credential=AKIADEFAULT\//,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("S3Store refuses malformed URLs and sizes", () => {
  for (
    const url of [
      "s3://",
      "s3:///prefix",
      "https://bucket/x",
      "s3://user@bucket/x",
      "s3://b/a/../c",
    ]
  ) {
    assert.throws(() => new S3Store(url), UsageError, url);
  }
  assert.throws(() => new S3Store("s3://b", { partSize: 0 }), UsageError);
  assert.throws(() => new S3Store("s3://b", { listPageSize: 1001 }), UsageError);
  assert.equal(new S3Store("s3://b//a/b//").url, "s3://b/a/b");
});
