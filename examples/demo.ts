/**
 * The main job end to end on real input, with no compiler and no server:
 * push the sample store (real ELF programs built at a long padded prefix) to a filesystem
 * build cache, install from it into a much shorter root, and run the relocated program.
 *
 *     deno task demo
 *
 * @module
 */
import { join } from "node:path";
import { installSpecs, openMirror, openStore, pushSpecs } from "../mod.ts";
import { ProgressRenderer } from "../lib/cli/progress.ts";

const sampleStore = new URL("./sample-store/data", import.meta.url).pathname;
const work = await Deno.makeTempDir({ prefix: "spackle-demo-" });
const render = new ProgressRenderer();
try {
  const store = await openStore(sampleStore);
  console.log(
    `store     ${sampleStore}\n  recorded root (${store.root.length} chars): ${store.root}`,
  );

  const cacheDir = join(work, "cache");
  const mirror = await openMirror(cacheDir);
  console.log(`\npush ${store.specs.length} specs -> ${mirror.url}`);
  await pushSpecs(mirror, store, store.specs, { updateIndex: true, onProgress: render.onProgress });
  render.done();

  const cached = await mirror.listSpecs();
  console.log(
    `\nthe cache holds: ${
      cached.map((s) => `${s.node.name}@${s.node.version}/${s.node.hash.slice(0, 7)}`).join(", ")
    }`,
  );

  const root = join(work, "sw");
  console.log(`\ninstall sample-hello into ${root} (${root.length} chars)`);
  const hello = cached.find((s) => s.node.name === "sample-hello");
  if (!hello) throw new Error("sample-hello is not in the cache");
  const result = await installSpecs(mirror, [hello], {
    root,
    checkSignature: false,
    onProgress: render.onProgress,
  });
  render.done();

  const prefix = result.installed.get(hello.node.hash)!;
  console.log(`\n$ ${prefix}/bin/hello`);
  const run = await new Deno.Command(join(prefix, "bin/hello"), { env: {}, clearEnv: true })
    .output();
  const out = new TextDecoder().decode(run.stdout);
  console.log(out.trimEnd());
  if (!run.success || !out.includes("RESULT OK")) {
    console.error(new TextDecoder().decode(run.stderr));
    throw new Error("the relocated program did not report RESULT OK");
  }
  console.log("\nThe relocated program runs from its new prefix.");
} finally {
  render.done();
  await Deno.remove(work, { recursive: true });
}
