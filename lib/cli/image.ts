/**
 * `spackle image compose`: a runnable container image of specs already in a build cache, onto a
 * base image, without Docker and without installing anything.
 *
 * @module
 */
import { Command, InvalidArgumentError } from "commander";
import { composeImage } from "../image/compose.ts";
import { imageTarget } from "../image/location.ts";
import { openConfiguredMirror } from "../config/open.ts";
import { selectSpecs } from "../spec/select.ts";
import { imageTag, rfc3339, SPEC_SYNTAX, toJson } from "./_args.ts";
import { network } from "./_network.ts";
import type { ProgressRenderer } from "./progress.ts";

/** Parses `--entrypoint`/`--cmd`: a JSON array of strings, or one program path. */
function argv(value: string): string[] {
  if (!value.trimStart().startsWith("[")) return [value];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError("expected a JSON array of strings or a single program");
  }
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) {
    throw new InvalidArgumentError("expected a JSON array of strings");
  }
  return parsed;
}

/** Collects repeated `KEY=VALUE` options into one record. */
function keyValue(
  value: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq < 1) throw new InvalidArgumentError("expected KEY=VALUE");
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/**
 * Builds the `image` command group (`image compose`); `render` receives progress messages and
 * the summary line, and the manifest digest goes to stdout. Errors (a `NotFoundError` for an
 * unknown spec or base, a `PlatformMismatchError`, a `TooManyLayersError`) propagate to the
 * caller, which maps them to exit codes.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { imageCommand } from "./image.ts";
 * import { ProgressRenderer } from "./progress.ts";
 * const program = new Command("spackle").addCommand(imageCommand(new ProgressRenderer()));
 * await program.parseAsync([
 *   "image", "compose", "hdf5", "--base", "ubuntu:24.04",
 *   "--target", "oci://ghcr.io/acme/images", "--tag", "hdf5",
 * ], { from: "user" });
 * ```
 */
export function imageCommand(render: ProgressRenderer): Command {
  const image = new Command("image").description("container images from build caches");
  image.command("compose")
    .description(
      "compose a runnable image of specs already in a build cache onto a base image: one layer " +
        "per spec and dependency, reused from the cache by digest",
    )
    .argument("<specs...>", SPEC_SYNTAX)
    .requiredOption(
      "--target <mirror|dir>",
      "where the image goes: oci:// or oci+http:// repository, oci-layout:DIR, or a directory",
    )
    .requiredOption("--tag <name>", "tag of the image", imageTag)
    .option("--from <cache>", "build cache holding the specs (default: the target)")
    .option(
      "--base <ref>",
      "base image: a reference (ubuntu:24.04), oci://…, oci+http://… or oci-layout:DIR[:TAG]; " +
        "none means the spec layers alone",
    )
    .option("--entrypoint <cmd>", "entrypoint: a JSON array of strings, or one program", argv)
    .option("--cmd <cmd>", "default command: a JSON array of strings, or one program", argv)
    .option("--env <KEY=VALUE>", "set an environment variable (repeatable)", keyValue)
    .option(
      "--env-var <NAME=VALUE>",
      "set or override a variable of the run environment (repeatable; same as --env)",
      keyValue,
    )
    .option("--label <KEY=VALUE>", "add a label (repeatable)", keyValue)
    .option(
      "--view <path>",
      "add a view of the specs at PATH (e.g. /opt/view), one layer of symlinks; the run " +
        "environment then points at it",
    )
    .option("--squash", "put all spec layers into one layer (for more than 127 layers)")
    .option("--created <time>", "RFC 3339 creation time (default: the base's)", rfc3339)
    .option("--json", "print JSON: {reference, digest, mediaType, size, layers}")
    .action(async (selectors: string[], opts) => {
      const target = imageTarget(opts.target, opts.tag);
      const options = network(render);
      const { mirror: from } = await openConfiguredMirror(opts.from ?? opts.target, options);
      const specs = selectSpecs(await from.listSpecs(), selectors, from.url);
      const result = await composeImage({
        base: opts.base,
        mirror: from,
        specs,
        target,
        env: { ...opts.env, ...opts.envVar },
        entrypoint: opts.entrypoint,
        cmd: opts.cmd,
        labels: opts.label,
        view: opts.view,
        squash: opts.squash,
        created: opts.created,
        registry: options.registry,
        onProgress: render.onProgress,
      });
      render.done();
      render.line(`Tagged ${result.reference} (${result.layers} layers)`);
      console.log(opts.json ? toJson(result) : result.digest);
    });
  return image;
}
