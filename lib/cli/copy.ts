/**
 * `spackle copy <from> <to> [specs...]`: copies build cache entries between caches of any
 * backend (Spack's `buildcache sync`, build cache format reference §1.14).
 *
 * @module
 */
import { Command } from "commander";
import { copySpecs } from "../copy/mod.ts";
import { openConfiguredMirror } from "../config/open.ts";
import { selectSpecs } from "../spec/select.ts";
import { positiveInt, SPEC_SYNTAX, toJson } from "./_args.ts";
import { network } from "./_network.ts";
import type { ProgressRenderer } from "./progress.ts";

/**
 * Builds the `copy` subcommand; `render` receives its progress events and summary lines.
 * Errors (a `CopyError` after a partial copy, a `NotFoundError` for an unknown spec) propagate
 * to the caller, which maps them to exit codes.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { copyCommand } from "./copy.ts";
 * import { ProgressRenderer } from "./progress.ts";
 * const program = new Command("spackle").addCommand(copyCommand(new ProgressRenderer()));
 * await program.parseAsync(["copy", "oci://ghcr.io/acme/cache", "./cache"], { from: "user" });
 * ```
 */
export function copyCommand(render: ProgressRenderer): Command {
  return new Command("copy")
    .description(
      "copy specs (with their dependencies) from one build cache to another, tarballs unchanged",
    )
    .argument("<from>", "source build cache URL or directory")
    .argument("<to>", "destination build cache URL or directory")
    .argument("[specs...]", `${SPEC_SYNTAX}; none means every spec in <from>`)
    .option("-f, --force", "copy specs the destination already has")
    .option("-j, --jobs <n>", "specs to copy concurrently", positiveInt, 2)
    .option("--no-update-index", "leave the destination's index as it is")
    .option("--keys", "also copy the public keys the source publishes (URL-layout caches)")
    .option("--json", "print JSON: {copied: [{name, version, hash}], skipped: [same]}")
    .action(async (fromUrl: string, toUrl: string, selectors: string[], opts) => {
      const { mirror: from } = await openConfiguredMirror(fromUrl, network(render));
      const { mirror: to } = await openConfiguredMirror(toUrl, {
        ...network(render),
        direction: "push",
      });
      const specs = selectors.length
        ? selectSpecs(await from.listSpecs(), selectors, from.url)
        : undefined;
      const result = await copySpecs(from, to, {
        specs,
        force: opts.force,
        jobs: opts.jobs,
        updateIndex: opts.updateIndex,
        keys: opts.keys,
        onProgress: render.onProgress,
      });
      render.done();
      const { copied, skipped } = result;
      if (opts.json) {
        const brief = (specs: typeof copied) =>
          specs.map(({ node }) => ({ name: node.name, version: node.version, hash: node.hash }));
        console.log(toJson({ copied: brief(copied), skipped: brief(skipped) }));
      }
      if (copied.length === 0 && skipped.length > 0) {
        render.line("All specs are already in the buildcache. Use --force to overwrite them.");
        return;
      }
      render.line(
        `Copied ${copied.length} spec${
          copied.length === 1 ? "" : "s"
        } from ${from.url} to ${to.url}` +
          (skipped.length ? ` (${skipped.length} already there)` : ""),
      );
    });
}
