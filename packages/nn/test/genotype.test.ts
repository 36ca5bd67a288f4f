import { describe, expect, it } from 'vitest';
import {
  DARTS_OPS,
  genotypeFromAlphas,
  genotypeFromText,
  genotypeOpCounts,
  genotypeToText,
  GenotypeSchema,
  parseCellAlphas,
  parseGenotype,
  type Genotype,
} from '../src/index.js';
import { DARTS_V2 } from './setup.js';

const K = DARTS_OPS.length;
const idx = (name: (typeof DARTS_OPS)[number]) => DARTS_OPS.indexOf(name);

/** A row of α: every op at `base`, then the given overrides. */
function row(overrides: Partial<Record<(typeof DARTS_OPS)[number], number>>, base = 0): number[] {
  const r = new Array(K).fill(base);
  for (const [k, v] of Object.entries(overrides)) r[idx(k as (typeof DARTS_OPS)[number])] = v;
  return r;
}

describe('genotype derivation', () => {
  it('ranks edges by softmax weight, which differs from ranking raw α', () => {
    // Node 0 (edges 0, 1): both kept. Node 1 (edges 2, 3, 4: from 0, 1, node 0).
    // Edge 2: sep_conv_3x3 has the largest raw α of node 1 (3.0) but none dominates (6.0),
    //   so its softmax weight is tiny: e^3 / (e^6 + e^3 + 6) ≈ 0.047.
    // Edge 3: dil_conv_3x3 at 1.0, rest 0: e^1 / (e^1 + 7) ≈ 0.280.
    // Edge 4: avg_pool_3x3 at 0.8, rest 0: e^0.8 / (e^0.8 + 7) ≈ 0.241.
    const alphas = [
      row({ sep_conv_3x3: 1 }),
      row({ max_pool_3x3: 1 }),
      row({ none: 6, sep_conv_3x3: 3 }),
      row({ dil_conv_3x3: 1 }),
      row({ avg_pool_3x3: 0.8 }),
    ];
    const genes = parseCellAlphas(alphas, DARTS_OPS);
    expect(genes).toEqual([
      ['sep_conv_3x3', 0],
      ['max_pool_3x3', 1],
      ['dil_conv_3x3', 1],
      ['avg_pool_3x3', 2],
    ]);
    // The raw-α ranking (the ports' bug) would keep edge 2 (sep_conv_3x3 from input 0) first.
    const rawRank = [2, 3, 4].sort((a, b) => Math.max(...alphas[b].slice(1)) - Math.max(...alphas[a].slice(1)));
    expect(rawRank[0]).toBe(2);
  });

  it('never picks none, even where none has the largest weight on every edge', () => {
    const alphas = Array.from({ length: 14 }, (_, e) => row({ none: 10, skip_connect: e % 3 === 0 ? 1 : 0 }, -1));
    const g = genotypeFromAlphas(alphas, alphas, DARTS_OPS);
    expect(g.normal).toHaveLength(8);
    expect(g.normal.every(([op]) => op !== 'none')).toBe(true);
    expect(g.normal_concat).toEqual([2, 3, 4, 5]);
  });

  it('keeps the two strongest edges in order of strength and the best op on each', () => {
    // Node 0 prefers input 1 over input 0.
    const alphas = [row({ avg_pool_3x3: 0.5 }), row({ sep_conv_5x5: 2 })];
    expect(parseCellAlphas(alphas, DARTS_OPS)).toEqual([
      ['sep_conv_5x5', 1],
      ['avg_pool_3x3', 0],
    ]);
  });

  it('works on an op set without none and in its order', () => {
    const ops = ['skip_connect', 'sep_conv_3x3'] as const;
    const g = parseCellAlphas([[0, 1], [2, 0]], ops);
    expect(g).toEqual([
      ['skip_connect', 1],
      ['sep_conv_3x3', 0],
    ]);
  });

  it('rejects a number of edges that is no cell', () => {
    expect(() => parseCellAlphas([row({}), row({}), row({})], DARTS_OPS)).toThrow(/3 edges/);
  });
});

describe('genotype formats', () => {
  it('reads the official JSON and writes one line of text that parses back', () => {
    const g = parseGenotype(JSON.parse(JSON.stringify(DARTS_V2)));
    const text = genotypeToText(g);
    expect(text.startsWith('N: sep_conv_3x3(0) sep_conv_3x3(1) | sep_conv_3x3(0) sep_conv_3x3(1) | ')).toBe(true);
    expect(text).toContain(' ; R: max_pool_3x3(0) max_pool_3x3(1) | ');
    expect(genotypeFromText(text)).toEqual(g);
  });

  it('writes a non-default concat in the text and reads it back', () => {
    const g: Genotype = { ...DARTS_V2, reduce_concat: [4, 5] };
    const text = genotypeToText(g);
    expect(text.endsWith('cat(4,5)')).toBe(true);
    expect(genotypeFromText(text).reduce_concat).toEqual([4, 5]);
  });

  it('rejects malformed genotypes with the place of the problem', () => {
    expect(() => parseGenotype({ ...DARTS_V2, normal: [['conv_7x7', 0], ['skip_connect', 1]] }, 'g.json')).toThrow(/g\.json.*normal/);
    expect(() => parseGenotype({ ...DARTS_V2, normal: [['skip_connect', 2], ['skip_connect', 1]] })).toThrow(/reads node 2/);
    expect(() => parseGenotype({ ...DARTS_V2, extra: 1 })).toThrow(/genotype/);
    expect(GenotypeSchema.safeParse({ ...DARTS_V2, normal_concat: [9] }).success).toBe(false);
    expect(() => genotypeFromText('sep_conv_3x3(0)')).toThrow(/N: <ops> ; R: <ops>/);
    expect(() => genotypeFromText('N: sep_conv_3x3[0] x(1) ; R: a(0) b(1)')).toThrow(/sep_conv_3x3\[0\]/);
  });

  it('counts the kinds of kept ops', () => {
    expect(genotypeOpCounts(DARTS_V2)).toEqual({
      normal: { sep: 5, dil: 1, pool: 0, skip: 2 },
      reduce: { sep: 0, dil: 0, pool: 5, skip: 3 },
    });
  });
});

