/**
 * Small stream and file helpers shared by the mirror, push and install stages.
 *
 * @module
 */

/** Collects a stream into one byte array. Only for small objects (manifests, spec blobs). */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A one-chunk stream over `bytes`. */
export function streamOf(bytes: Uint8Array | string): ReadableStream<Uint8Array> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return new ReadableStream({
    start(controller) {
      if (data.byteLength) controller.enqueue(data);
      controller.close();
    },
  });
}

/**
 * Writes `stream` to `path` atomically: into a temporary name in the same directory, renamed
 * into place only when the stream ended without error; on error the temporary file is removed.
 */
export async function writeFileAtomic(
  path: string,
  stream: ReadableStream<Uint8Array>,
  mode = 0o644,
): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode });
  try {
    await stream.pipeTo(file.writable);
    await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** True if `path` exists (without following a final symlink). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
