import { describe, expect, it } from 'vitest';
import type { Genotype } from '@lenna/nn';
import { cellDot, cellEdgeCount, cellSvg, genotypeSvg, genotypeSvgFromJson } from '../src/index.js';

// Hand-made. Normal: node 0 reads c_{k-2} and c_{k-1}, node 1 node 0 and c_{k-1}, node 2 nodes 0 and 1, node 3 c_{k-2}
// and node 2. Reduction: two nodes, only node 1 concatenated.
const GENOTYPE: Genotype = {
  normal: [
    ['sep_conv_3x3', 0],
    ['skip_connect', 1],
    ['dil_conv_5x5', 2],
    ['max_pool_3x3', 1],
    ['sep_conv_5x5', 2],
    ['avg_pool_3x3', 3],
    ['dil_conv_3x3', 0],
    ['skip_connect', 4],
  ],
  normal_concat: [2, 3, 4, 5],
  reduce: [
    ['max_pool_3x3', 0],
    ['max_pool_3x3', 1],
    ['skip_connect', 2],
    ['avg_pool_3x3', 0],
  ],
  reduce_concat: [3],
};

/**
 * Edges as Graphviz wrote them, grouped by the class we gave them: `tail->head` from each edge's
 * title, with the op label for op edges (`in0->node0 sep_conv_3x3`); sorted, as Graphviz orders
 * edges its own way.
 */
function edges(svg: string): { op: string[]; concat: string[] } {
  const groups = [...svg.matchAll(/<g id="[^"]+" class="edge (op|concat)">\s*<title>([^<]+)<\/title>([\s\S]*?)<\/g>/g)];
  const title = (t: string) => t.replaceAll('&#45;', '-').replaceAll('&gt;', '>');
  return {
    op: groups.filter((g) => g[1] === 'op').map((g) => `${title(g[2])} ${/<text[^>]*>([^<]+)<\/text>/.exec(g[3])?.[1] ?? ''}`).sort(),
    concat: groups.filter((g) => g[1] === 'concat').map((g) => title(g[2])).sort(),
  };
}

describe('cell diagrams', () => {
  it('draws every kept op as a labelled edge from the right state, and the concat into c_k', async () => {
    const drawn = edges(await cellSvg(GENOTYPE, 'normal'));
    expect(drawn.op).toEqual(
      [
        'in0->node0 sep_conv_3x3',
        'in1->node0 skip_connect',
        'node0->node1 dil_conv_5x5',
        'in1->node1 max_pool_3x3',
        'node0->node2 sep_conv_5x5',
        'node1->node2 avg_pool_3x3',
        'in0->node3 dil_conv_3x3',
        'node2->node3 skip_connect',
      ].sort(),
    );
    expect(drawn.concat).toEqual(['node0->out', 'node1->out', 'node2->out', 'node3->out']);
    expect(drawn.op.length + drawn.concat.length).toBe(cellEdgeCount(GENOTYPE, 'normal'));
  });

  it('follows the genotype’s concat list and node count (a two-node reduction cell concatenating node 1 only)', async () => {
    const svg = await cellSvg(GENOTYPE, 'reduce');
    const drawn = edges(svg);
    expect(drawn.op).toEqual(['in0->node0 max_pool_3x3', 'in1->node0 max_pool_3x3', 'node0->node1 skip_connect', 'in0->node1 avg_pool_3x3'].sort());
    expect(drawn.concat).toEqual(['node1->out']);
    expect(cellEdgeCount(GENOTYPE, 'reduce')).toBe(5);
    expect(svg).not.toContain('<title>node2</title>');
  });

  it('marks skip connections dashed and names the inputs c_{k-2}, c_{k-1} and the output c_k', () => {
    const dot = cellDot(GENOTYPE, 'normal');
    expect(dot.match(/style=dashed/g)).toHaveLength(2);
    expect(dot).toContain('label=<c<SUB>k−2</SUB>>');
    expect(dot).toContain('label=<c<SUB>k</SUB>>');
  });

  it('gives the same bytes twice, with no reference outside the document', async () => {
    const [a, b] = [await genotypeSvg(GENOTYPE, 'λ=1'), await genotypeSvg(GENOTYPE, 'λ=1')];
    expect(a).toBe(b);
    expect(a).not.toMatch(/(?:href|src)="(?!#)/);
    const drawn = edges(a);
    expect(drawn.op).toHaveLength(GENOTYPE.normal.length + GENOTYPE.reduce.length);
    expect(drawn.concat).toHaveLength(5);
    expect(a).toContain('>normal cell</text>');
    expect(a).toContain('>reduction cell</text>');
  });

  it('refuses a value that is not a DARTS genotype, naming where it came from', async () => {
    await expect(genotypeSvgFromJson({ normal: [['conv_7x7', 0]] }, 'out/genotype.json')).rejects.toThrow(/out\/genotype\.json is not a DARTS genotype/);
  });
});
