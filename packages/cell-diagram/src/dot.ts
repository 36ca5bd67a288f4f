import type { Genotype } from '@lenna/nn';

export type CellKind = 'normal' | 'reduce';

export const CELL_TITLES: Record<CellKind, string> = { normal: 'normal cell', reduce: 'reduction cell' };

const INPUT_FILL = '#d5e8d4';
const NODE_FILL = '#dae8fc';
const OUTPUT_FILL = '#fff2cc';

/** A DOT double-quoted string: op names are plain, but a label must never end the string early. */
function quoted(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** The edges a cell's drawing has: one per kept op (two per intermediate node) and one per concatenated state. */
export function cellEdgeCount(genotype: Genotype, cell: CellKind): number {
  return genotype[cell].length + genotype[`${cell}_concat`].length;
}

/**
 * The statements of one cell, DARTS-figure style: inputs c_{k-2} and c_{k-1}, intermediate nodes
 * 0..n-1, output c_{k}; an edge per kept op labelled with the op (skip_connect dashed), and an
 * unlabelled grey edge from each concatenated state to c_{k}. State j of the genotype is input j for
 * j < 2, else intermediate node j - 2. Node names carry `prefix` so two cells can share one graph.
 */
function cellStatements(genotype: Genotype, cell: CellKind, prefix: string): string[] {
  const gene = genotype[cell];
  const nodes = gene.length / 2;
  const state = (j: number) => quoted(`${prefix}${j < 2 ? `in${j}` : `node${j - 2}`}`);
  const out = quoted(`${prefix}out`);
  const lines = [
    `${state(0)} [label=<c<SUB>k−2</SUB>>, fillcolor="${INPUT_FILL}"];`,
    `${state(1)} [label=<c<SUB>k−1</SUB>>, fillcolor="${INPUT_FILL}"];`,
    // Invisible edges are not drawn (no SVG element): they only keep c_{k-2} above c_{k-1}.
    `{ rank=same; ${state(0)} -> ${state(1)} [style=invis]; }`,
  ];
  for (let i = 0; i < nodes; i++) lines.push(`${state(i + 2)} [label=${quoted(String(i))}];`);
  lines.push(`${out} [label=<c<SUB>k</SUB>>, fillcolor="${OUTPUT_FILL}"];`);
  gene.forEach(([op, input], g) => {
    const style = op === 'skip_connect' ? ', style=dashed' : '';
    lines.push(`${state(input)} -> ${state(Math.floor(g / 2) + 2)} [label=${quoted(op)}, class="op"${style}];`);
  });
  for (const j of genotype[`${cell}_concat`]) lines.push(`${state(j)} -> ${out} [color="#888888", class="concat"];`);
  return lines;
}

const GRAPH_DEFAULTS = [
  'rankdir=LR;',
  'bgcolor="white";',
  'fontname="Helvetica";',
  'node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=14, height=0.35, fillcolor="' + NODE_FILL + '"];',
  'edge [fontname="Helvetica", fontsize=12, arrowsize=0.7];',
  'ranksep=0.35;',
  'nodesep=0.25;',
];

/** DOT source of one cell as its own graph. */
export function cellDot(genotype: Genotype, cell: CellKind): string {
  return ['digraph cell {', ...GRAPH_DEFAULTS, ...cellStatements(genotype, cell, ''), '}'].join('\n') + '\n';
}

/** DOT source of both cells, the normal cell above the reduction cell, each framed and titled. */
export function genotypeDot(genotype: Genotype, title?: string): string {
  const lines = ['digraph genotype {', ...GRAPH_DEFAULTS];
  if (title) lines.push(`label=${quoted(title)};`, 'labelloc="t";');
  for (const cell of ['normal', 'reduce'] as const) {
    lines.push(`subgraph cluster_${cell} {`, `label=${quoted(CELL_TITLES[cell])};`, 'color="#999999";', ...cellStatements(genotype, cell, `${cell}_`), '}');
  }
  // Not drawn: orders the two frames (normal first) without moving nodes inside them.
  lines.push(`"normal_out" -> "reduce_in0" [style=invis, constraint=false];`, '}');
  return lines.join('\n') + '\n';
}
