/** Topological order of the nodes of several DAGs, as Spack's `traverse_nodes(order="topo")`. */
import { type ConcreteSpec, type DepType, edgesOf, type SpecNode } from "./spec.ts";

/**
 * The roots and every node reachable from them over `types` edges, each DAG hash once, every
 * node after all of its dependents (Kahn's algorithm, ties in root and edge order).
 */
export function topoNodes(roots: readonly ConcreteSpec[], types: readonly DepType[]): SpecNode[] {
  const pool = new Map<string, SpecNode>();
  for (const r of roots) for (const [h, n] of r.nodes) if (!pool.has(h)) pool.set(h, n);
  const children = (n: SpecNode) => [
    ...new Set(edgesOf(n, types).map((e) => e.hash).filter((h) => pool.has(h))),
  ];
  const parents = new Map<string, number>();
  const queue = [...new Set(roots.map((r) => r.node.hash))];
  for (const h of queue) parents.set(h, 0);
  for (let i = 0; i < queue.length; i++) {
    for (const c of children(pool.get(queue[i])!)) {
      if (!parents.has(c)) queue.push(c);
      parents.set(c, (parents.get(c) ?? 0) + 1);
    }
  }
  const ready = queue.filter((h) => parents.get(h) === 0);
  const order: SpecNode[] = [];
  for (let i = 0; i < ready.length; i++) {
    const node = pool.get(ready[i])!;
    order.push(node);
    for (const c of children(node)) {
      const left = parents.get(c)! - 1;
      parents.set(c, left);
      if (left === 0) ready.push(c);
    }
  }
  return order;
}
