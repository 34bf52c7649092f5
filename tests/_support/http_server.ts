/**
 * A real, independent static web server for tests: Python's `http.server` serving a directory
 * on a free loopback port, with its generated HTML directory listings (and no Range support).
 *
 * @module
 */

/** A running static server. */
export interface StaticServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Stops the server. */
  stop(): Promise<void>;
}

/** Serves `dir` with `python3 -m http.server` on a port the kernel picks. */
export async function startStaticServer(dir: string): Promise<StaticServer> {
  const child = new Deno.Command("python3", {
    args: ["-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, "0"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
  };
  // It announces "Serving HTTP on 127.0.0.1 port N (http://127.0.0.1:N/) ...".
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let port: string | undefined;
  while (port === undefined) {
    const { value, done } = await lines.read();
    if (done) {
      await stop();
      throw new Error(`python3 -m http.server did not start: ${seen}`);
    }
    seen += value;
    port = / port (\d+) /.exec(seen)?.[1];
  }
  // Keep draining stdout so the server never blocks on a full pipe.
  const drained = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })();
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await stop();
      await drained;
    },
  };
}
