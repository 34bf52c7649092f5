// Copying blobs into an image repository by digest: skipped when present, mounted from another
// repository of the same registry when possible, else streamed from the source (never
// buffered whole, never recompressed).

import type { ImageRepository } from "./repository.ts";
import type { PushBlobResult } from "../registry/client.ts";

/** Where a blob can be read from. */
export interface BlobSource {
  /** Opens a fresh stream of the blob (verified against its digest by the source). */
  open(): Promise<ReadableStream<Uint8Array>>;
  /** The source repository, for cross-repository mounts. */
  readonly repository?: ImageRepository;
}

/** The blob source of `digest` in `repository`. */
export function repositoryBlob(repository: ImageRepository, digest: string): BlobSource {
  return {
    open: () => repository.getBlob(digest),
    repository,
  };
}

/** Copies blob `digest` of `size` bytes from `source` into `target` unless it is there. */
export function copyBlob(
  target: ImageRepository,
  digest: string,
  size: number,
  source: BlobSource,
): Promise<PushBlobResult> {
  const from = source.repository;
  const mountFrom = from?.mountDomain !== undefined && from.mountDomain === target.mountDomain
    ? from.name
    : undefined;
  return target.pushBlob(digest, size, () => lazyStream(() => source.open()), mountFrom);
}

/** A stream that opens its source on the first read, since upload bodies are made on demand. */
function lazyStream(open: () => Promise<ReadableStream<Uint8Array>>): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream({
    async pull(controller) {
      reader ??= (await open()).getReader();
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader?.cancel(reason),
  });
}
