/**
 * `spackle mirror add|set|set-url|remove|list`: Spack's `spack mirror` commands over Spack's own
 * configuration files, a thin layer over `lib/config`.
 *
 * Source: Spack build cache format reference §5.3 and §7 (`spack mirror …`).
 *
 * @module
 */
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { UsageError } from "../errors.ts";
import { redactUserinfo } from "../net/http.ts";
import { absolutePath, toJson } from "./_args.ts";
import {
  addMirror,
  type EnvSource,
  listMirrors,
  loadMirrorsConfig,
  MirrorError,
  mirrorScopes,
  type MirrorSettings,
  removeMirror,
  setMirror,
  spackScopes,
} from "../config/mod.ts";

/** Options of {@link mirrorCommand}; the defaults talk to the real process. */
export interface MirrorCommandOptions {
  /** Environment (`HOME`, `SPACK_ROOT`, `SPACK_ENV`, `SPACK_USER_CONFIG_PATH`, …). */
  readonly env?: EnvSource;
  /** Receives each line of normal output (default `console.log`). */
  readonly out?: (line: string) => void;
  /** Receives warnings (default: `warning: …` on stderr). */
  readonly warn?: (message: string) => void;
}

/** A configuration file chosen by `--scope`/`--file`, with the name Spack prints for it. */
interface ScopeFile {
  readonly name: string;
  readonly file: string;
}

interface ScopeOptions {
  scope?: string;
  file?: string;
}

interface ConnectionOptions {
  s3AccessKeyId?: string;
  s3AccessKeyIdVariable?: string;
  s3AccessKeySecretVariable?: string;
  s3AccessTokenVariable?: string;
  s3Profile?: string;
  s3EndpointUrl?: string;
  ociUsername?: string;
  ociUsernameVariable?: string;
  ociPasswordVariable?: string;
  s3AccessKeySecret?: string;
  s3AccessToken?: string;
  ociPassword?: string;
}

/** A mirror URL as stored: a relative directory path made absolute, anything else as given. */
function mirrorLocation(url: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith("/") ? url : resolve(url);
}

function envScope(path: string): ScopeFile {
  return { name: `env:${path}`, file: /\.ya?ml$/.test(path) ? path : join(path, "spack.yaml") };
}

/** The file `--scope`/`--file` name; without either, the active environment, else user. */
function scopeFile(opts: ScopeOptions, options: MirrorCommandOptions): ScopeFile {
  if (opts.file && opts.scope) throw new UsageError("give either --scope or --file, not both");
  if (opts.file) return { name: opts.file, file: opts.file };
  const load = spackScopes(options.env);
  const scope = opts.scope ?? (load.envFile ? "env" : "user");
  if (scope.startsWith("env:")) {
    const path = scope.slice("env:".length);
    if (!path) throw new UsageError("--scope env:PATH needs the environment's directory");
    return envScope(resolve(path));
  }
  const found = mirrorScopes(load).find((s) => s.name === scope);
  if (!found) {
    throw new UsageError(
      `scope ${scope} is not available (scopes: system, site with SPACK_ROOT set, user, env with ` +
        "SPACK_ENV set, env:PATH)",
    );
  }
  return { name: found.name, file: found.file };
}

/** `--type binary|source`, repeatable: the values collected in a list. */
function typeOption(): Option {
  return new Option("--type <type>", "mirror type, binary or source (repeat for both)")
    .argParser((value: string, previous: string[] | undefined) => {
      if (value !== "binary" && value !== "source") {
        throw new InvalidArgumentError("expected binary or source");
      }
      return [...(previous ?? []), value];
    });
}

function addScopeOptions(cmd: Command): Command {
  return cmd
    .option("--scope <scope>", "configuration scope to modify: system, site, user or env:PATH")
    .option(
      "--file <path>",
      "modify this mirrors.yaml or environment spack.yaml instead",
      absolutePath,
    );
}

function addConnectionOptions(cmd: Command): Command {
  const hidden = (flags: string) => new Option(flags).hideHelp();
  return cmd
    .addOption(
      new Option("--s3-access-key-id <id>", "S3 access key id").conflicts(
        "s3AccessKeyIdVariable",
      ),
    )
    .option("--s3-access-key-id-variable <var>", "environment variable holding the S3 key id")
    .option("--s3-access-key-secret-variable <var>", "environment variable holding the S3 secret")
    .option("--s3-access-token-variable <var>", "environment variable holding an S3 session token")
    .option("--s3-profile <profile>", "AWS profile")
    .option("--s3-endpoint-url <url>", "S3-compatible endpoint URL")
    .addOption(
      new Option("--oci-username <name>", "registry user name").conflicts("ociUsernameVariable"),
    )
    .option("--oci-username-variable <var>", "environment variable holding the registry user")
    .option("--oci-password-variable <var>", "environment variable holding the registry password")
    // Spack 1.2 removed the flags that stored secrets in plain text; refuse them with a hint.
    .addOption(hidden("--s3-access-key-secret <secret>"))
    .addOption(hidden("--s3-access-token <token>"))
    .addOption(hidden("--oci-password <password>"));
}

function addSigningOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--signed", "require signed packages").conflicts("unsigned"))
    .option("--unsigned", "do not require signed packages");
}

const PLAIN_SECRET_FLAGS: [keyof ConnectionOptions, string, string][] = [
  ["s3AccessKeySecret", "--s3-access-key-secret", "--s3-access-key-secret-variable"],
  ["s3AccessToken", "--s3-access-token", "--s3-access-token-variable"],
  ["ociPassword", "--oci-password", "--oci-password-variable"],
];

/** Connection settings from the flags, as Spack 1.2 builds them (reference §5.3). */
function connectionSettings(opts: ConnectionOptions, warn: (m: string) => void): MirrorSettings {
  for (const [key, flag, instead] of PLAIN_SECRET_FLAGS) {
    if (opts[key] !== undefined) {
      throw new UsageError(
        `${flag} is not supported: Spack 1.2 stores only environment variable names, never ` +
          `secrets; use ${instead}`,
      );
    }
  }
  const pair = (
    id: string | undefined,
    idVariable: string | undefined,
    secretVariable: string | undefined,
    flags: string,
  ) => {
    if ((id ?? idVariable) === undefined && secretVariable === undefined) return undefined;
    if ((id ?? idVariable) === undefined || secretVariable === undefined) {
      warn(`Expected both parts of the access pair to be specified. (i.e. ${flags})`);
      return undefined;
    }
    return idVariable !== undefined ? { idVariable, secretVariable } : { id, secretVariable };
  };
  const s3 = pair(
    opts.s3AccessKeyId,
    opts.s3AccessKeyIdVariable,
    opts.s3AccessKeySecretVariable,
    "--s3-access-key-id and --s3-access-key-secret-variable",
  );
  const oci = pair(
    opts.ociUsername,
    opts.ociUsernameVariable,
    opts.ociPasswordVariable,
    "--oci-username and --oci-password-variable",
  );
  return {
    accessPair: oci ?? s3,
    accessTokenVariable: opts.s3AccessTokenVariable,
    profile: opts.s3Profile,
    endpointUrl: opts.s3EndpointUrl,
  };
}

function typeSettings(types: string[] | undefined): MirrorSettings {
  return types ? { binary: types.includes("binary"), source: types.includes("source") } : {};
}

function signedSetting(opts: { signed?: boolean; unsigned?: boolean }): boolean | undefined {
  return opts.signed ? true : opts.unsigned ? false : undefined;
}

/**
 * The `mirror` command with subcommands `add`, `set`, `set-url`, `remove` (alias `rm`) and
 * `list`, with Spack 1.2's flags and messages (reference §5.3). `--scope system|site|user|env:PATH`
 * picks a scope file as Spack does (default: the environment in `SPACK_ENV`, else the user
 * scope, `$SPACK_USER_CONFIG_PATH` or `~/.spack`); `--file PATH` edits any `mirrors.yaml` or
 * `spack.yaml`. Flags that would store a secret (`--oci-password`, `--s3-access-key-secret`,
 * `--s3-access-token`) are refused. Errors are thrown as typed errors (`MirrorError` exit 1,
 * `UsageError` exit 2 in `main`); parse errors as commander errors (`exitOverride`).
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { mirrorCommand } from "./mirror.ts";
 * const program = new Command("spackle");
 * program.addCommand(mirrorCommand());
 * // spackle mirror add --unsigned --oci-username-variable U --oci-password-variable P \
 * //   cache oci://ghcr.io/me/cache
 * ```
 */
export function mirrorCommand(options: MirrorCommandOptions = {}): Command {
  const out = options.out ?? ((line: string) => console.log(line));
  const warn = options.warn ?? ((m: string) => console.error(`warning: ${m}`));
  const mirror = new Command("mirror")
    .description("manage mirrors (source and binary) in Spack's configuration files")
    .exitOverride()
    .showHelpAfterError();
  const sub = (name: string) => mirror.command(name).exitOverride().showHelpAfterError();

  const add = sub("add")
    .description("add a mirror to Spack's configuration")
    .argument("<mirror>", "mnemonic name for the mirror")
    .argument("<url>", "URL or path of the mirror")
    .addOption(typeOption())
    .option("--autopush", "push every installed spec to this mirror")
    .option("-n, --name <view>", "index view of the mirror");
  addSigningOptions(addConnectionOptions(addScopeOptions(add)))
    .action(async (name: string, url: string, opts) => {
      const target = scopeFile(opts, options);
      await addMirror(target.file, name, mirrorLocation(url), {
        ...connectionSettings(opts, warn),
        ...typeSettings(opts.type),
        autopush: opts.autopush ? true : undefined,
        signed: signedSetting(opts),
        view: opts.name,
      });
    });

  const configure = (cmd: Command, withUrlArgument: boolean) => {
    cmd.argument("<mirror>", "mnemonic name for the mirror");
    if (withUrlArgument) cmd.argument("<url>", "URL or path of the mirror");
    cmd
      .addOption(new Option("--push", "change only the push connection").conflicts("fetch"))
      .option("--fetch", "change only the fetch connection");
    return addConnectionOptions(addScopeOptions(cmd));
  };

  const run = async (
    name: string,
    settings: MirrorSettings,
    opts: ScopeOptions & {
      push?: boolean;
      fetch?: boolean;
    },
  ) => {
    const target = scopeFile(opts, options);
    const direction = opts.push ? "push" : opts.fetch ? "fetch" : undefined;
    if (!await setMirror(target.file, name, settings, direction)) {
      out(`No changes made to mirror ${name}.`);
    }
  };

  const set = configure(
    sub("set").description("configure the connection details of a mirror"),
    false,
  )
    .option("--url <url>", "URL or path of the mirror")
    .addOption(typeOption())
    .option("--autopush", "push every installed spec to this mirror")
    .option("--no-autopush", "stop pushing installed specs to this mirror");
  addSigningOptions(set).action((name: string, opts) =>
    run(name, {
      url: opts.url === undefined ? undefined : mirrorLocation(opts.url),
      ...connectionSettings(opts, warn),
      ...typeSettings(opts.type),
      autopush: opts.autopush,
      signed: signedSetting(opts),
    }, opts)
  );

  configure(sub("set-url").description("change the URL of a mirror"), true)
    .action((name: string, url: string, opts) =>
      run(name, { url: mirrorLocation(url), ...connectionSettings(opts, warn) }, opts)
    );

  addScopeOptions(sub("remove").alias("rm").description("remove a mirror by name"))
    .argument("<mirror>", "mnemonic name for the mirror")
    .option("--all-scopes", "remove the mirror from every scope that has it")
    .action(async (name: string, opts: ScopeOptions & { allScopes?: boolean }) => {
      if (opts.allScopes && (opts.scope || opts.file)) {
        throw new UsageError("give either --all-scopes or --scope/--file, not both");
      }
      const targets = opts.allScopes
        ? mirrorScopes(spackScopes(options.env)).filter((s) => s.name !== "defaults")
        : [scopeFile(opts, options)];
      let removed = false;
      for (const target of targets) {
        if (await removeMirror(target.file, name)) {
          out(`Removed mirror ${name} from ${target.name} scope`);
          removed = true;
        }
      }
      if (!removed) {
        throw new MirrorError(
          "MIRROR_NOT_FOUND",
          name,
          `No mirror with name ${name} in ${targets.map((t) => t.name).join(", ")} scope`,
        );
      }
    });

  sub("list")
    .description("print the configured mirrors")
    .option("--scope <scope>", "configuration scope to read: system, site, user or env:PATH")
    .option("--file <path>", "read only this mirrors.yaml or environment spack.yaml", absolutePath)
    .option(
      "--json",
      "print JSON: [{name, fetch: {url, …}, push: {url, …}, binary, source, …}] as configured",
    )
    .action(async (opts: ScopeOptions & { json?: boolean }) => {
      const config = opts.scope || opts.file
        ? await loadMirrorsConfig({
          files: [scopeFile(opts, options).file],
          userDir: false,
          env: options.env,
        })
        : await loadMirrorsConfig(spackScopes(options.env));
      // A password someone wrote into a URL by hand is not printed either.
      if (opts.json) return out(redactUserinfo(toJson(config.mirrors)));
      const lines = listMirrors(config);
      if (lines.length === 0) out("No mirrors configured.");
      for (const line of lines) out(redactUserinfo(line));
    });

  return mirror;
}
