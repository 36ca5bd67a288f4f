import { readFile } from 'node:fs/promises';
import { UserError, type InputArtifact } from '@lenna/core';
import { parseGenotype, type Genotype } from '@lenna/nn';

export const GENOTYPE_FILE = 'genotype.json';

/** A searched genotype or the random-search baseline's, for the report's `kind` column. */
export type GenotypeKind = 'search' | 'random';

/**
 * `random` when the random-cell stage made the genotype (its manifest says so), else `search`: a
 * folder handed to `lenna stage` without a manifest is taken to be a searched (or published) cell.
 */
export function genotypeKind(input: InputArtifact): GenotypeKind {
  return input.manifest.stage === 'random-cell' ? 'random' : 'search';
}

/**
 * darts-search's genotype artifact: `genotype.json` (else the artifact's only .json file) holding
 * a DARTS Genotype, either bare or under a `genotype` key.
 */
export async function readGenotypeInput(input: InputArtifact): Promise<Genotype> {
  const jsons = input.files.filter((f) => f.endsWith('.json'));
  const file = jsons.includes(GENOTYPE_FILE) ? GENOTYPE_FILE : jsons.length === 1 ? jsons[0] : undefined;
  if (!file) throw new UserError(`The genotype input ${input.id} (${input.dir}) has no ${GENOTYPE_FILE}; pass darts-search's genotype artifact.`);
  const path = input.path(file);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UserError(`${path} is not valid JSON (${(error as Error).message}); it should hold a DARTS genotype.`);
  }
  const wrapped = typeof value === 'object' && value !== null && 'genotype' in value && !('normal' in value);
  return parseGenotype(wrapped ? (value as { genotype: unknown }).genotype : value, path);
}
