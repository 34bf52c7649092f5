/** Builders of small concrete specs (real DAG hashes) and installed prefixes for store tests. */
import { join } from "node:path";
import { dagHash } from "../../lib/spec/hash.ts";
import { compactJson } from "../../lib/spec/json.ts";
import { type ConcreteSpec, type DepType, type SpecNode, toSpecFile } from "../../lib/spec/spec.ts";

const DEP_FLAG: Record<DepType, number> = { link: 1, run: 2, build: 4, test: 8 };

/** A dependency of {@link makeSpec}: the dependency's spec and the edge's types. */
export interface Dep {
  spec: ConcreteSpec;
  types: DepType[];
  virtuals?: string[];
}

/** A concrete spec in Spack's v5 node form, its hash computed with `dagHash`. */
export function makeSpec(
  name: string,
  version: string,
  deps: Dep[] = [],
  extra: { external?: string; target?: string | { name: string } } = {},
): ConcreteSpec {
  const edges = deps
    .map((d) => ({
      name: d.spec.node.name,
      hash: d.spec.node.hash,
      parameters: { deptypes: d.types, virtuals: d.virtuals ?? [] },
    }))
    .sort((a, b) =>
      a.name < b.name
        ? -1
        : a.name > b.name
        ? 1
        : flag(a.parameters.deptypes) - flag(b.parameters.deptypes)
    );
  const node: Record<string, unknown> = {
    name,
    version,
    arch: { platform: "linux", platform_os: "debian12", target: extra.target ?? "x86_64" },
    namespace: "builtin",
    parameters: {
      build_system: "generic",
      cflags: [],
      cppflags: [],
      cxxflags: [],
      fflags: [],
      ldflags: [],
      ldlibs: [],
    },
  };
  if (extra.external) node.external = { path: extra.external, module: null, extra_attributes: {} };
  node.package_hash = "a".repeat(52) + "====";
  if (edges.length) node.dependencies = edges;
  node.annotations = { original_specfile_version: 5 };
  node.hash = dagHash(node);
  const nodes = new Map<string, SpecNode>([[node.hash as string, node as unknown as SpecNode]]);
  for (const d of deps) for (const [h, n] of d.spec.nodes) nodes.set(h, n);
  return { node: node as unknown as SpecNode, nodes };
}

function flag(types: DepType[]): number {
  return types.reduce((sum, t) => sum + DEP_FLAG[t], 0);
}

/** Writes `<prefix>/.spack/spec.json` (compact, as Spack writes it) and a payload file. */
export async function installPrefix(prefix: string, spec: ConcreteSpec): Promise<void> {
  await Deno.mkdir(join(prefix, ".spack"), { recursive: true });
  await Deno.writeTextFile(join(prefix, ".spack", "spec.json"), compactJson(toSpecFile(spec)));
  await Deno.mkdir(join(prefix, "share"), { recursive: true });
  await Deno.writeTextFile(join(prefix, "share", "prefix.txt"), `${prefix}\n`);
}
