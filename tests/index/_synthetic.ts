/**
 * Synthetic build caches for index tests and the index bench: many small concrete specs (real
 * DAG hashes) whose DAGs share dependencies the way a real cache does, pushed with tiny tarballs.
 */
import { join } from "node:path";
import { forEachConcurrently } from "../../lib/concurrency.ts";
import type { PushedTarball } from "../../lib/mirror/types.ts";
import type { Mirror } from "../../lib/mirror/types.ts";
import type { ConcreteSpec, DepType } from "../../lib/spec/spec.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { gzipBytes } from "../../lib/stream/gzip.ts";
import { seededRandom } from "../_support/random.ts";
import { makeSpec } from "../store/_specs.ts";

const EDGE_TYPES: DepType[][] = [["build", "link"], ["link", "run"], ["build"], ["link"]];

/**
 * `count` specs named `<prefix>-<i>` in nine tiers (`i % 9`): a spec of tier `t` depends on two
 * to five specs of lower tiers among the 200 made before it, so DAGs share dependencies and,
 * from a few thousand specs on, closures average about 27 nodes as in a real stack, whatever
 * `count`. Dependencies come first.
 */
export function syntheticSpecs(count: number, seed = 1, prefix = "pkg"): ConcreteSpec[] {
  const random = seededRandom(seed);
  const specs: ConcreteSpec[] = [];
  for (let i = 0; i < count; i++) {
    const tier = i % 9;
    const lower = specs.slice(Math.max(0, i - 200)).filter((_, k, window) =>
      (i - window.length + k) % 9 < tier
    );
    const deps = new Map<string, ConcreteSpec>();
    const want = lower.length ? 2 + Math.floor(random() * 4) : 0;
    for (let d = 0; d < want; d++) {
      const dep = lower[Math.floor(random() * lower.length)];
      deps.set(dep.node.hash, dep);
    }
    specs.push(makeSpec(
      `${prefix}-${i}`,
      `1.${i % 7}.${seed}`,
      [...deps.values()].map((spec, k) => ({ spec, types: EDGE_TYPES[(i + k) % 4] })),
    ));
  }
  return specs;
}

/** A tiny gzip file standing in for the package tarball of `spec`, in `dir`. */
export async function tinyTarball(spec: ConcreteSpec, dir: string): Promise<PushedTarball> {
  const bytes = gzipBytes(`tarball of ${spec.node.hash}`);
  const path = join(dir, `${spec.node.hash}.tar.gz`);
  await Deno.writeFile(path, bytes);
  return {
    path,
    sha256: sha256Hex(bytes),
    size: bytes.byteLength,
    diffId: sha256Hex(spec.node.hash),
  };
}

/** Pushes `specs` to `mirror` with tiny tarballs (no index update), `jobs` at a time. */
export async function pushSynthetic(
  mirror: Mirror,
  specs: readonly ConcreteSpec[],
  jobs = 8,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spackle-synthetic-" });
  try {
    await forEachConcurrently(specs.length, jobs, async (i) => {
      await mirror.pushSpec(specs[i], await tinyTarball(specs[i], dir));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
