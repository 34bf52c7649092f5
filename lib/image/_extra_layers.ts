// The small layers an image gets besides the package tarballs: the sbang launcher that scripts
// with long shebangs run through, and a view of the packages. Both are made in memory from tar
// members with fixed owner, group and mtime (0), so the same inputs give the same digest.

import { SBANG_SCRIPT } from "../relocate/sbang_script.ts";
import type { LayerMember } from "../oci/image/tarball.ts";
import type { ImageLayer } from "../oci/image/types.ts";
import { sha256Hex } from "../stream/digest.ts";
import { gzipBytes } from "../stream/gzip.ts";
import { readAll } from "../stream/io.ts";
import { createTarStream, type TarEntry } from "../tar/writer.ts";
import type { ViewPlan } from "../view/view.ts";

/** A layer made in memory: its gzip bytes, digests and members. */
export interface MemoryLayer {
  readonly layer: ImageLayer;
  readonly bytes: Uint8Array;
  readonly members: readonly LayerMember[];
}

const DIR_MODE = 0o755;
const SYMLINK_MODE = 0o777;

/** The layer holding the sbang launcher at each of `paths` (absolute), mode 0755. */
export function sbangLayer(paths: readonly string[]): Promise<MemoryLayer> {
  const body = new TextEncoder().encode(SBANG_SCRIPT);
  const entries: TarEntry[] = [];
  for (const path of [...paths].sort()) {
    const name = path.replace(/^\/+/, "");
    entries.push(...parentDirectories(name, entries));
    entries.push({ name, type: "file", mode: 0o755, size: body.length, body });
  }
  return memoryLayer(entries);
}

/**
 * The layer of the view at `root` (absolute): its parent directories, its own directories and a
 * symlink per file to the file in its prefix.
 */
export function viewLayer(root: string, plan: ViewPlan): Promise<MemoryLayer> {
  const top = root.replace(/^\/+/, "");
  const entries: TarEntry[] = parentDirectories(top, []);
  entries.push({ name: top, type: "directory", mode: DIR_MODE, size: 0 });
  for (const dir of plan.directories) {
    entries.push({ name: `${top}/${dir}`, type: "directory", mode: DIR_MODE, size: 0 });
  }
  for (const file of plan.files) {
    entries.push({
      name: `${top}/${file.path}`,
      type: "symlink",
      mode: SYMLINK_MODE,
      size: 0,
      linkname: file.target,
    });
  }
  return memoryLayer(entries);
}

/** Directory entries for the parents of member `name` not already in `written`. */
function parentDirectories(name: string, written: readonly TarEntry[]): TarEntry[] {
  const have = new Set(written.map((e) => e.name));
  const parts = name.split("/").slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join("/"))
    .filter((dir) => !have.has(dir))
    .map((dir) => ({ name: dir, type: "directory", mode: DIR_MODE, size: 0 }));
}

async function memoryLayer(entries: readonly TarEntry[]): Promise<MemoryLayer> {
  const tar = await readAll(createTarStream((async function* () {
    yield* entries;
  })()));
  const bytes = gzipBytes(tar);
  return {
    layer: {
      digest: `sha256:${sha256Hex(bytes)}`,
      size: bytes.length,
      diffId: `sha256:${sha256Hex(tar)}`,
    },
    bytes,
    members: entries.map((e) => ({ name: e.name, type: e.type, linkname: e.linkname ?? "" })),
  };
}
