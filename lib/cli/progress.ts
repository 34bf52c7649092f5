/**
 * Renders progress events on stderr: a live status line on a terminal, plain lines otherwise
 * (CI logs, pipes). Summary lines follow Spack's wording.
 *
 * @module
 */
import type { ProgressEvent } from "../events.ts";
import { redactUserinfo } from "../net/http.ts";
import { plainMessage } from "./_errors.ts";
import type { RetryEvent } from "../net/retry.ts";

/** Where a {@link ProgressRenderer} writes: stderr, or anything with the same two methods. */
export interface RenderTarget {
  /** Writes some of `p`; returns how many bytes were written. */
  writeSync(p: Uint8Array): number;
  /** Whether this is a terminal (status line redrawn in place) or not (plain lines). */
  isTerminal(): boolean;
  /** Width of the terminal in columns, when known: a longer status line would wrap. */
  columns?(): number;
}

/** Standard error, with the terminal's width. */
function stderrTarget(): RenderTarget {
  return {
    writeSync: (p) => Deno.stderr.writeSync(p),
    isTerminal: () => Deno.stderr.isTerminal(),
    columns: () => Deno.consoleSize().columns,
  };
}

/**
 * Writes lines to a stream; on a TTY it also keeps one redrawn status line, erased before any
 * permanent line is written. Every line has URL credentials redacted.
 */
export class ProgressRenderer {
  readonly #out: RenderTarget;
  readonly #tty: boolean;
  readonly #enc = new TextEncoder();
  #status = "";

  /** Renders to `out` (default stderr). */
  constructor(out: RenderTarget = stderrTarget()) {
    this.#out = out;
    this.#tty = out.isTerminal();
  }

  /** Prints a permanent line (erasing the status line first on a TTY, then redrawing it). */
  line(text: string): void {
    const erase = this.#tty && this.#status ? "\r\x1b[2K" : "";
    this.#write(`${erase}${redactUserinfo(text)}\n${this.#tty ? this.#status : ""}`);
  }

  /** Handles one retry of a request; pass this as `onRetry`. */
  readonly onRetry = (e: RetryEvent): void => {
    const wait = (e.delayMs / 1000).toFixed(1);
    this.line(`${e.method} ${e.url}: ${e.reason}; retry ${e.attempt} in ${wait} s`);
  };

  #setStatus(text: string): void {
    if (!this.#tty) return;
    // A status line that wraps cannot be erased in place: cut it to the terminal's width.
    const width = this.#width();
    const status = redactUserinfo(text);
    this.#status = width > 1 && status.length >= width ? `${status.slice(0, width - 2)}…` : status;
    this.#write(`\r\x1b[2K${this.#status}`);
  }

  #width(): number {
    try {
      return this.#out.columns?.() ?? 0;
    } catch {
      return 0; // not a terminal after all
    }
  }

  /** Clears the status line. */
  done(): void {
    if (this.#tty && this.#status) this.#write("\r\x1b[2K");
    this.#status = "";
  }

  /** Handles one event; pass this as `onProgress`. */
  readonly onProgress = (e: ProgressEvent): void => {
    if (e.kind === "message") {
      return this.line(`${e.level === "warning" ? "warning: " : ""}${e.text}`);
    }
    if (e.kind === "bytes") {
      const total = e.total ? ` / ${mb(e.total)}` : "";
      return this.#setStatus(`${e.spec}: ${mb(e.bytes)}${total}`);
    }
    const n = `[${e.index}/${e.total}]`;
    const [verb, verbing, place] = WORDS[e.action];
    switch (e.state) {
      case "start":
        if (!this.#tty) {
          this.line(`${n} ${verbing} ${e.spec}`);
        } else this.#setStatus(`${n} ${e.spec}`);
        return;
      case "skipped":
        return this.line(
          `${n} ${e.spec} is already ${place}`,
        );
      case "failed":
        return this.line(
          `${n} Failed to ${e.action} ${e.spec}: ${
            plainMessage(e.error?.message ?? "unknown error")
          }`,
        );
      case "done": {
        const secs = e.seconds ?? 0;
        const rate = secs > 0 && e.bytes ? `, ${(e.bytes / 1e6 / secs).toFixed(2)} MB/s` : "";
        const digest = e.digest ? `: ${e.digest}` : "";
        const from = e.source ? ` from ${e.source}` : "";
        this.done(); // the finished spec's status line must not stay in front of its summary
        return this.line(`${n} ${verb} ${e.spec}${from}${digest} (${secs.toFixed(2)}s${rate})`);
      }
    }
  };

  #write(text: string): void {
    const bytes = this.#enc.encode(text);
    let off = 0;
    while (off < bytes.length) off += this.#out.writeSync(bytes.subarray(off));
  }
}

// Past participle, progressive, and where a skipped spec already is, per action.
const WORDS = {
  push: ["Pushed", "Pushing", "in the build cache"],
  install: ["Installed", "Installing", "installed"],
  copy: ["Copied", "Copying", "in the build cache"],
} as const;

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
