import assert from "node:assert/strict";
import { join } from "node:path";
import { FormatError, NotFoundError, UsageError } from "../../lib/errors.ts";
import { shortSpec, type SpecNode } from "../../lib/spec/spec.ts";
import { addInstalled } from "../../lib/store/database.ts";
import { paddedRoot, relativePrefix } from "../../lib/store/projection.ts";
import { openStore } from "../../lib/store/store.ts";
import { installPrefix, makeSpec } from "./_specs.ts";
import { withTempDir } from "../_support/temp.ts";

const SAMPLE = new URL("../../examples/sample-store/", import.meta.url).pathname;

/** An app with a library and an external libc, installed under `root`; returns the specs. */
async function populate(root: string, prefixOf?: (node: SpecNode) => string) {
  const glibc = makeSpec("glibc", "2.36", [], { external: "/usr" });
  const lib = makeSpec("libz", "1.3", [{ spec: glibc, types: ["link"], virtuals: ["libc"] }]);
  const tool = makeSpec("cmake", "3.30");
  const app = makeSpec("app", "2.0", [
    { spec: tool, types: ["build"] },
    { spec: lib, types: ["build", "link", "run"] },
  ]);
  const prefix = (n: SpecNode) => prefixOf?.(n) ?? join(root, relativePrefix(n));
  for (const s of [lib, app]) await installPrefix(prefix(s.node), s);
  await addInstalled(root, [app], new Set([app.node.hash]), { prefix });
  return { glibc, lib, tool, app };
}

Deno.test("openStore reads the committed sample store and finds its recorded root", async () => {
  const meta = JSON.parse(await Deno.readTextFile(join(SAMPLE, "store.json")));
  const data = join(SAMPLE, "data");
  for (const dir of [data, join(data, meta.database, "..", "..")]) {
    const store = await openStore(dir);
    assert.equal(store.root, meta.root);
    assert.equal(store.unpaddedRoot, meta.unpaddedRoot);
    assert.equal(store.sbangPath, `${meta.unpaddedRoot}/${meta.sbang}`);
    assert.equal(store.dir, join(data, meta.database, "..", ".."));
    assert.deepEqual(
      store.specs.map((s) => [s.spec.node.name, s.prefix, s.dir]).sort(),
      meta.specs.map((s: { name: string; prefix: string; dir: string }) => [
        s.name,
        s.prefix,
        join(data, s.dir),
      ]).sort(),
    );
    const hello = store.resolve("sample-hello");
    assert.equal(hello.record.explicit, true);
    assert.ok(hello.spec.nodes.size === 3, "hello's DAG has libgreet and the external glibc");
  }
});

Deno.test("a store moved elsewhere keeps its recorded root; options.root overrides", async () => {
  await withTempDir(async (tmp) => {
    const root = paddedRoot(join(tmp, "old", "store"), 160);
    const { glibc, lib, app, tool } = await populate(root);
    await Deno.rename(join(tmp, "old"), join(tmp, "new"));
    const moved = join(tmp, "new", "store");

    const store = await openStore(moved); // the unpadded directory: padding is followed down
    assert.equal(store.root, root);
    assert.equal(store.unpaddedRoot, join(tmp, "old", "store"));
    assert.equal(store.dir, paddedRoot(moved, 160));
    assert.deepEqual(store.specs.map((s) => s.spec.node.name), ["libz", "app"]);
    const a = store.get(app.node.hash)!;
    assert.equal(a.prefix, join(root, relativePrefix(app.node)));
    assert.equal(a.dir, join(store.dir, relativePrefix(app.node)));
    assert.equal(await Deno.readTextFile(join(a.dir, "share", "prefix.txt")), `${a.prefix}\n`);
    assert.equal(store.get(tool.node.hash), undefined, "a missing build dependency is not listed");
    assert.equal(store.get(lib.node.hash)!.record.explicit, false);
    assert.equal(store.prefixOf(app.node), a.prefix);
    assert.equal(store.prefixOf(tool.node), join(root, relativePrefix(tool.node))); // not installed
    assert.equal(store.prefixOf(glibc.node), "/usr");

    const given = await openStore(store.dir, { root });
    assert.deepEqual(given.specs.map((s) => s.dir), store.specs.map((s) => s.dir));
    await assert.rejects(() => openStore(store.dir, { root: "/elsewhere" }), UsageError);
  });
});

Deno.test("a moved store with another projection is found from the prefixes on disk", async () => {
  await withTempDir(async (tmp) => {
    const root = join(tmp, "old");
    const { app } = await populate(root, (n) => join(root, "custom", n.name, n.hash));
    await Deno.rename(root, join(tmp, "new"));
    const store = await openStore(join(tmp, "new"));
    assert.equal(store.root, root);
    assert.equal(store.resolve("app").dir, join(tmp, "new", "custom", "app", app.node.hash));
  });
});

Deno.test("resolve: name, name@version, /hash; ambiguity lists the candidates", async () => {
  await withTempDir(async (root) => {
    const specs = ["1.0", "1.1", "1.10"].map((v) => makeSpec("pkg", v));
    specs.push(makeSpec("other", "2.0"));
    // Add tools until two share their first hash character, so "/x" is ambiguous.
    const firstChars = new Map<string, number>();
    const count = (h: string) => firstChars.set(h[0], (firstChars.get(h[0]) ?? 0) + 1);
    specs.forEach((s) => count(s.node.hash));
    for (let i = 0; ![...firstChars.values()].some((n) => n > 1); i++) {
      specs.push(makeSpec("tool", `0.${i}`));
      count(specs.at(-1)!.node.hash);
    }
    for (const s of specs) await installPrefix(join(root, relativePrefix(s.node)), s);
    await addInstalled(root, specs, new Set(specs.map((s) => s.node.hash)));
    const store = await openStore(root);
    const version = (sel: string) => store.resolve(sel).spec.node.version;

    assert.equal(version("pkg@1.1"), "1.1");
    assert.equal(version("pkg@=1.0"), "1.0");
    assert.equal(version("other"), "2.0");
    assert.equal(version(`/${specs[2].node.hash.slice(0, 8)}`), "1.10");
    assert.equal(store.resolve("other").node, store.resolve("other").spec.node);

    assert.throws(() => store.resolve("pkg"), (e) => {
      assert.ok(e instanceof UsageError);
      for (const s of specs.slice(0, 3)) {
        assert.ok(e.message.includes(shortSpec(s.node)), e.message);
      }
      return true;
    });
    const shared = [...firstChars].find(([, n]) => n > 1)![0];
    assert.throws(() => store.resolve(`/${shared}`), UsageError);
    assert.throws(() => store.resolve("nope"), NotFoundError);
    assert.throws(() => store.resolve("pkg@9"), NotFoundError);
  });
});

Deno.test("openStore: missing database, and a prefix whose spec.json names another spec", async () => {
  await withTempDir(async (tmp) => {
    await assert.rejects(() => openStore(join(tmp, "absent")), NotFoundError);
    await assert.rejects(() => openStore(tmp), NotFoundError);
    const { lib, app } = await populate(tmp);
    await Deno.copyFile(
      join(tmp, relativePrefix(lib.node), ".spack", "spec.json"),
      join(tmp, relativePrefix(app.node), ".spack", "spec.json"),
    );
    await assert.rejects(() => openStore(tmp), FormatError);
  });
});
