import assert from "node:assert/strict";
import { join } from "node:path";
import { SAMPLE_STORE as SAMPLE, spackle } from "../_support/cli.ts";
import { buildBaseImage } from "../_support/base_image.ts";
import { withTempDir } from "../_support/temp.ts";
import { skopeo } from "../oci/_skopeo.ts";
import { runChrooted, samplePrefix, unpackImage } from "../image/_sample.ts";

Deno.test("CLI: push --base-image makes spec images runnable, --tag adds an environment image", async () => {
  await withTempDir(async (work) => {
    const base = join(work, "base");
    await buildBaseImage(base, work);
    const cache = join(work, "cache");
    const push = await spackle(
      "push",
      `oci-layout:${cache}`,
      "--store",
      SAMPLE,
      "--base-image",
      `oci-layout:${base}:base`,
      "--tag",
      "sample-env",
      "--update-index",
    );
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /Tagged .*sample-env/);

    // The base layer, then the library, then the program.
    const env = JSON.parse(await skopeo("inspect", `oci:${cache}:sample-env`));
    assert.equal(env.Layers.length, 4); // base, two specs, sbang
    const hello = join(samplePrefix("sample-hello"), "bin", "hello");
    const envRoot = await unpackImage(cache, "sample-env", join(work, "bundle-env"));
    const run = await runChrooted(envRoot, [hello]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /RESULT OK/);
    // Each spec image is runnable on its own too.
    const index = JSON.parse(await Deno.readTextFile(join(cache, "index.json")));
    const helloTag = index.manifests.map((m: { annotations: Record<string, string> }) =>
      m.annotations["org.opencontainers.image.ref.name"]
    ).find((t: string) => t.startsWith("sample-hello-"));
    const rootfs = await unpackImage(cache, helloTag, join(work, "bundle-hello"));
    assert.match((await runChrooted(rootfs, [hello])).stdout, /RESULT OK/);

    // The cache still installs like any other.
    const install = await spackle(
      "install",
      cache,
      "sample-hello",
      "--root",
      join(work, "root"),
      "--no-check-signature",
    );
    assert.equal(install.code, 0, install.stderr);

    // A directory cache cannot hold images.
    const refused = await spackle("push", join(work, "dir"), "--store", SAMPLE, "--tag", "x");
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /OCI build cache/);
  });
});
