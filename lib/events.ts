/**
 * Progress events emitted by long operations (push, install). The library never prints; the
 * CLI renders these events.
 *
 * @module
 */

/** A spec changed state within a push, an install or a copy between caches. */
export interface SpecEvent {
  /** Discriminant. */
  kind: "spec";
  /** What is being done. */
  action: "push" | "install" | "copy";
  /** `name@version/hash7`. */
  spec: string;
  /** 1-based position of the spec in this operation. */
  index: number;
  /** Number of specs in this operation. */
  total: number;
  /** `start`, then one of `done`, `skipped` (already there) or `failed`. */
  state: "start" | "done" | "skipped" | "failed";
  /** On `done`: bytes moved (compressed). */
  bytes?: number;
  /** On `done`: seconds taken. */
  seconds?: number;
  /** On `done` of a push: digest of the package tarball. */
  digest?: string;
  /** On `done` of an install: URL of the build cache the spec came from. */
  source?: string;
  /** On `failed`. */
  error?: Error;
}

/** Bytes moved for the current spec (download or upload), for progress bars. */
export interface BytesEvent {
  /** Discriminant. */
  kind: "bytes";
  /** `name@version/hash7`. */
  spec: string;
  /** Bytes so far. */
  bytes: number;
  /** Expected total, when known. */
  total?: number;
}

/** A message for the user (e.g. a skipped dependency or a non-fatal problem). */
export interface MessageEvent {
  /** Discriminant. */
  kind: "message";
  /** `warning` for problems that did not stop the operation. */
  level: "info" | "warning";
  /** The message, one line. */
  text: string;
}

/** Any progress event. */
export type ProgressEvent = SpecEvent | BytesEvent | MessageEvent;

/** Receives progress events; must not throw. */
export type ProgressListener = (event: ProgressEvent) => void;

/** A pass-through stage that reports running byte counts for `spec`. */
export function countBytes(
  spec: string,
  onProgress: ProgressListener | undefined,
  total?: number,
): TransformStream<Uint8Array, Uint8Array> {
  let bytes = 0;
  let last = 0;
  return new TransformStream({
    transform(chunk, controller) {
      bytes += chunk.byteLength;
      // Throttle to every 1 MiB so rendering never costs throughput.
      if (onProgress && bytes - last >= 1 << 20) {
        last = bytes;
        onProgress({ kind: "bytes", spec, bytes, total });
      }
      controller.enqueue(chunk);
    },
    flush() {
      onProgress?.({ kind: "bytes", spec, bytes, total });
    },
  });
}
