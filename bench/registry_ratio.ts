/**
 * Spackle against a local OCI registry (Debian's `docker-registry` on loopback, plain HTTP),
 * beside skopeo moving the same content, on one synthetic install tree (`_synthetic_store.ts`),
 * in one run:
 *
 * - push: `pushSpecs` to `oci+http://` (tar, gzip -6, hashing, upload, configs, manifests)
 *   beside `tar -c | tee >(sha256sum) | gzip -6 > file` plus `sha256sum` of the file (the two
 *   digests an image needs) and `skopeo copy oci:… docker://…` of an OCI layout holding those
 *   gzip blobs as two images shaped like Spack's (the dependency's layer first);
 * - upload alone: `RegistryClient.pushBlob` of the prepared gzip blobs (concurrently, from their
 *   files) beside `skopeo copy oci:… docker://…` of the image holding both;
 * - pull + verify: `mirror.fetchBlob` of both tarball blobs to files (concurrently; the digest
 *   is checked while the bytes stream, with no second read) beside
 *   `skopeo copy docker://… oci:…` of the image holding both;
 * - install: `installSpecs` from the registry beside `skopeo copy docker://… oci:…` then
 *   `tar -xzf` of each layer.
 *
 * Push and install MB/s count the tree's uncompressed bytes (10^6) per wall second; upload and
 * pull count the gzip blob bytes. Each figure is the median of `--runs` runs (default 3); the
 * reference push is the sum of the medians of its two steps. CPU seconds are this process's
 * (Spackle) or the pipeline's under GNU time (tools); the registry's own CPU is in neither.
 * Every push and upload run goes to a fresh, empty registry: skopeo remembers where it has seen
 * a blob (its blob info cache) and would mount it from another repository of the same registry
 * instead of uploading it. Pull and install read one registry filled by an untimed Spackle push.
 *
 *     deno run -A bench/registry_ratio.ts --mb 300 [--runs 3]
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { installSpecs } from "../lib/install/install.ts";
import { OciMirror } from "../lib/mirror/oci.ts";
import { pushSpecs } from "../lib/push/push.ts";
import {
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  RegistryClient,
  type RegistryClientOptions,
} from "../lib/registry/mod.ts";
import { sha256Hex } from "../lib/stream/digest.ts";
import { openStore } from "../lib/store/mod.ts";
import { startRegistry, type TestRegistry } from "../tests/_support/registry.ts";
import {
  fixed,
  GNU_TIME,
  hasCommand,
  medianOf,
  syncDisks,
  table,
  timeInProcess,
  timeShell,
  type Timing,
} from "./_measure.ts";
import { createSyntheticStore } from "./_synthetic_store.ts";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "300" },
    runs: { type: "string", default: "3" },
  },
});
const runs = Number(values.runs);
if (!(await hasCommand("skopeo"))) throw new Error("skopeo is not installed");
const gnuTime = await hasCommand(GNU_TIME);
const work = await Deno.makeTempDir({ prefix: "spackle-registry-bench-" });
const q = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
const fresh = async (path: string) => {
  await Deno.remove(path, { recursive: true }).catch(() => {});
  await Deno.mkdir(path, { recursive: true });
  await syncDisks();
};
// Anonymous: never read the user's Docker credentials for a loopback registry.
const clientOptions: RegistryClientOptions = { credentials: () => Promise.resolve(undefined) };
const ociUrl = (host: string, repo: string) => `oci+http://${host}/${repo}`;
// The empty registry of the current push or upload run.
let target: TestRegistry | undefined;
const emptyRegistry = async () => {
  await target?.stop();
  target = await startRegistry();
  await syncDisks();
};

const registry = await startRegistry();
try {
  console.log(`generating a ${values.mb} MB synthetic install tree in ${work} …`);
  const synthetic = await createSyntheticStore(join(work, "store"), { mb: Number(values.mb) });
  const store = await openStore(synthetic.dir);
  const treeMb = synthetic.bytes / 1e6;
  const skopeoPush = (layout: string, tag: string, host: string) =>
    `skopeo copy --quiet --preserve-digests --dest-tls-verify=false ` +
    `${q(`oci:${layout}:${tag}`)} ${q(`docker://${host}/bench/skopeo:${tag}`)}`;
  const skopeoPull = (repo: string, tag: string, layout: string) =>
    `skopeo copy --quiet --src-tls-verify=false ` +
    `${q(`docker://${registry.host}/${repo}:${tag}`)} ${q(`oci:${layout}:${tag}`)}`;

  // --- push ---
  const spackle1 = await medianOf(runs, emptyRegistry, () =>
    timeInProcess(async () => {
      const mirror = new OciMirror(ociUrl(target!.host, "bench/spackle"), {
        registry: clientOptions,
      });
      await pushSpecs(mirror, store, store.specs, { jobs: 1 });
    }));
  const spackle2 = await medianOf(runs, emptyRegistry, () =>
    timeInProcess(async () => {
      const mirror = new OciMirror(ociUrl(target!.host, "bench/spackle"), {
        registry: clientOptions,
      });
      await pushSpecs(mirror, store, store.specs);
    }));

  // The reference makes an OCI layout of the same trees, then skopeo uploads it.
  const layout = join(work, "layout");
  const packed = join(work, "packed");
  const pack = await medianOf(
    runs,
    async () => {
      await fresh(packed);
      await fresh(join(layout, "blobs", "sha256"));
    },
    () => timeShell(packScript(store.specs.map((s) => s.dir), packed, layout), gnuTime),
  );
  const layers = await writeLayout(layout, packed, store.specs.length);
  const copyPush = await medianOf(runs, emptyRegistry, () =>
    timeShell(
      layers.map((_, i) => skopeoPush(layout, `image${i}`, target!.host)).join(" && "),
      gnuTime,
    ));
  const referencePush = { wall: pack.wall + copyPush.wall, cpu: pack.cpu + copyPush.cpu };

  // --- upload alone: the same gzip blobs ---
  const blobMb = layers.reduce((n, l) => n + l.size, 0) / 1e6;
  const upload = await medianOf(runs, emptyRegistry, () => {
    const client = new RegistryClient(target!.host, { ...clientOptions, plainHttp: true });
    return timeInProcess(async () => {
      await Promise.all(
        layers.map((l) =>
          client.pushBlob("bench/spackle", l.digest, l.size, () => Deno.openSync(l.path).readable)
        ),
      );
    });
  });
  const lastImage = `image${layers.length - 1}`;
  const copyUpload = await medianOf(
    runs,
    emptyRegistry,
    () => timeShell(skopeoPush(layout, lastImage, target!.host), gnuTime),
  );
  await target?.stop();
  target = undefined;

  // --- pull + verify, from a cache Spackle pushed ---
  const source = "bench/cache";
  const mirror = new OciMirror(ociUrl(registry.host, source), { registry: clientOptions });
  await pushSpecs(mirror, store, store.specs);
  const client = new RegistryClient(registry.host, { ...clientOptions, plainHttp: true });
  const specs = await mirror.listSpecs();
  const entries = await Promise.all(specs.map(async (s) => (await mirror.getEntry(s))!));
  // The dependent's image holds every layer: skopeo copies that one image.
  const dependent = entries.find((e) => e.spec.node.name === "bench-app")!;
  const dependentTag = dependent.source.slice(dependent.source.lastIndexOf(":") + 1);
  const pulled = join(work, "pulled");
  const pull = await medianOf(runs, () => fresh(pulled), () =>
    timeInProcess(async () => {
      await Promise.all(entries.map(async (e) => {
        const file = await Deno.create(join(pulled, e.tarball.digest.slice("sha256:".length)));
        await (await mirror.fetchBlob(e.tarball.digest)).pipeTo(file.writable);
      }));
    }));
  const copyPull = await medianOf(
    runs,
    () => fresh(pulled),
    () => timeShell(skopeoPull(source, dependentTag, join(pulled, "oci")), gnuTime),
  );

  // --- install ---
  const root = join(work, "sw");
  const install = await medianOf(
    runs,
    () => fresh(root),
    () => timeInProcess(() => installSpecs(mirror, specs, { root, checkSignature: false })),
  );
  // Dependencies first, as the image lists its layers.
  const blobFiles = (await imageLayers(client, source, dependentTag)).map((digest) =>
    join(pulled, "oci", "blobs", "sha256", digest.slice("sha256:".length))
  );
  const copyInstall = await medianOf(
    runs,
    async () => {
      await fresh(pulled);
      await fresh(root);
    },
    () =>
      timeShell(
        [
          skopeoPull(source, dependentTag, join(pulled, "oci")),
          ...blobFiles.map((f) => `tar -xzf ${q(f)} -C ${q(root)}`),
        ].join(" && "),
        gnuTime,
      ),
  );

  // --- report ---
  const row = (op: string, tool: string, mb: number, t: Timing, spackle?: Timing) => [
    op,
    tool,
    fixed(t.wall, 2),
    fixed(mb / t.wall),
    fixed(t.cpu, 2),
    spackle ? fixed(t.wall / spackle.wall, 2) : "",
  ];
  console.log(
    `\ntree: ${fixed(treeMb)} MB in ${synthetic.files} files, ${synthetic.specs.length} specs; ` +
      `gzip -6 blobs ${fixed(blobMb)} MB; registry ${registry.host} (plain HTTP, loopback)` +
      `\nmedian of ${runs} runs; MB/s = tree MB (push, install) or blob MB (upload, pull) per ` +
      `wall second; CPU = user + system s, registry excluded` +
      `\nSpackle ÷ tool: Spackle's MB/s over the tool's (> 1: Spackle is faster)\n`,
  );
  console.log(table(["", "tool", "wall s", "MB/s", "CPU s", "Spackle ÷ tool"], [
    row("push", "spackle pushSpecs (jobs 1)", treeMb, spackle1),
    row("push", "spackle pushSpecs (jobs 2, default)", treeMb, spackle2),
    row("push", "tar | gzip -6, sha256 ×2, then skopeo copy", treeMb, referencePush, spackle1),
    row("push", "  of which tar | gzip -6 + sha256", treeMb, pack),
    row("push", "  of which skopeo copy oci: → docker://", treeMb, copyPush),
    row("upload", "spackle RegistryClient.pushBlob", blobMb, upload),
    row("upload", "skopeo copy oci: → docker://", blobMb, copyUpload, upload),
    row("pull", "spackle mirror.fetchBlob + verify → file", blobMb, pull),
    row("pull", "skopeo copy docker:// → oci:", blobMb, copyPull, pull),
    row("install", "spackle installSpecs", treeMb, install),
    row("install", "skopeo copy docker:// → oci: + tar -xzf", treeMb, copyInstall, install),
  ]));
} finally {
  await target?.stop();
  await registry.stop();
  await Deno.remove(work, { recursive: true }).catch(() => {});
}

/**
 * A `sh` script that, for each prefix in turn, writes `tar | gzip -6` to `out/<i>.tar.gz` while
 * hashing the tar (the image's `diff_id`), then hashes the gzip file and moves it into the OCI
 * layout's blobs; each digest lands in `out/<i>.diffid` and `out/<i>.digest`.
 */
function packScript(prefixes: readonly string[], out: string, layout: string): string {
  return prefixes.map((dir, i) => {
    const parent = q(join(dir, ".."));
    const name = q(dir.split("/").pop()!);
    const [fifo, gz, diffId, digest] = ["fifo", "tar.gz", "diffid", "digest"].map((ext) =>
      q(join(out, `${i}.${ext}`))
    );
    return [
      `mkfifo ${fifo}`,
      `sha256sum < ${fifo} | cut -d' ' -f1 > ${diffId} &`,
      `tar -cf - -C ${parent} ${name} | tee ${fifo} | gzip -6 > ${gz}`,
      "wait",
      `h=$(sha256sum < ${gz} | cut -d' ' -f1)`,
      `echo "$h" > ${digest}`,
      `mv ${gz} ${q(join(layout, "blobs", "sha256"))}/"$h"`,
    ].join("\n");
  }).join("\n");
}

/** One gzip layer of the reference layout. */
interface LayoutLayer {
  digest: string;
  size: number;
  diffId: string;
  path: string;
}

/**
 * Completes the OCI image layout `layout` whose blobs {@link packScript} wrote from `count`
 * prefixes: image `image<i>` holds layers 0…i (dependencies first, as Spack's images do), with
 * a minimal image config.
 */
async function writeLayout(layout: string, packed: string, count: number): Promise<LayoutLayer[]> {
  const blobs = join(layout, "blobs", "sha256");
  const layers: LayoutLayer[] = [];
  for (let i = 0; i < count; i++) {
    const hex = (await Deno.readTextFile(join(packed, `${i}.digest`))).trim();
    const path = join(blobs, hex);
    layers.push({
      digest: `sha256:${hex}`,
      size: (await Deno.stat(path)).size,
      diffId: `sha256:${(await Deno.readTextFile(join(packed, `${i}.diffid`))).trim()}`,
      path,
    });
  }
  const putBlob = async (bytes: Uint8Array) => {
    const hex = sha256Hex(bytes);
    await Deno.writeFile(join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const manifests = [];
  for (let i = 0; i < count; i++) {
    const own = layers.slice(0, i + 1);
    const config = await putBlob(json({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: own.map((l) => l.diffId) },
    }));
    const manifest = await putBlob(json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, ...config },
      layers: own.map((l) => ({ mediaType: OCI_LAYER_GZIP, digest: l.digest, size: l.size })),
    }));
    manifests.push({
      mediaType: OCI_MANIFEST,
      ...manifest,
      annotations: { "org.opencontainers.image.ref.name": `image${i}` },
    });
  }
  await Deno.writeTextFile(
    join(layout, "oci-layout"),
    JSON.stringify({ imageLayoutVersion: "1.0.0" }),
  );
  await Deno.writeTextFile(
    join(layout, "index.json"),
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }),
  );
  return layers;
}

/** Layer digests of image `tag` of `repo`, in manifest order. */
async function imageLayers(client: RegistryClient, repo: string, tag: string): Promise<string[]> {
  const manifest = await client.getManifest(repo, tag, [OCI_MANIFEST]);
  const parsed = JSON.parse(new TextDecoder().decode(manifest.bytes)) as {
    layers: { digest: string }[];
  };
  return parsed.layers.map((l) => l.digest);
}
