/**
 * An environment whose specs are spread over several build caches of different backends (a
 * directory, an OCI layout, a real registry), with an unreachable registry listed first: it
 * installs completely, each spec from the first cache that has it; a spec no cache holds fails
 * the whole install before anything is written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  installEnvironment,
  MissingSpecsError,
  openEnvironment,
  openEnvironmentMirrors,
} from "../../lib/env/mod.ts";
import { copySpecs } from "../../lib/copy/mod.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { type ConcreteSpec, shortSpec, toSpecFile } from "../../lib/spec/spec.ts";
import { copyFixture, HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { assertHarnessInstalled } from "../_support/harness.ts";
import { freePort, startRegistry } from "../_support/registry.ts";
import { withTempDir } from "../_support/temp.ts";
import { sampleCache } from "../image/_sample.ts";

const HELLO_MANIFEST =
  `v3/manifests/spec/harness-hello/harness-hello-1.0-${HARNESS.hello}.spec.manifest.json`;

/** A spack.lock (v6) with `roots`, their nodes in `concrete_specs` as Spack writes them. */
function lockfile(roots: readonly ConcreteSpec[]): string {
  const concrete: Record<string, unknown> = {};
  for (const root of roots) {
    for (const node of toSpecFile(root).spec.nodes) concrete[node.hash as string] = node;
  }
  return JSON.stringify({
    _meta: { "file-type": "spack-lockfile", "lockfile-version": 6, "specfile-version": 5 },
    spack: { version: "1.2.0.dev0", type: "release" },
    roots: roots.map((r) => ({ hash: r.node.hash, spec: r.node.name })),
    concrete_specs: concrete,
  });
}

function manifest(mirrors: Record<string, string>): string {
  const lines = ["spack:", "  specs: [harness-hello, sample-hello]", "  view: false", "  mirrors:"];
  for (const [name, url] of Object.entries(mirrors)) {
    lines.push(`    ${name}:`, `      url: ${url}`, "      signed: false");
  }
  return lines.join("\n") + "\n";
}

Deno.test("an environment installs from three caches of three backends, skipping an unreachable one", async () => {
  const registry = await startRegistry();
  try {
    await withTempDir(async (dir) => {
      // Directory cache: harness-libdep only.
      const onlyLibdep = await copyFixture(join(SPACK12, "fs-unsigned"));
      await Deno.remove(join(onlyLibdep, HELLO_MANIFEST));
      await (await openMirror(onlyLibdep)).updateIndex();
      // OCI layout: harness-hello (with its dependency's layer, as OCI images are).
      const fixture = await openMirror(join(SPACK12, "fs-unsigned"));
      const harness = (await fixture.listSpecs()).find((s) => s.node.name === "harness-hello")!;
      const layout = `oci-layout:${join(dir, "layout")}`;
      await copySpecs(fixture, await openMirror(layout), { specs: [harness] });
      // Registry: the sample packages.
      const { hello: sample } = await sampleCache(`oci+http://${registry.host}/sample`);
      const unreachable = `oci+http://127.0.0.1:${freePort()}/gone`;

      const envDir = join(dir, "env");
      await Deno.mkdir(envDir);
      await Deno.writeTextFile(join(envDir, "spack.lock"), lockfile([harness, sample]));
      await Deno.writeTextFile(
        join(envDir, "spack.yaml"),
        manifest({
          gone: unreachable,
          disk: `file://${onlyLibdep}`,
          layout,
          registry: `oci+http://${registry.host}/sample`,
        }),
      );
      const env = await openEnvironment(envDir, { env: { SPACK_DISABLE_LOCAL_CONFIG: "1" } });
      const skipped: string[] = [];
      const chain = await openEnvironmentMirrors(env, {
        env: { SPACK_DISABLE_LOCAL_CONFIG: "1" },
        onSkip: (mirror) => skipped.push(mirror.url),
      });
      const root = join(dir, "root");
      const result = await installEnvironment(env, chain, { root, checkSignature: false });

      assert.equal(result.installed.size, 4);
      assert.ok(skipped.length > 0 && skipped.every((url) => url.includes("/gone")));
      const from = Object.fromEntries(
        [...result.sources].map(([spec, url]) => [spec.split("@")[0], url]),
      );
      assert.match(from["harness-libdep"], /^file:\/\//);
      assert.match(from["harness-hello"], /^oci-layout:/);
      assert.match(from["sample-hello"], /\/sample$/);
      assert.match(from["sample-libgreet"], /\/sample$/);
      await assertHarnessInstalled(root);
      const run = await new Deno.Command(join(result.installed.get(sample.node.hash)!, "bin/hello"))
        .output();
      assert.match(new TextDecoder().decode(run.stdout), /RESULT OK/);
    });
  } finally {
    await registry.stop();
  }
});

Deno.test("a spec in no cache fails the environment install with the list, and nothing is installed", async () => {
  await withTempDir(async (dir) => {
    const onlyLibdep = await copyFixture(join(SPACK12, "fs-unsigned"));
    await Deno.remove(join(onlyLibdep, HELLO_MANIFEST));
    await (await openMirror(onlyLibdep)).updateIndex();
    const fixture = await openMirror(join(SPACK12, "fs-unsigned"));
    const harness = (await fixture.listSpecs()).find((s) => s.node.name === "harness-hello")!;
    const envDir = join(dir, "env");
    await Deno.mkdir(envDir);
    await Deno.writeTextFile(join(envDir, "spack.lock"), lockfile([harness]));
    await Deno.writeTextFile(
      join(envDir, "spack.yaml"),
      manifest({ disk: `file://${onlyLibdep}` }),
    );
    const env = await openEnvironment(envDir, { env: { SPACK_DISABLE_LOCAL_CONFIG: "1" } });
    const chain = await openEnvironmentMirrors(env, { env: { SPACK_DISABLE_LOCAL_CONFIG: "1" } });
    const root = join(dir, "root");
    await assert.rejects(
      installEnvironment(env, chain, { root, checkSignature: false }),
      (e: unknown) => {
        assert.ok(e instanceof MissingSpecsError);
        assert.deepEqual(e.missing, [shortSpec(harness.node)]);
        assert.match(e.message, /harness-hello@1\.0\/hkbptho/);
        return true;
      },
    );
    await assert.rejects(Deno.stat(root), Deno.errors.NotFound);

    // With skipMissing the rest installs: here nothing, since the only root is the missing one.
    const partial = await installEnvironment(env, chain, {
      root,
      checkSignature: false,
      skipMissing: true,
    });
    assert.deepEqual(partial.missing, [shortSpec(harness.node)]);
    assert.equal(partial.installed.size, 0);
  });
});
