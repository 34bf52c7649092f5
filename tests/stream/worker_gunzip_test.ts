import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { gunzipStream } from "../../lib/stream/gzip.ts";
import { readAll } from "../../lib/stream/io.ts";
import { workerGunzipStream } from "../../lib/stream/worker_gunzip.ts";
import { seededRandom } from "../_support/random.ts";
import { runDenoScript } from "../_support/script.ts";

/** `size` bytes that gzip about 2:1 (random low nibbles), deterministic. */
function sample(size: number, seed: number): Uint8Array {
  const next = seededRandom(seed);
  return Uint8Array.from({ length: size }, () => (next() * 16) | 0);
}

/** `data` cut into pieces of `size` bytes. */
function pieces(data: Uint8Array, size: number): ReadableStream<Uint8Array> {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return ReadableStream.from(out);
}

const MODULE = JSON.stringify(new URL("../../lib/stream/worker_gunzip.ts", import.meta.url).href);

Deno.test("worker gunzip: same bytes as gunzipStream for two members, whatever the chunking", async () => {
  const a = sample(3_000_000, 1);
  const b = sample(700_000, 2);
  const gz = new Uint8Array([...gzipSync(a), ...gzipSync(b)]);
  const expected = await readAll(pieces(gz, 1 << 30).pipeThrough(gunzipStream()));
  assert.equal(expected.length, a.length + b.length);
  for (const size of [gz.length, 65_536, 1_000, 300_001]) {
    const out = await readAll(pieces(gz, size).pipeThrough(workerGunzipStream({ threads: 2 })));
    assert.ok(Buffer.compare(out, expected) === 0, `chunks of ${size} bytes`);
  }
});

Deno.test("worker gunzip: several streams at once on one worker each get their own bytes", async () => {
  const inputs = [1, 2, 3, 4].map((seed) => sample(1_500_000 + seed, seed));
  const outs = await Promise.all(
    inputs.map((data) =>
      readAll(pieces(gzipSync(data), 50_000).pipeThrough(workerGunzipStream({ threads: 1 })))
    ),
  );
  for (const [i, out] of outs.entries()) assert.ok(Buffer.compare(out, inputs[i]) === 0);
});

Deno.test("worker gunzip: corrupt or truncated input errors the output with zlib's error", async () => {
  const gz = new Uint8Array(gzipSync(sample(2_000_000, 5)));
  const flipped = gz.slice();
  flipped[gz.length >> 1] ^= 0xff;
  const inProcess = await readAll(pieces(flipped, 65_536).pipeThrough(gunzipStream())).then(
    () => assert.fail("gunzipStream accepted corrupt input"),
    (e: Error) => e.message,
  );
  await assert.rejects(
    readAll(pieces(flipped, 65_536).pipeThrough(workerGunzipStream())),
    (e: Error) => e.message === inProcess,
  );
  await assert.rejects(
    readAll(pieces(gz.subarray(0, gz.length - 100), 65_536).pipeThrough(workerGunzipStream())),
    /unexpected end of file/,
  );
  // A source that fails aborts the stream with its reason.
  const failing = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(gz.subarray(0, 100_000));
      c.error(new Error("source broke"));
    },
  });
  await assert.rejects(readAll(failing.pipeThrough(workerGunzipStream())), /source broke/);
});

Deno.test("worker gunzip: a stream cancelled part-way leaves no worker keeping the process alive", async () => {
  const out = await runDenoScript(`
    import { workerGunzipStream } from ${MODULE};
    import { gzipSync } from "node:zlib";
    const data = new Uint8Array(32 << 20).map((_, i) => (i * 2654435761) >>> 28);
    const gz = gzipSync(data);
    const input = ReadableStream.from((function* () {
      for (let at = 0; at < gz.length; at += 65536) yield gz.subarray(at, at + 65536);
    })());
    const reader = input.pipeThrough(workerGunzipStream({ threads: 2 })).getReader();
    let bytes = 0;
    for (let i = 0; i < 3; i++) bytes += (await reader.read()).value.length;
    await reader.cancel("stop");
    console.log("cancelled after", bytes, "bytes");
  `);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.match(new TextDecoder().decode(out.stdout), /cancelled after \d+ bytes/);
});
