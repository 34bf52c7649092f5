/**
 * The sample packages (examples/sample-store) pushed into build caches for the image tests, and
 * running a program inside an unpacked image.
 *
 * @module
 */
import { join } from "node:path";
import { openMirror } from "../../lib/mirror/open.ts";
import type { Mirror } from "../../lib/mirror/types.ts";
import { pushSpecs } from "../../lib/push/push.ts";
import type { ConcreteSpec } from "../../lib/spec/spec.ts";
import { openStore } from "../../lib/store/mod.ts";
import { SAMPLE_STORE } from "../_support/cli.ts";

/** Recorded facts about the sample store (`store.json`). */
export const SAMPLE = JSON.parse(
  Deno.readTextFileSync(join(SAMPLE_STORE, "..", "store.json")),
) as {
  specs: { name: string; hash: string; prefix: string }[];
  run: string;
  root: string;
  unpaddedRoot: string;
};

/** Install prefix of sample package `name` (as built, which images keep). */
export function samplePrefix(name: string): string {
  return SAMPLE.specs.find((s) => s.name === name)!.prefix;
}

/** DAG hash of sample package `name`. */
export function sampleHash(name: string): string {
  return SAMPLE.specs.find((s) => s.name === name)!.hash;
}

/** Pushes the sample store into the cache at `url`; returns the cache and `sample-hello`. */
export async function sampleCache(url: string): Promise<{ mirror: Mirror; hello: ConcreteSpec }> {
  const store = await openStore(SAMPLE_STORE);
  const mirror = await openMirror(url);
  await pushSpecs(mirror, store, store.specs, { updateIndex: true });
  const hello = (await mirror.listSpecs()).find((s) => s.node.name === "sample-hello")!;
  return { mirror, hello };
}

/** Unpacks image `dir:tag` (an OCI layout) with umoci into `bundle`; returns the rootfs. */
export async function unpackImage(dir: string, tag: string, bundle: string): Promise<string> {
  const out = await new Deno.Command("umoci", {
    args: ["unpack", "--image", `${dir}:${tag}`, bundle],
    stdin: "null",
  }).output();
  if (!out.success) throw new Error(`umoci unpack failed: ${new TextDecoder().decode(out.stderr)}`);
  return join(bundle, "rootfs");
}

/**
 * Runs `argv` chrooted into `rootfs` with only `PATH=path` and `env` set, with `/proc` mounted
 * in a private mount namespace (the sample program checks `/proc/self/exe`); needs root.
 * Returns the exit code and output.
 */
export async function runChrooted(
  rootfs: string,
  argv: string[],
  path = "/usr/bin:/bin",
  env: Readonly<Record<string, string>> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("unshare", {
    args: [
      "--mount",
      "--fork",
      "sh",
      "-c",
      'mount -t proc proc "$0/proc" && PATH="$1" && shift && exec /usr/sbin/chroot "$0" "$@"',
      rootfs,
      path,
      ...argv,
    ],
    env: { ...env, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    clearEnv: true,
    stdin: "null",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
