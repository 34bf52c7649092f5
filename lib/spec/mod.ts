/**
 * Concrete specs as Spack records them: `spec.json` (v1–v5) parsed into a DAG of nodes, the DAG
 * hash, dependency traversal by dependency type, and the selectors users write (`name`,
 * `name@version`, `/hashprefix`).
 *
 * @example
 * ```ts
 * import { parseSpecFile, selectSpecs, shortSpec, traverse } from "@spackle/spackle/spec";
 * const file = "hello.spec.json";
 * const spec = parseSpecFile(JSON.parse(await Deno.readTextFile(file)), file);
 * const deps = traverse(spec, ["link", "run"]); // root first, breadth-first
 * console.log(deps.map(shortSpec)); // ["hello@2.12/hkbptho", "glibc@2.39/ulch6pg", …]
 * const [glibc] = selectSpecs(deps.map((node) => ({ node })), ["glibc"], file);
 * ```
 *
 * @module
 */
export { dagHash } from "./hash.ts";
export {
  type ConcreteSpec,
  type DepType,
  edgesOf,
  isExternal,
  parseSpecFile,
  shortSpec,
  type SpecArch,
  type SpecEdge,
  type SpecFile,
  specFromNodes,
  type SpecNode,
  specsToRelocate,
  toSpecFile,
  traverse,
} from "./spec.ts";
export { matchesSelector, selectSpecs } from "./select.ts";
