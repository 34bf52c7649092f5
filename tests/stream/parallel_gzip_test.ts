import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipBytes } from "../../lib/stream/gzip.ts";
import {
  GZIP_BLOCK_SIZE,
  parallelGzipStream,
  setCompressionThreads,
} from "../../lib/stream/parallel_gzip.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { seededRandom } from "../_support/random.ts";
import { runDenoScript } from "../_support/script.ts";
import { withTempDir } from "../_support/temp.ts";

/** Text-like bytes that compress about 3:1, so blocks do real matching work. */
function sample(size: number, seed = 7): Uint8Array {
  const rng = seededRandom(seed);
  const words = ["spack", "prefix", "/opt/view/lib", "relocate", "\n", " ", "hash", "0x1f8b"];
  const out = new Uint8Array(size);
  let at = 0;
  while (at < size) {
    const word = new TextEncoder().encode(words[Math.floor(rng() * words.length)]);
    out.set(word.subarray(0, size - at), at);
    at += word.byteLength;
  }
  return out;
}

async function compress(data: Uint8Array, threads: number, chunk: number): Promise<Uint8Array> {
  setCompressionThreads(threads);
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < data.byteLength; i += chunk) controller.enqueue(data.slice(i, i + chunk));
      controller.close();
    },
  });
  return new Uint8Array(await new Response(input.pipeThrough(parallelGzipStream())).arrayBuffer());
}

async function run(cmd: string, args: string[], stdin?: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  // Feed stdin while stdout drains: a filter blocks on a full pipe otherwise.
  const feed = (async () => {
    const writer = child.stdin.getWriter();
    await writer.write(stdin ?? new Uint8Array());
    await writer.close();
  })();
  const [out] = await Promise.all([child.output(), feed]);
  assert.ok(out.success, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}

Deno.test("parallel gzip: same bytes for 1, 2 and 8 workers and any input chunking", async () => {
  const data = sample(5 * GZIP_BLOCK_SIZE + 123);
  const digests = new Set<string>();
  for (const [threads, chunk] of [[1, 65536], [2, 1000], [8, 3 * GZIP_BLOCK_SIZE + 5]]) {
    digests.add(sha256Hex(await compress(data, threads, chunk)));
  }
  assert.equal(digests.size, 1);
});

Deno.test("parallel gzip: an input shorter than a block gives zlib's own gzip bytes", async () => {
  for (const size of [0, 1, 4096, GZIP_BLOCK_SIZE - 1]) {
    const data = sample(size, size);
    assert.deepEqual(await compress(data, 2, 777), gzipBytes(data), `size ${size}`);
  }
});

Deno.test("parallel gzip: GNU gzip and Python read it back, at and around block boundaries", async () => {
  for (const size of [GZIP_BLOCK_SIZE, 2 * GZIP_BLOCK_SIZE, 3 * GZIP_BLOCK_SIZE + 1, 3_000_000]) {
    // The bytes do not depend on the worker count (tested above): one count suffices here.
    const data = sample(size, size);
    const gz = await compress(data, 2, 50_000);
    await run("gzip", ["-t"], gz);
    assert.equal(sha256Hex(await run("gzip", ["-dc"], gz)), sha256Hex(data), `gzip, ${size}`);
    const py = await run("python3", [
      "-c",
      "import gzip,sys,hashlib;print(hashlib.sha256(gzip.decompress(sys.stdin.buffer.read())).hexdigest())",
    ], gz);
    assert.equal(new TextDecoder().decode(py).trim(), sha256Hex(data), `python, ${size}`);
  }
});

Deno.test("parallel gzip: Python's tarfile reads a compressed tar of many members", async () => {
  await withTempDir(async (dir) => {
    const tree = join(dir, "tree");
    await Deno.mkdir(tree);
    for (let i = 0; i < 40; i++) await Deno.writeFile(join(tree, `f${i}`), sample(40_000 + i, i));
    const tar = await run("tar", ["-C", dir, "--sort=name", "-cf", "-", "tree"]);
    const gz = await compress(tar, 2, 65536);
    await Deno.writeFile(join(dir, "t.tar.gz"), gz);
    const listing = await run("python3", [
      "-c",
      "import tarfile,sys;t=tarfile.open(sys.argv[1]);print(sum(m.size for m in t.getmembers()));t.extractall(sys.argv[2], filter='data')",
      join(dir, "t.tar.gz"),
      join(dir, "out"),
    ]);
    assert.equal(Number(new TextDecoder().decode(listing)), 40 * 40_000 + 780);
    assert.deepEqual(await Deno.readFile(join(dir, "out/tree/f39")), sample(40_039, 39));
  });
});

Deno.test("parallel gzip: a cancelled stream leaves no worker keeping the process alive", async () => {
  const script = `
    import { parallelGzipStream } from ${
    JSON.stringify(new URL("../../lib/stream/parallel_gzip.ts", import.meta.url).href)
  };
    let sent = 0;
    const input = new ReadableStream({
      pull(c) { c.enqueue(new Uint8Array(1 << 20).fill(sent++ % 251)); },
    });
    const reader = input.pipeThrough(parallelGzipStream({ threads: 2 })).getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    await reader.cancel("stop");
    console.log("cancelled after", sent, "MiB");
  `;
  const out = await runDenoScript(script);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.match(new TextDecoder().decode(out.stdout), /cancelled after \d+ MiB/);
});
