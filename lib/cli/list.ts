// `spackle list`: the specs of a build cache as `spack buildcache list` shows them, grouped under
// `-- <platform-os-target> / <compilers> ---` headers, filtered to this machine unless --allarch.

import { Command } from "commander";
import { openConfiguredMirror } from "../config/open.ts";
import { type ConcreteSpec, type SpecNode, targetName } from "../spec/spec.ts";
import { matchesQuery, parseSpecQuery } from "../spec/query.ts";
import { compareVersions } from "../spec/version.ts";
import { toJson } from "./_args.ts";
import { hostArch, runsOn } from "./_host.ts";
import { network } from "./_network.ts";
import type { ProgressRenderer } from "./progress.ts";

/** Options of `list`, as commander parses them. */
interface ListOptions {
  long?: boolean;
  veryLong?: boolean;
  namespaces?: boolean;
  variants?: boolean;
  allarch?: boolean;
  json?: boolean;
}

/** Builds `spackle list`. */
export function listCommand(render: ProgressRenderer): Command {
  return new Command("list")
    .description("list the specs in a build cache (as spack buildcache list)")
    .argument("<mirror>", "build cache URL, directory or configured mirror name")
    .argument("[specs...]", "only specs matching one of these (Spack spec syntax, e.g. zlib@1.3:)")
    .option("-l, --long", "show the 7-character DAG hash prefix")
    .option("-L, --very-long", "show the full DAG hash")
    .option("-N, --namespaces", "show the package repository namespace")
    .option("-v, --variants", "show variants and compiler flags")
    .option("-a, --allarch", "list specs for every platform and target, not only this machine's")
    .option("--json", "print JSON: [{name, version, hash, platform, os, target}]")
    .action(async (mirrorUrl: string, selectors: string[], opts: ListOptions) => {
      const queries = selectors.map(parseSpecQuery);
      const { mirror } = await openConfiguredMirror(mirrorUrl, network(render));
      const host = hostArch();
      const listed = await mirror.listSpecs();
      const forHost = opts.allarch ? listed : listed.filter((s) => runsOn(s.node, host));
      const specs = forHost
        .filter((s) => !queries.length || queries.some((q) => matchesQuery(s, q)))
        .sort((a, b) => compareNodes(a.node, b.node));
      if (opts.json) {
        return console.log(toJson(specs.map(({ node: n }) => ({
          name: n.name,
          version: n.version,
          hash: n.hash,
          platform: n.arch?.platform,
          os: n.arch?.platform_os,
          target: targetName(n),
        }))));
      }
      render.line(`${specs.length} cached build${specs.length === 1 ? "" : "s"}.`);
      const hidden = listed.length - forHost.length;
      if (!specs.length && hidden) {
        render.line(`${hidden} spec(s) for other architectures: use -a/--allarch to list them`);
      }
      for (const line of formatSpecs(specs, opts)) console.log(line);
    });
}

/** The listing lines: a header per architecture and compilers, blank lines between groups. */
function formatSpecs(specs: readonly ConcreteSpec[], opts: ListOptions): string[] {
  const groups = Map.groupBy(specs, (s) => `${archLabel(s.node)} / ${compilersLabel(s)}`);
  const lines: string[] = [];
  for (const header of [...groups.keys()].sort()) {
    if (lines.length) lines.push("");
    lines.push(hline(header));
    for (const { node } of groups.get(header)!) lines.push(specLine(node, opts));
  }
  return lines;
}

/** Spack's `tty.hline` at its default 64 columns: `-- label ----…`. */
function hline(label: string): string {
  return `-- ${label} ${"-".repeat(Math.max(0, 64 - label.length - 4))}`;
}

function archLabel(node: SpecNode): string {
  const arch = node.arch;
  return arch ? `${arch.platform}-${arch.platform_os}-${targetName(node)}` : "no arch";
}

/**
 * The compilers a spec was built with: the `compiler` of a spec file older than v5
 * (`%gcc@=10.2.1`), else the root's direct build dependencies providing `c`, `cxx` or
 * `fortran` (`%c,cxx=gcc@=12.2.0`), else `no compilers`.
 */
function compilersLabel(spec: ConcreteSpec): string {
  const node = spec.node;
  const own = node.compiler as { name?: string; version?: string } | undefined;
  if (typeof own?.name === "string") return `%${own.name}@=${own.version ?? ""}`;
  const annotated = node.annotations?.compiler;
  if (typeof annotated === "string") return `%${annotated}`;
  const byNode = new Map<string, string[]>();
  for (const edge of node.dependencies ?? []) {
    const langs = edge.parameters.virtuals.filter((v) => LANGUAGES.has(v));
    if (langs.length) byNode.set(edge.hash, [...byNode.get(edge.hash) ?? [], ...langs]);
  }
  const parts = [...byNode].map(([hash, langs]) => {
    const c = spec.nodes.get(hash);
    return `%${langs.sort().join(",")}=${c?.name ?? hash}${c?.version ? `@=${c.version}` : ""}`;
  });
  return parts.length ? parts.join(" ") : "no compilers";
}

const LANGUAGES = new Set(["c", "cxx", "fortran"]);

/** One listed spec: `[hash ]name@version[ variants]`. */
function specLine(node: SpecNode, opts: ListOptions): string {
  const hash = opts.veryLong ? `${node.hash} ` : opts.long ? `${node.hash.slice(0, 7)} ` : "";
  const name = opts.namespaces && node.namespace ? `${node.namespace}.${node.name}` : node.name;
  const version = node.version ? `@${node.version}` : "";
  return `${hash}${name}${version}${opts.variants ? variantsText(node) : ""}`;
}

const FLAGS = ["cflags", "cppflags", "cxxflags", "fflags", "ldflags", "ldlibs"];

/**
 * Spack's order: compiler flags that are set (`cflags="-O2 -g"`), boolean variants run together
 * (`+shared~static`), then ` key=value` variants, each group by name.
 */
function variantsText(node: SpecNode): string {
  const params = node.parameters ?? {};
  let flags = "";
  let bools = "";
  let values = "";
  for (const key of Object.keys(params).sort()) {
    const v = params[key];
    if (FLAGS.includes(key)) {
      if (Array.isArray(v) && v.length) flags += ` ${key}="${v.join(" ")}"`;
    } else if (typeof v === "boolean") bools += `${v ? "+" : "~"}${key}`;
    else values += ` ${key}=${Array.isArray(v) ? v.join(",") : String(v)}`;
  }
  return `${flags}${bools}${values}`;
}

function compareNodes(a: SpecNode, b: SpecNode): number {
  return a.name.localeCompare(b.name) ||
    compareVersions(a.version ?? "0", b.version ?? "0") ||
    a.hash.localeCompare(b.hash);
}
