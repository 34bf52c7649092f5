/**
 * Legacy build cache layout v2 (Spack 0.22–0.23), read only: where spec files and tarballs
 * live under `build_cache/` (build cache format reference §1.13).
 *
 * @module
 */
import { type ConcreteSpec, politeFilename, type SpecNode, targetName } from "../spec/spec.ts";

/** Key of a v2 mirror's index (a Spack database). */
export const V2_INDEX_KEY = "build_cache/index.json";

/**
 * The compiler name and version a v2 file name carries: the node's own `compiler` (spec format
 * ≤ 4), else `annotations.compiler`, else the node providing `c`/`cxx`/`fortran`, else `none`.
 */
function compilerOf(node: SpecNode, pool?: ReadonlyMap<string, SpecNode>): [string, string] {
  const own = node.compiler as { name?: string; version?: string } | undefined;
  if (own?.name) return [own.name, String(own.version ?? "none").replace(/^=/, "")];
  const annotated = node.annotations?.compiler;
  if (typeof annotated === "string") {
    const [name, version = "none"] = annotated.split("@");
    return [name, version.replace(/^=/, "")];
  }
  for (const e of node.dependencies ?? []) {
    if (e.parameters.virtuals.some((v) => v === "c" || v === "cxx" || v === "fortran")) {
      const dep = pool?.get(e.hash);
      return [e.name, (dep?.version ?? "none").replace(/^=/, "")];
    }
  }
  return ["none", "none"];
}

function stem(node: SpecNode, pool?: ReadonlyMap<string, SpecNode>): string {
  const arch = `${node.arch?.platform}-${node.arch?.platform_os}-${targetName(node)}`;
  const [c, cv] = compilerOf(node, pool);
  return politeFilename(`${arch}-${c}-${cv}-${node.name}-${node.version}-${node.hash}`);
}

/**
 * Keys of a node's v2 spec file: signed first, then unsigned.
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { v2SpecFileKeys } from "@spackle/spackle/buildcache";
 * const specs = await (await openMirror("./cache")).listSpecs();
 * console.log(v2SpecFileKeys(specs[0].node, specs[0].nodes)); // [".spec.json.sig" key, ".spec.json" key]
 * ```
 */
export function v2SpecFileKeys(node: SpecNode, pool?: ReadonlyMap<string, SpecNode>): string[] {
  const base = `build_cache/${stem(node, pool)}.spec.json`;
  return [`${base}.sig`, base];
}

/**
 * Key of a spec's v2 tarball (`.spack` file).
 *
 * @example
 * ```ts
 * import { openMirror } from "@spackle/spackle";
 * import { v2TarballKey } from "@spackle/spackle/buildcache";
 * const specs = await (await openMirror("./cache")).listSpecs();
 * console.log(v2TarballKey(specs[0])); // "build_cache/linux-…/gcc-…/….spack"
 * ```
 */
export function v2TarballKey(spec: ConcreteSpec): string {
  const node = spec.node;
  const arch = `${node.arch?.platform}-${node.arch?.platform_os}-${targetName(node)}`;
  const [c, cv] = compilerOf(node, spec.nodes);
  return `build_cache/${politeFilename(arch)}/${politeFilename(`${c}-${cv}`)}/${
    politeFilename(`${node.name}-${node.version}`)
  }/${stem(node, spec.nodes)}.spack`;
}

/** The DAG hash a v2 spec file key names: the last `-` token before `.spec.json[.sig]`. */
export function v2HashFromKey(key: string): string {
  const stem = key.replace(/\.spec\.json(\.sig)?$/, "");
  return stem.slice(stem.lastIndexOf("-") + 1);
}
