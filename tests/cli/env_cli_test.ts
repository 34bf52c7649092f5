/**
 * Spack environments through the `spackle` command as a user runs it: `install --env` of the
 * Spack 1.2 fixture environment into a fresh root (the view runs `hello`), `env activate` sourced
 * in a clean shell, a spec no cache holds, and `push --env` against pushing the roots by hash.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copyFixture, HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { expectedHelloOutput, harnessPrefixes } from "../_support/harness.ts";
import { assertNothingInstalled, MANIFEST, snapshot } from "../_support/hostile_cache.ts";
import { spackle, spackleWithEnv } from "../_support/cli.ts";
import { withTempDir } from "../_support/temp.ts";
import { cleanSh, fixtureEnv } from "../_support/env_fixture.ts";

Deno.test("install --env: the fixture environment installs from its own mirror, its view runs hello, activation puts it on PATH", async () => {
  await withTempDir(async (dir) => {
    const envDir = await fixtureEnv(dir);
    const root = join(dir, "store");
    const install = await spackle("install", "--env", envDir, "--root", root);
    assert.equal(install.code, 0, install.stderr);
    const cache = `file://${dir}/fs-unsigned`;
    for (const spec of ["harness-hello@1.0/hkbptho", "harness-libdep@1.0/6zoocyj"]) {
      assert.match(install.stderr, new RegExp(`Installed ${spec} from ${cache} \\(`));
      assert.ok(install.stderr.includes(`\n  ${spec} from ${cache}\n`), install.stderr);
    }
    const view = join(envDir, ".spack-env/view");
    assert.match(install.stderr, new RegExp(`^View: ${view}$`, "m"));
    assert.equal(install.stdout.trim().split("\n").length, 2);

    const { H, D } = harnessPrefixes(root);
    const viaView = await cleanSh(`${view}/bin/hello`);
    assert.equal(viaView, expectedHelloOutput(H, D));
    assert.match(viaView, /RESULT OK/);

    const activate = await spackle("env", "activate", "--sh", envDir);
    assert.equal(activate.code, 0, activate.stderr);
    assert.match(
      activate.stdout,
      /^alias despacktivate='eval "\$\(spackle env deactivate --sh\)"';$/m,
    );
    const script = join(dir, "activate.sh");
    await Deno.writeTextFile(script, activate.stdout);
    assert.equal(
      await cleanSh(`. ${script} && command -v hello && echo "$SPACK_ENV" && hello`),
      `${view}/bin/hello\n${envDir}\n${expectedHelloOutput(H, D)}`,
    );

    // Deactivation reads the active environment from SPACK_ENV and undoes PATH.
    const activePath = `${view}/bin:/usr/bin:/bin`;
    const undo = await spackleWithEnv(
      { SPACK_ENV: envDir, PATH: activePath },
      "env",
      "deactivate",
      "--sh",
    );
    assert.equal(undo.code, 0, undo.stderr);
    assert.match(undo.stdout, /^unset SPACK_ENV;$/m);
    assert.match(undo.stdout, /^export PATH=\/usr\/bin:\/bin;$/m);

    // Again: everything is already there; --json says so and names the view.
    const again = await spackleWithEnv({ SPACK_ENV: envDir }, "install", "--root", root, "--json");
    assert.equal(again.code, 0, again.stderr);
    const result = JSON.parse(again.stdout);
    assert.deepEqual(Object.keys(result.installed), []);
    assert.match(again.stderr, /^Installed 0 specs \(2 already installed\) into /m);
    assert.deepEqual(Object.keys(result.skipped).sort(), [HARNESS.libdep, HARNESS.hello].sort());
    assert.equal(result.view, view);
  });
});

Deno.test("install --env: --mirror replaces the environment's caches, an unreachable one is skipped with a warning; --no-view", async () => {
  await withTempDir(async (dir) => {
    const envDir = await fixtureEnv(dir, join(dir, "nowhere"));
    const root = join(dir, "store");
    const fixture = `file://${join(SPACK12, "fs-unsigned")}`;
    const install = await spackle(
      "install",
      "--env",
      envDir,
      "--root",
      root,
      "--mirror",
      "http://127.0.0.1:9/cache",
      "--mirror",
      fixture,
      "--no-check-signature",
      "--no-view",
    );
    assert.equal(install.code, 0, install.stderr);
    assert.equal(
      install.stderr.match(/^warning: skipping http:\/\/127\.0\.0\.1:9\/cache: /gm)?.length,
      1,
    );
    assert.match(
      install.stderr,
      new RegExp(`Installed harness-hello@1\\.0/hkbptho from ${fixture}`),
    );
    await assert.rejects(Deno.lstat(join(envDir, ".spack-env/view")), Deno.errors.NotFound);
    assert.match(await cleanSh(`${harnessPrefixes(root).H}/bin/hello`), /RESULT OK/);
  });
});

Deno.test("install --env: a spec no cache holds fails before anything is installed; --skip-missing lists it", async () => {
  await withTempDir(async (dir) => {
    const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
    try {
      await Deno.remove(join(cache, MANIFEST.hello));
      const envDir = await fixtureEnv(dir, cache);
      const root = join(dir, "store");
      const failed = await spackle("install", "--env", envDir, "--root", root);
      assert.equal(failed.code, 1, failed.stderr);
      const lines = failed.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, failed.stderr);
      assert.match(
        lines[0],
        /^error: 1 spec\(s\) are in no build cache .*harness-hello@1\.0\/hkbptho/,
      );
      await assertNothingInstalled(root);
      await assert.rejects(Deno.lstat(join(envDir, ".spack-env/view")), Deno.errors.NotFound);

      const skipped = await spackle("install", "--env", envDir, "--root", root, "--skip-missing");
      assert.equal(skipped.code, 0, skipped.stderr);
      assert.match(
        skipped.stderr,
        /^warning: 1 spec\(s\) are in no build cache, left out:\n {2}harness-hello@1\.0\/hkbptho$/m,
      );
      // The only root needs the missing spec: nothing is installed.
      await assertNothingInstalled(root);
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  });
});

Deno.test("install --env: without install_tree root or --root, an error asks for --root; SPEC with --env is refused; env activate for csh and fish, one shell required", async () => {
  await withTempDir(async (dir) => {
    const envDir = await fixtureEnv(dir);
    const noRoot = await spackle("install", "--env", envDir);
    assert.equal(noRoot.code, 2);
    assert.match(noRoot.stderr, /^error: .*spack\.yaml sets no install_tree root: pass --root$/m);
    const both = await spackle("install", "--env", envDir, "--root", dir, "harness-hello");
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^error: --env installs the environment's specs: give no SPEC$/m);
    const twoShells = await spackle("env", "activate", "--sh", "--fish", envDir);
    assert.equal(twoShells.code, 2);
    const noShell = await spackle("env", "activate", envDir);
    assert.equal(noShell.code, 2);
    assert.match(noShell.stderr, /^error: pick a shell: --sh, --csh or --fish$/m);
    const view = join(envDir, ".spack-env/view");
    const fish = await spackle("env", "activate", "--fish", envDir);
    assert.equal(fish.code, 0, fish.stderr);
    assert.match(fish.stdout, new RegExp(`^set -gx PATH ${view}/bin:`, "m"));
    assert.match(fish.stdout, /^ {3}spackle env deactivate --fish \| source;$/m);
    const csh = await spackle("env", "activate", "--csh", envDir);
    assert.equal(csh.code, 0, csh.stderr);
    assert.match(csh.stdout, new RegExp(`^setenv PATH ${view}/bin:`, "m"));
    assert.match(csh.stdout, /^alias despacktivate 'eval `spackle env deactivate --csh`';$/m);
    const noEnv = await spackleWithEnv({ SPACK_ENV: "" }, "env", "deactivate", "--sh");
    assert.equal(noEnv.code, 2);
    assert.match(noEnv.stderr, /^error: no active environment/m);
  });
});

Deno.test("push --env: the environment's roots and installed dependencies, the same cache entries as pushing the roots by hash", async () => {
  await withTempDir(async (dir) => {
    const envDir = await fixtureEnv(dir);
    const store = join(dir, "store");
    const install = await spackle("install", "--env", envDir, "--root", store, "--no-view");
    assert.equal(install.code, 0, install.stderr);

    const byEnv = join(dir, "by-env");
    const byHash = join(dir, "by-hash");
    const pushEnv = await spackle("push", byEnv, "--env", envDir, "--store", store, "-u");
    assert.equal(pushEnv.code, 0, pushEnv.stderr);
    const pushHash = await spackle("push", byHash, `/${HARNESS.hello}`, "--store", store, "-u");
    assert.equal(pushHash.code, 0, pushHash.stderr);

    // Same manifest keys and the same tarball digests (blob keys are digests), byte for byte.
    const a = await snapshot(byEnv);
    assert.deepEqual(a, await snapshot(byHash));
    assert.ok(a.has(MANIFEST.hello) && a.has(MANIFEST.libdep), [...a.keys()].join("\n"));

    const both = await spackle("push", byEnv, "harness-hello", "--env", envDir, "--store", store);
    assert.equal(both.code, 2);
  });
});

Deno.test("install --env: the root from spack.yaml's install_tree; plain install takes --mirror repeatedly", async () => {
  await withTempDir(async (dir) => {
    const envDir = await fixtureEnv(dir);
    const manifest = join(envDir, "spack.yaml");
    await Deno.writeTextFile(
      manifest,
      (await Deno.readTextFile(manifest)) +
        "  config:\n    install_tree:\n      root: $env/../tree\n",
    );
    const install = await spackle("install", "--env", envDir, "--no-view");
    assert.equal(install.code, 0, install.stderr);
    const tree = join(dir, "tree");
    assert.match(install.stderr, new RegExp(`^Installed 2 specs into ${tree}$`, "m"));
    assert.match(await cleanSh(`${harnessPrefixes(tree).H}/bin/hello`), /RESULT OK/);

    // Without --env: SPEC… from the caches in order, the unreachable one skipped once.
    const fixture = `file://${join(SPACK12, "fs-unsigned")}`;
    const root = join(dir, "plain");
    const plain = await spackle(
      "install",
      "--mirror",
      "http://127.0.0.1:9/cache",
      "--mirror",
      fixture,
      "harness-hello",
      "--root",
      root,
      "--no-check-signature",
    );
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(
      plain.stderr.match(/^warning: skipping http:\/\/127\.0\.0\.1:9\/cache: /gm)?.length,
      1,
    );
    assert.match(
      plain.stderr,
      new RegExp(`Installed harness-libdep@1\\.0/6zoocyj from ${fixture} \\(`),
    );
    assert.match(await cleanSh(`${harnessPrefixes(root).H}/bin/hello`), /RESULT OK/);
  });
});
