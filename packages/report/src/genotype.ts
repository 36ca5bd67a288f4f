import { genotypeOpCounts, genotypeToText, type Genotype } from '@lenna/nn';

export { parseGenotype, type Genotype, type OpCounts } from '@lenna/nn';

/** The genotype's one-line text form, as darts-search's history and summary write it (@lenna/nn's). */
export function genotypeText(genotype: Genotype): string {
  return genotypeToText(genotype);
}

/** Op families (sep_conv_*, dil_conv_*, *_pool_3x3, skip_connect) counted over the normal and the reduction cell together. */
export function countOpFamilies(genotype: Genotype): { sep: number; dil: number; pool: number; skip: number } {
  const { normal, reduce } = genotypeOpCounts(genotype);
  return { sep: normal.sep + reduce.sep, dil: normal.dil + reduce.dil, pool: normal.pool + reduce.pool, skip: normal.skip + reduce.skip };
}
