import assert from "node:assert/strict";
import { join } from "node:path";
import { Command } from "commander";
import { imageCommand } from "../../lib/cli/image.ts";
import { ProgressRenderer } from "../../lib/cli/progress.ts";
import { NotFoundError } from "../../lib/errors.ts";
import { buildBaseImage } from "../_support/base_image.ts";
import { startRegistry } from "../_support/registry.ts";
import { withTempDir } from "../_support/temp.ts";
import { skopeo } from "../oci/_skopeo.ts";
import { envOf, readLayoutImage, readRegistryImage } from "./_layout.ts";
import { sampleCache, samplePrefix } from "./_sample.ts";

/** Runs `spackle image ARGS…` in-process; returns what it wrote to stderr. */
async function image(...args: string[]): Promise<string> {
  let stderr = "";
  const out = {
    writeSync(bytes: Uint8Array) {
      stderr += new TextDecoder().decode(bytes);
      return bytes.length;
    },
    isTerminal: () => false,
  };
  const render = new ProgressRenderer(out as unknown as typeof Deno.stderr);
  const program = new Command("spackle").exitOverride().addCommand(imageCommand(render));
  await program.parseAsync(["image", ...args], { from: "user" });
  return stderr;
}

Deno.test("spackle image compose: any subset of a cache's specs, to a directory or a registry", async () => {
  const registry = await startRegistry();
  try {
    await withTempDir(async (work) => {
      const baseDir = join(work, "base");
      await buildBaseImage(baseDir, work);
      const cache = join(work, "cache");
      await sampleCache(cache);
      const greet = samplePrefix("sample-libgreet");

      // Only the library, into a plain directory (an OCI layout), with the options.
      const out = join(work, "images");
      const stderr = await image(
        "compose",
        "sample-libgreet",
        "--from",
        cache,
        "--base",
        `oci-layout:${baseDir}:base`,
        "--target",
        out,
        "--tag",
        "lib",
        "--entrypoint",
        '["/bin/sh", "-c"]',
        "--cmd",
        "true",
        "--env",
        "GREETING=hi",
        "--env",
        "LANG=C.UTF-8",
        "--env-var",
        "PKG_CONFIG_PATH=/custom",
        "--label",
        "org.example.team=hpc",
      );
      assert.match(stderr, new RegExp(`Tagged oci-layout:${out}:lib \\(2 layers\\)`));
      const lib = readLayoutImage(out, "lib");
      assert.equal(lib.manifest.layers.length, 2);
      assert.deepEqual(lib.config.config.Entrypoint, ["/bin/sh", "-c"]);
      assert.deepEqual(lib.config.config.Cmd, ["true"]);
      // The library has no bin directory: PATH is the base's.
      assert.equal(envOf(lib.config.config.Env, "PATH"), "/usr/bin:/bin");
      // --env-var overrides a search path computed from the layers.
      assert.equal(envOf(lib.config.config.Env, "PKG_CONFIG_PATH"), "/custom");
      assert.equal(envOf(lib.config.config.Env, "CMAKE_PREFIX_PATH"), greet);
      assert.equal(envOf(lib.config.config.Env, "GREETING"), "hi");
      assert.equal(envOf(lib.config.config.Env, "LANG"), "C.UTF-8");
      const info = JSON.parse(await skopeo("inspect", `oci:${out}:lib`));
      assert.equal(info.Digest, lib.digest);
      assert.equal(info.Labels["org.example.team"], "hpc");

      // Into the OCI build cache itself (like `push --tag`): the source defaults to the target.
      const repo = `oci+http://${registry.host}/spack/cache`;
      await sampleCache(repo);
      await image(
        "compose",
        "sample-hello",
        "--base",
        `oci-layout:${baseDir}:base`,
        "--target",
        repo,
        "--tag",
        "hello-app",
        "--squash",
        "--view",
        "/opt/view",
      );
      const app = await readRegistryImage(registry.url, "spack/cache", "hello-app");
      assert.equal(app.manifest.layers.length, 4); // base, squashed specs, sbang, view
      assert.equal(envOf(app.config.config.Env, "PATH"), "/opt/view/bin:/usr/bin:/bin");
      assert.equal(envOf(app.config.config.Env, "PKG_CONFIG_PATH"), "/opt/view/lib/pkgconfig");

      await assert.rejects(
        image("compose", "no-such-spec", "--from", cache, "--target", out, "--tag", "x"),
        NotFoundError,
      );
    });
  } finally {
    await registry.stop();
  }
});
