/**
 * Installing a DAG of many specs several at a time: every spec once, prefixes moved into place and
 * recorded only after their dependencies, and a failure in one spec leaving the rest consistent.
 * The DAG is a synthetic install tree of small specs with shared dependencies (real ELF
 * libraries, text files and symlinks mentioning the prefixes), pushed by Spackle to a filesystem
 * build cache.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createSyntheticDag } from "../../bench/_synthetic_store.ts";
import { blobKey } from "../../lib/buildcache/layout.ts";
import type { SpecEvent } from "../../lib/events.ts";
import { InstallError, UsageError } from "../../lib/errors.ts";
import { installSpecs } from "../../lib/install/install.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { pushSpecs } from "../../lib/push/push.ts";
import { type ConcreteSpec, edgesOf, shortSpec } from "../../lib/spec/spec.ts";
import { openStore, readDatabase, relativePrefix } from "../../lib/store/mod.ts";
import { exists } from "../../lib/stream/io.ts";
import { SPACK12 } from "../_support/fixtures.ts";
import { withTempDir } from "../_support/temp.ts";

const SPECS = 16;

/** A filesystem build cache of a synthetic DAG of `SPECS` specs; returns it and its root spec. */
async function dagCache(dir: string): Promise<{ cache: string; top: ConcreteSpec }> {
  const synthetic = await createSyntheticDag(join(dir, "store"), { specs: SPECS, kbPerSpec: 100 });
  const store = await openStore(synthetic.dir);
  const cache = join(dir, "cache");
  await pushSpecs(await openMirror(cache), store, store.specs);
  const top = synthetic.specs[SPECS - 1].spec;
  assert.equal(top.nodes.size, SPECS, "the root's closure is the whole DAG");
  return { cache, top };
}

/** Link/run dependencies of `hash` in `top`'s DAG. */
function dependenciesOf(top: ConcreteSpec, hash: string): string[] {
  return edgesOf(top.nodes.get(hash)!, ["link", "run"]).map((e) => e.hash);
}

/** Names below `root` of staging or partial directories left by an install. */
async function leftovers(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (/\.spackle-|\.partial-/.test(e.name)) found.push(join(dir, e.name));
      else if (e.isDirectory && !/[a-z2-7]{32}$/.test(e.name)) await walk(join(dir, e.name));
    }
  };
  await walk(root);
  return found;
}

Deno.test("a concurrent install of a DAG with shared dependencies installs each spec once, dependencies first", async () => {
  await withTempDir(async (dir) => {
    const { cache, top } = await dagCache(dir);
    const root = join(dir, "sw");
    const events: SpecEvent[] = [];
    const result = await installSpecs(await openMirror(cache), [top], {
      root,
      checkSignature: false,
      jobs: 4,
      onProgress: (e) => e.kind === "spec" && events.push(e),
    });

    assert.equal(result.installed.size, SPECS);
    for (const [hash, prefix] of result.installed) {
      assert.equal(prefix, join(root, relativePrefix(top.nodes.get(hash)!)));
      assert.ok(await exists(join(prefix, ".spack", "spec.json")), `${prefix} is in place`);
    }
    // Placed in dependency order: each spec after every one of its dependencies.
    const placed = [...result.installed.keys()];
    for (const [at, hash] of placed.entries()) {
      for (const dep of dependenciesOf(top, hash)) {
        assert.ok(placed.indexOf(dep) < at, `${dep} placed before its dependent ${hash}`);
      }
    }
    // One start and one done per spec; indices count 1 … total in the order specs start.
    const starts = events.filter((e) => e.state === "start");
    assert.deepEqual(starts.map((e) => e.index), Array.from({ length: SPECS }, (_, i) => i + 1));
    for (const done of events.filter((e) => e.state === "done")) {
      assert.equal(done.index, starts.find((e) => e.spec === done.spec)!.index);
    }
    assert.ok(events.every((e) => e.total === SPECS));
    assert.equal(new Set(starts.map((e) => e.spec)).size, SPECS);
    assert.equal(events.filter((e) => e.state === "done").length, SPECS);

    // The database holds every spec, installed at its prefix, records after their dependencies.
    const db = await readDatabase(root);
    const order = [...db.installs.keys()];
    assert.deepEqual(new Set(order), new Set(top.nodes.keys()));
    for (const [at, hash] of order.entries()) {
      const record = db.installs.get(hash)!;
      assert.equal(record.installed, true);
      assert.equal(record.path, result.installed.get(hash));
      assert.equal(record.explicit, hash === top.node.hash);
      for (const dep of dependenciesOf(top, hash)) {
        assert.ok(order.indexOf(dep) < at, `record of ${dep} before its dependent's`);
      }
    }
    assert.deepEqual(await leftovers(root), []);

    // Again with one job: everything is already there.
    const again = await installSpecs(await openMirror(cache), [top], {
      root,
      checkSignature: false,
      jobs: 1,
    });
    assert.equal(again.installed.size, 0);
    assert.equal(again.skipped.size, SPECS);
  });
});

Deno.test("a corrupt tarball in the middle of a concurrent install fails that spec alone; the rest stays consistent", async () => {
  await withTempDir(async (dir) => {
    const { cache, top } = await dagCache(dir);
    const mirror = await openMirror(cache);
    // A spec in the middle of the DAG with dependents: its blob gets a flipped byte halfway.
    const victim = [...top.nodes.values()].find((n, at) =>
      at >= SPECS / 3 &&
      [...top.nodes.values()].some((d) => dependenciesOf(top, d.hash).includes(n.hash))
    )!;
    const entry = (await mirror.getEntry(await specOf(mirror, victim.hash)))!;
    const [algorithm, hex] = entry.tarball.digest.split(":");
    const blob = join(cache, blobKey(algorithm, hex));
    const bytes = await Deno.readFile(blob);
    bytes[bytes.length >> 1] ^= 0xff;
    await Deno.writeFile(blob, bytes);

    const root = join(dir, "sw");
    const failed: SpecEvent[] = [];
    await assert.rejects(
      installSpecs(mirror, [top], {
        root,
        checkSignature: false,
        jobs: 4,
        onProgress: (e) => e.kind === "spec" && e.state === "failed" && failed.push(e),
      }),
      (e) => {
        assert.ok(e instanceof InstallError, String(e));
        assert.equal(e.spec, shortSpec(victim));
        return true;
      },
    );

    // The victim's failure is reported; a dependent that was running says which dependency.
    assert.equal(failed[0].spec, shortSpec(victim));
    for (const e of failed.slice(1)) {
      assert.match(e.error!.message, /its dependency .* was not installed/);
    }
    assert.deepEqual(await leftovers(root), []);
    const db = await readDatabase(root);
    for (const node of top.nodes.values()) {
      const prefix = join(root, relativePrefix(node));
      const placed = await exists(prefix);
      const record = db.installs.get(node.hash);
      // A prefix in place is recorded as installed, and its dependencies are in place too.
      assert.equal(record?.installed ?? false, placed, `record of ${node.name} matches the disk`);
      if (placed) {
        assert.equal(record!.path, prefix);
        for (const dep of dependenciesOf(top, node.hash)) {
          assert.ok(await exists(join(root, relativePrefix(top.nodes.get(dep)!))));
        }
      }
    }
    assert.equal(await exists(join(root, relativePrefix(victim))), false);
    assert.equal(await exists(join(root, relativePrefix(top.node))), false);
  });
});

/** The cache's concrete spec of DAG hash `hash`. */
async function specOf(
  mirror: Awaited<ReturnType<typeof openMirror>>,
  hash: string,
): Promise<ConcreteSpec> {
  return (await mirror.listSpecs()).find((s) => s.node.hash === hash)!;
}

Deno.test("jobs and threads that are not whole numbers in range are refused before anything is written", async () => {
  await withTempDir(async (dir) => {
    const mirror = await openMirror(join(SPACK12, "fs-unsigned"));
    const specs = await mirror.listSpecs();
    const root = join(dir, "sw");
    for (const bad of [{ jobs: 0 }, { jobs: 1.5 }, { jobs: NaN }, { threads: -1 }]) {
      await assert.rejects(
        installSpecs(mirror, specs, { root, checkSignature: false, ...bad }),
        UsageError,
        JSON.stringify(bad),
      );
    }
    assert.equal(await exists(root), false);
  });
});
