// Size limits on install: a tarball must be as long as its manifest record or descriptor says
// (a lying server is cut off), and a package may not unpack far beyond its compressed size.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ExpansionLimitError,
  InstallError,
  installSpecs,
  type Mirror,
  openMirror,
  selectSpecs,
  SizeMismatchError,
  type SpackleError,
} from "../../mod.ts";
import { blobKey, parseManifest, serializeManifest } from "../../lib/buildcache/mod.ts";
import { sha256Hex } from "../../lib/stream/mod.ts";
import { expansionGuard } from "../../lib/stream/limit.ts";
import { copyFixture, HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { withTempDir } from "../_support/temp.ts";
import {
  assertNothingInstalled,
  dirEntry,
  fileEntry,
  LIBDEP_PREFIX,
  MANIFEST,
  replaceLibdepTarball,
  snapshot,
} from "../_support/hostile_cache.ts";

/**
 * Installs harness-libdep from `mirror` (an altered copy `cache`) and asserts it is refused with
 * a `type` error (the install error's cause) naming `where`; nothing installed, cache unchanged.
 */
async function assertRefused(
  cache: string,
  mirror: Mirror,
  type: new (...args: never[]) => SpackleError,
  where: RegExp,
): Promise<SpackleError> {
  const before = await snapshot(cache);
  let cause: unknown;
  await withTempDir(async (dir) => {
    const root = join(dir, "root");
    const [libdep] = selectSpecs(await mirror.listSpecs(), ["harness-libdep"], cache);
    await assert.rejects(
      installSpecs(mirror, [libdep], { root, checkSignature: false }),
      (e) => {
        assert.ok(e instanceof InstallError, String(e));
        assert.match(e.message, /harness-libdep/);
        cause = e.cause;
        assert.ok(cause instanceof type, `${cause}`);
        assert.match(cause.message, where);
        return true;
      },
    );
    await assertNothingInstalled(root);
  });
  assert.deepEqual(await snapshot(cache), before, "the cache is unchanged");
  return cause as SpackleError;
}

/** Sets the tarball record's `contentLength` of harness-libdep to its true length + `delta`. */
async function misdeclare(cache: string, delta: number): Promise<number> {
  const path = join(cache, MANIFEST.libdep);
  const manifest = parseManifest(await Deno.readTextFile(path), path);
  const tarball = manifest.data[0];
  const size = tarball.contentLength;
  manifest.data[0] = { ...tarball, contentLength: size + delta };
  await Deno.writeTextFile(path, serializeManifest(manifest.data));
  return size;
}

for (const [what, delta] of [["longer", -1], ["shorter", 1]] as const) {
  Deno.test(`URL layout: a tarball ${what} than its contentLength is refused`, async () => {
    const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
    try {
      const size = await misdeclare(cache, delta);
      const error = await assertRefused(
        cache,
        await openMirror(cache),
        SizeMismatchError,
        /blobs\/sha256\/3c\/3c8d8d/,
      );
      assert.equal((error as SizeMismatchError).expected, size + delta);
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  });
}

Deno.test("HTTP: a server streaming a tarball forever is cut off after its contentLength", async () => {
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  const tarballKey = blobKey(
    "sha256",
    parseManifest(await Deno.readTextFile(join(cache, MANIFEST.libdep)), "m").data[0].checksum,
  );
  let sent = 0;
  const cancelled = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const key = new URL(req.url).pathname.slice(1);
    if (key === tarballKey) {
      // The real bytes, then zeros without end.
      const head = await Deno.readFile(join(cache, key));
      return new Response(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(sent === 0 ? head : new Uint8Array(65536));
            sent += sent === 0 ? head.byteLength : 65536;
          },
          cancel() {
            cancelled.resolve();
          },
        }),
      );
    }
    try {
      return new Response(await Deno.readFile(join(cache, key)));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    const mirror = await openMirror(`http://127.0.0.1:${server.addr.port}/`);
    await assertRefused(cache, mirror, SizeMismatchError, /3c8d8d/);
    await cancelled.promise;
    assert.ok(sent < 16 * 1024 * 1024, `the server was read for ${sent} bytes`);
  } finally {
    await server.shutdown();
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("OCI layout: a layer longer than its descriptor's size is refused", async () => {
  const cache = await copyFixture(join(SPACK12, "oci/buildcache"));
  try {
    const indexPath = join(cache, "index.json");
    const index = JSON.parse(await Deno.readTextFile(indexPath));
    const ref = index.manifests.find((m: { annotations: Record<string, string> }) =>
      m.annotations["org.opencontainers.image.ref.name"].startsWith("harness-libdep")
    );
    const manifest = JSON.parse(
      await Deno.readTextFile(join(cache, "blobs/sha256", ref.digest.slice(7))),
    );
    const layer = manifest.layers[manifest.layers.length - 1];
    layer.size -= 1;
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    await Deno.writeFile(join(cache, "blobs/sha256", sha256Hex(bytes)), bytes);
    Object.assign(ref, { digest: `sha256:${sha256Hex(bytes)}`, size: bytes.byteLength });
    await Deno.writeTextFile(indexPath, JSON.stringify(index));
    await assertRefused(
      cache,
      await openMirror(cache),
      SizeMismatchError,
      new RegExp(layer.digest.slice(7)),
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

/** A stream of `size` zero bytes, in 1 MiB chunks. */
function zeros(size: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1 << 20);
  let left = size;
  return new ReadableStream({
    pull(controller) {
      if (left === 0) return controller.close();
      const n = Math.min(left, chunk.byteLength);
      controller.enqueue(n === chunk.byteLength ? chunk : chunk.subarray(0, n));
      left -= n;
    },
  });
}

/** A cache whose harness-libdep tarball is 128 MiB of zeros gzipped (about 130 KB). */
async function bombCache(): Promise<string> {
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  const size = 128 << 20;
  const p = LIBDEP_PREFIX;
  await replaceLibdepTarball(cache, [
    dirEntry(p),
    dirEntry(`${p}/.spack`),
    dirEntry(`${p}/share`),
    fileEntry(`${p}/share/zeros`, zeros(size), size),
    fileEntry(
      `${p}/.spack/binary_distribution`,
      `{buildpath: /opt/build, hash_to_prefix: {${HARNESS.libdep}: /${p}}, relocate_binaries: [], relocate_links: [], relocate_textfiles: []}\n`,
    ),
  ]);
  return cache;
}

Deno.test("a gzip bomb (128 MiB of zeros in ~130 KB) is refused; nothing is installed", async () => {
  const cache = await bombCache();
  try {
    const error = await assertRefused(
      cache,
      await openMirror(cache),
      ExpansionLimitError,
      /harness-libdep@1\.0\/6zoocyj/,
    );
    assert.equal((error as ExpansionLimitError).limit, 64 << 20);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("maxExpansion raises the limit: the same tarball then installs", async () => {
  const cache = await bombCache();
  try {
    await withTempDir(async (root) => {
      const mirror = await openMirror(cache);
      const [libdep] = selectSpecs(await mirror.listSpecs(), ["harness-libdep"], cache);
      const result = await installSpecs(mirror, [libdep], {
        root,
        checkSignature: false,
        maxExpansion: 2000,
      });
      const prefix = result.installed.get(HARNESS.libdep)!;
      assert.equal((await Deno.stat(join(prefix, "share/zeros"))).size, 128 << 20);
    });
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("expansionGuard: the limit is the larger of the floor and ratio × compressed size", async () => {
  const run = async (input: number, output: number, ratio: number) => {
    const guard = expansionGuard("blob", { maxExpansion: ratio, floor: 1000 });
    const sink = () => new WritableStream<Uint8Array>();
    await new Blob([new Uint8Array(input)]).stream().pipeThrough(guard.compressed).pipeTo(sink());
    await new Blob([new Uint8Array(output)]).stream().pipeThrough(guard.expanded).pipeTo(sink());
  };
  await run(10, 1000, 50); // the floor
  await run(100, 5000, 50); // 50 × 100
  await assert.rejects(run(100, 5001, 50), ExpansionLimitError);
  await run(100, 5001, 51);
  await assert.rejects(run(0, 1001, 50), ExpansionLimitError); // nothing compressed yet
  await run(0, 1 << 20, Infinity); // disabled
});
