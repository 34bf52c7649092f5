/**
 * Stage-by-stage timings of push and install, to tell which stage dominates: each pipeline is
 * run alone or cumulatively over the same data, with Spackle's own building blocks, once.
 *
 * Push (per spec prefix): walk + read + tar framing; the push-time file classifier alone;
 * SHA-256 of the tar; gzip -6 (`node:zlib`) of the tar; and the whole `createSpecTarball`.
 * Install (per cached spec): fetch + verify; + gunzip; + untar and write; relocation alone.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parseBuildInfo } from "../lib/buildcache/buildinfo.ts";
import { buildPrefixMap } from "../lib/install/prefix_map.ts";
import { relocatePrefix } from "../lib/install/relocate_prefix.ts";
import type { CacheEntry, Mirror } from "../lib/mirror/types.ts";
import { createSpecTarball } from "../lib/push/tarball.ts";
import { createFileClassifier, isSpackMetadataPath } from "../lib/relocate/classify.ts";
import { type SpecNode, specsToRelocate } from "../lib/spec/spec.ts";
import { gunzipStream, gzipStream } from "../lib/stream/gzip.ts";
import { type InstalledSpec, relativePrefix, type Store } from "../lib/store/mod.ts";
import { createTarStream, extractPackageTarball, walkPrefix } from "../lib/tar/mod.ts";
import { timeInProcess, type Timing } from "./_measure.ts";

/** One timed stage: a label and its timing summed over the specs. */
export interface StageTiming {
  /** What ran, e.g. `gzip -6 of the tar (node:zlib)`. */
  stage: string;
  /** Summed over the specs. */
  timing: Timing;
}

/** A sink that drops what it is given. */
function discard(): WritableStream<Uint8Array> {
  return new WritableStream();
}

/** Sums the timings of `fn` over `items`. */
async function summed<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<Timing> {
  const total = { wall: 0, cpu: 0 };
  for (const item of items) {
    const t = await timeInProcess(() => fn(item));
    total.wall += t.wall;
    total.cpu += t.cpu;
  }
  return total;
}

/**
 * Times the stages of pushing every spec of `store`; `work` is an empty scratch directory.
 */
export async function pushStages(store: Store, work: string): Promise<StageTiming[]> {
  const specs = store.specs;
  const tarOf = (s: InstalledSpec) => join(work, `${s.spec.node.hash}.tar`);
  const tar = (s: InstalledSpec) =>
    createTarStream(walkPrefix(s.dir, { memberPrefix: s.prefix.replace(/^\/+/, "") }));

  const stages: StageTiming[] = [];
  stages.push({
    stage: "walk + read + tar framing",
    timing: await summed(specs, (s) => tar(s).pipeTo(discard())),
  });
  stages.push({ stage: "file classifier alone (CPU)", timing: await classifyTime(store) });
  // The uncompressed tars, written untimed, feed the hash and gzip stages.
  for (const s of specs) await tar(s).pipeTo((await Deno.create(tarOf(s))).writable);
  stages.push({
    stage: "sha256 of the tar (node:crypto)",
    timing: await summed(specs, async (s) => {
      const hash = createHash("sha256");
      for await (const chunk of (await Deno.open(tarOf(s))).readable) hash.update(chunk);
      hash.digest();
    }),
  });
  stages.push({
    stage: "gzip -6 of the tar (node:zlib)",
    timing: await summed(specs, async (s) => {
      await (await Deno.open(tarOf(s))).readable.pipeThrough(gzipStream()).pipeTo(discard());
    }),
  });
  stages.push({
    stage: "createSpecTarball (all of it)",
    timing: await summed(specs, (s) =>
      createSpecTarball(
        s.dir,
        s.prefix,
        {
          sbang_install_path: store.sbangPath,
          buildpath: store.root,
          spackprefix: store.unpaddedRoot,
          relative_prefix: relativePrefix(s.node),
          hardlinks_deduped: true,
          hash_to_prefix: Object.fromEntries(
            specsToRelocate(s.spec).map((n) => [n.hash, store.prefixOf(n)]),
          ),
        },
        join(work, `${s.spec.node.hash}.tar.gz`),
      )),
  });
  return stages;
}

/** CPU time of the push-time classifier over every file, excluding reading the files. */
async function classifyTime(store: Store): Promise<Timing> {
  let seconds = 0;
  for (const s of store.specs) {
    const prefixes = [
      ...specsToRelocate(s.spec).map((n) => store.prefixOf(n)),
      store.sbangPath,
      store.root,
    ];
    for await (const entry of walkPrefix(s.dir, { memberPrefix: s.prefix.slice(1) })) {
      if (entry.type !== "file" || !entry.sourcePath || isSpackMetadataPath(entry.relativePath)) {
        continue;
      }
      const bytes = await Deno.readFile(entry.sourcePath);
      const started = performance.now();
      const classifier = createFileClassifier(prefixes);
      // Push feeds the classifier the file's read chunks; 256 KiB is their size.
      for (let at = 0; at < bytes.length; at += 256 * 1024) {
        classifier.update(bytes.subarray(at, at + 256 * 1024));
      }
      classifier.finish();
      seconds += (performance.now() - started) / 1000;
    }
  }
  return { wall: seconds, cpu: seconds };
}

/**
 * Times the stages of installing every spec of `mirror` below `work` (an empty scratch
 * directory), with the install root `root` for relocation.
 */
export async function installStages(
  mirror: Mirror,
  root: string,
  work: string,
): Promise<StageTiming[]> {
  const entries: CacheEntry[] = [];
  for (const spec of await mirror.listSpecs()) entries.push((await mirror.getEntry(spec))!);
  const fetched = (e: CacheEntry) => mirror.openTarball(e);
  const layout = {
    storeRoot: root,
    unpaddedRoot: root,
    prefixOf: (n: SpecNode) => `${root}/${relativePrefix(n)}`,
  };
  const extracted: { dir: string; text: string; entry: CacheEntry }[] = [];
  const stages: StageTiming[] = [];
  stages.push({
    stage: "fetch + sha256 verify",
    timing: await summed(entries, async (e) => (await fetched(e)).pipeTo(discard())),
  });
  stages.push({
    stage: "fetch + verify + gunzip",
    timing: await summed(entries, async (e) => {
      await (await fetched(e)).pipeThrough(gunzipStream()).pipeTo(discard());
    }),
  });
  stages.push({
    stage: "fetch + verify + gunzip + untar/write",
    timing: await summed(entries, async (e) => {
      const dir = join(work, e.spec.node.hash);
      const tar = (await fetched(e)).pipeThrough(gunzipStream());
      const { buildinfo } = await extractPackageTarball(tar, dir, { source: e.source });
      extracted.push({ dir, text: buildinfo, entry: e });
    }),
  });
  stages.push({
    stage: "relocatePrefix alone",
    timing: await summed(extracted, async ({ dir, text, entry }) => {
      const info = parseBuildInfo(text, entry.source);
      await relocatePrefix(dir, info, buildPrefixMap(info, entry.spec, layout), entry.source);
    }),
  });
  return stages;
}
