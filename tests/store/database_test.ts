import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { FormatError, NotFoundError } from "../../lib/errors.ts";
import { specFromNodes, type SpecNode } from "../../lib/spec/spec.ts";
import {
  addInstalled,
  type InstallDatabase,
  mergeSpecs,
  parseDatabase,
  readDatabase,
  serializeDatabase,
  writeDatabase,
} from "../../lib/store/database.ts";
import { relativePrefix } from "../../lib/store/projection.ts";
import { TESTDATA } from "../_support/fixtures.ts";
import { installPrefix, makeSpec } from "./_specs.ts";
import { withTempDir } from "../_support/temp.ts";

const FIXTURE = gunzipSync(
  await Deno.readFile(
    join(TESTDATA, "lib/spack/spack/test/data/database/index.json.v7_v8.json.gz"),
  ),
).toString("utf8");

Deno.test("DB v8 fixture: parse and serialise give back the same bytes", () => {
  const db = parseDatabase(FIXTURE, "fixture");
  assert.equal(db.version, "8");
  assert.equal(db.installs.size, 8);
  const hdf5 = db.installs.get("v2fykvuwiwiiod2wttuwofqs6o4kn75l")!;
  assert.equal(hdf5.spec.name, "hdf5");
  assert.equal(hdf5.explicit, true);
  assert.equal(hdf5.installed, true);
  assert.ok(hdf5.path?.endsWith("hdf5-1.14.5-v2fykvuwiwiiod2wttuwofqs6o4kn75l"));
  assert.equal(db.installs.get("e2vda2iku2yhxf2lh77hk7fki7bl3v4h")!.path, "/usr"); // external
  assert.equal(serializeDatabase(db), FIXTURE);
});

Deno.test("DB v7 and v6 (the fixture's nodes in spec format 4 and 3) are upgraded as Spack does", () => {
  const doc = JSON.parse(FIXTURE);
  // Undo what Spack did when it upgraded this v7 file: the compiler annotation goes back to a
  // node-level `compiler` after `arch`; format 3 also loses the edge `parameters`.
  const downgrade = (node: Record<string, unknown>, format: number) => {
    const { annotations, ...rest } = node as { annotations: { compiler: string } };
    const [name, version] = annotations.compiler.split("@=");
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rest)) {
      out[k] = k === "dependencies" && format === 3
        ? (v as { name: string; hash: string; parameters: { deptypes: string[] } }[]).map((e) => ({
          name: e.name,
          hash: e.hash,
          type: e.parameters.deptypes,
        }))
        : v;
      if (k === "arch") out.compiler = { name, version };
    }
    return out;
  };
  for (const [version, format] of [["7", 4], ["6", 3]] as const) {
    const old = structuredClone(doc);
    old.database.version = version;
    for (const rec of Object.values(old.database.installs) as { spec: Record<string, unknown> }[]) {
      rec.spec = downgrade(rec.spec, format);
    }
    const db = parseDatabase(JSON.stringify(old), `v${version}`);
    assert.equal(db.version, version);
    // What Spack writes back: the original format in the annotation; format 3 had no virtuals.
    const expected = structuredClone(doc);
    for (const rec of Object.values(expected.database.installs) as { spec: SpecNode }[]) {
      (rec.spec.annotations as Record<string, unknown>).original_specfile_version = format;
      if (format === 3) { for (const e of rec.spec.dependencies ?? []) e.parameters.virtuals = []; }
    }
    assert.equal(serializeDatabase(db), JSON.stringify(expected));
  }
});

Deno.test("parseDatabase rejects other versions and malformed documents", () => {
  assert.throws(() => parseDatabase("{", "x"), FormatError);
  assert.throws(
    () => parseDatabase('{"database":{"version":"5","installs":{}}}', "x"),
    FormatError,
  );
  assert.throws(
    () => parseDatabase('{"database":{"version":"9","installs":{}}}', "x"),
    FormatError,
  );
  assert.throws(() => parseDatabase('{"database":{"version":"8"}}', "x"), FormatError);
  assert.throws(
    () => parseDatabase('{"database":{"version":"8","installs":{"h":{"ref_count":0}}}}', "x"),
    FormatError,
  );
});

Deno.test("mergeSpecs counts refs as Spack did in the fixture (every dependent, all edge types)", () => {
  const fixture = parseDatabase(FIXTURE, "fixture");
  const pool = new Map<string, SpecNode>();
  for (const [hash, rec] of fixture.installs) pool.set(hash, rec.spec);
  const roots = [...fixture.installs.values()].filter((r) => r.ref_count === 0);
  const db: InstallDatabase = { version: "8", installs: new Map() };
  mergeSpecs(
    db,
    roots.map((r) => specFromNodes(r.spec.hash, pool)),
    new Set(roots.filter((r) => r.explicit).map((r) => r.spec.hash)),
    (node) => ({ path: fixture.installs.get(node.hash)!.path, installed: true }),
  );
  assert.deepEqual(new Set(db.installs.keys()), new Set(fixture.installs.keys()));
  for (const [hash, rec] of fixture.installs) {
    assert.equal(db.installs.get(hash)!.ref_count, rec.ref_count, rec.spec.name);
    assert.equal(db.installs.get(hash)!.explicit, rec.explicit, rec.spec.name);
  }
  // Every record comes after the records of its dependencies.
  const seen = new Set<string>();
  for (const [hash, rec] of db.installs) {
    for (const e of rec.spec.dependencies ?? []) assert.ok(seen.has(e.hash), `${hash} before dep`);
    seen.add(hash);
  }
});

Deno.test("writeDatabase/readDatabase: atomic write, lock and verifier files, same records", async () => {
  await withTempDir(async (root) => {
    await assert.rejects(() => readDatabase(root), NotFoundError);
    const db = parseDatabase(FIXTURE, "fixture");
    await writeDatabase(root, db);
    const files = [...Deno.readDirSync(join(root, ".spack-db"))].map((e) => e.name).sort();
    assert.deepEqual(files, ["index.json", "index_verifier", "lock"]);
    assert.equal(await Deno.readTextFile(join(root, ".spack-db", "index.json")), FIXTURE);
    const back = await readDatabase(root);
    assert.equal(serializeDatabase(back), FIXTURE);
  });
});

Deno.test("addInstalled records a DAG: externals, missing build deps, explicit, ref_count", async () => {
  await withTempDir(async (root) => {
    const glibc = makeSpec("glibc", "2.36", [], { external: "/usr" });
    const cmake = makeSpec("cmake", "3.30", [{ spec: glibc, types: ["link"], virtuals: ["libc"] }]);
    const lib = makeSpec("libz", "1.3", [
      { spec: cmake, types: ["build"] },
      { spec: glibc, types: ["link"], virtuals: ["libc"] },
    ]);
    const app = makeSpec("app", "2.0", [
      { spec: glibc, types: ["link"], virtuals: ["libc"] },
      { spec: lib, types: ["build", "link", "run"] },
    ]);
    await installPrefix(join(root, relativePrefix(lib.node)), lib);
    await installPrefix(join(root, relativePrefix(app.node)), app);

    const db = await addInstalled(root, [app], new Set([app.node.hash]));
    assert.deepEqual([...db.installs.keys()], [
      glibc.node.hash,
      cmake.node.hash,
      lib.node.hash,
      app.node.hash,
    ]);
    const rec = (s: typeof app) => db.installs.get(s.node.hash)!;
    assert.deepEqual(
      [rec(glibc).path, rec(glibc).installed, rec(glibc).ref_count],
      ["/usr", true, 3],
    );
    assert.deepEqual([rec(cmake).installed, rec(cmake).ref_count], [false, 1]);
    assert.equal(rec(cmake).path, join(root, relativePrefix(cmake.node)));
    assert.deepEqual([rec(lib).installed, rec(lib).explicit, rec(lib).ref_count], [true, false, 1]);
    assert.deepEqual([rec(app).installed, rec(app).explicit, rec(app).ref_count], [true, true, 0]);
    assert.equal(typeof rec(app).installation_time, "number");

    // Adding the library again explicitly marks it explicit and changes no counts.
    const again = await addInstalled(root, [lib, app], new Set([lib.node.hash]));
    assert.equal(again.installs.get(lib.node.hash)!.explicit, true);
    assert.equal(again.installs.get(app.node.hash)!.explicit, true);
    assert.equal(again.installs.get(glibc.node.hash)!.ref_count, 3);
    assert.equal(serializeDatabase(await readDatabase(root)), serializeDatabase(again));
  });
});

Deno.test("addInstalled: parallel calls into one root keep every record", async () => {
  await withTempDir(async (root) => {
    const glibc = makeSpec("glibc", "2.36", [], { external: "/usr" });
    const apps = Array.from(
      { length: 8 },
      (_, i) => makeSpec(`app${i}`, "1.0", [{ spec: glibc, types: ["link"], virtuals: ["libc"] }]),
    );
    for (const app of apps) await installPrefix(join(root, relativePrefix(app.node)), app);
    await Promise.all(apps.map((app) => addInstalled(root, [app], new Set([app.node.hash]))));
    const db = await readDatabase(root);
    for (const app of apps) assert.ok(db.installs.get(app.node.hash)?.installed, app.node.name);
    assert.equal(db.installs.get(glibc.node.hash)!.ref_count, apps.length);
  });
});

Deno.test("addInstalled: two processes adding at once keep every record", async () => {
  await withTempDir(async (root) => {
    const specs = Array.from({ length: 16 }, (_, i) => makeSpec(`tool${i}`, "1.0"));
    for (const s of specs) await installPrefix(join(root, relativePrefix(s.node)), s);
    const specFiles = specs.map((s) => join(root, relativePrefix(s.node), ".spack", "spec.json"));
    const script = `
      import { addInstalled } from ${
      JSON.stringify(new URL("../../lib/store/database.ts", import.meta.url).href)
    };
      import { parseSpecFile } from ${
      JSON.stringify(new URL("../../lib/spec/spec.ts", import.meta.url).href)
    };
      const [root, ...files] = Deno.args;
      for (const f of files) {
        const spec = parseSpecFile(JSON.parse(await Deno.readTextFile(f)), f);
        await addInstalled(root, [spec], new Set([spec.node.hash]));
      }`;
    const run = (files: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--quiet", script, root, ...files],
        stdout: "inherit",
        stderr: "inherit",
      }).output();
    const results = await Promise.all([run(specFiles.slice(0, 8)), run(specFiles.slice(8))]);
    assert.ok(results.every((r) => r.success));
    const db = await readDatabase(root);
    assert.deepEqual(
      new Set(db.installs.keys()),
      new Set(specs.map((s) => s.node.hash)),
    );
  });
});
