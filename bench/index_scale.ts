/**
 * How cache commands scale with the number of specs in a build cache. For each size, builds a
 * synthetic directory cache (specs in tiers sharing dependencies, mean closure near 27 nodes,
 * tiny tarballs; see tests/index/_synthetic.ts), then runs the CLI as a process and reports
 * wall time and peak RSS (`/usr/bin/time -v`) of:
 *
 * - `update-index` on a cache without an index (every manifest and spec blob read),
 * - `list` (from the index),
 * - `update-index` after 1 and after 100 more specs were pushed,
 * - `push --update-index` of one spec of the sample store.
 *
 *     deno run -A bench/index_scale.ts [--sizes 300,3000] [--huge] [--cli path/to/cli.ts]
 *
 * `--huge` adds 30,000 specs (building that cache takes several minutes). `--cli` measures
 * another checkout's CLI against the same caches (e.g. the code before a change).
 *
 * `--oci N` instead pushes N synthetic specs to a local registry (Debian's docker-registry,
 * through a request-counting proxy) as `push -j 2 --update-index` does (existence check, then
 * push, two specs at a time, dependencies first), in this process, and prints the registry
 * requests made and the time taken.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { forEachConcurrently } from "../lib/concurrency.ts";
import { OciMirror } from "../lib/mirror/oci.ts";
import { UrlMirror } from "../lib/mirror/url.ts";
import { FsStore } from "../lib/storage/fs.ts";
import { startFaultProxy, startRegistry } from "../tests/_support/registry.ts";
import { pushSynthetic, syntheticSpecs, tinyTarball } from "../tests/index/_synthetic.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "300,3000" },
    huge: { type: "boolean", default: false },
    cli: { type: "string", default: fileURLToPath(new URL("../cli.ts", import.meta.url)) },
    oci: { type: "string" },
  },
});
const SAMPLE_STORE = fileURLToPath(new URL("../examples/sample-store/data", import.meta.url));
const sizes = values.sizes.split(",").map(Number).concat(values.huge ? [30_000] : []);

/** Wall seconds and peak RSS (MB) of `spackle ARGS…` run as a process. */
async function measure(args: string[]): Promise<{ seconds: number; mb: number }> {
  const started = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-v", Deno.execPath(), "run", "-A", values.cli, ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`spackle ${args.join(" ")} failed:\n${stderr.slice(-2000)}`);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]);
  return { seconds, mb: kb / 1024 };
}

function row(size: number, step: string, m: { seconds: number; mb: number }): void {
  console.log(
    `${String(size).padStart(6)}  ${step.padEnd(28)} ${m.seconds.toFixed(2).padStart(8)} s ` +
      `${m.mb.toFixed(0).padStart(6)} MB`,
  );
}

/** Pushes `count` synthetic specs to a fresh registry; prints requests and seconds. */
async function registryPush(count: number): Promise<void> {
  const registry = await startRegistry();
  const proxy = startFaultProxy(registry.url);
  const dir = await Deno.makeTempDir({ prefix: "spackle-index-scale-" });
  try {
    const mirror = new OciMirror(`oci+http://${proxy.host}/bench/cache`, {
      registry: { concurrency: 2 },
    });
    const specs = syntheticSpecs(count, 1);
    const done = new Map<string, Promise<void>>();
    const started = performance.now();
    await forEachConcurrently(specs.length, 2, async (i) => {
      const spec = specs[i];
      const finished = Promise.withResolvers<void>();
      done.set(spec.node.hash, finished.promise);
      try {
        if (await mirror.hasSpec(spec.node)) return;
        const tarball = await tinyTarball(spec, dir);
        await Promise.all(
          [...spec.nodes.keys()].map((h) => h === spec.node.hash ? undefined : done.get(h)),
        );
        await mirror.pushSpec(spec, tarball);
      } finally {
        finished.resolve();
      }
    });
    await mirror.updateIndex();
    const seconds = (performance.now() - started) / 1000;
    const kinds = Map.groupBy(proxy.requests, (r) => {
      const [, what, ref] = /^\/v2\/(?:bench\/cache\/)?([^/?]*)\/?([^/?]*)/.exec(r.path) ?? [];
      return `${r.method} ${what}${what === "blobs" && ref === "uploads" ? "/uploads" : ""}`;
    });
    for (const [kind, requests] of kinds) console.log(`  ${kind}: ${requests.length}`);
    console.log(
      `${count} specs pushed to a registry: ${proxy.requests.length} requests, ${
        seconds.toFixed(1)
      } s`,
    );
  } finally {
    await proxy.stop();
    await registry.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

if (values.oci !== undefined) {
  await registryPush(Number(values.oci));
  Deno.exit(0);
}

console.log(`CLI: ${values.cli}`);
console.log(
  `${"specs".padStart(6)}  ${"step".padEnd(28)} ${"time".padStart(10)} ${"peak RSS".padStart(9)}`,
);
for (const size of sizes) {
  const dir = await Deno.makeTempDir({ prefix: "spackle-index-scale-" });
  try {
    const cache = join(dir, "cache");
    const mirror = new UrlMirror(new FsStore(cache));
    // One sequence, so the specs added later share dependencies with the cache's.
    const specs = syntheticSpecs(size + 101, 1);
    await pushSynthetic(mirror, specs.slice(0, size));
    row(size, "update-index (no index)", await measure(["update-index", cache]));
    row(size, "list", await measure(["list", cache]));
    await pushSynthetic(mirror, specs.slice(size, size + 1));
    row(size, "update-index (+1 spec)", await measure(["update-index", cache]));
    await pushSynthetic(mirror, specs.slice(size + 1));
    row(size, "update-index (+100 specs)", await measure(["update-index", cache]));
    row(
      size,
      "push --update-index (1 spec)",
      await measure([
        "push",
        cache,
        "sample-libgreet",
        "--store",
        SAMPLE_STORE,
        "--update-index",
        "-u",
      ]),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
