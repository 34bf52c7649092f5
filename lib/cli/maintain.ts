/**
 * Keeping a build cache: `spackle download`, `check`, `migrate` and `prune` (Spack's
 * `buildcache download|check|migrate|prune`, build cache format reference §1.13, §1.14).
 *
 * @module
 */
import { Command, InvalidArgumentError } from "commander";
import { openConfiguredMirror } from "../config/open.ts";
import { downloadSpec } from "../copy/download.ts";
import { SpackleError, UsageError } from "../errors.ts";
import { checkSpecs, specsToCheck } from "../maintain/check.ts";
import { migrateMirror } from "../maintain/migrate.ts";
import { openCacheStore } from "../maintain/store.ts";
import { pruneCache, readKeepList } from "../maintain/prune.ts";
import { pruneOciCache } from "../maintain/prune_oci.ts";
import { OciMirror } from "../mirror/oci.ts";
import { loadSigningKey, loadTrustedKeys, trustCacheKeys } from "../signing/mod.ts";
import { selectSpecs } from "../spec/select.ts";
import type { ConcreteSpec } from "../spec/spec.ts";
import { openStore } from "../store/mod.ts";
import { positiveInt, SPEC_SYNTAX } from "./_args.ts";
import type { ProgressRenderer } from "./progress.ts";

/**
 * Builds the cache-keeping subcommands (`download`, …); `render` receives progress events and
 * summary lines, results go to stdout. Errors propagate to the caller, which maps them to exit
 * codes.
 *
 * @example
 * ```ts
 * import { Command, InvalidArgumentError } from "commander";
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
    .argument("<spec>", "one spec in Spack's syntax: zlib, zlib@1.3:, /hashprefix")
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

  const check = new Command("check")
    .description(
      "report the specs (with their dependencies) the build caches lack, and tarballs that " +
        "differ between caches; exit 1 when any spec is missing",
    )
    .argument("[specs...]", `${SPEC_SYNTAX}; none with --store: all of it`)
    .option("-m, --mirror <mirror>", "build cache to check (repeatable)", collect, [])
    .option("--store <root>", "Spack install tree whose specs are checked")
    .option("-j, --jobs <n>", "specs checked concurrently", positiveInt, 4)
    .option("--json", "print {checked, missing, differing} as JSON")
    .action(async (selectors: string[], opts) => {
      if (!opts.mirror.length) throw new UsageError("name the build caches to check with --mirror");
      const mirrors = [];
      for (const url of opts.mirror) {
        mirrors.push((await openConfiguredMirror(url, { onWarning })).mirror);
      }
      let available: ConcreteSpec[];
      let where: string;
      if (opts.store) {
        available = (await openStore(opts.store)).specs.map((s) => s.spec);
        where = opts.store;
      } else if (selectors.length) {
        available = (await Promise.all(mirrors.map((m) => m.listSpecs()))).flat();
        where = opts.mirror.join(", ");
      } else {
        throw new UsageError("name the specs to check, or an install tree with --store");
      }
      const selected = selectors.length
        ? selectSpecs(dedupe(available), selectors, where)
        : available;
      const result = await checkSpecs(mirrors, specsToCheck(selected, available), {
        jobs: opts.jobs,
      });
      if (opts.json) console.log(JSON.stringify(result, null, 2));
      for (const m of result.missing) {
        render.line(`Missing ${m.spec} from ${m.missingFrom.join(", ")}`);
      }
      for (const d of result.differing) {
        const pairs = Object.entries(d.digests).map(([url, digest]) => `${url} ${digest}`);
        render.line(`Different tarballs for ${d.spec}: ${pairs.join(", ")}`);
      }
      render.line(
        `Checked ${result.checked} spec${result.checked === 1 ? "" : "s"}: ` +
          `${result.missing.length} missing, ${result.differing.length} with differing tarballs`,
      );
      if (result.missing.length) {
        throw new SpackleError("CHECK_MISSING", `${result.missing.length} specs need pushing`);
      }
    });

  const migrate = new Command("migrate")
    .description(
      "convert a legacy v2 build cache to layout v3 in place (tarballs unchanged), then index it",
    )
    .argument("<mirror>", "build cache directory, s3:// URL or configured mirror name")
    .option(
      "-k, --key <key>",
      "re-sign with this key: an armored private key file, or a fingerprint",
    )
    .option("--keyring <dir>", "directory of armored private keys to find --key in")
    .option("--gpg-home <dir>", "GnuPG home to export --key from (default $GNUPGHOME)")
    .option("-u, --unsigned", "migrate without signatures (signed entries lose theirs)")
    .option(
      "--trust-key <path>",
      "public key file or directory the v2 signatures must verify with (repeatable)",
      collect,
      [],
    )
    .option("--trust-cache-keys", "trust the keys the v2 cache itself publishes")
    .option("-d, --delete-existing", "remove the v2 files afterwards")
    .option("--json", "print the specs migrated and skipped as JSON")
    .action(async (mirrorUrl: string, opts) => {
      if (opts.unsigned && opts.key !== undefined) {
        throw new UsageError("--key and --unsigned exclude each other");
      }
      if (!opts.unsigned && opts.key === undefined) {
        throw new UsageError(
          "signed entries are re-signed with --key, or migrated without signatures with --unsigned",
        );
      }
      if (!opts.unsigned && !opts.trustKey.length && !opts.trustCacheKeys) {
        throw new UsageError(
          "re-signing verifies the v2 signatures first: give --trust-key or --trust-cache-keys",
        );
      }
      const store = await openCacheStore(mirrorUrl);
      const signer = opts.unsigned ? undefined : await loadSigningKey({
        key: opts.key,
        keyring: opts.keyring,
        gpgHome: opts.gpgHome ?? Deno.env.get("GNUPGHOME"),
        // From the environment, never a flag, so it stays out of process listings.
        passphrase: Deno.env.get("SPACKLE_SIGNING_PASSPHRASE"),
      });
      const trustedKeys = [
        ...await loadTrustedKeys(opts.trustKey),
        ...(opts.trustCacheKeys ? await trustCacheKeys(store) : []),
      ];
      const result = await migrateMirror(store, {
        signer,
        unsigned: opts.unsigned,
        trustedKeys,
        deleteExisting: opts.deleteExisting,
        onProgress: render.onProgress,
      });
      render.done();
      if (opts.json) console.log(JSON.stringify(result, null, 2));
      render.line(
        `Migrated ${result.migrated.length} spec${result.migrated.length === 1 ? "" : "s"} ` +
          `to layout v3 (${result.skipped.length} already there); indexed ${result.indexed}` +
          (opts.deleteExisting ? `; removed ${result.deleted} v2 files` : ""),
      );
    });

  const prune = new Command("prune")
    .description(
      "remove blobs no manifest refers to, broken spec manifests, and with --keeplist the specs " +
        "not listed; the index is rebuilt when a manifest goes",
    )
    .argument("<mirror>", "build cache directory, OCI cache or configured mirror name")
    .option("--keeplist <file>", "file of DAG hashes to keep (one per line); others are removed")
    .option(
      "--grace <duration>",
      "keep blobs younger than this (e.g. 30m, 12h, 2d, 0)",
      duration,
      3_600_000,
    )
    .option("--dry-run", "report what would be removed, remove nothing")
    .option("--json", "print what was (or would be) removed as JSON")
    .action(async (mirrorUrl: string, opts) => {
      const keep = opts.keeplist === undefined ? undefined : await readKeepList(opts.keeplist);
      const { mirror } = await openConfiguredMirror(mirrorUrl, { onWarning, direction: "push" });
      if (mirror instanceof OciMirror) {
        const result = await pruneOciCache(mirror, {
          graceMs: opts.grace,
          keep,
          dryRun: opts.dryRun,
        });
        if (opts.json) console.log(JSON.stringify(result, null, 2));
        render.line(
          `${opts.dryRun ? "Would remove" : "Removed"} ${result.unlisted.length} unlisted spec ` +
            `images, ${result.orphans.length} orphan blobs (${result.bytes} bytes); ` +
            `${result.recent} recent unreferenced blobs kept` +
            (result.indexed === undefined ? "" : `; indexed ${result.indexed}`),
        );
        if (result.blobsLeftToRegistry) {
          render.line(
            "note: the registry reclaims the space of unreferenced blobs when its garbage " +
              "collector runs (e.g. `registry garbage-collect`)",
          );
        }
        return;
      }
      const store = await openCacheStore(mirrorUrl);
      const result = await pruneCache(store, { graceMs: opts.grace, keep, dryRun: opts.dryRun });
      if (opts.json) console.log(JSON.stringify(result, null, 2));
      const verb = opts.dryRun ? "Would remove" : "Removed";
      render.line(
        `${verb} ${result.unlisted.length} unlisted and ${result.broken.length} broken spec ` +
          `manifests, ${result.orphans.length} orphan blobs (${result.bytes} bytes); ` +
          `${result.recent} recent unreferenced blobs kept` +
          (result.indexed === undefined ? "" : `; indexed ${result.indexed}`),
      );
    });

  return [download, check, migrate, prune];
}

/** Parses `--grace`: a number with an optional unit `s`, `m`, `h` or `d` (default seconds). */
function duration(value: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError("expected a duration such as 30m, 12h or 2d");
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]]!;
  return Number(m[1]) * unit * 1000;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** One spec per DAG hash (caches listing the same spec would make selectors ambiguous). */
function dedupe(specs: ConcreteSpec[]): ConcreteSpec[] {
  return [...new Map(specs.map((s) => [s.node.hash, s])).values()];
}
