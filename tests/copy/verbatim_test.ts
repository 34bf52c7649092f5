/**
 * Copies between two URL-layout caches are byte for byte: Spack's signed fixture, copied with its
 * keys, keeps every manifest, spec blob and tarball unchanged, installs with signature checks on
 * against the fixture's key, and GnuPG accepts the copied manifests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { spackle } from "../_support/cli.ts";
import { SPACK12 } from "../_support/fixtures.ts";
import { assertHarnessInstalled } from "../_support/harness.ts";
import { snapshot } from "../_support/hostile_cache.ts";
import { startRegistry } from "../_support/registry.ts";
import { withTempDir } from "../_support/temp.ts";
import { layoutTags, skopeo } from "../oci/_skopeo.ts";
import { FIXTURE_KEY, gpg, withGpgHome } from "../signing/_keys.ts";

const SIGNED = join(SPACK12, "fs-signed");

Deno.test("copy between directory caches keeps signed entries and keys byte for byte", async () => {
  await withTempDir(async (work) => {
    const dest = join(work, "copy");
    const copied = await spackle("copy", SIGNED, dest, "--keys");
    assert.equal(copied.code, 0, copied.stderr);
    assert.doesNotMatch(copied.stderr, /without (its|their) signature/);

    // Everything Spack wrote arrives unchanged (the index is rebuilt, keys republished as-is).
    const source = await snapshot(SIGNED);
    const result = await snapshot(dest);
    for (const [path, digest] of source) {
      if (
        path.startsWith("v3/manifests/index/") || path.startsWith("blobs/") && !result.has(path)
      ) {
        continue;
      }
      assert.equal(result.get(path), digest, path);
    }
    const manifests = [...source.keys()].filter((p) => p.endsWith(".spec.manifest.json"));
    assert.equal(manifests.length, 2);

    // GnuPG verifies the copied manifests with the fixture's key, and refuses a changed one.
    await withGpgHome(async (home) => {
      assert.equal((await gpg(home, ["--import", FIXTURE_KEY])).code, 0);
      for (const manifest of manifests) {
        const verified = await gpg(home, ["--verify", join(dest, manifest)]);
        assert.equal(verified.code, 0, verified.stderr);
      }
      const tampered = join(work, "tampered.json");
      const text = await Deno.readTextFile(join(dest, manifests[0]));
      await Deno.writeTextFile(tampered, text.replace('"version":3', '"version":4'));
      assert.notEqual((await gpg(home, ["--verify", tampered])).code, 0);
    });

    // And Spackle installs them with signatures checked, trusting the fixture's key.
    const root = join(work, "root");
    const install = await spackle(
      "install",
      dest,
      "harness-hello",
      "--root",
      root,
      "--trust-key",
      FIXTURE_KEY,
    );
    assert.equal(install.code, 0, install.stderr);
    await assertHarnessInstalled(root);

    // The keys came along: trusting the copy's own keys works too.
    const root2 = join(work, "root2");
    const viaCacheKeys = await spackle(
      "install",
      dest,
      "harness-hello",
      "--root",
      root2,
      "--trust-cache-keys",
    );
    assert.equal(viaCacheKeys.code, 0, viaCacheKeys.stderr);
  });
});

Deno.test("copy between OCI caches keeps every manifest digest, base layers and --tag images included", async () => {
  const registry = await startRegistry();
  try {
    await withTempDir(async (work) => {
      const source = join(SPACK12, "oci", "buildcache-base-oci");
      const tags = await layoutTags(source);
      assert.ok(tags.includes("hello-app") && tags.includes("index.spack"));
      // Layout → registry → a second repository of the same registry (blobs mounted) → layout.
      const first = `oci+http://${registry.host}/first`;
      const second = `oci+http://${registry.host}/second`;
      const back = join(work, "back");
      for (const [from, to] of [[source, first], [first, second], [second, `oci-layout:${back}`]]) {
        const run = await spackle("copy", from, to);
        assert.equal(run.code, 0, run.stderr);
      }
      for (const tag of tags) {
        const raw = await skopeo("inspect", "--raw", `oci:${source}:${tag}`);
        assert.equal(
          await skopeo(
            "inspect",
            "--raw",
            "--tls-verify=false",
            `docker://${registry.host}/second:${tag}`,
          ),
          raw,
          tag,
        );
        assert.equal(await skopeo("inspect", "--raw", `oci:${back}:${tag}`), raw, tag);
      }
    });
  } finally {
    await registry.stop();
  }
});
