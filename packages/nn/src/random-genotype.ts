import type { Rng } from '@lenna/core';
import { UserError } from './errors.js';
import type { Genotype } from './genotype.js';
import type { OpName } from './ops.js';

/** One cell drawn uniformly: per node an unordered pair of distinct earlier inputs, a non-`none` op on each. */
function randomCell(rng: Rng, nodes: number, candidates: readonly OpName[]): [OpName, number][] {
  const genes: [OpName, number][] = [];
  for (let node = 0; node < nodes; node++) {
    const inputs = node + 2;
    // An ordered pair of distinct inputs, uniform over inputs·(inputs−1), is a uniform unordered pair.
    const first = rng.int(inputs);
    let second = rng.int(inputs - 1);
    if (second >= first) second++;
    for (const input of [Math.min(first, second), Math.max(first, second)]) genes.push([candidates[rng.int(candidates.length)], input]);
  }
  return genes;
}

/**
 * A genotype drawn uniformly from the DARTS search space of `nodes` nodes and the op set `ops`
 * (`none` is never drawn): the normal cell, then the reduction cell, independently. Genes of a node
 * are in ascending input order, so one cell always has one JSON form. Uses 8·nodes numbers of `rng`
 * (per node and cell: two for the inputs, one op each).
 */
export function randomGenotype(rng: Rng, opts: { nodes: number; ops: readonly OpName[] }): Genotype {
  const candidates = opts.ops.filter((op) => op !== 'none');
  if (candidates.length === 0) throw new UserError(`A random genotype needs an op other than none; ops is [${opts.ops.join(', ')}].`);
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1) throw new UserError(`A cell needs a whole number of nodes ≥ 1; nodes is ${opts.nodes}.`);
  const concat = Array.from({ length: opts.nodes }, (_, i) => i + 2);
  const normal = randomCell(rng, opts.nodes, candidates);
  const reduce = randomCell(rng, opts.nodes, candidates);
  return { normal, normal_concat: concat, reduce, reduce_concat: [...concat] };
}
