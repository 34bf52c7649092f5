import assert from "node:assert/strict";
import { join } from "node:path";
import { SAMPLE_STORE as SAMPLE, spackle } from "../_support/cli.ts";
import { startRegistry } from "../_support/registry.ts";

Deno.test("CLI with an oci+http:// registry mirror: push, list, install, run", async () => {
  const registry = await startRegistry();
  const work = await Deno.makeTempDir({ prefix: "spackle-cli-oci-" });
  try {
    const mirror = `oci+http://${registry.host}/spackle/cache`;
    const push = await spackle("push", mirror, "--store", SAMPLE, "--update-index", "--json");
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /Pushed sample-hello@1\.0\/wf75vov: sha256:/);
    // --json names every manifest written with the digest the registry serves under its tag.
    const written = JSON.parse(push.stdout) as {
      spec: string;
      reference: string;
      digest: string;
    }[];
    assert.deepEqual(written.map((w) => w.spec).sort(), [
      "sample-hello@1.0/wf75vov",
      "sample-libgreet@1.0/n2bvs6s",
    ]);
    for (const { reference, digest } of written) {
      const tag = reference.slice(`${registry.host}/spackle/cache:`.length);
      const head = await fetch(`${registry.url}/v2/spackle/cache/manifests/${tag}`, {
        method: "HEAD",
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      });
      assert.equal(head.headers.get("docker-content-digest"), digest, reference);
    }

    const list = await spackle("list", mirror, "--json");
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).map((r: { name: string }) => r.name), [
      "sample-hello",
      "sample-libgreet",
    ]);

    const root = join(work, "r");
    const install = await spackle(
      "install",
      mirror,
      "sample-hello",
      "--root",
      root,
      "--no-check-signature",
    );
    assert.equal(install.code, 0, install.stderr);
    const hello = install.stdout.trim().split("\n").find((p) => p.includes("sample-hello"))!;
    const run = await new Deno.Command(join(hello, "bin/hello"), { clearEnv: true, env: {} })
      .output();
    assert.match(new TextDecoder().decode(run.stdout), /RESULT OK\n$/);
  } finally {
    await registry.stop();
    await Deno.remove(work, { recursive: true });
  }
});
