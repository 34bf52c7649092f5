// RegistryClient against a real registry (CNCF distribution 2.8): blobs, uploads, manifests,
// tags, referrers; checked independently with skopeo.
import assert from "node:assert/strict";
import { DigestMismatchError, NotFoundError, UsageError } from "../../lib/errors.ts";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  OCI_CONFIG,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  RegistryClient,
  type RegistryClientOptions,
} from "../../lib/registry/mod.ts";
import {
  readAll,
  startFaultProxy,
  startRegistry,
  type TestBlob,
  testBlob,
} from "../_support/registry.ts";

const anonymous = () => Promise.resolve(undefined);

function client(host: string, options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient(host, {
    plainHttp: true,
    credentials: anonymous,
    retryBaseDelayMs: 1,
    ...options,
  });
}

/** An image manifest (config + one layer) as compact JSON, the way Spack writes them (§4.3). */
function imageManifest(config: TestBlob, layer: TestBlob, docker = false): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    mediaType: docker ? DOCKER_MANIFEST : OCI_MANIFEST,
    schemaVersion: 2,
    config: {
      mediaType: docker ? DOCKER_CONFIG : OCI_CONFIG,
      digest: config.digest,
      size: config.size,
    },
    layers: [{
      mediaType: docker ? DOCKER_LAYER_GZIP : OCI_LAYER_GZIP,
      digest: layer.digest,
      size: layer.size,
    }],
  }));
}

function configBlob(): TestBlob {
  return testBlob(new TextEncoder().encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [`sha256:${"0".repeat(64)}`] },
    config: { Env: ["PATH=/bin:/usr/bin"] },
  })));
}

Deno.test("blobs: monolithic push, HEAD skip, mount, verified get, download", async () => {
  const registry = await startRegistry();
  const proxy = startFaultProxy(registry.url);
  try {
    const c = client(proxy.host);
    const blob = testBlob(300_000);

    assert.equal(await c.headBlob("spack/cache", blob.digest), undefined);
    assert.equal(await c.pushBlob("spack/cache", blob.digest, blob.size, blob.body), "uploaded");
    const upload = proxy.requests.filter((r) => r.method !== "HEAD").map((r) =>
      `${r.method} ${r.status}`
    );
    assert.deepEqual(upload, ["POST 202", "PUT 201"]);
    const put = proxy.requests.find((r) => r.method === "PUT")!;
    assert.match(put.path, new RegExp(`[?&]digest=${encodeURIComponent(blob.digest)}$`));
    assert.match(put.path, /_state=/, "the query of Location is kept");
    assert.equal(await c.headBlob("spack/cache", blob.digest), blob.size);

    proxy.requests.length = 0;
    assert.equal(await c.pushBlob("spack/cache", blob.digest, blob.size, blob.body), "exists");
    assert.deepEqual(proxy.requests.map((r) => r.method), ["HEAD"]);

    proxy.requests.length = 0;
    assert.equal(
      await c.pushBlob("other/repo", blob.digest, blob.size, blob.body, {
        mountFrom: "spack/cache",
      }),
      "mounted",
    );
    assert.deepEqual(proxy.requests.map((r) => `${r.method} ${r.status}`), [
      "HEAD 404",
      "POST 201",
    ]);
    assert.match(proxy.requests[1].path, /mount=sha256%3A[0-9a-f]{64}&from=spack%2Fcache/);

    assert.deepEqual(await readAll(await c.getBlob("other/repo", blob.digest)), blob.bytes);

    const dir = await Deno.makeTempDir();
    try {
      await c.downloadBlob("spack/cache", blob.digest, `${dir}/blob`);
      assert.deepEqual(await Deno.readFile(`${dir}/blob`), blob.bytes);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["blob"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }

    const missing = testBlob(10);
    await assert.rejects(() => c.getBlob("spack/cache", missing.digest), NotFoundError);
    await assert.rejects(() => c.getBlob("Bad/Repo", missing.digest), UsageError);
    await assert.rejects(() => c.getBlob("spack/cache", "sha512:00"), UsageError);
  } finally {
    await proxy.stop();
    await registry.stop();
  }
});

Deno.test("blobs: chunked uploads (forced, fallback when monolithic is refused, resumed chunk)", async () => {
  const registry = await startRegistry();
  const proxy = startFaultProxy(registry.url);
  try {
    const chunkSize = 64 * 1024;
    const forced = client(proxy.host, { chunkedThreshold: 0, chunkSize });
    const blob = testBlob(200_000);
    assert.equal(await forced.pushBlob("chunked/a", blob.digest, blob.size, blob.body), "uploaded");
    const patches = proxy.requests.filter((r) => r.method === "PATCH");
    assert.equal(patches.length, Math.ceil(blob.size / chunkSize));
    assert.deepEqual(
      patches.map((r) => r.headers.get("content-range")),
      [0, 1, 2, 3].map((i) => `${i * chunkSize}-${Math.min(blob.size, (i + 1) * chunkSize) - 1}`),
    );
    assert.deepEqual(await readAll(await forced.getBlob("chunked/a", blob.digest)), blob.bytes);

    // A registry that refuses a monolithic PUT with 413 gets the blob in chunks instead.
    proxy.requests.length = 0;
    proxy.inject({
      kind: "status",
      status: 413,
      match: { method: "PUT", path: /digest=/ },
      times: 1,
    });
    const plain = client(proxy.host, { chunkSize });
    const second = testBlob(150_000);
    assert.equal(
      await plain.pushBlob("chunked/b", second.digest, second.size, second.body),
      "uploaded",
    );
    assert.deepEqual(
      proxy.requests.filter((r) => r.method !== "PATCH").map((r) => `${r.method} ${r.status}`),
      ["HEAD 404", "POST 202", "PUT 413", "POST 202", "PUT 201"],
    );
    assert.equal(proxy.requests.filter((r) => r.method === "PATCH").length, 3);
    assert.equal(await plain.headBlob("chunked/b", second.digest), second.size);

    // A chunk that fails with 500 is resumed from the offset the registry reports.
    proxy.requests.length = 0;
    proxy.inject({ kind: "status", status: 500, match: { method: "PATCH" }, times: 1, skip: 1 });
    const third = testBlob(150_000);
    assert.equal(
      await forced.pushBlob("chunked/c", third.digest, third.size, third.body),
      "uploaded",
    );
    const trace = proxy.requests.map((r) =>
      `${r.method} ${r.status} ${r.headers.get("content-range") ?? ""}`
    );
    assert.deepEqual(trace, [
      "HEAD 404 ",
      "POST 202 ",
      `PATCH 202 0-${chunkSize - 1}`,
      `PATCH 500 ${chunkSize}-${2 * chunkSize - 1}`,
      "GET 204 ",
      `PATCH 202 ${chunkSize}-${2 * chunkSize - 1}`,
      `PATCH 202 ${2 * chunkSize}-${third.size - 1}`,
      "PUT 201 ",
    ]);
    assert.deepEqual(await readAll(await forced.getBlob("chunked/c", third.digest)), third.bytes);

    // The announced size must match what the body yields.
    const short = testBlob(1000);
    await assert.rejects(
      () => forced.pushBlob("chunked/d", short.digest, 999, short.body),
      UsageError,
    );
  } finally {
    await proxy.stop();
    await registry.stop();
  }
});

Deno.test("manifests: put/get/head by tag and digest, Docker media type, delete", async () => {
  const registry = await startRegistry();
  try {
    const c = client(registry.host);
    const config = configBlob();
    const layer = testBlob(4096);
    for (const b of [config, layer]) await c.pushBlob("spack/cache", b.digest, b.size, b.body);
    const bytes = imageManifest(config, layer);

    const digest = await c.putManifest(
      "spack/cache",
      "libelf-0.8.13-abc.spack",
      bytes,
      OCI_MANIFEST,
    );
    const byTag = await c.getManifest("spack/cache", "libelf-0.8.13-abc.spack");
    assert.deepEqual(byTag, { mediaType: OCI_MANIFEST, digest, bytes });
    const byDigest = await c.getManifest("spack/cache", digest);
    assert.deepEqual(byDigest.bytes, bytes);
    assert.deepEqual(await c.headManifest("spack/cache", "libelf-0.8.13-abc.spack"), {
      mediaType: OCI_MANIFEST,
      digest,
      size: bytes.length,
    });
    assert.equal(await c.headManifest("spack/cache", "no-such-tag"), undefined);
    await assert.rejects(() => c.getManifest("spack/cache", "no-such-tag"), NotFoundError);

    const docker = imageManifest(config, layer, true);
    const dockerDigest = await c.putManifest("spack/cache", "docker", docker, DOCKER_MANIFEST);
    assert.equal((await c.getManifest("spack/cache", dockerDigest)).mediaType, DOCKER_MANIFEST);
    // Pushing by digest needs the digest of the bytes.
    assert.equal(
      await c.putManifest("spack/cache", dockerDigest, docker, DOCKER_MANIFEST),
      dockerDigest,
    );
    assert.throws(() => c.putManifest("spack/cache", digest, docker, DOCKER_MANIFEST), UsageError);

    await c.deleteManifest("spack/cache", digest);
    await assert.rejects(() => c.getManifest("spack/cache", digest), NotFoundError);
    await assert.rejects(() => c.deleteManifest("spack/cache", digest), NotFoundError);
  } finally {
    await registry.stop();
  }
});

Deno.test("manifests: a manifest whose bytes do not match the asked digest is refused", async () => {
  const registry = await startRegistry();
  const proxy = startFaultProxy(registry.url);
  try {
    const c = client(proxy.host);
    const config = configBlob();
    const layer = testBlob(100);
    for (const b of [config, layer]) await c.pushBlob("r", b.digest, b.size, b.body);
    const digest = await c.putManifest("r", "t", imageManifest(config, layer), OCI_MANIFEST);
    proxy.inject({ kind: "corrupt", match: { method: "GET", path: /\/manifests\// }, times: 2 });
    await assert.rejects(() => c.getManifest("r", digest), DigestMismatchError);
    // By tag, the bytes are checked against Docker-Content-Digest.
    await assert.rejects(() => c.getManifest("r", "t"), DigestMismatchError);
  } finally {
    await proxy.stop();
    await registry.stop();
  }
});

Deno.test("tags: Link pagination; referrers: 404 means no API", async () => {
  const registry = await startRegistry();
  // Distribution 2.8 does not paginate tags; the proxy pages the registry's list as OCI says.
  const proxy = startFaultProxy(registry.url, { paginateTags: true });
  try {
    const c = client(proxy.host);
    const config = configBlob();
    const layer = testBlob(100);
    for (const b of [config, layer]) await c.pushBlob("spack/cache", b.digest, b.size, b.body);
    const bytes = imageManifest(config, layer);
    const tags = ["a.spack", "b.spack", "c.spack", "d.spack", "index.spack"];
    let digest = "";
    for (const tag of tags) digest = await c.putManifest("spack/cache", tag, bytes, OCI_MANIFEST);

    proxy.requests.length = 0;
    assert.deepEqual(await c.listTags("spack/cache", { pageSize: 2 }), tags);
    assert.deepEqual(
      proxy.requests.map((r) => r.path.replace(/\?.*/, "")),
      Array(3).fill("/v2/spack/cache/tags/list"),
    );
    assert.match(proxy.requests[1].path, /last=b\.spack/);
    assert.deepEqual((await c.listTags("spack/cache")).sort(), tags);
    await assert.rejects(() => c.listTags("never/pushed"), NotFoundError);

    // Distribution 2.8 predates the referrers API.
    assert.equal(await c.referrers("spack/cache", digest), undefined);
  } finally {
    await proxy.stop();
    await registry.stop();
  }
});

Deno.test("relative Location headers are resolved against the registry", async () => {
  const registry = await startRegistry({ relativeUrls: true });
  const proxy = startFaultProxy(registry.url);
  try {
    const c = client(proxy.host, { chunkSize: 40_000 });
    const blob = testBlob(100_000);
    assert.equal(await c.pushBlob("rel/a", blob.digest, blob.size, blob.body), "uploaded");
    const chunked = client(proxy.host, { chunkedThreshold: 0, chunkSize: 40_000 });
    const other = testBlob(100_000);
    assert.equal(await chunked.pushBlob("rel/b", other.digest, other.size, other.body), "uploaded");
    assert.ok(proxy.requests.some((r) => r.method === "PATCH"));
    assert.deepEqual(await readAll(await c.getBlob("rel/b", other.digest)), other.bytes);
  } finally {
    await proxy.stop();
    await registry.stop();
  }
});

Deno.test("skopeo reads back an image pushed by the client", async () => {
  const registry = await startRegistry();
  try {
    const c = client(registry.host);
    const config = configBlob();
    const layer = testBlob(2048);
    for (const b of [config, layer]) await c.pushBlob("spack/app", b.digest, b.size, b.body);
    const bytes = imageManifest(config, layer);
    const digest = await c.putManifest("spack/app", "v1", bytes, OCI_MANIFEST);

    const skopeo = async (...args: string[]) => {
      const out = await new Deno.Command("skopeo", { args, stdout: "piped", stderr: "piped" })
        .output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      return out.stdout;
    };
    const ref = `docker://${registry.host}/spack/app:v1`;
    const info = JSON.parse(
      new TextDecoder().decode(await skopeo("inspect", "--tls-verify=false", ref)),
    );
    assert.equal(info.Digest, digest);
    assert.equal(info.Architecture, "amd64");
    assert.deepEqual(info.Layers, [layer.digest]);
    assert.deepEqual(await skopeo("inspect", "--raw", "--tls-verify=false", ref), bytes);
  } finally {
    await registry.stop();
  }
});
