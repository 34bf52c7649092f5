import assert from "node:assert/strict";
import { runDenoScript } from "../_support/script.ts";

const SIZE = 200 * 1024 * 1024;

// In a child process of its own, so other test modules running at the same time cannot move the
// resident set this measures.
const SCRIPT = `
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createTarStream, extractPackageTarball } from ${
  JSON.stringify(new URL("../../lib/tar/mod.ts", import.meta.url).href)
};
const SIZE = ${SIZE};
const CHUNK = 64 * 1024;
const tmp = await Deno.makeTempDir();
try {
  const written = createHash("sha256");
  const baseline = Deno.memoryUsage().rss;
  let peak = baseline;
  let produced = 0;
  // Fresh chunks generated on demand, with varying content so the hash means something.
  const body = new ReadableStream({
    pull(controller) {
      const chunk = new Uint8Array(Math.min(CHUNK, SIZE - produced));
      chunk.fill(produced / CHUNK % 251);
      chunk[0] = produced / CHUNK % 256;
      written.update(chunk);
      produced += chunk.length;
      controller.enqueue(chunk);
      if (produced === SIZE) controller.close();
      peak = Math.max(peak, Deno.memoryUsage().rss);
    },
  }, { highWaterMark: 0 });
  const prefix = "opt/store/big-1.0-abc";
  const buildinfo = new TextEncoder().encode("{buildpath: /opt/store}\\n");
  async function* entries() {
    yield { name: "opt", type: "directory", mode: 0o755, size: 0 };
    yield { name: "opt/store", type: "directory", mode: 0o755, size: 0 };
    yield { name: prefix, type: "directory", mode: 0o755, size: 0 };
    yield { name: prefix + "/.spack", type: "directory", mode: 0o755, size: 0 };
    yield { name: prefix + "/data.bin", type: "file", mode: 0o644, size: SIZE, body };
    yield {
      name: prefix + "/.spack/binary_distribution",
      type: "file",
      mode: 0o644,
      size: buildinfo.length,
      body: buildinfo,
    };
  }
  const destination = join(tmp, "big");
  const result = await extractPackageTarball(createTarStream(entries()), destination, {
    source: "generated",
  });
  const read = createHash("sha256");
  for await (const chunk of (await Deno.open(join(destination, "data.bin"))).readable) {
    read.update(chunk);
  }
  console.log(JSON.stringify({
    bytes: result.bytes,
    growth: peak - baseline,
    same: read.digest("hex") === written.digest("hex"),
  }));
} finally {
  await Deno.remove(tmp, { recursive: true });
}
`;

Deno.test("a 200 MB file streams through writer and extractor in bounded memory", async () => {
  const out = await runDenoScript(SCRIPT, 120_000);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const { bytes, growth, same } = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(bytes, SIZE + "{buildpath: /opt/store}\n".length);
  assert.ok(same, "the extracted file has the bytes written");
  console.log(
    `peak RSS growth while streaming ${SIZE >> 20} MiB: ${(growth / 2 ** 20).toFixed(1)} MiB`,
  );
  // Buffering the file whole would grow RSS by at least SIZE; garbage awaiting GC is far less.
  assert.ok(growth < SIZE / 2, `RSS grew by ${growth} bytes`);
});
