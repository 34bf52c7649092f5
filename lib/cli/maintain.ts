/**
 * Keeping a build cache: `spackle download`, `check`, `migrate` and `prune` (Spack's
 * `buildcache download|check|migrate|prune`, build cache format reference §1.13, §1.14).
 *
 * @module
 */
import { Command } from "commander";
import { openConfiguredMirror } from "../config/open.ts";
import { downloadSpec } from "../copy/download.ts";
import { selectSpecs } from "../spec/select.ts";
import type { ProgressRenderer } from "./progress.ts";

/**
 * Builds the cache-keeping subcommands (`download`, …); `render` receives progress events and
 * summary lines, results go to stdout. Errors propagate to the caller, which maps them to exit
 * codes.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { maintainCommands } from "./maintain.ts";
 * import { ProgressRenderer } from "./progress.ts";
 * const program = new Command("spackle");
 * for (const command of maintainCommands(new ProgressRenderer())) program.addCommand(command);
 * await program.parseAsync(["download", "./cache", "zlib", "--dir", "./dl"], { from: "user" });
 * ```
 */
export function maintainCommands(render: ProgressRenderer): Command[] {
  const onWarning = (text: string) =>
    render.onProgress({ kind: "message", level: "warning", text });

  const download = new Command("download")
    .description("download the tarball and spec file of one spec into a directory, verified")
    .argument("<mirror>", "build cache URL, directory or configured mirror name")
    .argument("<spec>", "name, name@version or /hashprefix")
    .requiredOption("--dir <dir>", "directory to write into (created when missing)")
    .option("--json", "print the files written as JSON")
    .action(async (mirrorUrl: string, selector: string, opts) => {
      const { mirror } = await openConfiguredMirror(mirrorUrl, { onWarning });
      const [spec] = selectSpecs(await mirror.listSpecs(), [selector], mirror.url);
      const result = await downloadSpec(mirror, spec, opts.dir, { onProgress: render.onProgress });
      render.done();
      if (opts.json) {
        console.log(JSON.stringify(result, null, 2));
        return;
      }
      for (const file of [result.tarball, result.specFile, result.signed]) {
        if (file) console.log(file);
      }
    });

  return [download];
}
