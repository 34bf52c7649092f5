/**
 * Hostile build caches for the tests: copies of the Spack 1.2 `fs-unsigned` fixture whose
 * tarballs or spec blobs are replaced, with manifest checksums and sizes fixed so only a later
 * check can tell. Crafted tarballs are written by Python's `tarfile` (which can write devices,
 * FIFOs and setuid bits) and compressed by GNU gzip, independently of Spackle's writer; Spackle's
 * own writer makes the others. Also: snapshots of a cache and checks that an install left nothing.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import {
  blobKey,
  findRecord,
  MEDIA_SPEC,
  parseManifest,
  serializeManifest,
} from "../../lib/buildcache/mod.ts";
import { createTarStream, type TarEntry } from "../../lib/tar/mod.ts";
import { gzipStream, sha256Hex } from "../../lib/stream/mod.ts";
import { readAll } from "../../lib/stream/io.ts";
import { gzipBytes, maybeGunzip } from "../../lib/stream/gzip.ts";
import { copyFixture, HARNESS, SPACK12 } from "./fixtures.ts";

/** Member name of harness-libdep's prefix (no leading `/`), as its tarball in the fixtures. */
export const LIBDEP_PREFIX = `opt/build/linux-x86_64/harness-libdep-1.0-${HARNESS.libdep}`;

/** Key of harness-libdep's manifest in the fixture cache. */
export const LIBDEP_MANIFEST =
  `v3/manifests/spec/harness-libdep/harness-libdep-1.0-${HARNESS.libdep}.spec.manifest.json`;

/** Manifest keys of the two harness packages in a Spack 1.2 URL-layout cache. */
export const MANIFEST = {
  hello: `v3/manifests/spec/harness-hello/harness-hello-1.0-${HARNESS.hello}.spec.manifest.json`,
  libdep: LIBDEP_MANIFEST,
} as const;

/** One member to write; `chr`, `blk` and `fifo` are device and FIFO headers (no body). */
export interface CraftedMember {
  name: string;
  type: "file" | "dir" | "symlink" | "hardlink" | "chr" | "blk" | "fifo";
  /** Permission bits, setuid/setgid included (default 0o755 for directories, else 0o644). */
  mode?: number;
  /** Target of a symlink or hardlink. */
  linkname?: string;
  /** Body of a file, as text. */
  text?: string;
  /** Body of a file of this many bytes: seeded noise, or a repeated 16 KiB block of it. */
  size?: number;
  fill?: "noise" | "repeated";
}

const PYTHON = `
import io, json, random, sys, tarfile
members = json.load(open(sys.argv[1]))
rng = random.Random(1)
block = rng.randbytes(16384)
class Body:
    def __init__(self, size, fill):
        self.left, self.fill = size, fill
    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        if self.fill == "noise":
            return rng.randbytes(n)
        reps = block * (n // len(block) + 1)
        return reps[:n]
kinds = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
         "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE,
         "fifo": tarfile.FIFOTYPE}
with tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
    for m in members:
        info = tarfile.TarInfo(m["name"])
        info.type = kinds[m["type"]]
        info.mode = m.get("mode", 0o755 if m["type"] == "dir" else 0o644)
        info.linkname = m.get("linkname", "")
        body = None
        if m["type"] == "file":
            if "text" in m:
                data = m["text"].encode()
                info.size, body = len(data), io.BytesIO(data)
            else:
                info.size, body = m.get("size", 0), Body(m.get("size", 0), m.get("fill", "noise"))
        if m["type"] in ("chr", "blk"):
            info.devmajor, info.devminor = 1, 3
        tar.addfile(info, body)
`;

/** The gzip tarball of `members`, written by Python's `tarfile` and `gzip -1`. */
export async function craftTarball(members: readonly CraftedMember[]): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "spackle-craft-" });
  try {
    await Deno.writeTextFile(join(dir, "members.json"), JSON.stringify(members));
    await Deno.writeTextFile(join(dir, "craft.py"), PYTHON);
    const out = await new Deno.Command("sh", {
      args: ["-c", `python3 craft.py members.json | gzip -1 -n`],
      cwd: dir,
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return out.stdout;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The buildinfo of a valid harness-libdep tarball with nothing to relocate. */
export const LIBDEP_BUILDINFO =
  `{buildpath: /opt/build, hash_to_prefix: {${HARNESS.libdep}: /${LIBDEP_PREFIX}}, relocate_binaries: [], relocate_links: [], relocate_textfiles: []}\n`;

/**
 * The members of a harness-libdep tarball around `body` (parents first, buildinfo last), with
 * `buildinfo` as its `.spack/binary_distribution` (default: a valid one).
 */
export function libdepPackage(
  body: readonly CraftedMember[],
  buildinfo: string = LIBDEP_BUILDINFO,
): CraftedMember[] {
  const parents = ["opt", "opt/build", "opt/build/linux-x86_64"];
  return [
    ...parents.map((name): CraftedMember => ({ name, type: "dir" })),
    { name: LIBDEP_PREFIX, type: "dir" },
    ...body,
    { name: `${LIBDEP_PREFIX}/.spack`, type: "dir" },
    {
      name: `${LIBDEP_PREFIX}/.spack/binary_distribution`,
      type: "file",
      text: buildinfo,
    },
  ];
}

/** Key of harness-hello's manifest in the fixture cache (hello depends on libdep). */
export const HELLO_MANIFEST = MANIFEST.hello;

/**
 * A copy of the `fs-unsigned` fixture cache whose harness-libdep tarball is `tarball`, with
 * the manifest's checksum and size set to it (or to `claim`, a different sha256 hex under
 * which the bytes are stored, for a digest mismatch).
 */
export async function cacheWithTarball(tarball: Uint8Array, claim?: string): Promise<string> {
  const cache = await copyFixture(join(SPACK12, "fs-unsigned"));
  await replaceTarball(cache, LIBDEP_MANIFEST, tarball, claim);
  return cache;
}

/** Makes the manifest `manifestKey` of the cache `cache` name `tarball` (see {@link cacheWithTarball}). */
export async function replaceTarball(
  cache: string,
  manifestKey: string,
  tarball: Uint8Array,
  claim?: string,
): Promise<void> {
  const path = join(cache, manifestKey);
  const manifest = parseManifest(await Deno.readTextFile(path), path);
  const checksum = claim ?? sha256Hex(tarball);
  await writeBlobAs(cache, checksum, tarball);
  const data = [...manifest.data];
  data[0] = { ...data[0], checksum, contentLength: tarball.byteLength };
  await Deno.writeTextFile(path, serializeManifest(data));
}

/** Writes `bytes` as a blob of the cache at `cache`; returns its hex SHA-256. */
export async function writeBlob(cache: string, bytes: Uint8Array): Promise<string> {
  const checksum = sha256Hex(bytes);
  await writeBlobAs(cache, checksum, bytes);
  return checksum;
}

/** Stores `bytes` at the blob key of `checksum` (which may lie about them). */
async function writeBlobAs(cache: string, checksum: string, bytes: Uint8Array): Promise<void> {
  const path = join(cache, blobKey("sha256", checksum));
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeFile(path, bytes);
}

/**
 * Replaces the spec blob of the (unsigned) manifest at `key` with `edit` applied to its JSON,
 * re-gzipped, and fixes the manifest's checksum and length so only an identity check can tell.
 */
export async function editSpecBlob(
  cache: string,
  key: string,
  edit: (doc: { spec: { nodes: Record<string, unknown>[] } }) => void,
): Promise<void> {
  const manifest = parseManifest(await Deno.readTextFile(join(cache, key)), key);
  const record = findRecord(manifest, MEDIA_SPEC, key);
  const old = await Deno.readFile(join(cache, blobKey("sha256", record.checksum)));
  const doc = JSON.parse(new TextDecoder().decode(maybeGunzip(old)));
  edit(doc);
  const blob = gzipBytes(JSON.stringify(doc));
  const checksum = await writeBlob(cache, blob);
  const data = manifest.data.map((r) =>
    r === record ? { ...r, checksum, contentLength: blob.byteLength } : r
  );
  await Deno.writeTextFile(join(cache, key), serializeManifest(data));
}

/** Every file and symlink under `dir` with the SHA-256 of its content (or link target). */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (path: string) => {
    for await (const e of Deno.readDir(path)) {
      const full = join(path, e.name);
      if (e.isDirectory) await walk(full);
      else if (e.isSymlink) out.set(relative(dir, full), `-> ${await Deno.readLink(full)}`);
      else out.set(relative(dir, full), sha256Hex(await Deno.readFile(full)));
    }
  };
  await walk(dir);
  return out;
}

/**
 * Asserts the install root holds nothing of an install: no file, symlink or database record
 * anywhere, and no directory named after a DAG hash (a prefix or its staging directory).
 */
export async function assertNothingInstalled(root: string): Promise<void> {
  const found: string[] = [];
  const walk = async (path: string) => {
    for await (const e of Deno.readDir(path)) {
      const full = join(path, e.name);
      if (!e.isDirectory || /[a-z2-7]{32}/.test(e.name)) found.push(relative(root, full));
      if (e.isDirectory) await walk(full);
    }
  };
  await walk(root).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  assert.deepEqual(found, [], "nothing of the install is left in the root");
}

/** A directory member. */
export const dirEntry = (name: string): TarEntry => ({
  name,
  type: "directory",
  mode: 0o755,
  size: 0,
});

/** A regular file member holding `body` (text or a stream of `size` bytes). */
export function fileEntry(
  name: string,
  body: string | ReadableStream<Uint8Array>,
  size?: number,
): TarEntry {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return {
    name,
    type: "file",
    mode: 0o644,
    size: bytes instanceof Uint8Array ? bytes.byteLength : size!,
    body: bytes,
  };
}

/**
 * Replaces harness-libdep's tarball in the URL-layout cache `cache` by a gzip tar of `entries`
 * written by Spackle's own writer, and fixes its manifest record (checksum and length), so only
 * later checks can tell.
 */
export async function replaceLibdepTarball(cache: string, entries: TarEntry[]): Promise<void> {
  async function* members() {
    yield* entries;
  }
  const gz = await readAll(createTarStream(members()).pipeThrough(gzipStream()));
  await replaceTarball(cache, MANIFEST.libdep, gz);
}
