/**
 * gunzip on a worker thread, so decompression runs beside whatever consumes its output (an
 * install's untar and file writes) instead of taking turns with it on the main thread.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { InflatePool } from "./_inflate_pool.ts";

/** Output chunks (256 KiB each) a stream may have decompressed ahead of its reader. */
const OUTPUT_CREDIT = 4;
/** Input batches sent to the worker and not yet taken by zlib. */
const INPUT_IN_FLIGHT = 4;
/** Input is sent in batches of about this many bytes: each message costs far more than a copy. */
const INPUT_BATCH = 256 * 1024;

let sharedPool: InflatePool | undefined;

/**
 * The process-wide pool, of `threads` workers when given (a pool of another size is replaced;
 * its streams finish on it), else of one worker per core but one, at least one.
 */
function pool(threads: number | undefined): InflatePool {
  const size = Math.max(1, Math.floor(threads ?? availableParallelism() - 1));
  if (threads !== undefined && sharedPool?.size !== size) sharedPool = new InflatePool(size);
  return sharedPool ??= new InflatePool(size);
}

/** Options of {@link workerGunzipStream}. */
export interface WorkerGunzipOptions {
  /**
   * Worker threads of the process-wide pool every stream shares (default: cores − 1, at least
   * 1); a stream asking for another number replaces the pool for later streams.
   */
  threads?: number;
}

/**
 * Decompresses gzip (one or more members) on a shared pool of worker threads, as `gunzipStream`
 * does on the calling thread: same input accepted, same zlib errors for corrupt input. At most
 * 4 input batches and 4 output chunks of 256 KiB per stream are in flight, so memory stays bounded
 * whatever the size. Cancelling the readable side or aborting the writable side stops the stream
 * in its worker; workers stop once idle, so they do not keep the process alive.
 *
 * @example
 * ```ts
 * import { workerGunzipStream } from "@spackle/spackle/stream";
 * const file = await Deno.open("blob.tar.gz");
 * const tar = file.readable.pipeThrough(workerGunzipStream());
 * ```
 *
 * @throws (errors the readable side) with zlib's error for corrupt input, or when the worker
 * fails.
 */
export function workerGunzipStream(
  options: WorkerGunzipOptions = {},
): TransformStream<Uint8Array, Uint8Array> {
  let output!: ReadableStreamDefaultController<Uint8Array>;
  let input!: WritableStreamDefaultController;
  /** Output chunks granted and not yet received. */
  let granted = 0;
  let unacknowledged = 0;
  let settled = false;
  /** Wakes a writer waiting for an acknowledgement, or the closer waiting for the end. */
  let wake: (() => void) | undefined;
  const ended = Promise.withResolvers<void>();
  ended.promise.catch(() => {});

  const finish = (error?: unknown) => {
    if (settled) return;
    settled = true;
    if (error === undefined) {
      output.close();
      ended.resolve();
      return;
    }
    channel.stop();
    output.error(error);
    input.error(error);
    ended.reject(error);
    wake?.();
  };
  const channel = pool(options.threads).open(OUTPUT_CREDIT, (m) => {
    if (m.type === "out") {
      granted--;
      output.enqueue(m.out);
    } else if (m.type === "ack") {
      unacknowledged--;
      wake?.();
    } else if (m.type === "end") finish();
    else finish(Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
  });
  granted = OUTPUT_CREDIT;

  let batch: Uint8Array[] = [];
  let batched = 0;
  /** Sends the batch once fewer than INPUT_IN_FLIGHT are waiting for zlib. */
  const send = async () => {
    while (unacknowledged >= INPUT_IN_FLIGHT && !settled) {
      await new Promise<void>((resolve) => wake = resolve);
    }
    if (settled) return await ended.promise;
    if (!batched) return;
    const data = new Uint8Array(batched);
    let at = 0;
    for (const chunk of batch) {
      data.set(chunk, at);
      at += chunk.byteLength;
    }
    batch = [];
    batched = 0;
    unacknowledged++;
    channel.write(data);
  };

  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      output = controller;
    },
    pull(controller) {
      const want = (controller.desiredSize ?? 0) - granted;
      if (want > 0 && !settled) {
        granted += want;
        channel.credit(want);
      }
    },
    cancel(reason) {
      finish(reason);
    },
  }, { highWaterMark: OUTPUT_CREDIT });
  const writable = new WritableStream<Uint8Array>({
    start(controller) {
      input = controller;
    },
    async write(chunk) {
      batch.push(chunk);
      batched += chunk.byteLength;
      if (batched >= INPUT_BATCH) await send();
    },
    async close() {
      await send();
      channel.close();
      await ended.promise;
    },
    abort(reason) {
      finish(reason);
    },
  });
  return { readable, writable };
}
