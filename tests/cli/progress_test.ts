// The CLI's progress renderer, byte for byte: on a terminal the live status line is erased
// before every permanent line; off a terminal only plain lines are written.
import assert from "node:assert/strict";
import { ProgressRenderer, type RenderTarget } from "../../lib/cli/progress.ts";

/** Collects what the renderer writes; `tty` says whether it claims to be a terminal. */
function fakeTarget(tty: boolean): RenderTarget & { text(): string } {
  const chunks: Uint8Array[] = [];
  return {
    writeSync(p: Uint8Array): number {
      chunks.push(p.slice());
      return p.length;
    },
    isTerminal: () => tty,
    text: () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
  };
}

const ERASE = "\r\x1b[2K";

function run(render: ProgressRenderer): void {
  const spec = "zlib@1.3/abcdefg";
  render.onProgress({ kind: "spec", action: "install", spec, index: 1, total: 2, state: "start" });
  render.onProgress({ kind: "bytes", spec, bytes: 1_500_000, total: 3_000_000 });
  render.onProgress({
    kind: "spec",
    action: "install",
    spec,
    index: 1,
    total: 2,
    state: "done",
    bytes: 3_000_000,
    seconds: 2,
  });
  render.onRetry({
    method: "GET",
    url: "https://cache.example/x",
    attempt: 1,
    delayMs: 500,
    reason: "connection refused",
  });
  render.line("see oci://me:hunter2@ghcr.io/x");
  render.done();
}

Deno.test("progress on a terminal: the status line is erased before each summary line", () => {
  const out = fakeTarget(true);
  run(new ProgressRenderer(out));
  assert.equal(
    out.text(),
    `${ERASE}[1/2] zlib@1.3/abcdefg` +
      `${ERASE}zlib@1.3/abcdefg: 1.5 MB / 3.0 MB` +
      `${ERASE}` + // finished: its status line goes before the summary is written
      "[1/2] Installed zlib@1.3/abcdefg (2.00s, 1.50 MB/s)\n" +
      "GET https://cache.example/x: connection refused; retry 1 in 0.5 s\n" +
      "see oci://***@ghcr.io/x\n",
  );
});

Deno.test("progress off a terminal: plain lines only, no control characters", () => {
  const out = fakeTarget(false);
  run(new ProgressRenderer(out));
  assert.equal(
    out.text(),
    "[1/2] Installing zlib@1.3/abcdefg\n" +
      "[1/2] Installed zlib@1.3/abcdefg (2.00s, 1.50 MB/s)\n" +
      "GET https://cache.example/x: connection refused; retry 1 in 0.5 s\n" +
      "see oci://***@ghcr.io/x\n",
  );
});

Deno.test("progress on a narrow terminal: the status line is cut so it never wraps", () => {
  const out = { ...fakeTarget(true), columns: () => 20 };
  const render = new ProgressRenderer(out);
  render.onProgress({
    kind: "bytes",
    spec: "a-very-long-package-name@1.0/abcdefg",
    bytes: 1,
    total: 2,
  });
  render.done();
  assert.equal(out.text(), `${ERASE}a-very-long-packag…${ERASE}`);
});

Deno.test("progress: an installed spec names the build cache it came from, credentials redacted", () => {
  const out = fakeTarget(false);
  new ProgressRenderer(out).onProgress({
    kind: "spec",
    action: "install",
    spec: "zlib@1.3/abcdefg",
    index: 2,
    total: 2,
    state: "done",
    seconds: 1,
    source: "https://me:hunter2@cache.example/site",
  });
  assert.equal(
    out.text(),
    "[2/2] Installed zlib@1.3/abcdefg from https://***@cache.example/site (1.00s)\n",
  );
});
