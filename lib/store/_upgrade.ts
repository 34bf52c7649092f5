/**
 * Brings the nodes of an older install-tree database (v6: spec format 3, v7: spec format 4) to
 * the spec format 5 node form Spack 1.x writes when it saves such a database as v8.
 *
 * @module
 */
import type { DepType, SpecEdge, SpecNode } from "../spec/spec.ts";

/** Spec file format of the nodes stored by each database version (format reference §1.6). */
export const NODE_FORMAT_OF_DB: Readonly<Record<string, number>> = { "6": 3, "7": 4, "8": 5 };

/**
 * Rewrites one node of spec format 3 or 4 to format 5: edges `{name, hash, type}` gain
 * `parameters: {deptypes, virtuals: []}`, and the node-level `compiler: {name, version}` moves to
 * `annotations: {original_specfile_version, compiler: "name@=version"}`, placed after the other
 * fields and before `hash`, as Spack's v5 writer orders them. The stored hash is kept.
 */
export function upgradeNode(node: SpecNode, format: number): SpecNode {
  if (format >= 5) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "compiler" || key === "annotations" || key === "hash") continue;
    out[key] = key === "dependencies" ? (value as unknown[]).map(upgradeEdge) : value;
  }
  const annotations: Record<string, unknown> = { original_specfile_version: format };
  const compiler = node.compiler as { name?: string; version?: string } | undefined;
  if (compiler?.name) {
    annotations.compiler = compiler.version
      ? `${compiler.name}@=${compiler.version}`
      : compiler.name;
  }
  out.annotations = annotations;
  out.hash = node.hash;
  return out as SpecNode;
}

function upgradeEdge(raw: unknown): SpecEdge {
  const edge = raw as SpecEdge & { type?: DepType[] };
  if (edge.parameters) return edge;
  return {
    name: edge.name,
    hash: edge.hash,
    parameters: { deptypes: edge.type ?? [], virtuals: [] },
  };
}
