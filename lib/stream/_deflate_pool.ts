/**
 * A pool of Web Workers (`_worker_pool.ts`) that raw-deflate blocks for `parallelGzipStream`.
 *
 * @module
 */
import { WorkerPool } from "./_worker_pool.ts";

const WORKER_SOURCE = `
import { constants, deflateRawSync } from "node:zlib";
self.onmessage = ({ data: { id, data, dictionary, last, level } }) => {
  try {
    const out = deflateRawSync(data, {
      level,
      memLevel: 8,
      dictionary,
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
    });
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    self.postMessage({ id, out: bytes }, [bytes.buffer]);
  } catch (e) {
    self.postMessage({ id, error: String(e?.message ?? e) });
  }
};`;

/** One block of input for a worker. */
export interface DeflateJob {
  /** The block's bytes (transferred to the worker). */
  data: Uint8Array;
  /** The 32 KiB of input before the block, so matches may reach back into it. */
  dictionary?: Uint8Array;
  /** The final block: finish the deflate stream instead of sync-flushing it. */
  last: boolean;
  /** zlib level, 0 to 9. */
  level: number;
}

type Pending = { resolve: (out: Uint8Array) => void; reject: (e: Error) => void };

/** Deflates blocks on up to `size` worker threads. */
export class DeflatePool {
  readonly #pool: WorkerPool<Pending>;
  #nextId = 0;

  /** A pool of `size` (at least 1) workers, started lazily. */
  constructor(size: number) {
    this.#pool = new WorkerPool<Pending>(size, "deflate", WORKER_SOURCE, {
      message: (slot, data) => {
        const m = data as { id: number; out?: Uint8Array; error?: string };
        const pending = slot.tasks.get(m.id);
        if (!pending) return;
        slot.tasks.delete(m.id);
        if (m.error !== undefined || !m.out) pending.reject(new Error(`deflate: ${m.error}`));
        else pending.resolve(m.out);
        this.#pool.released();
      },
      failed: (pending, error) => pending.reject(error),
    });
  }

  /** The most workers this pool runs. */
  get size(): number {
    return this.#pool.size;
  }

  /** Raw deflate of one block; resolves with the compressed bytes. */
  deflate(job: DeflateJob): Promise<Uint8Array> {
    const slot = this.#pool.acquire();
    const id = this.#nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      slot.tasks.set(id, { resolve, reject });
      slot.worker.postMessage({ id, ...job }, [job.data.buffer as ArrayBuffer]);
    });
  }

  /** Stops every worker; later calls start new ones. */
  close(): void {
    this.#pool.close();
  }
}
