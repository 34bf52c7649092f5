import assert from "node:assert/strict";
import { join } from "node:path";
import { blobKey } from "../../lib/buildcache/layout.ts";
import { CopyError, copySpecs } from "../../lib/copy/mod.ts";
import {
  DigestMismatchError,
  MirrorNotFoundError,
  NotFoundError,
  UsageError,
} from "../../lib/errors.ts";
import type { ProgressEvent, SpecEvent } from "../../lib/events.ts";
import { installSpecs } from "../../lib/install/install.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import type { Mirror } from "../../lib/mirror/types.ts";
import { copyFixture, HARNESS, SPACK12, V2_MIRRORS } from "../_support/fixtures.ts";
import { assertHarnessInstalled } from "../_support/harness.ts";
import { startRegistry } from "../_support/registry.ts";
import { withTempDir } from "../_support/temp.ts";
import { layoutTags, skopeo } from "../oci/_skopeo.ts";

const LAYOUT = join(SPACK12, "oci", "buildcache");

/** Tarball digest and size of every spec of `mirror`, by DAG hash. */
async function tarballs(mirror: Mirror): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const spec of await mirror.listSpecs()) {
    const entry = (await mirror.getEntry(spec))!;
    out.set(spec.node.hash, `${entry.tarball.digest} ${entry.tarball.size ?? "?"}`);
  }
  return out;
}

/** `rootfs.diff_ids` of image `tag`, from an OCI layout directory or a registry repository. */
async function diffIds(where: { layout: string } | { base: string }, tag: string) {
  const json = async (path: string, accept?: string) =>
    "layout" in where
      ? JSON.parse(await Deno.readTextFile(join(where.layout, "blobs", path.replace(":", "/"))))
      : await (await fetch(`${where.base}/${path}`, { headers: accept ? { accept } : {} })).json();
  let manifest;
  if ("layout" in where) {
    const index = JSON.parse(await Deno.readTextFile(join(where.layout, "index.json")));
    const found = index.manifests.find((m: { annotations: Record<string, string> }) =>
      m.annotations["org.opencontainers.image.ref.name"] === tag
    );
    manifest = await json(found.digest);
  } else {
    manifest = await json(`manifests/${tag}`, "application/vnd.oci.image.manifest.v1+json");
  }
  const config = await json(
    "layout" in where ? manifest.config.digest : `blobs/${manifest.config.digest}`,
  );
  return config.rootfs.diff_ids;
}

function specStates(events: ProgressEvent[]): string[] {
  return events.filter((e): e is SpecEvent => e.kind === "spec" && e.state !== "start")
    .map((e) => `${e.spec.split("@")[0]} ${e.state}`);
}

Deno.test("copy: Spack's OCI layout → registry → directory keeps blob digests and installs", async () => {
  const registry = await startRegistry();
  try {
    await withTempDir(async (work) => {
      const layout = await openMirror(LAYOUT);
      const repo = "spack/copied";
      const oci = await openMirror(`oci+http://${registry.host}/${repo}`);
      const events: ProgressEvent[] = [];
      const first = await copySpecs(layout, oci, { onProgress: (e) => events.push(e) });
      // Dependencies first: a dependent waits for its dependencies before it is copied.
      assert.deepEqual(first.copied.map((s) => s.node.hash), [HARNESS.libdep, HARNESS.hello]);
      assert.deepEqual(first.skipped, []);
      assert.deepEqual(specStates(events), ["harness-libdep done", "harness-hello done"]);

      const dir = join(work, "cache");
      const spool = join(work, "spool");
      await Deno.mkdir(spool);
      const fs = await openMirror(dir);
      const second = await copySpecs(oci, fs, { jobs: 1, tempDir: spool });
      assert.equal(second.copied.length, 2);
      assert.deepEqual([...Deno.readDirSync(spool)], [], "the spool directory is removed");

      // The same tarball blobs (digest and size) in all three backends.
      const expected = await tarballs(layout);
      assert.equal(expected.size, 2);
      assert.deepEqual(await tarballs(oci), expected);
      assert.deepEqual(await tarballs(fs), expected);
      for (const value of expected.values()) {
        const hex = value.split(" ")[0].slice("sha256:".length);
        await Deno.stat(join(dir, blobKey("sha256", hex)));
      }
      // The diff_ids computed while streaming are those Spack recorded.
      for (const tag of (await layoutTags(LAYOUT)).filter((t) => t !== "index.spack")) {
        assert.deepEqual(
          await diffIds({ base: `${registry.url}/v2/${repo}` }, tag),
          await diffIds({ layout: LAYOUT }, tag),
          tag,
        );
      }

      // The directory is a v3 URL cache with an index, and installs.
      await Deno.stat(join(dir, "v3/manifests/index/index.manifest.json"));
      const hello = (await fs.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
      assert.equal((await fs.getEntry(hello))!.layout, 3);
      const root = join(work, "root");
      await installSpecs(fs, [hello], { root, checkSignature: false });
      await assertHarnessInstalled(root);

      // Copying again skips everything; --force copies again.
      events.length = 0;
      const again = await copySpecs(oci, fs, { onProgress: (e) => events.push(e) });
      assert.deepEqual([again.copied.length, again.skipped.length], [0, 2]);
      // Skips wait for nothing, so they may be reported in either order.
      assert.deepEqual(specStates(events).sort(), [
        "harness-hello skipped",
        "harness-libdep skipped",
      ]);
      const forced = await copySpecs(oci, fs, { force: true });
      assert.deepEqual([forced.copied.length, forced.skipped.length], [2, 0]);
      assert.deepEqual(await tarballs(fs), expected);
    });
  } finally {
    await registry.stop();
  }
});

Deno.test("copy: a URL cache into an oci-layout: directory that skopeo reads", async () => {
  await withTempDir(async (work) => {
    const source = await openMirror(join(SPACK12, "fs-unsigned"));
    const dir = join(work, "layout");
    const target = await openMirror(`oci-layout:${dir}`);
    const hello = (await source.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
    // Selecting one spec brings its dependency along.
    const result = await copySpecs(source, target, { specs: [hello] });
    assert.deepEqual(result.copied.map((s) => s.node.hash), [HARNESS.libdep, HARNESS.hello]);

    const expected = await tarballs(source);
    assert.deepEqual(await tarballs(await openMirror(dir)), expected);
    await assert.rejects(copySpecs(target, await openMirror(dir)), UsageError);
    const tags = await layoutTags(dir);
    assert.ok(tags.includes("index.spack"), tags.join(" "));
    for (const tag of tags.filter((t) => t !== "index.spack")) {
      const info = JSON.parse(await skopeo("inspect", `oci:${dir}:${tag}`));
      const own = info.Layers.at(-1);
      const hash = tag.includes(HARNESS.hello) ? HARNESS.hello : HARNESS.libdep;
      assert.equal(own, expected.get(hash)!.split(" ")[0], tag);
    }
    const root = join(work, "root");
    await installSpecs(await openMirror(dir), [hello], { root, checkSignature: false });
    await assertHarnessInstalled(root);
  });
});

Deno.test("copy: a corrupt source tarball is a DigestMismatchError and is not published", async () => {
  const source = await copyFixture(join(SPACK12, "fs-unsigned"));
  try {
    await withTempDir(async (work) => {
      const from = await openMirror(source);
      const entries = new Map<string, string>();
      for (const spec of await from.listSpecs()) {
        entries.set(spec.node.hash, (await from.getEntry(spec))!.tarball.digest);
      }
      // Flip a byte in the middle of a tarball blob: its gzip stream breaks too.
      const flip = async (hash: string) => {
        const path = join(source, blobKey("sha256", entries.get(hash)!.slice("sha256:".length)));
        await Deno.chmod(path, 0o644);
        const bytes = await Deno.readFile(path);
        bytes[bytes.length >> 1] ^= 0xff;
        await Deno.writeFile(path, bytes);
      };

      await flip(HARNESS.hello);
      const to = await openMirror(join(work, "a"));
      const error = await copySpecs(from, to).then(() => undefined, (e) => e);
      assert.ok(error instanceof CopyError, String(error));
      assert.equal(error.failures.length, 1);
      assert.match(error.failures[0].spec, /^harness-hello@/);
      assert.ok(error.failures[0].error instanceof DigestMismatchError, error.message);
      assert.deepEqual(error.result.copied.map((s) => s.node.hash), [HARNESS.libdep]);
      assert.deepEqual((await to.listSpecs()).map((s) => s.node.hash), [HARNESS.libdep]);
      const helloBlob = entries.get(HARNESS.hello)!.slice("sha256:".length);
      await assert.rejects(Deno.stat(join(work, "a", blobKey("sha256", helloBlob))));

      // A broken dependency fails its dependents too: nothing reaches the destination.
      await flip(HARNESS.hello);
      await flip(HARNESS.libdep);
      const to2 = await openMirror(join(work, "b"));
      const error2 = await copySpecs(from, to2).then(() => undefined, (e) => e);
      assert.ok(error2 instanceof CopyError, String(error2));
      assert.ok(error2.failures[0].error instanceof DigestMismatchError);
      assert.ok(error2.failures[1].error instanceof NotFoundError);
      assert.match(error2.failures[1].error.message, /dependency harness-libdep/);
      // Not even the destination directory was created.
      await assert.rejects(to2.listSpecs(), MirrorNotFoundError);
    });
  } finally {
    await Deno.remove(source, { recursive: true });
  }
});

for (const kind of ["unsigned", "signed"]) {
  Deno.test(`copy: legacy v2 ${kind} mirror into a v3 directory that installs`, async () => {
    await withTempDir(async (work) => {
      const from = await openMirror(join(V2_MIRRORS, kind));
      // The copies keep the test mirrors' hand-edited format-5 nodes, whose hashes do not reproduce.
      const to = await openMirror(join(work, "cache"), { verifySpecHashes: false });
      const warnings: string[] = [];
      const result = await copySpecs(from, to, {
        onProgress: (e) => e.kind === "message" && warnings.push(e.text),
      });
      const specs = await from.listSpecs();
      assert.equal(result.copied.length, specs.length);
      assert.deepEqual(
        warnings,
        kind === "signed"
          ? [
            `${specs.length} signed specs were copied without their signatures: ${to.url} holds them unsigned`,
          ]
          : [],
      );
      assert.deepEqual(withoutSizes(await tarballs(to)), withoutSizes(await tarballs(from)));
      for (const spec of await to.listSpecs()) {
        const entry = (await to.getEntry(spec))!;
        assert.equal(entry.layout, 3);
        assert.equal(entry.signedText, undefined);
      }
      const installed = await installSpecs(to, await to.listSpecs(), {
        root: join(work, "root"),
        checkSignature: false,
      });
      assert.equal(installed.installed.size, specs.length);
    });
  });
}

/** v2 spec files record no tarball size; the v3 copy does: compare digests only. */
function withoutSizes(map: Map<string, string>): Map<string, string> {
  return new Map([...map].map(([k, v]) => [k, v.split(" ")[0]]));
}
