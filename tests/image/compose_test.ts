import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { composeImage, SPECS_LABEL } from "../../lib/image/mod.ts";
import { OciMirror } from "../../lib/mirror/oci.ts";
import type { ProgressEvent } from "../../lib/events.ts";
import {
  BASE_CREATED,
  BASE_PATH,
  baseConfig,
  buildBaseImage,
  hostArch,
  writeImage,
  writeIndex,
} from "../_support/base_image.ts";
import { startRegistry } from "../_support/registry.ts";
import { withTempDir } from "../_support/temp.ts";
import { skopeo } from "../oci/_skopeo.ts";
import { envOf, layoutBlob, readLayoutImage, readRegistryImage, sha256 } from "./_layout.ts";
import {
  runChrooted,
  SAMPLE,
  sampleCache,
  sampleHash,
  samplePrefix,
  unpackImage,
} from "./_sample.ts";

const HELLO = samplePrefix("sample-hello");
const GREET = samplePrefix("sample-libgreet");
// Roots first, each once, then the base's PATH (which the base sets to BASE_PATH); the library
// has no bin directory, so none is put on PATH.
const EXPECTED_PATH = `${HELLO}/bin:${BASE_PATH}`;
// The other search paths of Spack's prefix inspections, for the directories that exist.
// sample-hello's long-shebang script runs through this launcher, which gets a layer of its own.
const SBANG = `${SAMPLE.unpaddedRoot}/bin/sbang`;
const SEARCH_PATHS = [
  `PKG_CONFIG_PATH=${GREET}/lib/pkgconfig`,
  `CMAKE_PREFIX_PATH=${HELLO}:${GREET}`,
];

Deno.test("an image composed from an OCI cache onto a minimal base runs the program at its prefix", async () => {
  await withTempDir(async (work) => {
    const baseDir = join(work, "base");
    const base = await buildBaseImage(baseDir, work);
    const cacheDir = join(work, "cache");
    const { mirror, hello } = await sampleCache(`oci-layout:${cacheDir}`);
    const out = join(work, "out");
    const result = await composeImage({
      base: `oci-layout:${baseDir}:base`,
      mirror,
      specs: [hello],
      target: `oci-layout:${out}:app`,
    });
    assert.equal(result.reference, `oci-layout:${out}:app`);
    assert.equal(result.layers, 4);

    // The cache's spec image of sample-hello has the layers in dependency order: reused as is.
    const specImage = readLayoutImage(
      cacheDir,
      `sample-hello-1.0-${hello.node.hash}.spack`,
    );
    const image = readLayoutImage(out, "app");
    assert.equal(image.digest, result.digest);
    assert.equal(image.manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.equal(image.manifest.config.mediaType, "application/vnd.oci.image.config.v1+json");
    assert.deepEqual(image.manifest.layers, [
      ...base.layers.map((l) => ({
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: l.digest,
        size: l.size,
      })),
      ...specImage.manifest.layers,
      image.manifest.layers[3], // sbang
    ]);
    assert.deepEqual(image.config.rootfs, {
      type: "layers",
      diff_ids: [
        base.layers[0].diffId,
        ...specImage.config.rootfs.diff_ids,
        image.config.rootfs.diff_ids[3],
      ],
    });
    // The base config is kept: its variables, command, created time and history.
    assert.deepEqual(image.config.config.Env, [
      `PATH=${EXPECTED_PATH}`,
      "BASE_IMAGE=minimal",
      ...SEARCH_PATHS,
    ]);
    assert.deepEqual(image.config.config.Cmd, ["/bin/sh"]);
    assert.equal(image.config.created, BASE_CREATED);
    assert.equal(image.config.architecture, base.config.architecture);
    assert.deepEqual(image.config.history?.[0], (base.config.history as unknown[])[0]);
    assert.deepEqual(image.config.history?.slice(1).map((h) => [h.created, h.created_by]), [
      [
        BASE_CREATED,
        `spackle image compose sample-libgreet@1.0/${sampleHash("sample-libgreet").slice(0, 7)}`,
      ],
      [BASE_CREATED, `spackle image compose sample-hello@1.0/${hello.node.hash.slice(0, 7)}`],
      [BASE_CREATED, `spackle image compose: sbang ${SBANG}`],
    ]);
    // What registry UIs show, from the specs; the spec list; the base image's digest.
    const described = {
      "org.opencontainers.image.title": "sample-hello",
      "org.opencontainers.image.version": "1.0",
      "org.opencontainers.image.description": "Spack packages sample-hello@1.0 and 1 dependency",
      "org.opencontainers.image.created": BASE_CREATED,
      [SPECS_LABEL]: `sample-hello@1.0/${hello.node.hash}`,
    };
    assert.deepEqual(image.manifest.annotations, {
      ...described,
      "org.opencontainers.image.base.digest": base.digest,
    });
    for (const [key, value] of Object.entries(described)) {
      assert.equal(image.config.config.Labels?.[key], value, key);
    }

    // An independent client reads it.
    const info = JSON.parse(await skopeo("inspect", `oci:${out}:app`));
    assert.equal(info.Digest, result.digest);
    assert.equal(info.Labels["org.opencontainers.image.title"], "sample-hello");
    assert.deepEqual(info.Layers, image.manifest.layers.map((l) => l.digest));

    // Unpacked, the program runs at its original prefix, found through the image's PATH.
    const rootfs = await unpackImage(out, "app", join(work, "bundle"));
    const run = await runChrooted(rootfs, ["hello"], EXPECTED_PATH);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`^prefix=${HELLO}$`, "m"));
    assert.match(run.stdout, /^check exe-in-prefix: ok$/m);
    assert.match(run.stdout, /RESULT OK\n$/);

    // Deterministic: the same inputs give the same manifest, wherever it goes.
    const again = await composeImage({
      base: `oci-layout:${baseDir}:base`,
      mirror,
      specs: [hello],
      target: `oci-layout:${join(work, "out2")}:other`,
    });
    assert.equal(again.digest, result.digest);

    // Entrypoint, command, variables and labels; setting only the entrypoint drops the base's Cmd.
    const custom = await composeImage({
      base: `oci-layout:${baseDir}:base`,
      mirror,
      specs: [hello],
      target: `oci-layout:${out}:custom`,
      entrypoint: [`${HELLO}/bin/hello`],
      env: { GREETING: "hi", BASE_IMAGE: "replaced" },
      labels: { "org.example.team": "hpc" },
      created: "2030-01-01T00:00:00Z",
    });
    assert.notEqual(custom.digest, result.digest);
    const customized = readLayoutImage(out, "custom").config;
    assert.deepEqual(customized.config.Entrypoint, [`${HELLO}/bin/hello`]);
    assert.equal(customized.config.Cmd, undefined);
    assert.deepEqual(customized.config.Env, [
      `PATH=${EXPECTED_PATH}`,
      "BASE_IMAGE=replaced",
      ...SEARCH_PATHS,
      "GREETING=hi",
    ]);
    assert.equal(customized.config.Labels?.["org.example.team"], "hpc");
    assert.equal(customized.created, "2030-01-01T00:00:00Z");
    assert.equal(customized.history?.at(-1)?.created, "2030-01-01T00:00:00Z");
  });
});

Deno.test("compose into a registry: from a URL-layout cache onto a Docker base, and with mounts", async () => {
  const registry = await startRegistry();
  try {
    await withTempDir(async (work) => {
      // Docker base: Docker media types throughout.
      const dockerDir = join(work, "base-docker");
      const base = await buildBaseImage(dockerDir, work, { docker: true });
      const fsCache = join(work, "fs-cache");
      const { mirror, hello } = await sampleCache(fsCache);
      const result = await composeImage({
        base: `oci-layout:${dockerDir}:base`,
        mirror,
        specs: [hello],
        target: `oci+http://${registry.host}/images/app:docker`,
      });
      assert.equal(result.reference, `oci+http://${registry.host}/images/app:docker`);
      assert.equal(result.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
      const docker = await readRegistryImage(
        registry.url,
        "images/app",
        "docker",
        result.mediaType,
      );
      assert.equal(docker.digest, result.digest);
      assert.equal(docker.manifest.mediaType, result.mediaType);
      assert.equal(
        docker.manifest.config.mediaType,
        "application/vnd.docker.container.image.v1+json",
      );
      assert.deepEqual(
        [...new Set(docker.manifest.layers.map((l) => l.mediaType))],
        ["application/vnd.docker.image.rootfs.diff.tar.gzip"],
      );
      assert.equal(docker.manifest.annotations, undefined);

      // The layers are the cache's tarball blobs, dependency first; diff_ids of their tars.
      const tarballs = await cacheTarballs(fsCache);
      const greet = tarballs.get("sample-libgreet")!;
      const own = tarballs.get("sample-hello")!;
      assert.deepEqual(
        docker.manifest.layers.map((l) => [l.digest, l.size]),
        [
          [base.layers[0].digest, base.layers[0].size],
          ...[greet, own].map((t) => [t.digest, t.size]),
          [docker.manifest.layers[3].digest, docker.manifest.layers[3].size], // sbang
        ],
      );
      assert.deepEqual(docker.config.rootfs.diff_ids, [
        base.layers[0].diffId,
        ...[greet, own].map((t) => sha256(gunzipSync(t.bytes))),
        docker.config.rootfs.diff_ids[3],
      ]);
      assert.equal(envOf(docker.config.config.Env, "PATH"), EXPECTED_PATH);
      const info = JSON.parse(
        await skopeo(
          "inspect",
          "--tls-verify=false",
          `docker://${registry.host}/images/app:docker`,
        ),
      );
      assert.equal(info.Digest, result.digest);

      // Cache and base in the same registry as the target: every layer is mounted, but the
      // sbang launcher's, which is made here.
      const ociBase = join(work, "base-oci");
      await buildBaseImage(ociBase, work);
      await skopeo(
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        `oci:${ociBase}:base`,
        `docker://${registry.host}/base/minimal:1`,
      );
      const cache = await sampleCache(`oci+http://${registry.host}/spack/cache`);
      assert.ok(cache.mirror instanceof OciMirror);
      const events: ProgressEvent[] = [];
      const mounted = await composeImage({
        base: `oci+http://${registry.host}/base/minimal:1`,
        mirror: cache.mirror,
        specs: [cache.hello],
        target: `oci+http://${registry.host}/images/mounted:1`,
        onProgress: (e) => events.push(e),
      });
      const how = events.map((e) => e.kind === "message" ? e.text.split(": ").at(-1) : "");
      assert.deepEqual(how, ["mounted", "mounted", "mounted", "uploaded"]);
      const image = await readRegistryImage(registry.url, "images/mounted", "1");
      assert.equal(image.digest, mounted.digest);
      assert.equal(
        image.manifest.annotations?.["org.opencontainers.image.base.name"],
        `${registry.host}/base/minimal:1`,
      );
      const inspected = JSON.parse(
        await skopeo(
          "inspect",
          "--tls-verify=false",
          `docker://${registry.host}/images/mounted:1`,
        ),
      );
      assert.equal(inspected.Digest, mounted.digest);
      assert.equal(inspected.Layers.length, 4);
    });
  } finally {
    await registry.stop();
  }
});

Deno.test("a base image index resolves to the manifest of the specs' platform", async () => {
  await withTempDir(async (work) => {
    const baseDir = join(work, "base");
    const amd64 = await buildBaseImage(baseDir, work, { tag: "amd64" });
    // Same layer, but a config for arm64: picking it would be caught by the platform check.
    const arm64 = await writeImage(baseDir, "arm64", amd64.layers, {
      ...baseConfig(),
      architecture: "arm64",
    });
    const indexDigest = await writeIndex(baseDir, "multi", [
      { image: arm64, architecture: "arm64" },
      { image: amd64, architecture: "amd64" },
    ]);
    assert.notEqual(indexDigest, amd64.digest);
    const { mirror, hello } = await sampleCache(join(work, "cache"));
    const out = join(work, "out");
    await composeImage({
      base: `oci-layout:${baseDir}:multi`,
      mirror,
      specs: [hello],
      target: `oci-layout:${out}:app`,
    });
    const image = readLayoutImage(out, "app");
    assert.equal(
      image.manifest.annotations?.["org.opencontainers.image.base.digest"],
      amd64.digest,
    );
    assert.equal(image.config.architecture, "amd64");
    assert.deepEqual(layoutBlob(out, image.manifest.layers[0].digest).length, amd64.layers[0].size);
  });
});

/** Tarball blobs of a URL-layout cache by package name, from its spec manifests. */
async function cacheTarballs(
  dir: string,
): Promise<Map<string, { digest: string; size: number; bytes: Uint8Array }>> {
  const out = new Map<string, { digest: string; size: number; bytes: Uint8Array }>();
  const specDir = join(dir, "v3", "manifests", "spec");
  for await (const pkg of Deno.readDir(specDir)) {
    for await (const file of Deno.readDir(join(specDir, pkg.name))) {
      const manifest = JSON.parse(await Deno.readTextFile(join(specDir, pkg.name, file.name)));
      const record = manifest.data.find((r: { mediaType: string }) =>
        r.mediaType === "application/vnd.spack.install.v2.tar+gzip"
      );
      const hex: string = record.checksum;
      const bytes = await Deno.readFile(join(dir, "blobs", "sha256", hex.slice(0, 2), hex));
      out.set(pkg.name, { digest: `sha256:${hex}`, size: bytes.length, bytes });
    }
  }
  return out;
}

Deno.test("without a base, the image holds the spec layers alone", async () => {
  await withTempDir(async (work) => {
    const { mirror, hello } = await sampleCache(join(work, "cache"));
    const out = join(work, "out");
    const result = await composeImage({ mirror, specs: [hello], target: `oci-layout:${out}` });
    assert.equal(result.reference, `oci-layout:${out}:latest`);
    const image = readLayoutImage(out, "latest");
    assert.equal(image.manifest.layers.length, 3); // libgreet, hello, sbang
    assert.equal(image.config.architecture, hostArch());
    assert.equal(image.config.os, "linux");
    // Spack's default PATH follows the packages' bin directories (§4.5).
    assert.deepEqual(image.config.config.Env, [`PATH=${HELLO}/bin:/bin:/usr/bin`, ...SEARCH_PATHS]);
    assert.equal(image.config.history?.length, 3);
    assert.equal(image.manifest.annotations?.["org.opencontainers.image.base.digest"], undefined);
    const info = JSON.parse(await skopeo("inspect", `oci:${out}:latest`));
    assert.equal(info.Digest, result.digest);
  });
});
