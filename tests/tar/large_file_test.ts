import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createTarStream, extractPackageTarball, type TarEntry } from "../../lib/tar/mod.ts";
import { fromList, sha256 } from "./_util.ts";

const SIZE = 200 * 1024 * 1024;
const CHUNK = 64 * 1024;

Deno.test("a 200 MB file streams through writer and extractor in bounded memory", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const written = createHash("sha256");
    const baseline = Deno.memoryUsage().rss;
    let peak = baseline;
    let produced = 0;
    // Fresh chunks generated on demand, with varying content so the hash means something.
    const body = new ReadableStream<Uint8Array>({
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
    const buildinfo = new TextEncoder().encode("{buildpath: /opt/store}\n");
    const entries: TarEntry[] = [
      { name: "opt", type: "directory", mode: 0o755, size: 0 },
      { name: "opt/store", type: "directory", mode: 0o755, size: 0 },
      { name: prefix, type: "directory", mode: 0o755, size: 0 },
      { name: `${prefix}/.spack`, type: "directory", mode: 0o755, size: 0 },
      { name: `${prefix}/data.bin`, type: "file", mode: 0o644, size: SIZE, body },
      {
        name: `${prefix}/.spack/binary_distribution`,
        type: "file",
        mode: 0o644,
        size: buildinfo.length,
        body: buildinfo,
      },
    ];
    const destination = join(tmp, "big");
    const result = await extractPackageTarball(createTarStream(fromList(entries)), destination, {
      source: "generated",
    });
    assert.equal(result.bytes, SIZE + buildinfo.length);
    const growth = peak - baseline;
    console.log(
      `peak RSS growth while streaming ${SIZE >> 20} MiB: ${(growth / 2 ** 20).toFixed(1)} MiB`,
    );
    // Buffering the file whole would grow RSS by at least SIZE; garbage awaiting GC is far less.
    assert.ok(growth < SIZE / 2, `RSS grew by ${growth} bytes`);

    const file = await Deno.open(join(destination, "data.bin"));
    assert.equal(await sha256(file.readable), written.digest("hex"));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
