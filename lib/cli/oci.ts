/**
 * `spackle oci tags|digest|delete|catalog|copy`: registry housekeeping in crane's vocabulary,
 * for OCI build caches and any other repository, on registries and OCI image-layout directories.
 *
 * @module
 */
import { Command } from "commander";
import { UsageError } from "../errors.ts";
import { copyImage } from "../oci/copy_image.ts";
import {
  deleteImage,
  imageDigest,
  listCatalog,
  manifestRef,
  openImageRef,
} from "../oci/housekeeping.ts";
import { positiveInt } from "./_args.ts";
import type { ProgressRenderer } from "./progress.ts";

const IMAGE_FORMS =
  "oci://host/repo[:tag][@digest], oci+http://… (plain HTTP) or oci-layout:DIR[:tag]";

/**
 * Builds the `oci` command group; `render` receives summary lines (stderr), results go to stdout
 * (one per line, or JSON with `--json`). Errors (`NotFoundError`, `RegistryError`, `UsageError`)
 * propagate to the caller, which maps them to exit codes.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { ociCommand } from "./oci.ts";
 * import { ProgressRenderer } from "./progress.ts";
 * const program = new Command("spackle").addCommand(ociCommand(new ProgressRenderer()));
 * await program.parseAsync(["oci", "tags", "oci+http://127.0.0.1:5000/spack/cache"], {
 *   from: "user",
 * });
 * ```
 */
export function ociCommand(render: ProgressRenderer): Command {
  const oci = new Command("oci").description(
    "registry housekeeping (crane's vocabulary) for OCI build caches and any image repository",
  );
  const print = (json: boolean, value: unknown, lines: string[]) =>
    console.log(json ? JSON.stringify(value, null, 2) : lines.join("\n"));

  oci.command("tags")
    .description("list the tags of a repository")
    .argument("<repo>", IMAGE_FORMS)
    .option("--json", "print a JSON array")
    .action(async (text: string, opts) => {
      const tags = (await openImageRef(text).repository.listTags()).sort();
      if (tags.length || opts.json) print(opts.json, tags, tags);
    });

  oci.command("digest")
    .description("print the digest of an image's manifest or index (default tag: latest)")
    .argument("<ref>", IMAGE_FORMS)
    .option("--json", "print digest, media type and size as JSON")
    .action(async (text: string, opts) => {
      const image = openImageRef(text);
      const summary = await imageDigest(image.repository, manifestRef(image));
      print(opts.json, { reference: text, ...summary }, [summary.digest]);
    });

  oci.command("delete")
    .description(
      "delete a manifest by digest (a tag is resolved to its digest; every tag on it goes)",
    )
    .argument("<ref>", IMAGE_FORMS)
    .option("--json", "print the digest deleted as JSON")
    .action(async (text: string, opts) => {
      const image = openImageRef(text);
      if (image.ref === undefined) {
        throw new UsageError(`${text}: name the tag or digest to delete`);
      }
      const digest = await deleteImage(image.repository, image.ref);
      render.line(
        image.location.kind === "registry"
          ? `Deleted ${image.repository.location}@${digest}; blob space is reclaimed when the ` +
            "registry's garbage collector runs"
          : `Deleted ${digest} from ${image.repository.location}/index.json; its blobs stay`,
      );
      print(opts.json, { reference: text, digest }, [digest]);
    });

  oci.command("catalog")
    .description("list the repositories of a registry (where the registry allows it)")
    .argument("<host>", "host[:port] (HTTPS), oci://host or oci+http://host (plain HTTP)")
    .option("--page-size <n>", "repositories asked for per page", positiveInt)
    .option("--json", "print a JSON array")
    .action(async (host: string, opts) => {
      const names = await listCatalog(host, { pageSize: opts.pageSize });
      if (names.length || opts.json) print(opts.json, names, names);
    });

  oci.command("copy")
    .description(
      "copy an image (all platforms of an index) with its digests preserved: blobs mounted " +
        "within a registry or streamed, then manifests byte for byte",
    )
    .argument("<src>", IMAGE_FORMS)
    .argument("<dst>", `${IMAGE_FORMS}; the tag defaults to the source's`)
    .option("-a, --all-tags", "copy every tag of the source repository")
    .option("-j, --jobs <n>", "blobs copied concurrently", positiveInt, 4)
    .option("--json", "print the reference and digest of every image copied as JSON")
    .action(async (srcText: string, dstText: string, opts) => {
      const src = openImageRef(srcText, { concurrency: opts.jobs });
      const dst = openImageRef(dstText, { concurrency: opts.jobs });
      if (opts.allTags && (src.ref !== undefined || dst.ref !== undefined)) {
        throw new UsageError("--all-tags copies whole repositories: name no tag or digest");
      }
      const pairs = opts.allTags
        ? (await src.repository.listTags()).map((tag) => [tag, tag])
        : [[manifestRef(src), dst.ref ?? manifestRef(src)]];
      const copied = [];
      for (const [from, to] of pairs) {
        const result = await copyImage(src.repository, from, dst.repository, to, {
          jobs: opts.jobs,
        });
        const { uploaded, mounted, exists } = result.blobs;
        render.line(
          `Copied ${src.repository.location}:${from} to ${dst.repository.location}:${to} ` +
            `${result.digest} (${result.manifests} manifests; blobs: ${uploaded} uploaded, ` +
            `${mounted} mounted, ${exists} present)`,
        );
        copied.push({ source: from, target: to, ...result });
      }
      if (opts.json) print(true, copied, []);
    });
  return oci;
}
