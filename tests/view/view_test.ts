/** Views over small real prefixes: merging rules, conflicts, selection, projections, swaps. */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { buildView, specsForView, ViewConflictError, ViewError } from "../../lib/view/mod.ts";
import type { ConcreteSpec, SpecNode } from "../../mod.ts";
import type { DepType } from "../../lib/spec/mod.ts";
import { withTempDir } from "../_support/temp.ts";

type Entry = string | { link: string };

/** A node named `name` (hash derived from name and version) with `deps` edges. */
function node(name: string, version = "1.0", deps: [SpecNode, DepType[]][] = []): SpecNode {
  return {
    name,
    version,
    arch: { platform: "linux", platform_os: "debian12", target: "x86_64" },
    dependencies: deps.map(([d, deptypes]) => ({
      name: d.name,
      hash: d.hash,
      parameters: { deptypes, virtuals: [] },
    })),
    // Unique per name and version, in the DAG hash alphabet: digits become letters.
    hash: `${name}${version}`.replace(/[^a-z]/g, (c) => "abcdefghij"[Number(c)] ?? "x")
      .padEnd(32, "q"),
  };
}

/** The DAG of `root` over all the given nodes. */
function spec(root: SpecNode, ...others: SpecNode[]): ConcreteSpec {
  return { node: root, nodes: new Map([root, ...others].map((n) => [n.hash, n])) };
}

/** Writes a prefix for `n` under `store` with `files` (content or symlink) and a `.spack/`. */
async function prefix(store: string, n: SpecNode, files: Record<string, Entry>) {
  const dir = prefixOf(store)(n);
  const all: Record<string, Entry> = { ".spack/spec.json": `{"name":"${n.name}"}`, ...files };
  for (const [path, entry] of Object.entries(all)) {
    await Deno.mkdir(dirname(join(dir, path)), { recursive: true });
    if (typeof entry === "string") await Deno.writeTextFile(join(dir, path), entry);
    else await Deno.symlink(entry.link, join(dir, path));
  }
}

const prefixOf = (store: string) => (n: SpecNode) => join(store, `${n.name}-${n.hash}`);

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(join(dir, rel))) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        out.push(`${p}/`);
        await walk(p);
      } else out.push(`${p} -> ${await Deno.readLink(join(dir, p))}`);
    }
  };
  await walk("");
  return out.sort();
}

Deno.test("the view merges directories, links files and symlinks, and puts .spack under .spack/<name>", async () => {
  await withTempDir(async (dir) => {
    const store = join(dir, "store");
    const lib = node("lib");
    const app = node("app", "2.0", [[lib, ["build", "link"]]]);
    await prefix(store, lib, {
      "lib/libx.so.1": "elf",
      "lib/libx.so": { link: "libx.so.1" },
      "lib64": { link: "lib" }, // a symlinked directory pointing deeper: merged as a directory
      "share/doc/.spack": "ignored: every entry named .spack is skipped",
    });
    await prefix(store, app, { "bin/app": "#!/bin/sh", "share/doc/app.txt": "doc" });
    const root = join(dir, "view");
    const result = await buildView({ root, specs: [spec(app, lib)], prefixOf: prefixOf(store) });
    const A = prefixOf(store)(app);
    const L = prefixOf(store)(lib);
    assert.deepEqual(await tree(root), [
      ".spack/",
      ".spack/app/",
      `.spack/app/spec.json -> ${A}/.spack/spec.json`,
      ".spack/lib/",
      `.spack/lib/spec.json -> ${L}/.spack/spec.json`,
      "bin/",
      `bin/app -> ${A}/bin/app`,
      "lib/",
      `lib/libx.so -> ${L}/lib/libx.so`,
      `lib/libx.so.1 -> ${L}/lib/libx.so.1`,
      "lib64/",
      `lib64/libx.so -> ${L}/lib64/libx.so`,
      `lib64/libx.so.1 -> ${L}/lib64/libx.so.1`,
      "share/",
      "share/doc/",
      `share/doc/app.txt -> ${A}/share/doc/app.txt`,
    ]);
    assert.equal(result.unchanged, false);
    // The same content again: the view is left alone.
    const again = await buildView({ root, specs: [spec(app, lib)], prefixOf: prefixOf(store) });
    assert.equal(again.unchanged, true);
    assert.equal(again.target, result.target);
  });
});

Deno.test("rebuilding with other specs swaps the symlink and removes the old view directory", async () => {
  await withTempDir(async (dir) => {
    const store = join(dir, "store");
    const a = node("a");
    const b = node("b");
    await prefix(store, a, { "bin/a": "a" });
    await prefix(store, b, { "bin/b": "b" });
    const root = join(dir, "env/.spack-env/view");
    const first = await buildView({ root, specs: [spec(a)], prefixOf: prefixOf(store) });
    assert.equal(await Deno.readLink(root), first.target);
    const second = await buildView({
      root,
      specs: [spec(a), spec(b)],
      prefixOf: prefixOf(store),
    });
    assert.notEqual(second.target, first.target);
    assert.equal(await Deno.readLink(root), second.target);
    assert.equal(second.removed, first.target);
    await assert.rejects(Deno.lstat(first.target), Deno.errors.NotFound);
    assert.deepEqual(
      [...Deno.readDirSync(dirname(root))].map((e) => e.name).sort(),
      ["._view", "view"],
      "no temporary symlink is left",
    );
    assert.deepEqual([...Deno.readDirSync(join(dirname(root), "._view"))].map((e) => e.name), [
      second.target.split("/").pop(),
    ]);
    assert.ok((await Deno.lstat(join(root, "bin/b"))).isSymlink);
  });
});

Deno.test("a file where another package has a directory is a conflict naming both; nothing is changed", async () => {
  await withTempDir(async (dir) => {
    const store = join(dir, "store");
    const a = node("a");
    const b = node("b");
    const c = node("c");
    await prefix(store, a, { "bin/a": "a" });
    await prefix(store, b, { "share/tool": "a file" });
    await prefix(store, c, { "share/tool/data": "a directory" });
    const root = join(dir, "view");
    const first = await buildView({ root, specs: [spec(a)], prefixOf: prefixOf(store) });
    await assert.rejects(
      buildView({ root, specs: [spec(a), spec(b), spec(c)], prefixOf: prefixOf(store) }),
      (e) => {
        assert.ok(e instanceof ViewConflictError, String(e));
        assert.equal(e.path, "share/tool");
        assert.match(e.a.spec, /^b@1\.0\//);
        assert.match(e.b.spec, /^c@1\.0\//);
        assert.match(e.message, /share\/tool.*b@1\.0.*c@1\.0/);
        return true;
      },
    );
    assert.equal(await Deno.readLink(root), first.target, "the old view stays");
    assert.deepEqual([...Deno.readDirSync(join(dir, "._view"))].map((e) => e.name), [
      first.target.split("/").pop(),
    ]);
  });
});

Deno.test("two different files at one path: the first package in view order wins, the clash is reported", async () => {
  await withTempDir(async (dir) => {
    const store = join(dir, "store");
    const dep = node("dep");
    const app = node("app", "1.0", [[dep, ["link"]]]);
    await prefix(store, dep, { "bin/tool": "dep's" });
    await prefix(store, app, { "bin/tool": "app's" });
    const root = join(dir, "view");
    const result = await buildView({ root, specs: [spec(app, dep)], prefixOf: prefixOf(store) });
    assert.equal(await Deno.readTextFile(join(root, "bin/tool")), "app's");
    assert.equal(result.ignoredConflicts.length, 1);
    assert.equal(result.ignoredConflicts[0].path, "bin/tool");
    assert.match(result.ignoredConflicts[0].dropped, /^dep@/);
  });
});

Deno.test("two specs of one package in the same place are refused", async () => {
  await withTempDir(async (dir) => {
    const store = join(dir, "store");
    const z1 = node("zlib", "1.2");
    const z2 = node("zlib", "1.3");
    await prefix(store, z1, { "lib/libz.so": "1.2" });
    await prefix(store, z2, { "lib/libz.so": "1.3" });
    const root = join(dir, "view");
    await assert.rejects(
      buildView({ root, specs: [spec(z1), spec(z2)], prefixOf: prefixOf(store) }),
      (e) =>
        e instanceof ViewConflictError && /same prefix/.test(e.message) &&
        /zlib@1\.2/.test(e.message) && /zlib@1\.3/.test(e.message),
    );
    await assert.rejects(Deno.lstat(root), Deno.errors.NotFound);
    // With a projection per version they coexist.
    await buildView({
      root,
      specs: [spec(z1), spec(z2)],
      prefixOf: prefixOf(store),
      projections: { all: "{name}/{version}" },
    });
    assert.equal(await Deno.readTextFile(join(root, "zlib/1.3/lib/libz.so")), "1.3");
    assert.ok((await Deno.stat(join(root, "zlib/1.2/.spack/zlib/spec.json"))).isFile);
  });
});

Deno.test("link all|run|roots, select and exclude choose the specs; externals and missing prefixes are left out", async () => {
  const ext: SpecNode = {
    ...node("glibc"),
    external: { path: "/usr", module: null, extra_attributes: {} },
  };
  const build = node("cmake");
  const runDep = node("python");
  const linkDep = node("zlib", "1.3", [[ext, ["link"]]]);
  const app = node("app", "1.0", [
    [build, ["build"]],
    [linkDep, ["build", "link"]],
    [runDep, ["run"]],
    [ext, ["link"]],
  ]);
  const s = spec(app, build, runDep, linkDep, ext);
  const names = (sel: Parameters<typeof specsForView>[1]) =>
    specsForView([s], sel).map((n) => n.name);
  assert.deepEqual(names({}), ["app", "zlib", "python"]);
  assert.deepEqual(names({ link: "run" }), ["app", "python"]);
  assert.deepEqual(names({ link: "roots" }), ["app"]);
  assert.deepEqual(names({ select: ["zlib", "app@1.0"] }), ["app", "zlib"]);
  assert.deepEqual(names({ exclude: ["python"] }), ["app", "zlib"]);
  // Of two gcc-runtime versions only the newest is in a view (Spack's duplicate runtimes rule).
  const rt9 = node("gcc-runtime", "9.5.0");
  const rt12 = node("gcc-runtime", "12.2.0");
  const old = node("old", "1.0", [[rt9, ["link"]]]);
  const fresh = node("fresh", "1.0", [[rt12, ["link"]]]);
  assert.deepEqual(
    specsForView([spec(old, rt9), spec(fresh, rt12)]).map((n) => `${n.name}@${n.version}`),
    ["old@1.0", "fresh@1.0", "gcc-runtime@12.2.0"],
  );

  await withTempDir(async (dir) => {
    const store = join(dir, "store");
    await prefix(store, app, { "bin/app": "app" });
    await prefix(store, linkDep, { "lib/libz.so": "z" });
    // python is not installed: skipped and reported, as Spack only links installed specs.
    const result = await buildView({ root: join(dir, "v"), specs: [s], prefixOf: prefixOf(store) });
    assert.deepEqual(result.specs.map((n) => n.name), ["app", "zlib"]);
    assert.deepEqual(result.notInstalled.map((n) => n.name), ["python"]);
  });
});

Deno.test("a non-empty directory where the view goes is refused; an empty one is replaced", async () => {
  await withTempDir(async (dir) => {
    const store = join(dir, "store");
    const a = node("a");
    await prefix(store, a, { "bin/a": "a" });
    const root = join(dir, "view");
    await Deno.mkdir(root);
    await Deno.writeTextFile(join(root, "mine.txt"), "user data");
    await assert.rejects(
      buildView({ root, specs: [spec(a)], prefixOf: prefixOf(store) }),
      (e) => e instanceof ViewError && /non-empty directory/.test(e.message),
    );
    assert.equal(await Deno.readTextFile(join(root, "mine.txt")), "user data");
    await Deno.remove(join(root, "mine.txt"));
    await buildView({ root, specs: [spec(a)], prefixOf: prefixOf(store) });
    assert.ok((await Deno.lstat(root)).isSymlink);
  });
});

Deno.test("hard-link views link the files themselves", async () => {
  await withTempDir(async (dir) => {
    const store = join(dir, "store");
    const a = node("a");
    await prefix(store, a, { "lib/liba.so.1": "elf", "lib/liba.so": { link: "liba.so.1" } });
    const root = join(dir, "view");
    await buildView({ root, specs: [spec(a)], prefixOf: prefixOf(store), linkType: "hardlink" });
    const real = await Deno.stat(join(prefixOf(store)(a), "lib/liba.so.1"));
    for (const f of ["lib/liba.so.1", "lib/liba.so"]) {
      const info = await Deno.lstat(join(root, f));
      assert.ok(info.isFile, f);
      assert.equal(info.ino, real.ino, f);
    }
  });
});
