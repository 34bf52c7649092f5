/**
 * Test base images written straight into OCI image-layout directories (not through Spackle's
 * own code): a minimal runnable base made of the host's dynamic loader, libc and `/bin/sh`
 * (the files `ldd /bin/sh` names), packed by GNU tar and gzip as one layer; the same image with
 * Docker media types; image indexes; and bases with many small layers.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/** A fixed creation time, so test images are reproducible. */
export const BASE_CREATED = "2026-01-02T03:04:05Z";
/** The PATH of the test base images. */
export const BASE_PATH = "/usr/bin:/bin";

/** A gzip layer file with its digests. */
export interface LayerFile {
  /** Path of the `.tar.gz` file. */
  readonly path: string;
  /** `sha256:` of the gzip bytes. */
  readonly digest: string;
  /** Gzip size in bytes. */
  readonly size: number;
  /** `sha256:` of the tar. */
  readonly diffId: string;
}

/** An image written by {@link writeImage}. */
export interface WrittenImage {
  /** Its tag in the layout. */
  readonly tag: string;
  /** `sha256:` of its manifest. */
  readonly digest: string;
  /** Manifest size. */
  readonly size: number;
  /** Manifest media type. */
  readonly mediaType: string;
  /** Its layers. */
  readonly layers: readonly LayerFile[];
  /** Its config. */
  readonly config: Record<string, unknown>;
}

/** GOARCH of the machine running the tests. */
export function hostArch(): string {
  return ({ x86_64: "amd64", aarch64: "arm64" } as Record<string, string>)[Deno.build.arch] ??
    Deno.build.arch;
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text(out.stderr)}`);
  return text(out.stdout);
}

/** Packs directory `root` with GNU tar (reproducibly) and gzip into `path` (`.tar.gz`). */
export async function packLayer(root: string, path: string): Promise<LayerFile> {
  const tarPath = path.replace(/\.gz$/, "");
  await run("tar", [
    "--create",
    "--format=posix",
    "--pax-option=delete=atime,delete=ctime",
    "--sort=name",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "--mtime=@0",
    "-C",
    root,
    "-f",
    tarPath,
    ".",
  ]);
  const diffId = sha256(await Deno.readFile(tarPath));
  await run("gzip", ["-n", "-f", tarPath]);
  const gz = await Deno.readFile(path);
  return { path, digest: sha256(gz), size: gz.length, diffId };
}

/** The files `ldd /bin/sh` names (loader and libraries), plus `/bin/sh` itself. */
export async function shellFiles(): Promise<string[]> {
  const files = ["/bin/sh"];
  for (const line of (await run("ldd", ["/bin/sh"])).split("\n")) {
    const path = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
    if (path) files.push(path);
  }
  return files;
}

async function writeBlob(dir: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  await Deno.mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  await Deno.writeFile(join(dir, "blobs", "sha256", digest.slice(7)), bytes);
  return digest;
}

/** Adds (or replaces) tag `tag` → manifest descriptor in the layout's `index.json`. */
async function tagManifest(
  dir: string,
  tag: string,
  descriptor: { mediaType: string; digest: string; size: number },
): Promise<void> {
  await Deno.writeTextFile(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  const indexPath = join(dir, "index.json");
  const index = await Deno.readTextFile(indexPath).then(JSON.parse).catch(() => ({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [],
  }));
  const ref = "org.opencontainers.image.ref.name";
  index.manifests = index.manifests.filter((m: { annotations?: Record<string, string> }) =>
    m.annotations?.[ref] !== tag
  );
  index.manifests.push({ ...descriptor, annotations: { [ref]: tag } });
  await Deno.writeTextFile(indexPath, JSON.stringify(index));
}

/**
 * Writes an image of `layers` and `config` (its `rootfs.diff_ids` filled in here) into the
 * layout `dir` under `tag`, with OCI or Docker media types.
 */
export async function writeImage(
  dir: string,
  tag: string,
  layers: readonly LayerFile[],
  config: Record<string, unknown>,
  docker = false,
): Promise<WrittenImage> {
  const full = { ...config, rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) } };
  const configBytes = new TextEncoder().encode(JSON.stringify(full));
  const configDigest = await writeBlob(dir, configBytes);
  for (const layer of layers) await writeBlob(dir, await Deno.readFile(layer.path));
  const mediaType = docker ? DOCKER_MANIFEST : OCI_MANIFEST;
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: docker ? DOCKER_CONFIG : OCI_CONFIG,
      digest: configDigest,
      size: configBytes.length,
    },
    layers: layers.map((l) => ({
      mediaType: docker ? DOCKER_LAYER : OCI_LAYER,
      digest: l.digest,
      size: l.size,
    })),
  }));
  const digest = await writeBlob(dir, manifest);
  await tagManifest(dir, tag, { mediaType, digest, size: manifest.length });
  return { tag, digest, size: manifest.length, mediaType, layers, config: full };
}

/**
 * Tags in layout `dir` an image index `tag` whose entries point at `manifests` with the given
 * platforms (an entry may claim a platform its manifest is not for: only the index is read).
 */
export async function writeIndex(
  dir: string,
  tag: string,
  manifests: readonly { image: WrittenImage; architecture: string; os?: string }[],
): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: manifests.map((m) => ({
      mediaType: m.image.mediaType,
      digest: m.image.digest,
      size: m.image.size,
      platform: { architecture: m.architecture, os: m.os ?? "linux" },
    })),
  }));
  const digest = await writeBlob(dir, bytes);
  await tagManifest(dir, tag, { mediaType: OCI_INDEX, digest, size: bytes.length });
  return digest;
}

/** The config of a test base image for this host (before `rootfs`). */
export function baseConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    created: BASE_CREATED,
    architecture: hostArch(),
    os: "linux",
    config: { Env: [`PATH=${BASE_PATH}`, "BASE_IMAGE=minimal"], Cmd: ["/bin/sh"] },
    history: [{ created: BASE_CREATED, created_by: "tests/_support/base_image.ts" }],
    ...extra,
  };
}

/**
 * Builds the one layer of the minimal runnable base under `work`: the host's `/bin/sh`, its
 * loader and libraries at the paths `ldd` gives, and an empty `/proc` to mount over.
 */
export async function buildShellLayer(work: string): Promise<LayerFile> {
  const root = join(work, "base-rootfs");
  await Deno.mkdir(join(root, "proc"), { recursive: true });
  for (const file of await shellFiles()) {
    const dest = join(root, file);
    await Deno.mkdir(dirname(dest), { recursive: true });
    await Deno.copyFile(await Deno.realPath(file), dest);
    await Deno.chmod(dest, 0o755);
  }
  return await packLayer(root, join(work, "base-layer.tar.gz"));
}

/**
 * Writes the minimal runnable base image into layout `dir` as `tag`, with OCI media types or,
 * with `docker`, Docker's. `work` holds the staging files.
 */
export async function buildBaseImage(
  dir: string,
  work: string,
  options: { tag?: string; docker?: boolean } = {},
): Promise<WrittenImage> {
  const layer = await buildShellLayer(work);
  return await writeImage(dir, options.tag ?? "base", [layer], baseConfig(), options.docker);
}

/**
 * Writes a base image of `count` small layers (one file each, `/layers/<n>`) into layout `dir`
 * as `tag`: for layer-limit tests.
 */
export async function buildLayeredBase(
  dir: string,
  work: string,
  tag: string,
  count: number,
): Promise<WrittenImage> {
  const layers: LayerFile[] = [];
  for (let i = 0; i < count; i++) {
    const root = join(work, `layer-${i}`);
    await Deno.mkdir(join(root, "layers"), { recursive: true });
    await Deno.writeTextFile(join(root, "layers", String(i)), `layer ${i}\n`);
    layers.push(await packLayer(root, join(work, `layer-${i}.tar.gz`)));
  }
  const history = layers.map(() => ({ created: BASE_CREATED, created_by: "layer" }));
  return await writeImage(dir, tag, layers, baseConfig({ history }));
}
