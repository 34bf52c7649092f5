/**
 * Batched writes of an install's records to the install tree's database. Writing the whole
 * `index.json` after every spec made a many-spec install quadratic in the database size; here the
 * specs that finished are written together, at most once per {@link FLUSH_INTERVAL_MS} while the
 * install runs and once at its end, so a crash loses at most that much of the record.
 *
 * @module
 */
import type { ConcreteSpec } from "../spec/spec.ts";
import { addInstalled } from "../store/database.ts";

/** Least time between two database writes while specs are still installing. */
const FLUSH_INTERVAL_MS = 1000;

/** Collects finished specs and records them with `addInstalled` in batches, one write at a time. */
export class InstallRecorder {
  readonly #root: string;
  readonly #explicit: ReadonlySet<string>;
  #pending: ConcreteSpec[] = [];
  #writing: Promise<void> = Promise.resolve();
  #lastFlush = performance.now();

  /** Records into the database of the install root `root`; `explicit` as `addInstalled`. */
  constructor(root: string, explicit: ReadonlySet<string>) {
    this.#root = root;
    this.#explicit = explicit;
  }

  /**
   * Queues `spec` (whose dependencies were queued before it) and starts a write of the queue when
   * the last one is long enough ago. A failed write surfaces from {@link close}.
   */
  add(spec: ConcreteSpec): void {
    this.#pending.push(spec);
    if (performance.now() - this.#lastFlush >= FLUSH_INTERVAL_MS) this.#flush();
  }

  /** Writes what is queued and waits for every write. @throws what a write threw. */
  async close(): Promise<void> {
    this.#flush();
    await this.#writing;
  }

  #flush(): void {
    this.#lastFlush = performance.now();
    const batch = this.#pending.splice(0);
    if (!batch.length) return;
    // Chained, so batches land in order; after a failed write the later ones are not tried.
    this.#writing = this.#writing.then(() => addInstalled(this.#root, batch, this.#explicit))
      .then(() => {});
    this.#writing.catch(() => {}); // awaited in close()
  }
}
