/**
 * An install gunzips large tarballs on worker threads; neither a finished install nor one that
 * failed part-way through a tarball may leave a worker keeping the process alive. The installs
 * run in a child Deno process that must exit by itself.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createSyntheticStore } from "../../bench/_synthetic_store.ts";
import { blobKey } from "../../lib/buildcache/layout.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { pushSpecs } from "../../lib/push/push.ts";
import { openStore } from "../../lib/store/mod.ts";
import { runDenoScript } from "../_support/script.ts";
import { withTempDir } from "../_support/temp.ts";

const INSTALL = JSON.stringify(new URL("../../lib/install/install.ts", import.meta.url).href);
const OPEN = JSON.stringify(new URL("../../lib/mirror/open.ts", import.meta.url).href);

Deno.test("an install that fails inside a worker-gunzipped tarball, and one that succeeds, leave no worker running", async () => {
  await withTempDir(async (dir) => {
    // Mostly incompressible, so bench-lib's tarball is several MiB: gunzipped on a worker.
    const synthetic = await createSyntheticStore(join(dir, "store"), {
      mb: 8,
      mix: { elf: 0.1, text: 0.1, random: 0.8 },
      dataFileBytes: 1 << 20,
    });
    const good = join(dir, "good");
    const store = await openStore(synthetic.dir);
    await pushSpecs(await openMirror(good), store, store.specs);
    // A copy whose bench-lib tarball has a flipped byte halfway through.
    const bad = join(dir, "bad");
    await new Deno.Command("cp", { args: ["-a", good, bad] }).output();
    const mirror = await openMirror(bad);
    const lib = (await mirror.listSpecs()).find((s) => s.node.name === "bench-lib")!;
    const { tarball } = (await mirror.getEntry(lib))!;
    assert.ok((tarball.size ?? 0) > 4 << 20, `bench-lib's tarball has only ${tarball.size} bytes`);
    const [algorithm, hex] = tarball.digest.split(":");
    const blob = join(bad, blobKey(algorithm, hex));
    const bytes = await Deno.readFile(blob);
    bytes[bytes.length >> 1] ^= 0xff;
    await Deno.writeFile(blob, bytes);

    const script = `
      import { installSpecs } from ${INSTALL};
      import { openMirror } from ${OPEN};
      const install = async (cache, root) => {
        const mirror = await openMirror(cache);
        return await installSpecs(mirror, await mirror.listSpecs(), { root, checkSignature: false, threads: 1 });
      };
      try {
        await install(${JSON.stringify(bad)}, ${JSON.stringify(join(dir, "r1"))});
        console.log("bad cache installed");
      } catch (e) {
        console.log("failed:", e.spec);
      }
      const ok = await install(${JSON.stringify(good)}, ${JSON.stringify(join(dir, "r2"))});
      console.log("installed", ok.installed.size);
    `;
    const out = await runDenoScript(script, 60_000);
    const stdout = new TextDecoder().decode(out.stdout);
    assert.ok(
      out.success,
      `child did not exit by itself:\n${stdout}\n${new TextDecoder().decode(out.stderr)}`,
    );
    assert.match(stdout, /^failed: bench-lib@1\.0\/[a-z2-7]{7}$/m);
    assert.match(stdout, /^installed 2$/m);
  });
});
