/**
 * View projections: where a spec's files go below a view root (`projections:` of a view, e.g.
 * `{all: "{name}-{version}", zlib: "{name}"}`), chosen and formatted as Spack's
 * `get_projection` and `Spec.format_path` do.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { matchesSelector } from "../spec/select.ts";
import { politeFilename, type SpecNode, targetName } from "../spec/spec.ts";

/**
 * The projection template for `node`: the first key of `projections` (in order) that the node
 * matches (`name`, `name@version`, `/hash`), else the `all` entry, else none (`""`).
 */
export function projectionFor(
  node: SpecNode,
  projections: Readonly<Record<string, string>> | undefined,
): string {
  let all = "";
  for (const [key, template] of Object.entries(projections ?? {})) {
    if (key === "all") all = template;
    else if (matchesSelector(node, key)) return template;
  }
  return all;
}

/**
 * The relative directory `template` names for `node`, each path component made polite (Spack's
 * `format_path`). Understood fields: `name`, `version`, `hash` and `hash:N`, `namespace`,
 * `platform`, `os`, `target`, `architecture` and `architecture.platform|os|platform_os|target`,
 * `compiler.name|version` (old specs), with the `@` and `/` sigils (`{@version}`, `{/hash:7}`).
 *
 * @example
 * ```ts
 * import { readLockfile } from "@spackle/spackle/env";
 * import { formatProjection } from "@spackle/spackle/view";
 * const [root] = (await readLockfile("./myenv/spack.lock")).roots;
 * formatProjection(root.concrete.node, "{name}/{version}-{hash:7}"); // "zlib/1.3-abcdefg"
 * ```
 * @throws {UsageError} for a field this formatter does not know.
 */
export function formatProjection(node: SpecNode, template: string): string {
  const formatted = template.split("/").map((part) =>
    politeFilename(part.replace(/\{([^}]*)\}/g, (_m, field: string) => field1(node, field)))
  );
  return formatted.filter((p) => p !== "").join("/");
}

function field1(node: SpecNode, raw: string): string {
  let field = raw.trim();
  let sigil = "";
  if (field.startsWith("@") || field.startsWith("/")) {
    sigil = field[0];
    field = field.slice(1);
  }
  const [name, width] = field.split(":");
  const value = fieldValue(node, name);
  if (value === undefined) {
    throw new UsageError(`view projection field {${raw}} is not supported for ${node.name}`);
  }
  if (value === "") return "";
  return sigil + (width ? value.slice(0, Number(width)) : value);
}

function fieldValue(node: SpecNode, name: string): string | undefined {
  const arch = node.arch;
  const compiler = (node.compiler ?? node.annotations?.compiler) as
    | { name?: string; version?: string }
    | undefined;
  switch (name) {
    case "name":
      return node.name;
    case "version":
      return node.version ?? "";
    case "hash":
      return node.hash;
    case "namespace":
      return node.namespace ?? "";
    case "platform":
    case "architecture.platform":
      return arch?.platform ?? "";
    case "os":
    case "architecture.os":
    case "architecture.platform_os":
      return arch?.platform_os ?? "";
    case "target":
    case "architecture.target":
      return targetName(node);
    case "architecture":
      return arch ? `${arch.platform}-${arch.platform_os}-${targetName(node)}` : "";
    case "compiler.name":
      return compiler?.name ?? "";
    case "compiler.version":
      return compiler?.version ?? "";
    default:
      return undefined;
  }
}
