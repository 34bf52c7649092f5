import assert from "node:assert/strict";
import { join } from "node:path";
import { copyCommand } from "../../lib/cli/copy.ts";
import { ProgressRenderer } from "../../lib/cli/progress.ts";
import { NotFoundError } from "../../lib/errors.ts";
import { installSpecs } from "../../lib/install/install.ts";
import { openMirror } from "../../lib/mirror/open.ts";
import { HARNESS, SPACK12 } from "../_support/fixtures.ts";
import { assertHarnessInstalled } from "../_support/harness.ts";
import { withTempDir } from "../_support/temp.ts";

const LAYOUT = join(SPACK12, "oci", "buildcache");

/** Runs `copy ARGS…` as the CLI parses it; returns what it printed (plain lines, no TTY). */
async function copy(...args: string[]): Promise<string> {
  let text = "";
  const out = {
    writeSync(bytes: Uint8Array): number {
      text += new TextDecoder().decode(bytes);
      return bytes.length;
    },
    isTerminal: () => false,
  } as unknown as typeof Deno.stderr;
  await copyCommand(new ProgressRenderer(out))
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .parseAsync(args, { from: "user" });
  return text;
}

Deno.test("CLI copy: a spec and its dependency, again (skipped), forced, unknown spec", async () => {
  await withTempDir(async (work) => {
    const dir = join(work, "cache");
    const first = await copy(LAYOUT, dir, "harness-hello");
    assert.match(first, /^\[1\/2\] Copying harness-libdep@1\.0\/6zoocyj$/m);
    assert.match(first, /^\[2\/2\] Copied harness-hello@1\.0\/hkbptho: sha256:[0-9a-f]{64} \(/m);
    assert.match(first, /^Copied 2 specs from oci-layout:\S+ to \S+\/cache$/m);

    const root = join(work, "root");
    const mirror = await openMirror(`file://${dir}`);
    const hello = (await mirror.listSpecs()).find((s) => s.node.hash === HARNESS.hello)!;
    await installSpecs(mirror, [hello], { root, checkSignature: false });
    await assertHarnessInstalled(root);

    const again = await copy(LAYOUT, `file://${dir}`);
    assert.match(again, /^\[1\/2\] harness-libdep@1\.0\/6zoocyj is already in the build cache$/m);
    assert.match(
      again,
      /^All specs are already in the buildcache\. Use --force to overwrite them\.$/m,
    );

    const forced = await copy(LAYOUT, dir, "--force", "-j", "1", "--no-update-index");
    assert.match(forced, /^Copied 2 specs /m);

    await assert.rejects(copy(LAYOUT, dir, "zlib"), NotFoundError);
    await assert.rejects(copy(LAYOUT, dir, "-j", "0"), /positive integer/);
  });
});
