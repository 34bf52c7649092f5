/**
 * Hostile package tarballs inside otherwise valid build caches: a copy of the Spack 1.2
 * `fs-unsigned` fixture whose harness-libdep tarball is replaced, with its manifest checksum and
 * size fixed. The tarballs are written by Python's `tarfile` (which can write devices, FIFOs and
 * setuid bits) and compressed by GNU gzip, independently of Spackle's writer.
 *
 * @module
 */
import { join } from "node:path";
import { blobKey } from "../../lib/buildcache/layout.ts";
import { parseManifest, serializeManifest } from "../../lib/buildcache/manifest.ts";
import { sha256Hex } from "../../lib/stream/digest.ts";
import { copyFixture, HARNESS, SPACK12 } from "./fixtures.ts";

/** Member name of harness-libdep's prefix (no leading `/`), as its tarball in the fixtures. */
export const LIBDEP_PREFIX = `opt/build/linux-x86_64/harness-libdep-1.0-${HARNESS.libdep}`;

/** Key of harness-libdep's manifest in the fixture cache. */
export const LIBDEP_MANIFEST =
  `v3/manifests/spec/harness-libdep/harness-libdep-1.0-${HARNESS.libdep}.spec.manifest.json`;

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

/** The members of a valid harness-libdep tarball around `body` (parents first, buildinfo last). */
export function libdepPackage(body: readonly CraftedMember[]): CraftedMember[] {
  const parents = ["opt", "opt/build", "opt/build/linux-x86_64"];
  return [
    ...parents.map((name): CraftedMember => ({ name, type: "dir" })),
    { name: LIBDEP_PREFIX, type: "dir" },
    ...body,
    { name: `${LIBDEP_PREFIX}/.spack`, type: "dir" },
    {
      name: `${LIBDEP_PREFIX}/.spack/binary_distribution`,
      type: "file",
      text:
        `{buildpath: /opt/build, hash_to_prefix: {${HARNESS.libdep}: /${LIBDEP_PREFIX}}, relocate_binaries: [], relocate_links: [], relocate_textfiles: []}\n`,
    },
  ];
}

/** Key of harness-hello's manifest in the fixture cache (hello depends on libdep). */
export const HELLO_MANIFEST =
  `v3/manifests/spec/harness-hello/harness-hello-1.0-${HARNESS.hello}.spec.manifest.json`;

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
  const blob = join(cache, blobKey("sha256", checksum));
  await Deno.mkdir(join(blob, ".."), { recursive: true });
  await Deno.writeFile(blob, tarball);
  const data = [...manifest.data];
  data[0] = { ...data[0], checksum, contentLength: tarball.byteLength };
  await Deno.writeTextFile(path, serializeManifest(data));
}
