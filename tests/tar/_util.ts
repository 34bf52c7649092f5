/**
 * Helpers shared by the tar tests: fixture access, gunzip, hashing and running real tools.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Duplex } from "node:stream";
import { createGunzip } from "node:zlib";
import { join } from "node:path";
import type { TarEntry } from "../../lib/tar/mod.ts";
import { SPACK12 } from "../_support/fixtures.ts";

/** A package tarball of the fixtures, with the facts MANIFEST.md states about it. */
export interface FixtureTarball {
  /** Package name, e.g. `harness-libdep`. */
  name: string;
  /** Path of the gzip blob in `fs-unsigned`. */
  blob: string;
  /** sha256 (hex) of the uncompressed tar, the OCI diff_id. */
  diffId: string;
  /** Install prefix at build time, with its leading `/`. */
  prefix: string;
  /** The verbatim `.spack/binary_distribution` text (without the final newline). */
  buildinfo: string;
}

/** Reads the package tarball section of the fixtures' MANIFEST.md. */
export async function fixtureTarballs(): Promise<FixtureTarball[]> {
  const manifest = await Deno.readTextFile(join(SPACK12, "MANIFEST.md"));
  const section = /### (harness-[a-z]+): blob `sha256:([0-9a-f]{64})`([\s\S]*?)(?=\n### |\n## )/g;
  const found: FixtureTarball[] = [];
  for (const [, name, blob, body] of manifest.matchAll(section)) {
    found.push({
      name,
      blob: join(SPACK12, "fs-unsigned/blobs/sha256", blob.slice(0, 2), blob),
      diffId: /diff_id\) `sha256:([0-9a-f]{64})`/.exec(body)![1],
      prefix: "/" + /members below the prefix \(`([^`]+)\/`\)/.exec(body)![1],
      buildinfo: /```yaml\n(.*)\n```/.exec(body)![1],
    });
  }
  return found;
}

/** The uncompressed contents of a gzip file, streamed through `node:zlib`. */
export async function gunzipFile(path: string): Promise<ReadableStream<Uint8Array>> {
  const file = await Deno.open(path);
  return file.readable.pipeThrough(
    Duplex.toWeb(createGunzip()) as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
}

/** Lower-case hex sha256 of everything the stream yields. */
export async function sha256(stream: ReadableStream<Uint8Array>): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest("hex");
}

/** All bytes of a stream. */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** An async iterable over a list, as the writer takes entries. */
export async function* fromList<T extends TarEntry>(list: T[]): AsyncGenerator<T> {
  for (const entry of list) yield entry;
}

/** Runs a command; returns stdout, throws with stderr on a non-zero exit. */
export async function run(cmd: string, args: string[], stdin?: Uint8Array): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder();
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${text.decode(stderr)}`);
  return text.decode(stdout);
}

/** Sorted names in a directory (to check that nothing was left behind). */
export async function namesIn(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir), (entry) => entry.name)).sort();
}
