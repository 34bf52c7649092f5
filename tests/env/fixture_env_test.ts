/**
 * The Spack 1.2 environment fixture end to end: open it, install its roots from the cache its
 * manifest names, build the default view, and compare the view and the activation code with
 * what Spack made (tests/fixtures/spack-1.2/env/).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { activationScript, deactivationScript, openEnvironment } from "../../lib/env/mod.ts";
import { buildView } from "../../lib/view/mod.ts";
import { installSpecs, openMirror, type SpecNode } from "../../mod.ts";
import { relativePrefix } from "../../lib/store/mod.ts";
import { SPACK12 } from "../_support/fixtures.ts";
import { expectedHelloOutput, harnessPrefixes } from "../_support/harness.ts";
import { withTempDir } from "../_support/temp.ts";
import { cleanSh, fixtureEnv } from "../_support/env_fixture.ts";

const FIXTURE_ENV = join(SPACK12, "env");

/** `find . -printf '%y %p -> %l'` of `dir` as the fixture records it (no arrow for non-links). */
async function listing(dir: string): Promise<string[]> {
  const out = await new Deno.Command("find", {
    args: [".", "-printf", "%y %p -> %l\\n"],
    cwd: dir,
  }).output();
  assert.ok(out.success);
  return new TextDecoder().decode(out.stdout).trimEnd().split("\n")
    .map((l) => l.replace(/ -> $/, "")).sort();
}

Deno.test("the fixture environment installs, its view matches Spack's path for path, and activation runs hello", async () => {
  await withTempDir(async (dir) => {
    const envDir = await fixtureEnv(dir);
    const store = join(dir, "store");
    const env = await openEnvironment(envDir);
    assert.deepEqual(env.userSpecs, ["harness-hello"]);
    assert.equal(env.defaultView?.root, join(envDir, ".spack-env/view"));
    const [fix] = env.mirrors.mirrors;
    assert.equal(fix.name, "fix");
    assert.equal(fix.fetch.url, `file://${dir}/fs-unsigned`);
    assert.equal(fix.signed, false);

    const roots = env.roots.map((r) => r.concrete);
    const mirror = await openMirror(fix.fetch.url!);
    await installSpecs(mirror, roots, { root: store, checkSignature: false });
    const prefixOf = (node: SpecNode) => `${store}/${relativePrefix(node)}`;
    const result = await buildView({ root: env.defaultView!.root, specs: roots, prefixOf });
    assert.deepEqual(result.specs.map((n) => n.name), ["harness-hello", "harness-libdep"]);
    assert.deepEqual(result.ignoredConflicts, []);

    // The view is a symlink to ._view/<hash>, and holds exactly what Spack's did.
    const view = env.defaultView!.root;
    const target = await Deno.readLink(view);
    assert.match(target, new RegExp(`^${envDir}/\\.spack-env/\\._view/[a-z2-7]{32}$`));
    const expected = (await Deno.readTextFile(join(FIXTURE_ENV, "view-listing.txt")))
      .trimEnd().split("\n").map((l) => l.replaceAll("<STORE>", store)).sort();
    assert.deepEqual(await listing(target), expected);

    // The program runs through the view, relocated to the store.
    const { H, D } = harnessPrefixes(store);
    assert.equal(await cleanSh(`${view}/bin/hello`), expectedHelloOutput(H, D));

    // Activation: Spack's output for this view, byte for byte (the external glibc's /usr
    // directories only where this machine has them).
    const code = await activationScript({
      envDir,
      view: env.defaultView,
      roots,
      shell: "sh",
      env: { PATH: "/usr/bin:/bin" },
    });
    const spack = await Deno.readTextFile(join(FIXTURE_ENV, "activate.sh"));
    assert.equal(code, await hostAdjusted(spack, envDir));

    // Sourced in a clean shell, `hello` is found on PATH; deactivation restores PATH.
    const script = join(dir, "activate.sh");
    await Deno.writeTextFile(script, code);
    assert.equal(await cleanSh(`. ${script} && hello`), expectedHelloOutput(H, D));
    const undo = join(dir, "deactivate.sh");
    await Deno.writeTextFile(
      undo,
      await deactivationScript({
        envDir,
        view: env.defaultView,
        roots,
        shell: "sh",
        env: Object.fromEntries(
          (await cleanSh(`. ${script} && env`)).trimEnd().split("\n").map((l) => {
            const at = l.indexOf("=");
            return [l.slice(0, at), l.slice(at + 1)];
          }),
        ),
      }),
    );
    assert.equal(
      await cleanSh(
        `. ${script} && . ${undo} && echo "$PATH|\${SPACK_ENV-unset}|\${CMAKE_PREFIX_PATH-unset}"`,
      ),
      "/usr/bin:/bin|unset|unset\n",
    );
  });
});

/**
 * Spack's activate.sh with `<ENV>` filled in and `despacktivate` running Spackle; the external
 * glibc's `/usr/...` entries are dropped where this machine lacks the directory.
 */
async function hostAdjusted(spack: string, envDir: string): Promise<string> {
  const isDir = async (p: string) => (await Deno.stat(p).catch(() => null))?.isDirectory ?? false;
  const lines: string[] = [];
  for (const line of spack.replaceAll("<ENV>", envDir).split("\n")) {
    if (line.startsWith("alias despacktivate=")) {
      lines.push(`alias despacktivate='eval "$(spackle env deactivate --sh)"';`);
      continue;
    }
    const m = /^export (\w+)=(.*);$/.exec(line);
    if (!m || !m[2].includes("/usr/")) {
      lines.push(line);
      continue;
    }
    const parts: string[] = [];
    for (const p of m[2].split(":")) if (!p.startsWith("/usr/") || await isDir(p)) parts.push(p);
    lines.push(`export ${m[1]}=${parts.join(":")};`);
  }
  return lines.join("\n");
}
