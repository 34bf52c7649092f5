/**
 * Fetching and SHA-256-verifying a large blob from a filesystem build cache (`mirror.fetchBlob`,
 * stream consumed to the end) beside `sha256sum` of the same file. Three baselines split the
 * cost: reading alone through Deno's file stream (what `fetchBlob` reads with), reading and
 * hashing through one reused buffer (no stream), and `cat > /dev/null`. The blob is read from the page
 * cache (it was just written), so this measures the streaming and hashing, not the disk.
 *
 *     deno run -A bench/pull_verify_ratio.ts --mb 500 [--runs 3]
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { blobKey } from "../lib/buildcache/layout.ts";
import { openMirror } from "../lib/mirror/open.ts";
import {
  fixed,
  GNU_TIME,
  hasCommand,
  medianOf,
  table,
  timeInProcess,
  timeShell,
  type Timing,
} from "./_measure.ts";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "500" },
    runs: { type: "string", default: "3" },
  },
});
const runs = Number(values.runs);
const bytes = Math.round(Number(values.mb) * 1e6);
const gnuTime = await hasCommand(GNU_TIME);
const work = await Deno.makeTempDir({ prefix: "spackle-pull-bench-" });

try {
  const cache = join(work, "cache");
  const { path, sha256 } = await writeBlob(cache, bytes);
  const mirror = await openMirror(cache);
  const nothing = () => Promise.resolve();
  const consume = async (stream: ReadableStream<Uint8Array>) => {
    for await (const _ of stream) { /* drained */ }
  };

  const spackle = await medianOf(
    runs,
    nothing,
    () => timeInProcess(async () => await consume(await mirror.fetchBlob(`sha256:${sha256}`))),
  );
  const sha256sum = await medianOf(
    runs,
    nothing,
    () => timeShell(`sha256sum '${path}' > /dev/null`, gnuTime),
  );
  const denoRead = await medianOf(
    runs,
    nothing,
    () => timeInProcess(async () => await consume((await Deno.open(path)).readable)),
  );
  const reused = await medianOf(runs, nothing, () =>
    timeInProcess(async () => {
      const hash = createHash("sha256");
      const buffer = new Uint8Array(1 << 20);
      using file = await Deno.open(path);
      for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
        hash.update(buffer.subarray(0, n));
      }
      hash.digest();
    }));
  const cat = await medianOf(runs, nothing, () => timeShell(`cat '${path}' > /dev/null`, gnuTime));

  const mb = bytes / 1e6;
  const row = (tool: string, t: Timing) => [
    tool,
    fixed(t.wall, 2),
    fixed(mb / t.wall),
    fixed(t.cpu, 2),
    fixed((mb / spackle.wall) / (mb / t.wall), 2),
  ];
  console.log(
    `\nblob: ${fixed(mb)} MB, from the page cache; median of ${runs} runs; MB/s per wall second; ` +
      `CPU = user + system s\nSpackle ÷ tool: fetchBlob's MB/s over the tool's (> 1: faster)\n`,
  );
  console.log(table(["tool", "wall s", "MB/s", "CPU s", "Spackle ÷ tool"], [
    row("spackle mirror.fetchBlob + verify", spackle),
    row("sha256sum", sha256sum),
    row("read only: Deno FsFile.readable", denoRead),
    row("read + sha256, one reused 1 MiB buffer", reused),
    row("read only: cat > /dev/null", cat),
  ]));
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

/**
 * Writes `size` bytes of incompressible data as a blob of the cache at `cache` (at its
 * `blobs/sha256/…` key), hashing on the way; returns its path and hex SHA-256.
 */
async function writeBlob(cache: string, size: number): Promise<{ path: string; sha256: string }> {
  // 1 MiB of random bytes, repeated: neither hashing nor reading depends on the content.
  const block = new Uint8Array(1 << 20);
  for (let at = 0; at < block.length; at += 65536) {
    crypto.getRandomValues(block.subarray(at, at + 65536));
  }
  const hash = createHash("sha256");
  const tmp = join(cache, "blob.tmp");
  await Deno.mkdir(cache, { recursive: true });
  {
    using file = await Deno.open(tmp, { write: true, createNew: true });
    for (let left = size; left > 0;) {
      const piece = block.subarray(0, Math.min(left, block.length));
      hash.update(piece);
      for (let done = 0; done < piece.length;) done += await file.write(piece.subarray(done));
      left -= piece.length;
    }
  }
  const sha256 = hash.digest("hex");
  const path = join(cache, blobKey("sha256", sha256));
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.rename(tmp, path);
  return { path, sha256 };
}
