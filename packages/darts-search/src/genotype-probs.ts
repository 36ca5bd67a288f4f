import { edgeCount, type Genotype } from '@lenna/nn';

/**
 * A discrete cell as the latency model sees it: each kept edge one-hot on its op, every other edge
 * one-hot on `none` (all zero when the op set has no `none`). Rows are edges, columns `ops`.
 */
export function geneProbs(gene: Genotype['normal'], ops: readonly string[], nodes: number): number[][] {
  const none = ops.indexOf('none');
  const rows = Array.from({ length: edgeCount(nodes) }, () => ops.map((_, k) => (k === none ? 1 : 0)));
  let start = 0;
  for (let node = 0; node < nodes; node++) {
    for (const [op, from] of gene.slice(2 * node, 2 * node + 2)) {
      rows[start + from] = ops.map((name) => (name === op ? 1 : 0));
    }
    start += node + 2;
  }
  return rows;
}

export function genotypeProbs(g: Genotype, ops: readonly string[], nodes: number): { normal: number[][]; reduce: number[][] } {
  return { normal: geneProbs(g.normal, ops, nodes), reduce: geneProbs(g.reduce, ops, nodes) };
}
