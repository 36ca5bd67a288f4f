import { createRng, defineStage } from '@lenna/core';
import { genotypeOpCounts, genotypeToText, randomGenotype, type Genotype, type OpName } from '@lenna/nn';
import { randomCellParams } from './params.js';

/** Draw `index` of the stream seeded by `seed`: the draws before it are made and dropped. */
export function sampleCell(p: { seed: number; index: number; nodes: number; ops: readonly OpName[] }): Genotype {
  const rng = createRng(p.seed);
  let genotype = randomGenotype(rng, p);
  for (let i = 0; i < p.index; i++) genotype = randomGenotype(rng, p);
  return genotype;
}

export const stage = defineStage({
  name: 'random-cell',
  version: 1,
  description: 'A genotype drawn uniformly from the DARTS search space (the random-search baseline), written as darts-search writes its genotype.',
  params: randomCellParams,
  inputs: {},
  outputs: {
    genotype: { kind: 'json', description: 'genotype.json: the DARTS Genotype drawn, in the format darts-search writes' },
    summary: { kind: 'json', description: 'summary.json: seed, index, nodes, ops, genotype_text, n_skip_normal, n_skip_reduce' },
  },
  measures: false,
  async run(ctx) {
    const p = ctx.params;
    const genotype = sampleCell(p);
    const text = genotypeToText(genotype);
    const counts = genotypeOpCounts(genotype);
    const [normalSkips, reduceSkips] = [counts.normal.skip, counts.reduce.skip];
    ctx.log(`random-cell: seed ${p.seed}, index ${p.index}: ${text} (${normalSkips} skips in the normal cell)`);
    await ctx.writeJson('genotype', 'genotype.json', genotype);
    await ctx.writeJson('summary', 'summary.json', {
      seed: p.seed,
      index: p.index,
      nodes: p.nodes,
      ops: p.ops,
      genotype_text: text,
      n_skip_normal: normalSkips,
      n_skip_reduce: reduceSkips,
    });
  },
});
