/**
 * Web Workers that gunzip streams off the main thread, for `workerGunzipStream`: one worker can
 * serve several streams at once (each has an id), so a many-spec install shares one or two
 * workers instead of starting one per tarball.
 *
 * Flow control runs both ways so memory stays bounded: the worker acknowledges an input chunk
 * once zlib has taken it (zlib holds that back while its output is not read), and it sends output
 * only against credit the main thread grants as its consumer reads. Workers come from
 * `_worker_pool.ts` (stopped once idle, so they do not keep the process running).
 *
 * @module
 */
import { WorkerPool } from "./_worker_pool.ts";

const WORKER_SOURCE = `
import { createGunzip } from "node:zlib";
const streams = new Map();
const post = (m, transfer) => self.postMessage(m, transfer ?? []);
const fail = (id, e) => {
  const s = streams.get(id);
  if (!s) return;
  streams.delete(id);
  s.engine.destroy();
  post({ id, type: "error", message: String(e?.message ?? e), code: e?.code });
};
const open = (id, credit) => {
  const engine = createGunzip({ chunkSize: 262144 });
  const s = { engine, credit };
  streams.set(id, s);
  engine.on("data", (chunk) => {
    const out = new Uint8Array(chunk.byteLength);
    out.set(chunk);
    post({ id, type: "out", out }, [out.buffer]);
    if (--s.credit <= 0) engine.pause();
  });
  engine.on("end", () => {
    if (streams.delete(id)) post({ id, type: "end" });
  });
  engine.on("error", (e) => fail(id, e));
};
self.onmessage = ({ data: m }) => {
  if (m.type === "open") return open(m.id, m.credit);
  const s = streams.get(m.id);
  if (!s) return;
  if (m.type === "in") s.engine.write(m.data, (e) => e || post({ id: m.id, type: "ack" }));
  else if (m.type === "credit") {
    s.credit += m.n;
    if (s.credit > 0) s.engine.resume();
  } else if (m.type === "close") s.engine.end();
  else if (m.type === "stop") {
    streams.delete(m.id);
    s.engine.destroy();
  }
};`;

/** What a worker sends about one stream. */
export type InflateMessage =
  | { id: number; type: "out"; out: Uint8Array }
  | { id: number; type: "ack" }
  | { id: number; type: "end" }
  | { id: number; type: "error"; message: string; code?: string };

/** The main-thread end of one stream in a worker. */
export interface InflateChannel {
  /** Sends compressed bytes, transferring their buffer (which must hold just them). */
  write(data: Uint8Array<ArrayBuffer>): void;
  /** Allows `n` more output chunks. */
  credit(n: number): void;
  /** Ends the input; the worker sends the rest of the output, then `end`. */
  close(): void;
  /** Drops the stream in the worker; no more messages arrive. */
  stop(): void;
}

type Deliver = (m: InflateMessage) => void;

/** Gunzips streams on up to `size` worker threads. */
export class InflatePool {
  readonly #pool: WorkerPool<Deliver>;
  #nextId = 0;

  /** A pool of `size` (at least 1) workers, started lazily. */
  constructor(size: number) {
    this.#pool = new WorkerPool<Deliver>(size, "gunzip", WORKER_SOURCE, {
      message: (slot, data) => {
        const m = data as InflateMessage;
        slot.tasks.get(m.id)?.(m);
      },
      failed: (deliver, error) => deliver({ id: -1, type: "error", message: error.message }),
    });
  }

  /** The most workers this pool runs. */
  get size(): number {
    return this.#pool.size;
  }

  /**
   * Opens a stream on the least busy worker with `credit` output chunks allowed; `onMessage`
   * receives its output, acknowledgements, end or error (after end or error, nothing more).
   */
  open(credit: number, onMessage: Deliver): InflateChannel {
    const slot = this.#pool.acquire();
    const id = this.#nextId++;
    const done = () => {
      slot.tasks.delete(id);
      this.#pool.released();
    };
    slot.tasks.set(id, (m) => {
      if (m.type === "end" || m.type === "error") done();
      onMessage(m);
    });
    const post = (m: Record<string, unknown>, transfer: Transferable[] = []) =>
      slot.worker.postMessage({ id, ...m }, transfer);
    post({ type: "open", credit });
    return {
      write: (data) => post({ type: "in", data }, [data.buffer]),
      credit: (n) => post({ type: "credit", n }),
      close: () => post({ type: "close" }),
      stop: () => {
        if (!slot.tasks.has(id)) return;
        post({ type: "stop" });
        done();
      },
    };
  }

  /** Stops every worker, failing their open streams; later streams start new ones. */
  close(): void {
    this.#pool.close();
  }
}
