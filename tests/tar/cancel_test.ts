/**
 * Stopping the install pipeline (fetch → verify → gunzip → untar) part-way: a refused member
 * anywhere in archives of several sizes, a digest mismatch found at the end, a connection cut
 * mid-download. Each must end in one clear error, with no uncaught error, no unhandled
 * rejection, and nothing left in the install root.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { InstallError } from "../../lib/errors.ts";
import { installSpecs } from "../../lib/install/install.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import type { Mirror } from "../../lib/mirror/types.ts";
import { selectSpecs } from "../../lib/spec/select.ts";
import { gunzipStream, gzipStream } from "../../lib/stream/gzip.ts";
import { parallelGzipStream } from "../../lib/stream/parallel_gzip.ts";
import { readAll, streamOf } from "../../lib/stream/io.ts";
import { spackle } from "../_support/cli.ts";
import {
  cacheWithTarball,
  type CraftedMember,
  craftTarball,
  LIBDEP_PREFIX,
  libdepPackage,
} from "../_support/hostile_cache.ts";
import { withTempDir } from "../_support/temp.ts";

const MB = 1 << 20;
const RUNS = 20;
const P = LIBDEP_PREFIX;

type Kind = "a ../ name" | "a prefix that is a symlink" | "a write through an earlier symlink";

/** A harness-libdep tarball of about `size` bytes with an unsafe member after `offset` bytes. */
function hostile(kind: Kind, size: number, offset: number, outside: string) {
  const filler = (name: string, bytes: number, fill: CraftedMember["fill"]): CraftedMember[] =>
    bytes > 0 ? [{ name, type: "file", size: bytes, fill }] : [];
  // Noise after the refused member: gunzip has output in flight when the pipeline is stopped.
  const rest = filler(`${P}/z`, Math.max(size - offset, 64 * 1024), "noise");
  if (kind === "a prefix that is a symlink") {
    const [buildinfo] = libdepPackage([]).slice(-1);
    const members: CraftedMember[] = [
      { name: "opt", type: "dir" },
      { name: "opt/build", type: "dir" },
      ...filler("opt/build/filler", offset, "repeated"),
      { name: P, type: "symlink", linkname: outside },
      { name: `${P}/.spack`, type: "dir" },
      ...rest,
      buildinfo,
    ];
    return { members, refused: `${P}/.spack` };
  }
  if (kind === "a ../ name") {
    const escape = `${P}/../../../../../escape`;
    return {
      members: libdepPackage([
        ...filler(`${P}/a`, offset, "repeated"),
        { name: escape, type: "file", text: "x" },
        ...rest,
      ]),
      refused: escape,
    };
  }
  return {
    members: libdepPackage([
      ...filler(`${P}/a`, offset, "repeated"),
      { name: `${P}/lib`, type: "symlink", linkname: outside },
      { name: `${P}/lib/escape`, type: "file", text: "x" },
      ...rest,
    ]),
    refused: `${P}/lib/escape`,
  };
}

/** Uncaught errors and unhandled rejections seen while `fn` runs (they are kept from killing the test runner, and asserted on instead). */
async function stray(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    seen.push(e.error);
  };
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    seen.push(e.reason);
  };
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onRejection);
  try {
    await fn();
    // Let late events of a torn-down pipeline arrive.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
  }
  return seen;
}

async function libdepOf(mirror: Mirror, cache: string) {
  return selectSpecs(await mirror.listSpecs(), ["harness-libdep"], cache)[0];
}

/** What is left in the install tree's platform directory (prefixes, staging, partials). */
function leftIn(root: string): string[] {
  try {
    return [...Deno.readDirSync(join(root, "linux-x86_64"))].map((e) => e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

const VARIANTS: [Kind, number, number][] = [];
{
  const kinds: Kind[] = [
    "a ../ name",
    "a prefix that is a symlink",
    "a write through an earlier symlink",
  ];
  for (const size of [2 * MB, 12 * MB, 24 * MB]) {
    for (const offset of [0, 1 * MB, 10 * MB, size - 64 * 1024]) {
      if (offset < size) VARIANTS.push([kinds[VARIANTS.length % kinds.length], size, offset]);
    }
  }
}

for (const [kind, size, offset] of VARIANTS) {
  Deno.test(`install refuses ${kind} after ${offset} bytes of a ${size / MB} MiB archive, ${RUNS} times: one error, nothing left`, async () => {
    await withTempDir(async (work) => {
      const outside = join(work, "outside");
      await Deno.mkdir(outside);
      const { members, refused } = hostile(kind, size, offset, outside);
      const cache = await cacheWithTarball(await craftTarball(members));
      try {
        const mirror = await openMirror(cache);
        const libdep = await libdepOf(mirror, cache);
        const root = join(work, "root");
        const seen = await stray(async () => {
          for (let run = 0; run < RUNS; run++) {
            await assert.rejects(
              installSpecs(mirror, [libdep], { root, checkSignature: false }),
              (e) => e instanceof InstallError && e.message.includes(JSON.stringify(refused)),
            );
            assert.deepEqual(leftIn(root), [], `run ${run}: no prefix, staging or partial left`);
          }
        });
        assert.deepEqual(seen, [], "no uncaught error or unhandled rejection");
        assert.deepEqual([...Deno.readDirSync(outside)], [], "nothing written outside");
      } finally {
        await Deno.remove(cache, { recursive: true });
      }
    });
  });
}

Deno.test("the CLI refuses an unsafe member of a large archive with one error line naming it, and leaves no staging", async () => {
  await withTempDir(async (work) => {
    const outside = join(work, "outside");
    await Deno.mkdir(outside);
    const cases: [Kind, number, number][] = [
      ["a ../ name", 12 * MB, 1 * MB],
      ["a write through an earlier symlink", 24 * MB, 10 * MB],
      ["a prefix that is a symlink", 12 * MB, 0],
    ];
    for (const [kind, size, offset] of cases) {
      const { members, refused } = hostile(kind, size, offset, outside);
      const cache = await cacheWithTarball(await craftTarball(members));
      try {
        for (let run = 0; run < 2; run++) {
          const root = join(work, `root-${run}`);
          const { code, stderr } = await spackle(
            "install",
            "--no-check-signature",
            "--root",
            root,
            cache,
            "harness-libdep",
          );
          const what = `${kind}, run ${run}: ${stderr}`;
          assert.notEqual(code, 0, what);
          assert.doesNotMatch(stderr, /TypeError|Uncaught|stream controller/, what);
          const errors = stderr.split("\n").filter((line) => line.startsWith("error:"));
          assert.equal(errors.length, 1, what);
          assert.ok(errors[0].includes(JSON.stringify(refused)), what);
          assert.deepEqual(leftIn(root), [], what);
        }
      } finally {
        await Deno.remove(cache, { recursive: true });
      }
    }
    assert.deepEqual([...Deno.readDirSync(outside)], []);
  });
});

Deno.test("a digest mismatch found at the end of the tarball leaves no prefix and no staging", async () => {
  await withTempDir(async (work) => {
    const tarball = await craftTarball(
      libdepPackage([{ name: `${P}/data`, type: "file", size: 8 * MB, fill: "noise" }]),
    );
    const cache = await cacheWithTarball(tarball, "ab".repeat(32));
    try {
      const mirror = await openMirror(cache);
      const libdep = await libdepOf(mirror, cache);
      const root = join(work, "root");
      const seen = await stray(async () => {
        for (let run = 0; run < 5; run++) {
          await assert.rejects(
            installSpecs(mirror, [libdep], { root, checkSignature: false }),
            (e) => e instanceof InstallError && e.message.includes("ab".repeat(32)),
          );
          assert.deepEqual(leftIn(root), []);
        }
      });
      assert.deepEqual(seen, []);
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  });
});

Deno.test("a connection cut in the middle of the tarball leaves no prefix, no staging and no stray rejection", async () => {
  await withTempDir(async (work) => {
    const tarball = await craftTarball(
      libdepPackage([{ name: `${P}/data`, type: "file", size: 8 * MB, fill: "noise" }]),
    );
    const cache = await cacheWithTarball(tarball);
    const blobPath = `/blobs/sha256/`;
    // A real HTTP server over the cache that drops the connection half-way through the blob.
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const path = new URL(req.url).pathname;
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = await Deno.readFile(join(cache, decodeURIComponent(path)));
      } catch {
        return new Response("not found", { status: 404 });
      }
      if (!path.startsWith(blobPath) || bytes.length !== tarball.length) return new Response(bytes);
      let sent = 0;
      return new Response(
        new ReadableStream({
          async pull(controller) {
            if (sent >= bytes.length / 2) {
              await new Promise((resolve) => setTimeout(resolve, 10));
              controller.error(new Error("connection cut"));
              return;
            }
            controller.enqueue(bytes.slice(sent, sent + 64 * 1024));
            sent += 64 * 1024;
          },
        }),
      );
    });
    try {
      const url = `http://127.0.0.1:${server.addr.port}`;
      const libdep = await libdepOf(await openMirror(cache), cache);
      const mirror = await openMirror(url, { http: { retries: 0 } });
      const root = join(work, "root");
      const seen = await stray(async () => {
        for (let run = 0; run < 5; run++) {
          await assert.rejects(
            installSpecs(mirror, [libdep], { root, checkSignature: false }),
            (e) =>
              e instanceof InstallError && /blobs\/sha256\/.* interrupted after/.test(e.message),
          );
          assert.deepEqual(leftIn(root), []);
        }
      });
      assert.deepEqual(seen, []);
    } finally {
      await server.shutdown();
      await Deno.remove(cache, { recursive: true });
    }
  });
});

/**
 * Feeds `data` in `chunk`-byte pieces through a fresh `stage()`, reads at least `stopAt` output
 * bytes for each stop, then cancels: the cancel reason must reach the source, and nothing may
 * reject or throw unhandled meanwhile.
 */
async function assertStopsCleanly(
  stage: () => TransformStream<Uint8Array, Uint8Array>,
  data: Uint8Array,
  chunk: number,
  stops: readonly number[],
): Promise<void> {
  const seen = await stray(async () => {
    for (const stopAt of stops) {
      let sourceCancelled: unknown;
      const source = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < data.length; i += chunk) controller.enqueue(data.slice(i, i + chunk));
          controller.close();
        },
        cancel(reason) {
          sourceCancelled = reason;
        },
      });
      const reader = source.pipeThrough(stage()).getReader();
      for (let got = 0; got <= stopAt;) {
        const { done, value } = await reader.read();
        if (done) break;
        got += value.length;
      }
      const reason = new Error(`stop at ${stopAt}`);
      await reader.cancel(reason);
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(sourceCancelled, reason, "the cancel reaches the source");
    }
  });
  assert.deepEqual(seen, []);
}

/** `size` bytes of noise (incompressible, so output flows steadily). */
function noise(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  return data;
}

Deno.test("gunzipStream: a consumer may stop at any point of a multi-member stream", async () => {
  const part = noise(3 * MB);
  const one = await readAll(streamOf(part).pipeThrough(gzipStream(1)));
  const two = new Uint8Array([...one, ...one]);
  assert.equal((await readAll(streamOf(two).pipeThrough(gunzipStream()))).length, 2 * part.length);
  await assertStopsCleanly(gunzipStream, two, 8192, [0, 1, 64 * 1024, MB, 3 * MB, 5 * MB]);
});

Deno.test("gunzipStream: a failing source errors the output with its reason; corrupt input with zlib's", async () => {
  const gz = await readAll(streamOf(new Uint8Array(2 * MB).fill(7)).pipeThrough(gzipStream()));
  const cut = new Error("source failed");
  const failing = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(gz.slice(0, gz.length >> 1));
      controller.error(cut);
    },
  });
  await assert.rejects(readAll(failing.pipeThrough(gunzipStream())), (e) => e === cut);
  const corrupt = gz.slice();
  corrupt.fill(0x55, 20, 60);
  await assert.rejects(
    readAll(streamOf(corrupt).pipeThrough(gunzipStream())),
    /invalid|incorrect/i,
  );
});

Deno.test("gzipStream and parallelGzipStream: a consumer may stop reading compressed output part-way", async () => {
  const data = noise(4 * MB);
  await assertStopsCleanly(() => gzipStream(), data, 65536, [0, 64 * 1024, 2 * MB]);
  await assertStopsCleanly(() => parallelGzipStream({ threads: 2 }), data, 65536, [
    0,
    64 * 1024,
    2 * MB,
  ]);
});
