import { UserError } from '@lenna/core';
import { DARTS_OPS } from '@lenna/nn';

// A dataset's ops are nn's catalogue (in its order), filtered to those it has columns for.
export { DARTS_OPS };

const PROB_COLUMN = /^p_e(\d+)_(.+)$/;

export function probColumnName(edge: number, op: string): string {
  return `p_e${edge}_${op}`;
}

/** The op set and edge count a table's `p_e<edge>_<op>` columns describe; every edge must have every op. */
export function parseProbColumns(names: readonly string[], where: string): { ops: string[]; edges: number } {
  const seen = new Map<number, Set<string>>();
  for (const name of names) {
    const match = PROB_COLUMN.exec(name);
    if (!match) continue;
    const [, edgeText, op] = match;
    if (!(DARTS_OPS as readonly string[]).includes(op)) {
      throw new UserError(`${where}: column ${name} names op '${op}', which is not one of ${DARTS_OPS.join(', ')}.`);
    }
    const edge = Number(edgeText);
    if (!seen.has(edge)) seen.set(edge, new Set());
    seen.get(edge)!.add(op);
  }
  const edges = seen.size;
  if (edges === 0) throw new UserError(`${where}: no probability columns (p_e<edge>_<op>, e.g. p_e0_none) were found.`);
  const ops = DARTS_OPS.filter((op) => seen.get(0)?.has(op));
  for (let edge = 0; edge < edges; edge++) {
    const opsHere = seen.get(edge);
    if (!opsHere) throw new UserError(`${where}: edges must be numbered 0..${edges - 1}, but edge ${edge} has no p_e${edge}_* columns.`);
    const missing = ops.filter((op) => !opsHere.has(op));
    const extra = [...opsHere].filter((op) => !ops.includes(op as (typeof DARTS_OPS)[number]));
    if (missing.length > 0 || extra.length > 0) {
      throw new UserError(`${where}: edge ${edge} has ops {${[...opsHere].join(', ')}} but edge 0 has {${ops.join(', ')}}; every edge needs the same op columns.`);
    }
  }
  return { ops, edges };
}
