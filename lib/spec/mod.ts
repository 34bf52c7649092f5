/**
 * Concrete specs as Spack records them: `spec.json` (v1–v5) parsed into a DAG of nodes, the DAG
 * hash, dependency traversal by dependency type, and spec queries in Spack's syntax (`name`,
 * `name@1.2:1.4`, `/hashprefix`, `+variant`, `%compiler`, `^dependency`, `target=`…) with
 * Spack's version ordering.
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
export { matchesSelector, selectSpecs, type SpecHolder } from "./select.ts";
export { SpecSyntaxError } from "./errors.ts";
export {
  type DependencyQuery,
  matchesQuery,
  type NodeQuery,
  parseSpecQuery,
  type QueryTarget,
  type SpecQuery,
  type VariantQuery,
} from "./query.ts";
export {
  compareVersions,
  parseVersion,
  parseVersionConstraint,
  scanVersionConstraint,
  type Version,
  type VersionClause,
  type VersionComponent,
  type VersionConstraint,
  versionSatisfies,
} from "./version.ts";
