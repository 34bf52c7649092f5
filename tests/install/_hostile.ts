/** Helpers for tests on altered copies of the fixture caches: rewrite, snapshot, check leftovers. */
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
import { HARNESS } from "../_support/fixtures.ts";

/** Manifest keys of the two harness packages in a Spack 1.2 URL-layout cache. */
export const MANIFEST = {
  hello: `v3/manifests/spec/harness-hello/harness-hello-1.0-${HARNESS.hello}.spec.manifest.json`,
  libdep:
    `v3/manifests/spec/harness-libdep/harness-libdep-1.0-${HARNESS.libdep}.spec.manifest.json`,
} as const;

/** Writes `bytes` as a blob of the cache at `cache`; returns its hex SHA-256. */
export async function writeBlob(cache: string, bytes: Uint8Array): Promise<string> {
  const checksum = sha256Hex(bytes);
  const path = join(cache, blobKey("sha256", checksum));
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeFile(path, bytes);
  return checksum;
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

/** Build prefix (member prefix, without the leading `/`) of harness-libdep in forged tarballs. */
export const LIBDEP_PREFIX = `opt/build/linux-x86_64/harness-libdep-1.0-${HARNESS.libdep}`;

/**
 * Replaces harness-libdep's tarball in the URL-layout cache `cache` by a real gzip tar of
 * `entries` and fixes its manifest record (checksum and length), so only later checks can tell.
 */
export async function replaceLibdepTarball(cache: string, entries: TarEntry[]): Promise<void> {
  async function* members() {
    yield* entries;
  }
  const gz = await readAll(createTarStream(members()).pipeThrough(gzipStream()));
  const checksum = await writeBlob(cache, gz);
  const path = join(cache, MANIFEST.libdep);
  const manifest = parseManifest(await Deno.readTextFile(path), path);
  manifest.data[0] = { ...manifest.data[0], checksum, contentLength: gz.byteLength };
  await Deno.writeTextFile(path, serializeManifest(manifest.data));
}
