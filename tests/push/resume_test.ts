import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openMirror, openStore, pushSpecs } from "../../mod.ts";
import { SAMPLE_STORE as SAMPLE } from "../_support/cli.ts";

const CLI = fileURLToPath(new URL("../../cli.ts", import.meta.url));

async function manifests(cache: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".spec.manifest.json")) {
        out.set(p.slice(cache.length), await Deno.readTextFile(p));
      }
    }
  };
  await walk(join(cache, "v3/manifests/spec")).catch(() => {});
  return out;
}

Deno.test("a push killed half-way leaves a valid cache, and a rerun completes it identically", async () => {
  const work = await Deno.makeTempDir({ prefix: "spackle-resume-" });
  try {
    const reference = join(work, "reference");
    const store = await openStore(SAMPLE);
    await pushSpecs(await openMirror(reference), store, store.specs, { jobs: 1 });

    const cache = join(work, "cache");
    // The killed push cannot clean up its temporary directory: keep it inside `work`.
    await Deno.mkdir(join(work, "tmp"));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "push", cache, "--store", SAMPLE, "-j", "1"],
      env: { TMPDIR: join(work, "tmp") },
      stderr: "piped",
      stdout: "null",
    }).spawn();
    // Kill the process as soon as the first spec is reported pushed.
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!/\] Pushed /.test(seen)) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel().catch(() => {});

    // Every manifest that is visible has all of its blobs, and the cache lists without errors.
    const mirror = await openMirror(cache);
    const listed = await mirror.listSpecs();
    assert.ok(listed.length >= 1);
    for (const spec of listed) assert.ok(await mirror.hasSpec(spec.node), spec.node.name);

    const rerun = await pushSpecs(mirror, store, store.specs, { jobs: 1 });
    assert.equal(rerun.pushed.length + rerun.skipped.length, 2);
    assert.ok(rerun.skipped.length >= 1, "what the killed push completed is not pushed again");
    assert.deepEqual(await manifests(cache), await manifests(reference));
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
