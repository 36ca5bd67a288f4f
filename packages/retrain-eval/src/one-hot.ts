import { UserError } from '@lenna/core';
import { cellEdges, type Genotype, type OpName } from '@lenna/nn';

export type CellType = 'normal' | 'reduce';

/**
 * The op index of every edge of one genotype cell: a kept edge carries its op, every dropped edge
 * `none`. Edges are numbered as in α (node by node, predecessor by predecessor).
 */
export function genotypeChoice(g: Genotype, cell: CellType, ops: readonly string[]): number[] {
  const gene = g[cell];
  const nodes = gene.length / 2;
  const none = indexOfOp(ops, 'none', cell);
  const choice = cellEdges(nodes).map(() => none);
  const edgeOf = (node: number, from: number) => cellEdges(nodes).findIndex((e) => e.node === node && e.from === from);
  gene.forEach(([op, from], k) => {
    const node = Math.floor(k / 2);
    const edge = edgeOf(node, from);
    if (choice[edge] !== none) {
      throw new UserError(
        `genotype ${cell} node ${node} takes input ${from} twice; a cell has one op per edge, so keep two different inputs per node.`,
      );
    }
    choice[edge] = indexOfOp(ops, op, cell);
  });
  return choice;
}

/** The one-hot probability matrix [edges][ops] of a genotype cell (see genotypeChoice). */
export function oneHotProbs(g: Genotype, cell: CellType, ops: readonly string[]): number[][] {
  return genotypeChoice(g, cell, ops).map((k) => ops.map((_, j) => (j === k ? 1 : 0)));
}

function indexOfOp(ops: readonly string[], op: OpName | 'none', cell: CellType): number {
  const k = ops.indexOf(op);
  if (k < 0) throw new UserError(`genotype ${cell} cell uses "${op}", which the op set [${ops.join(', ')}] lacks; use a latency model trained on an op set that has it.`);
  return k;
}
