/**
 * Renders progress events on stderr: a live status line on a terminal, plain lines otherwise
 * (CI logs, pipes). Summary lines follow Spack's wording.
 *
 * @module
 */
import type { ProgressEvent } from "../events.ts";

/** Writes lines to a stream; on a TTY it also keeps one redrawn status line. */
export class ProgressRenderer {
  readonly #out: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  readonly #tty: boolean;
  readonly #enc = new TextEncoder();
  #status = "";

  /** Renders to `out` (default stderr). */
  constructor(out = Deno.stderr) {
    this.#out = out;
    this.#tty = out.isTerminal();
  }

  /** Prints a permanent line (clearing the status line first on a TTY). */
  line(text: string): void {
    this.#write(
      `${this.#tty && this.#status ? "\r\x1b[2K" : ""}${text}\n${this.#tty ? this.#status : ""}`,
    );
  }

  #setStatus(text: string): void {
    if (!this.#tty) return;
    this.#status = text;
    this.#write(`\r\x1b[2K${text}`);
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
          `${n} Failed to ${e.action} ${e.spec}: ${e.error?.message ?? "unknown error"}`,
        );
      case "done": {
        const secs = e.seconds ?? 0;
        const rate = secs > 0 && e.bytes ? `, ${(e.bytes / 1e6 / secs).toFixed(2)} MB/s` : "";
        const digest = e.digest ? `: ${e.digest}` : "";
        this.#status = "";
        return this.line(`${n} ${verb} ${e.spec}${digest} (${secs.toFixed(2)}s${rate})`);
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
