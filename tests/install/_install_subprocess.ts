/**
 * Child process of the install memory test (and of `bench/push_install_ratio.ts`): installs every
 * spec of the filesystem build cache `<cache>` into the install root `<root>` with
 * `installSpecs` (unsigned), then prints one JSON line: the number of specs installed and this
 * process's own peak resident set size, `VmHWM` of `/proc/self/status` in KiB.
 *
 *     deno run -A tests/install/_install_subprocess.ts <cache> <root>
 *
 * @module
 */
import { installSpecs } from "../../lib/install/install.ts";
import { openMirror } from "../../lib/mirror/open.ts";

/** What the child prints on its last line of standard output. */
export interface InstallSubprocessReport {
  /** Specs installed (not skipped). */
  installed: number;
  /** Peak resident set size of the process, KiB (`VmHWM`). */
  vmHwmKiB: number;
}

/** `VmHWM` of `/proc/self/status`, in KiB. */
async function peakRssKiB(): Promise<number> {
  const status = await Deno.readTextFile("/proc/self/status");
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error("no VmHWM line in /proc/self/status");
  return Number(match[1]);
}

if (import.meta.main) {
  const [cache, root] = Deno.args;
  if (!cache || !root) throw new Error("usage: _install_subprocess.ts <cache> <root>");
  const mirror = await openMirror(cache);
  const result = await installSpecs(mirror, await mirror.listSpecs(), {
    root,
    checkSignature: false,
  });
  const report: InstallSubprocessReport = {
    installed: result.installed.size,
    vmHwmKiB: await peakRssKiB(),
  };
  console.log(JSON.stringify(report));
}
