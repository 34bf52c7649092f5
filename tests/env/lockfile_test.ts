import assert from "node:assert/strict";
import { join } from "node:path";
import { allLockedRoots, LockfileError, parseLockfile, readLockfile } from "../../lib/env/mod.ts";
import { openMirror, selectSpecs } from "../../mod.ts";
import { traverse } from "../../lib/spec/mod.ts";
import { HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { withTempDir } from "../_support/temp.ts";

const FIXTURE_LOCK = join(SPACK12, "env/spack.lock");
const DATA = new URL("./data/", import.meta.url).pathname;

Deno.test("the v6 lockfile Spack 1.2 wrote gives harness-hello with its DAG, as the cache has it", async () => {
  const lock = await readLockfile(FIXTURE_LOCK);
  assert.equal(lock.version, 6);
  assert.equal(lock.specfileVersion, 5);
  assert.equal(lock.spackVersion, "1.2.0.dev0");
  assert.deepEqual(lock.roots.map((r) => [r.spec, r.hash]), [["harness-hello", HARNESS.hello]]);
  const [root] = lock.roots;
  assert.deepEqual(
    [...root.concrete.nodes.keys()].sort(),
    [HARNESS.hello, HARNESS.libdep, HARNESS.glibc].sort(),
  );
  // Nodes already in the v5 shape are passed through untouched, byte for byte.
  const doc = JSON.parse(await Deno.readTextFile(FIXTURE_LOCK));
  assert.deepEqual(root.concrete.node, doc.concrete_specs[HARNESS.hello]);
  // The same DAG as the build cache's spec for harness-hello.
  const mirror = await openMirror(join(SPACK12, "fs-unsigned"));
  const [cached] = selectSpecs(await mirror.listSpecs(), ["harness-hello"], "fs-unsigned");
  assert.deepEqual(
    traverse(root.concrete, ["link", "run"]).map((n) => n.hash),
    traverse(cached, ["link", "run"]).map((n) => n.hash),
  );
});

const APP = "appdag" + "a".repeat(26);
const ZLIB = "zlibdag" + "z".repeat(25);
const CMAKE = "cmakedag" + "c".repeat(24);

for (const version of [1, 2, 3, 4, 5]) {
  Deno.test(`a synthetic v${version} lockfile gives the same DAG with v5-shaped edges`, async () => {
    const lock = await readLockfile(join(DATA, `lock-v${version}.json`));
    assert.equal(lock.version, version);
    assert.deepEqual(lock.roots.map((r) => [r.spec, r.hash]), [["app", APP]]);
    const app = lock.roots[0].concrete;
    assert.equal(app.node.name, "app");
    assert.equal(app.node.version, "1.0");
    assert.deepEqual(app.node.dependencies, [
      { name: "cmake", hash: CMAKE, parameters: { deptypes: ["build"], virtuals: [] } },
      { name: "zlib", hash: ZLIB, parameters: { deptypes: ["build", "link"], virtuals: [] } },
    ]);
    assert.deepEqual([...app.nodes.keys()].sort(), [APP, CMAKE, ZLIB].sort());
    assert.equal(app.nodes.get(ZLIB)?.name, "zlib");
    assert.equal(app.nodes.get(ZLIB)?.version, "1.2.13");
    assert.deepEqual(traverse(app, ["link"]).map((n) => n.name), ["app", "zlib"]);
    assert.deepEqual(lock.included, []);
  });
}

Deno.test("include_concrete: included environments' roots follow the environment's own", async () => {
  const fixture = JSON.parse(await Deno.readTextFile(FIXTURE_LOCK));
  const v5 = JSON.parse(await Deno.readTextFile(join(DATA, "lock-v5.json")));
  const doc = {
    ...v5,
    _meta: { ...v5._meta, "lockfile-version": 6 },
    include_concrete: {
      "/envs/harness": { roots: fixture.roots, concrete_specs: fixture.concrete_specs },
    },
  };
  const lock = parseLockfile(doc, "combined.lock");
  assert.deepEqual(lock.roots.map((r) => r.spec), ["app"]);
  assert.equal(lock.included.length, 1);
  assert.equal(lock.included[0].path, "/envs/harness");
  const all = allLockedRoots(lock);
  assert.deepEqual(all.map((r) => [r.spec, r.includedFrom]), [
    ["app", undefined],
    ["harness-hello", "/envs/harness"],
  ]);
  assert.equal(all[1].concrete.nodes.size, 3);
});

Deno.test("malformed lockfiles: typed errors naming the file and the key", async () => {
  const base = JSON.parse(await Deno.readTextFile(join(DATA, "lock-v4.json")));
  const cases: [unknown, RegExp][] = [
    [{ ...base, _meta: { "lockfile-version": 7 } }, /bad\.lock: _meta\.lockfile-version: .*7/],
    [{ ...base, _meta: undefined }, /bad\.lock: _meta: expected an object/],
    [{ ...base, roots: {} }, /bad\.lock: roots: expected a list/],
    [{ ...base, roots: [{ hash: "nope", spec: "app" }] }, /bad\.lock: roots\.0: .*nope/],
    [{ ...base, concrete_specs: [] }, /bad\.lock: concrete_specs: expected an object/],
    [
      {
        ...base,
        concrete_specs: {
          ...base.concrete_specs,
          [ZLIB]: undefined,
          [APP]: base.concrete_specs[APP],
        },
      },
      new RegExp(`bad\\.lock: concrete_specs\\.${APP}\\.dependencies\\.zlib: no concrete spec`),
    ],
    [
      { ...base, concrete_specs: { ...base.concrete_specs, [CMAKE]: { version: "1", x: 1 } } },
      new RegExp(`concrete_specs\\.${CMAKE}: spec node without a name`),
    ],
  ];
  for (const [doc, pattern] of cases) {
    // JSON round trip drops the `undefined` keys, as a file would not have them.
    const parsed = JSON.parse(JSON.stringify(doc));
    assert.throws(() => parseLockfile(parsed, "bad.lock"), (e) => {
      assert.ok(e instanceof LockfileError, String(e));
      assert.match(e.message, pattern);
      return true;
    });
  }
  await withTempDir(async (dir) => {
    const path = join(dir, "spack.lock");
    await Deno.writeTextFile(path, "{not json");
    await assert.rejects(
      readLockfile(path),
      (e) => e instanceof LockfileError && e.message.startsWith(`${path}: invalid JSON`),
    );
  });
});
