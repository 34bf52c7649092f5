/**
 * Rebuilds a Spack install tree from a build cache's tarballs, at a temporary directory but with
 * the prefixes the cache recorded: the "moved store" a push test needs to reproduce Spack's
 * tarballs byte for byte.
 */
import { join } from "node:path";
import { openMirror } from "../../lib/mirror/open.ts";
import { parseBuildInfo } from "../../lib/buildcache/buildinfo.ts";
import { gunzipStream } from "../../lib/stream/gzip.ts";
import { extractPackageTarball } from "../../lib/tar/mod.ts";
import { mergeSpecs, writeDatabase } from "../../lib/store/mod.ts";
import type { InstallDatabase } from "../../lib/store/mod.ts";

/** Extracts every spec of the cache at `cacheDir` into `storeDir` and writes its database. */
export async function storeFromCache(
  cacheDir: string,
  storeDir: string,
): Promise<{ recordedRoot: string }> {
  const mirror = await openMirror(cacheDir);
  const specs = await mirror.listSpecs();
  const prefixes = new Map<string, string>();
  let recordedRoot = "";
  for (const spec of specs) {
    const entry = (await mirror.getEntry(spec))!;
    const staging = join(storeDir, `.staging-${spec.node.hash}`);
    const tar = (await mirror.openTarball(entry)).pipeThrough(gunzipStream());
    const { oldPrefix, buildinfo } = await extractPackageTarball(tar, staging, {
      source: entry.source,
    });
    recordedRoot = parseBuildInfo(buildinfo, entry.source).buildpath!;
    const rel = oldPrefix.slice(recordedRoot.length + 1);
    await Deno.mkdir(join(storeDir, rel, ".."), { recursive: true });
    await Deno.rename(staging, join(storeDir, rel));
    prefixes.set(spec.node.hash, oldPrefix);
  }
  const db: InstallDatabase = { version: "8", installs: new Map() };
  mergeSpecs(
    db,
    specs,
    new Set(specs.map((s) => s.node.hash)),
    (node) =>
      node.external
        ? { path: node.external.path ?? null, installed: true }
        : { path: prefixes.get(node.hash) ?? null, installed: prefixes.has(node.hash) },
  );
  await writeDatabase(storeDir, db);
  return { recordedRoot };
}
