/**
 * Installing a package far larger than the memory bound keeps the installing process's peak
 * resident set size under it: the install pipeline streams (fetch → verify → gunzip → untar →
 * relocate) instead of holding a tarball or a file in memory. The install runs in its own Deno
 * process (`_install_subprocess.ts`), which reports its own `VmHWM`.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createSyntheticStore } from "../../bench/_synthetic_store.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { pushSpecs } from "../../lib/push/push.ts";
import { openStore, relativePrefix } from "../../lib/store/mod.ts";
import type { InstallSubprocessReport } from "./_install_subprocess.ts";

const REPO = new URL("../..", import.meta.url).pathname;
const CHILD = join(REPO, "tests/install/_install_subprocess.ts");
/** The bound: 200 MiB, in the KiB that `VmHWM` counts. */
const PEAK_RSS_LIMIT_KIB = 200 * 1024;
/** The package is bigger than the bound, and so is its largest file (so no file fits in it). */
const PACKAGE_BYTES = 300e6;
const LARGEST_FILE_BYTES = 240e6;

Deno.test({
  name: "install of a 300 MB package keeps the process's peak RSS under 200 MiB",
  ignore: Deno.build.os !== "linux", // VmHWM comes from /proc
  async fn() {
    const work = await Deno.makeTempDir({ prefix: "spackle-memory-test-" });
    try {
      // Mostly incompressible data, so the tarball is quick to build and as large as the tree.
      const synthetic = await createSyntheticStore(join(work, "store"), {
        mb: 320,
        mix: { elf: 0.04, text: 0.02, random: 0.94 },
        appShare: 0.02,
        dataFileBytes: LARGEST_FILE_BYTES,
      });
      const lib = synthetic.specs[0];
      assert.ok(lib.bytes >= PACKAGE_BYTES, `bench-lib has only ${lib.bytes} bytes`);
      const store = await openStore(synthetic.dir);
      const cache = join(work, "cache");
      await pushSpecs(await openMirror(cache), store, store.specs);

      const root = join(work, "sw");
      const child = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CHILD, cache, root],
        cwd: REPO,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(child.stderr);
      assert.ok(child.success, `install child failed:\n${stderr}`);
      const lines = new TextDecoder().decode(child.stdout).trim().split("\n");
      const report: InstallSubprocessReport = JSON.parse(lines[lines.length - 1]);
      assert.equal(report.installed, 2);

      // The package really was installed in full: its size, and the largest file byte for byte.
      const prefix = join(root, relativePrefix(lib.spec.node));
      assert.ok(
        await treeBytes(prefix) >= PACKAGE_BYTES,
        `installed prefix ${prefix} is smaller than ${PACKAGE_BYTES} bytes`,
      );
      const largest = "share/bench-lib/data/part_0000.bin";
      assert.equal((await Deno.stat(join(prefix, largest))).size, LARGEST_FILE_BYTES);
      assert.equal(
        await sha256File(join(prefix, largest)),
        await sha256File(join(lib.dir, largest)),
      );

      console.log(`peak RSS of the install process: ${(report.vmHwmKiB / 1024).toFixed(1)} MiB`);
      assert.ok(
        report.vmHwmKiB < PEAK_RSS_LIMIT_KIB,
        `peak RSS of the install was ${(report.vmHwmKiB / 1024).toFixed(1)} MiB, limit ${
          PEAK_RSS_LIMIT_KIB / 1024
        } MiB`,
      );
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});

/** Bytes of the regular files below `dir` (the synthetic store has no hard links). */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) total += await treeBytes(path);
    else if (entry.isFile) total += (await Deno.lstat(path)).size;
  }
  return total;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of (await Deno.open(path)).readable) hash.update(chunk);
  return hash.digest("hex");
}
