/**
 * Shell code that activates and deactivates an environment's view, as `spack env activate
 * --sh|--csh|--fish` and `spack env deactivate` print it.
 *
 * Activation sets `SPACK_ENV` and `SPACK_ENV_VIEW`, defines `despacktivate`, then prepends to the
 * search-path variables ({@link PREFIX_INSPECTIONS}): first every inspected directory of the view
 * root, whether it exists or not; then, for each node of the roots' link/run DAGs with
 * dependencies first, the inspected directories that exist — in the view for Spack-installed
 * nodes, in its own prefix for an external (system paths such as `/usr/bin` excepted); finally
 * duplicates are pruned, keeping the first. Variables are printed in name order and only when
 * changed; `MANPATH` always ends in `:` (so `man` still searches its defaults).
 *
 * Differences from Spack: `despacktivate` runs `<command> env deactivate` through `eval` (there is
 * no shell function wrapping Spackle); packages' own `setup_run_environment` changes are not
 * known and not applied; values are always shell-quoted (Spack leaves `SPACK_ENV` unquoted).
 *
 * @module
 */
import { isAbsolute, join, normalize } from "node:path";
import { envLookup } from "../config/env_lookup.ts";
import type { EnvSource } from "../config/types.ts";
import { UsageError } from "../errors.ts";
import { type ConcreteSpec, isExternal, type SpecNode } from "../spec/spec.ts";
import { topoNodes } from "../spec/topo.ts";
import { formatProjection, projectionFor } from "../view/projection.ts";
import { DEFAULT_VIEW_NAME } from "./environment.ts";
import { isSystemPath, PREFIX_INSPECTIONS } from "./prefix_inspections.ts";

/** Shells activation code is printed for. */
export type Shell = "sh" | "csh" | "fish";

/** The view activation puts on the search paths. */
export interface ActivationView {
  /** View name, exported as `SPACK_ENV_VIEW` (Spack activates `default`). */
  readonly name?: string;
  /** The view path (the symlink, as Spack uses it, not its `._view/<hash>` target). */
  readonly root: string;
  /** The view's projections, to find a spec's directory inside it. */
  readonly projections?: Readonly<Record<string, string>>;
}

/** Options of {@link activationScript} and {@link deactivationScript}. */
export interface ActivationOptions {
  /** The environment directory, exported as `SPACK_ENV`. */
  readonly envDir: string;
  /** The view to activate; without one only `SPACK_ENV` and `despacktivate` are set. */
  readonly view?: ActivationView;
  /** The environment's installed concrete roots (their externals' prefixes are inspected too). */
  readonly roots?: readonly ConcreteSpec[];
  /** Output syntax. */
  readonly shell: Shell;
  /** The current environment variables the changes apply to (e.g. `Deno.env`). */
  readonly env: EnvSource;
  /** Program whose `env deactivate --<shell>` prints the undo code; default `spackle`. */
  readonly command?: string;
}

/** One search-path change, in the order applied. */
interface PathChange {
  readonly variable: string;
  readonly dir: string;
}

/**
 * The shell code that activates an environment and its view.
 *
 * @example
 * ```ts
 * import { openEnvironment } from "@spackle/spackle";
 * import { activationScript } from "@spackle/spackle/env";
 * const env = await openEnvironment("./myenv");
 * const code = await activationScript({
 *   envDir: env.dir,
 *   view: env.defaultView,
 *   roots: env.roots.map((r) => r.concrete),
 *   shell: "sh",
 *   env: Deno.env,
 * });
 * // export SPACK_ENV=/…/myenv;\nexport SPACK_ENV_VIEW=default;\n… export PATH=/…/view/bin:…;
 * ```
 * @throws {UsageError} for an unknown shell or a `command` that is not a plain program name.
 */
export async function activationScript(options: ActivationOptions): Promise<string> {
  checkShell(options.shell);
  const changes = options.view ? await viewChanges(options.view, options.roots ?? []) : [];
  const current = envLookup(options.env);
  const updated = new Map<string, string | undefined>();
  for (const { variable, dir } of changes) {
    const value = updated.has(variable) ? updated.get(variable) : current(variable);
    updated.set(variable, [dir, ...splitPath(value)].join(":"));
  }
  for (const [variable, value] of updated) {
    updated.set(variable, [...new Set(splitPath(value))].join(":"));
  }
  return activateHeader(options) + assignments(updated, current, options.shell);
}

/**
 * The shell code that undoes {@link activationScript} for the same options: `SPACK_ENV`,
 * `SPACK_ENV_VIEW` and `despacktivate` removed, every directory activation would prepend removed
 * from its variable (as Spack, even one that was there before activation). A variable left empty
 * is unset.
 *
 * @example
 * ```ts
 * import { openEnvironment } from "@spackle/spackle";
 * import { deactivationScript } from "@spackle/spackle/env";
 * const env = await openEnvironment(Deno.env.get("SPACK_ENV")!);
 * const code = await deactivationScript({
 *   envDir: env.dir,
 *   view: env.defaultView,
 *   roots: env.roots.map((r) => r.concrete),
 *   shell: "sh",
 *   env: Deno.env,
 * });
 * ```
 * @throws {UsageError} for an unknown shell.
 */
export async function deactivationScript(options: ActivationOptions): Promise<string> {
  checkShell(options.shell);
  const changes = options.view ? await viewChanges(options.view, options.roots ?? []) : [];
  const current = envLookup(options.env);
  const updated = new Map<string, string | undefined>();
  for (const { variable, dir } of changes.reverse()) {
    const value = updated.has(variable) ? updated.get(variable) : current(variable);
    const rest = splitPath(value).filter((d) => d !== dir);
    updated.set(variable, rest.length ? rest.join(":") : undefined);
  }
  return deactivateHeader(options.shell) + assignments(updated, current, options.shell);
}

/** The prepends for `view`, in Spack's order (see the module documentation). */
async function viewChanges(
  view: ActivationView,
  roots: readonly ConcreteSpec[],
): Promise<PathChange[]> {
  const changes: PathChange[] = [];
  const inspect = (prefix: string, mustExist: Set<string> | undefined) => {
    for (const { path, variables } of PREFIX_INSPECTIONS) {
      const dir = normalizeDir(join(prefix, path));
      if (mustExist && (!mustExist.has(dir) || isSystemPath(dir))) continue;
      for (const variable of variables) changes.push({ variable, dir });
    }
  };
  inspect(view.root, undefined);
  const nodes = topoNodes(roots, ["link", "run"]).reverse();
  for (const node of nodes) {
    const prefix = prefixInView(node, view);
    if (prefix) inspect(prefix, await existingDirs(prefix));
  }
  return changes;
}

/** Where a node's inspections look: its projection in the view, or an external's own prefix. */
function prefixInView(node: SpecNode, view: ActivationView): string | undefined {
  if (isExternal(node)) {
    const path = node.external?.path;
    return typeof path === "string" && isAbsolute(path) ? path : undefined;
  }
  return join(view.root, formatProjection(node, projectionFor(node, view.projections)));
}

async function existingDirs(prefix: string): Promise<Set<string>> {
  const found = new Set<string>();
  for (const { path } of PREFIX_INSPECTIONS) {
    const dir = normalizeDir(join(prefix, path));
    try {
      if ((await Deno.stat(dir)).isDirectory) found.add(dir);
    } catch {
      // not there: not inspected
    }
  }
  return found;
}

function normalizeDir(path: string): string {
  const p = normalize(path);
  return p.length > 1 ? p.replace(/\/+$/, "") : p;
}

function splitPath(value: string | undefined): string[] {
  return value ? value.split(":") : [];
}

/** `export NAME=value;` lines for the changed variables, in name order. */
function assignments(
  updated: Map<string, string | undefined>,
  current: (name: string) => string | undefined,
  shell: Shell,
): string {
  const manpath = updated.get("MANPATH");
  if (manpath !== undefined && !manpath.endsWith(":")) updated.set("MANPATH", `${manpath}:`);
  let out = "";
  for (const name of [...updated.keys()].sort()) {
    const value = updated.get(name);
    if (value === current(name)) continue;
    out += value === undefined ? unsetLine(name, shell) : setLine(name, value, shell);
  }
  return out;
}

function setLine(name: string, value: string, shell: Shell): string {
  switch (shell) {
    case "sh":
      return `export ${name}=${shellQuote(value)};\n`;
    case "csh":
      return `setenv ${name} ${shellQuote(value)};\n`;
    default:
      return `set -gx ${name} ${shellQuote(value)};\n`;
  }
}

function unsetLine(name: string, shell: Shell): string {
  switch (shell) {
    case "sh":
      return `unset ${name};\n`;
    case "csh":
      return `unsetenv ${name};\n`;
    default:
      return `set -e ${name};\n`;
  }
}

function activateHeader(options: ActivationOptions): string {
  const command = options.command ?? "spackle";
  if (!/^[\w./+-]+$/.test(command)) {
    throw new UsageError(`command ${JSON.stringify(command)} is not a plain program name`);
  }
  const viewName = options.view ? options.view.name ?? DEFAULT_VIEW_NAME : undefined;
  const vars = setLine("SPACK_ENV", options.envDir, options.shell) +
    (viewName ? setLine("SPACK_ENV_VIEW", viewName, options.shell) : "");
  switch (options.shell) {
    case "sh":
      return vars + `alias despacktivate='eval "$(${command} env deactivate --sh)"';\n`;
    case "csh":
      return vars + `alias despacktivate 'eval \`${command} env deactivate --csh\`';\n`;
    default:
      return vars +
        `function despacktivate;\n   ${command} env deactivate --fish | source;\nend;\n`;
  }
}

function deactivateHeader(shell: Shell): string {
  switch (shell) {
    case "sh":
      return "unset SPACK_ENV;\nunset SPACK_ENV_VIEW;\n" +
        "alias despacktivate > /dev/null 2>&1 && unalias despacktivate;\n";
    case "csh":
      return "unsetenv SPACK_ENV;\nunsetenv SPACK_ENV_VIEW;\nunalias despacktivate;\n";
    default:
      return "set -e SPACK_ENV;\nset -e SPACK_ENV_VIEW;\nfunctions -e despacktivate;\n";
  }
}

const SHELLS: readonly Shell[] = ["sh", "csh", "fish"];

function checkShell(shell: Shell) {
  if (!SHELLS.includes(shell)) {
    throw new UsageError(`unknown shell ${JSON.stringify(shell)} (sh, csh or fish)`);
  }
}

/** Python's `shlex.quote`: as is when only safe characters, else single-quoted. */
export function shellQuote(value: string): string {
  if (value !== "" && !/[^\w@%+=:,./-]/.test(value)) return value;
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}
