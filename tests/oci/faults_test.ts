// A build cache in a registry behind a faulty network: a proxy in front of a real registry
// answers 500 and 429 with Retry-After, cuts blob downloads, corrupts bytes both ways. Pushes and
// installs through OciMirror either complete correctly or fail with a clear error, and nothing
// corrupt is installed, tagged or left behind. The registry itself is checked directly,
// bypassing the proxy.
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { DigestMismatchError, InstallError } from "../../lib/errors.ts";
import { installSpecs } from "../../lib/install/install.ts";
import { OciMirror } from "../../lib/mirror/oci.ts";
import { PushError, pushSpecs } from "../../lib/push/push.ts";
import { RegistryError, type RetryEvent } from "../../lib/registry/mod.ts";
import type { ConcreteSpec } from "../../lib/spec/spec.ts";
import { openStore, type Store } from "../../lib/store/mod.ts";
import { HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { assertHarnessInstalled, harnessPrefixes } from "../_support/harness.ts";
import {
  type Fault,
  type FaultProxy,
  startFaultProxy,
  startRegistry,
  type TestRegistry,
} from "../_support/registry.ts";
import { storeFromCache } from "../_support/store_from_cache.ts";

// Retry-After asks for seconds; the client caps it to this, so a retry that waited exactly this
// long is one that honoured the header (back-off alone never exceeds RETRY_MAX_DELAY_MS).
const MAX_RETRY_AFTER_MS = 5;
const RETRY_MAX_DELAY_MS = 4;
// Byte 4 of a gzip member is the first byte of MTIME, which decompression ignores: flipping it
// leaves a tarball that gunzips and untars cleanly, so only the digest check can notice.
const GZIP_MTIME_OFFSET = 4;

/** A registry, a fault proxy in front of it, the harness store from Spack's fixture cache. */
interface Rig {
  registry: TestRegistry;
  proxy: FaultProxy;
  store: Store;
  work: string;
  /** Retry events of every mirror made by {@link Rig.mirror}. */
  retries: RetryEvent[];
  /** OciMirror on `repo` through the proxy, with tiny retry delays. */
  mirror(repo: string, retries?: number): OciMirror;
}

async function withRig(fn: (rig: Rig) => Promise<void>): Promise<void> {
  const registry = await startRegistry();
  const proxy = startFaultProxy(registry.url);
  const work = await Deno.makeTempDir({ prefix: "spackle-oci-faults-" });
  try {
    await storeFromCache(join(SPACK12, "fs-unsigned"), join(work, "store"));
    const retries: RetryEvent[] = [];
    await fn({
      registry,
      proxy,
      store: await openStore(join(work, "store")),
      work,
      retries,
      mirror: (repo, count = 5) =>
        new OciMirror(`oci+http://${proxy.host}/${repo}`, {
          registry: {
            credentials: () => Promise.resolve(undefined),
            retries: count,
            retryBaseDelayMs: 1,
            retryMaxDelayMs: RETRY_MAX_DELAY_MS,
            maxRetryAfterMs: MAX_RETRY_AFTER_MS,
            onRetry: (e) => retries.push(e),
          },
        }),
    });
  } finally {
    await Deno.remove(work, { recursive: true });
    await proxy.stop();
    await registry.stop();
  }
}

/** A spec image as the registry holds it, read directly (not through the proxy). */
interface StoredImage {
  tag: string;
  /** Digest of the manifest, as the registry reports it. */
  manifestDigest: string;
  configDigest: string;
  /** The spec's own tarball layer (the last one). */
  tarballDigest: string;
}

async function registryTags(registry: TestRegistry, repo: string): Promise<string[]> {
  const res = await fetch(`${registry.url}/v2/${repo}/tags/list`);
  if (res.status === 404) {
    await res.body?.cancel();
    return [];
  }
  assert.equal(res.status, 200);
  return ((await res.json()).tags ?? []).sort();
}

async function storedImage(
  registry: TestRegistry,
  repo: string,
  hash: string,
): Promise<StoredImage> {
  const tag = (await registryTags(registry, repo)).find((t) => t.includes(hash));
  assert.ok(tag, `no tag for ${hash} in ${repo}`);
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(res.status, 200);
  const manifest = await res.json();
  return {
    tag,
    manifestDigest: res.headers.get("docker-content-digest")!,
    configDigest: manifest.config.digest,
    tarballDigest: manifest.layers.at(-1).digest,
  };
}

/** Pushes the whole harness store to `repo` with no faults, and lists it back. */
async function pushClean(rig: Rig, repo: string): Promise<ConcreteSpec> {
  const mirror = rig.mirror(repo);
  await pushSpecs(mirror, rig.store, rig.store.specs, { updateIndex: true });
  return (await mirror.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
}

/** Matches the request that completes the upload of blob `digest` (the query encodes `:`). */
function uploadOf(digest: string): RegExp {
  return new RegExp(`/blobs/uploads/.*[?&]digest=${digest.replace(":", "(?::|%3A)")}`);
}

/** Injects `faults` and returns them, so a test can check that each one fired. */
function injectAll(proxy: FaultProxy, faults: Fault[]): Fault[] {
  for (const f of faults) proxy.inject(f);
  return faults;
}

/** Records of the install root's database (externals included), by DAG hash. */
async function installedHashes(root: string): Promise<string[]> {
  const path = join(root, ".spack-db/index.json");
  const text = await Deno.readTextFile(path).catch(() => undefined);
  if (text === undefined) return [];
  return Object.keys(JSON.parse(text).database.installs).sort();
}

/**
 * Asserts that under `root` harness-libdep is installed and recorded, and that harness-hello left
 * neither a prefix, nor a staging directory beside it, nor a database record.
 */
async function assertOnlyDependencyInstalled(root: string): Promise<void> {
  const { H, D } = harnessPrefixes(root);
  const names: string[] = [];
  for await (const e of Deno.readDir(join(H, ".."))) names.push(e.name);
  assert.deepEqual(names, [basename(D)]);
  const recorded = await installedHashes(root);
  assert.ok(recorded.includes(HARNESS.libdep));
  assert.ok(!recorded.includes(HARNESS.hello), "harness-hello was recorded");
}

Deno.test("push and install complete through 500s and 429s with Retry-After on every kind of request", async () => {
  await withRig(async (rig) => {
    const repo = "faults/flaky";
    const status = (method: string, path: RegExp, code: number, times: number): Fault =>
      code === 429
        ? { kind: "status", status: 429, retryAfter: "1", match: { method, path }, times }
        : { kind: "status", status: code, match: { method, path }, times };
    const pushFaults = injectAll(rig.proxy, [
      status("POST", /\/blobs\/uploads\/$/, 429, 1),
      status("PUT", /\/blobs\/uploads\//, 500, 2),
      status("PUT", /\/blobs\/uploads\//, 429, 1),
      status("PUT", /\/manifests\//, 503, 1),
      status("PUT", /\/manifests\//, 429, 1),
    ]);
    const pushed = await pushSpecs(rig.mirror(repo), rig.store, rig.store.specs, {
      updateIndex: true,
    });
    assert.equal(pushed.pushed.length, 2);
    assert.deepEqual(pushFaults.map((f) => f.times), [0, 0, 0, 0, 0], "every push fault fired");
    const pushRetries = rig.retries.splice(0);
    assert.equal(pushRetries.length, 6);
    // A 429 retry waited what Retry-After asked (capped), not the back-off.
    assert.deepEqual(
      pushRetries.filter((e) => e.reason === "HTTP 429").map((e) => e.delayMs),
      [MAX_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS],
    );
    assert.ok(
      pushRetries.filter((e) => e.reason !== "HTTP 429").every((e) =>
        e.delayMs <= RETRY_MAX_DELAY_MS
      ),
    );

    // The registry, read directly, holds both images and an index naming both.
    const tags = await registryTags(rig.registry, repo);
    assert.equal(tags.length, 3);
    assert.ok(tags.includes("index.spack"));

    const installFaults = injectAll(rig.proxy, [
      status("GET", /\/manifests\//, 500, 2),
      status("GET", /\/manifests\//, 429, 1),
      status("GET", /\/blobs\/sha256:/, 503, 2),
      status("GET", /\/blobs\/sha256:/, 429, 1),
    ]);
    const mirror = rig.mirror(repo);
    const hello = (await mirror.listSpecs()).find((s) => s.node.hash === HARNESS.hello);
    assert.ok(hello);
    const root = join(rig.work, "root");
    const result = await installSpecs(mirror, [hello], { root, checkSignature: false });
    assert.equal(result.installed.size, 2);
    await assertHarnessInstalled(root);
    assert.deepEqual(installFaults.map((f) => f.times), [0, 0, 0, 0], "every install fault fired");
    assert.deepEqual(
      rig.retries.map((e) => [e.method, e.reason]).sort(),
      [
        ["GET", "HTTP 429"],
        ["GET", "HTTP 429"],
        ["GET", "HTTP 500"],
        ["GET", "HTTP 500"],
        ["GET", "HTTP 503"],
        ["GET", "HTTP 503"],
      ],
    );
  });
});

Deno.test("a tarball download cut mid-blob is resumed with a Range request; the install is correct", async () => {
  await withRig(async (rig) => {
    const repo = "faults/cut";
    const hello = await pushClean(rig, repo);
    const images = await Promise.all(
      [HARNESS.hello, HARNESS.libdep].map((h) => storedImage(rig.registry, repo, h)),
    );
    const cuts = injectAll(
      rig.proxy,
      images.map((image) => ({
        kind: "cut",
        afterBytes: 1000,
        match: { method: "GET", path: new RegExp(`/blobs/${image.tarballDigest}$`) },
        times: 1,
      })),
    );
    rig.proxy.requests.length = 0;
    const root = join(rig.work, "root");
    await installSpecs(rig.mirror(repo), [hello], { root, checkSignature: false });
    await assertHarnessInstalled(root);
    assert.deepEqual(cuts.map((f) => f.times), [0, 0]);

    for (const image of images) {
      const gets = rig.proxy.requests.filter((r) =>
        r.method === "GET" && r.path.endsWith(image.tarballDigest)
      );
      assert.deepEqual(gets.map((r) => `${r.status} ${r.fault}`), ["200 cut", "206 undefined"]);
      const from = Number(/^bytes=(\d+)-$/.exec(gets[1].headers.get("range") ?? "")?.[1]);
      assert.ok(from > 0 && from <= 1000, `resumed at byte ${from}`);
    }
    assert.deepEqual(rig.retries.map((e) => e.reason), ["connection failed", "connection failed"]);
  });
});

Deno.test("a corrupt tarball is refused (digest mismatch, or bad gzip): no prefix, no database record", async () => {
  await withRig(async (rig) => {
    const repo = "faults/corrupt-tarball";
    const hello = await pushClean(rig, repo);
    const { tarballDigest } = await storedImage(rig.registry, repo, HARNESS.hello);
    const blobPath = new RegExp(`/blobs/${tarballDigest}$`);

    // Corruption that gzip cannot see: only the digest check stops it, and it stops it before
    // the prefix is moved into place. Every attempt is corrupt.
    const root = join(rig.work, "root");
    const [quiet] = injectAll(rig.proxy, [{
      kind: "corrupt",
      atByte: GZIP_MTIME_OFFSET,
      match: { method: "GET", path: blobPath },
      times: 1000,
    }]);
    const failure = await installSpecs(rig.mirror(repo), [hello], { root, checkSignature: false })
      .then(() => undefined, (e: unknown) => e);
    assert.equal(quiet.times, 999, "the tarball was fetched once, corrupt, and not retried");
    assert.ok(failure instanceof InstallError, String(failure));
    assert.ok(failure.cause instanceof DigestMismatchError, String(failure.cause));
    assert.equal(failure.cause.expected, tarballDigest);
    assert.match(failure.message, new RegExp(`harness-hello.*expected ${tarballDigest}`));
    // The dependency came through intact and is installed; the dependent left nothing.
    await assertOnlyDependencyInstalled(root);

    // Corruption gzip sees first (the magic number): the blob is re-checked and blamed, so the
    // error is the digest mismatch, not the gzip error it caused; nothing left either.
    quiet.times = 0;
    const [loud] = injectAll(rig.proxy, [{
      kind: "corrupt",
      match: { method: "GET", path: blobPath },
      times: 1000,
    }]);
    const other = join(rig.work, "other");
    await assert.rejects(
      () => installSpecs(rig.mirror(repo), [hello], { root: other, checkSignature: false }),
      (e: unknown) => {
        assert.ok(e instanceof InstallError);
        assert.match(
          e.message,
          new RegExp(
            `cannot install harness-hello@1\\.0/hkbptho: digest mismatch .*${tarballDigest}`,
          ),
        );
        assert.ok(e.cause instanceof DigestMismatchError);
        return true;
      },
    );
    assert.equal(loud.times, 998, "fetched once, then once more to tell what was damaged");
    await assertOnlyDependencyInstalled(other);
  });
});

Deno.test("a blob upload that keeps failing leaves its spec untagged; a later clean push succeeds", async () => {
  await withRig(async (rig) => {
    // The tarball digests of a deterministic push, learnt from a clean push to another repository
    // (blobs are not mounted across repositories, so the faulty push uploads them again).
    await pushClean(rig, "faults/reference");
    const { tag, tarballDigest } = await storedImage(
      rig.registry,
      "faults/reference",
      HARNESS.hello,
    );
    const repo = "faults/broken-upload";
    const retries = 2;
    const upload = injectAll(rig.proxy, [{
      kind: "status",
      status: 500,
      match: { method: "PUT", path: uploadOf(tarballDigest) },
      times: retries + 1,
    }])[0];
    const failure = await pushSpecs(rig.mirror(repo, retries), rig.store, rig.store.specs, {
      updateIndex: true,
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(failure instanceof PushError, String(failure));
    assert.equal(upload.times, 0);
    assert.equal(failure.failures.length, 1);
    assert.match(failure.failures[0].spec, /^harness-hello@1\.0\//);
    const cause = failure.failures[0].error;
    assert.ok(cause instanceof RegistryError);
    assert.equal(cause.status, 500);
    assert.match(failure.message, /harness-hello.*PUT http:\/\/.*\/blobs\/uploads\/.*HTTP 500/);
    assert.equal(rig.retries.filter((e) => e.reason === "HTTP 500").length, retries);

    // Straight from the registry: the dependency is tagged, the failed spec is not, and the
    // index (rebuilt after the partial push) does not list it.
    const tags = await registryTags(rig.registry, repo);
    assert.ok(!tags.includes(tag), `${tag} was tagged`);
    assert.equal(tags.length, 2);
    const head = await fetch(`${rig.registry.url}/v2/${repo}/blobs/${tarballDigest}`, {
      method: "HEAD",
    });
    assert.equal(head.status, 404);
    const listed = await rig.mirror(repo).listSpecs();
    assert.deepEqual(listed.map((s) => s.node.hash), [HARNESS.libdep]);

    // An upload corrupted in transit: the registry refuses it, nothing is tagged.
    const [transit] = injectAll(rig.proxy, [{
      kind: "corruptUpload",
      atByte: 100,
      match: { method: "PUT", path: uploadOf(tarballDigest) },
      times: 1,
    }]);
    await assert.rejects(
      () => pushSpecs(rig.mirror(repo), rig.store, rig.store.specs, {}),
      (e: unknown) => {
        assert.ok(e instanceof PushError);
        const error = e.failures[0].error;
        assert.ok(error instanceof RegistryError);
        assert.deepEqual(error.codes, ["DIGEST_INVALID"]);
        return true;
      },
    );
    assert.equal(transit.times, 0);
    assert.ok(!(await registryTags(rig.registry, repo)).includes(tag));

    // The network heals: the next push completes the cache, and it installs.
    const again = await pushSpecs(rig.mirror(repo), rig.store, rig.store.specs, {
      updateIndex: true,
    });
    assert.equal(again.pushed.length, 1);
    assert.equal(again.skipped.length, 1);
    assert.equal(
      (await storedImage(rig.registry, repo, HARNESS.hello)).tarballDigest,
      tarballDigest,
    );
    const mirror = rig.mirror(repo);
    const hello = (await mirror.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
    const root = join(rig.work, "root");
    await installSpecs(mirror, [hello], { root, checkSignature: false });
    await assertHarnessInstalled(root);
  });
});

Deno.test("a corrupt spec manifest or image config stops the install before anything of that spec is written", async () => {
  await withRig(async (rig) => {
    const repo = "faults/corrupt-image";
    const hello = await pushClean(rig, repo);
    const image = await storedImage(rig.registry, repo, HARNESS.hello);

    const cases: { what: string; fault: Fault; expected: string }[] = [
      {
        what: "manifest",
        // By tag, the bytes are checked against the registry's Docker-Content-Digest.
        fault: {
          kind: "corrupt",
          match: { method: "GET", path: new RegExp(`/manifests/${image.tag}$`) },
          times: 1000,
        },
        expected: image.manifestDigest,
      },
      {
        what: "config",
        fault: {
          kind: "corrupt",
          atByte: 10,
          match: { method: "GET", path: new RegExp(`/blobs/${image.configDigest}$`) },
          times: 1000,
        },
        expected: image.configDigest,
      },
    ];
    for (const { what, fault, expected } of cases) {
      rig.proxy.inject(fault);
      const root = join(rig.work, `root-${what}`);
      const failure = await installSpecs(rig.mirror(repo), [hello], {
        root,
        checkSignature: false,
      }).then(() => undefined, (e: unknown) => e);
      fault.times = 0; // the next case starts clean
      assert.ok(failure instanceof InstallError, `${what}: ${failure}`);
      assert.ok(failure.cause instanceof DigestMismatchError, `${what}: ${failure.cause}`);
      assert.equal(failure.cause.expected, expected, what);
      assert.match(
        failure.message,
        new RegExp(`cannot install harness-hello.*expected ${expected}`),
      );
      await assertOnlyDependencyInstalled(root);
    }
    assert.equal(rig.retries.length, 0, "a digest mismatch is not retried");
  });
});
