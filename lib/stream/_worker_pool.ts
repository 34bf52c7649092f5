/**
 * A pool of Web Workers running one inline module, shared by the deflate and gunzip pools.
 *
 * Web Workers rather than `node:worker_threads`: in Deno a message round trip costs about 0.4 ms
 * against 11 ms. The worker source is an inline module behind a blob URL, so a pool works from a
 * single bundled file as well as from the module tree. Workers start with the first task and are
 * stopped once the pool has been idle for {@link IDLE_MS}, since a live worker keeps the process
 * running.
 *
 * @module
 */

/** How long an idle pool keeps its workers before stopping them. */
const IDLE_MS = 50;

/** Blob URLs of worker sources, made once per source. */
const urls = new Map<string, string>();

/** One worker and the tasks it holds, by id. */
export interface WorkerSlot<T> {
  /** The worker. */
  worker: Worker;
  /** Tasks sent to this worker and not finished. */
  tasks: Map<number, T>;
}

/** What a pool does with its workers' messages and failures. */
export interface WorkerPoolHandlers<T> {
  /** A message from the worker of `slot`. */
  message(slot: WorkerSlot<T>, data: unknown): void;
  /** A task the pool drops because its worker died or the pool closed. */
  failed(task: T, error: Error): void;
}

/** Up to `size` workers running `source`, each holding tasks of type `T`. */
export class WorkerPool<T> {
  /** The most workers this pool runs. */
  readonly size: number;
  readonly #name: string;
  readonly #source: string;
  readonly #handlers: WorkerPoolHandlers<T>;
  readonly #slots: WorkerSlot<T>[] = [];
  #idleTimer?: ReturnType<typeof setTimeout>;

  /** A pool of `size` (at least 1) workers, started lazily; `name` labels its errors. */
  constructor(size: number, name: string, source: string, handlers: WorkerPoolHandlers<T>) {
    this.size = Math.max(1, Math.floor(size));
    this.#name = name;
    this.#source = source;
    this.#handlers = handlers;
  }

  /** The slot for a new task: an idle worker, a new one, or the least busy. */
  acquire(): WorkerSlot<T> {
    clearTimeout(this.#idleTimer);
    const idle = this.#slots.find((s) => s.tasks.size === 0);
    if (idle) return idle;
    if (this.#slots.length < this.size) return this.#start();
    return this.#slots.reduce((a, b) => (b.tasks.size < a.tasks.size ? b : a));
  }

  /** To call after a task ends: once no worker holds a task, the workers stop after a while. */
  released(): void {
    if (this.#slots.some((s) => s.tasks.size > 0)) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.close(), IDLE_MS);
  }

  /** Stops every worker, failing the tasks they hold; later tasks start new ones. */
  close(): void {
    clearTimeout(this.#idleTimer);
    for (const slot of this.#slots.splice(0)) {
      slot.worker.terminate();
      this.#fail(slot, new Error(`${this.#name} pool closed`));
    }
  }

  #start(): WorkerSlot<T> {
    let url = urls.get(this.#source);
    if (!url) {
      url = URL.createObjectURL(new Blob([this.#source], { type: "text/javascript" }));
      urls.set(this.#source, url);
    }
    const worker = new Worker(url, { type: "module" });
    const slot: WorkerSlot<T> = { worker, tasks: new Map() };
    worker.onmessage = ({ data }: MessageEvent) => this.#handlers.message(slot, data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      worker.terminate();
      this.#fail(slot, new Error(`${this.#name} worker failed: ${e.message}`));
    };
    this.#slots.push(slot);
    return slot;
  }

  /** A dead worker fails the tasks it held and leaves the pool; the next task starts another. */
  #fail(slot: WorkerSlot<T>, error: Error): void {
    const at = this.#slots.indexOf(slot);
    if (at >= 0) this.#slots.splice(at, 1);
    const tasks = [...slot.tasks.values()];
    slot.tasks.clear();
    for (const task of tasks) this.#handlers.failed(task, error);
  }
}
