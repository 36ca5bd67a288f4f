import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DARTS_OPS,
  genotypeFromAlphas,
  genotypeFromText,
  genotypeOpCounts,
  genotypeToText,
  GenotypeSchema,
  parseCellAlphas,
  parseCellAlphasMaxSkips,
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


describe('P-DARTS skip limit (maxSkips)', () => {
  // A normal cell whose official derivation keeps 5 skips. Softmax weights (others at α 0):
  //   node 0: e0 skip 0.698 (sep3 0.094), e1 skip 0.413 (sep3 0.251)
  //   node 1: e2 skip 0.862 (sep5 0.043), e3 sep3 0.635, e4 skip 0.262
  //   node 2: e5 skip 0.654 (dil3 0.108), e6 skip 0.403 (max 0.330), e7 avg 0.191, e8 0.125
  //   node 3: e9 sep5 0.742, e10 avg 0.514, e11–e13 0.125
  const collapsed = [
    row({ skip_connect: 3, sep_conv_3x3: 1 }),
    row({ skip_connect: 2, sep_conv_3x3: 1.5 }),
    row({ skip_connect: 4, sep_conv_5x5: 1 }),
    row({ sep_conv_3x3: 2.5 }),
    row({ skip_connect: 1, sep_conv_3x3: 0.5 }),
    row({ skip_connect: 2.8, dil_conv_3x3: 1 }),
    row({ skip_connect: 2.2, max_pool_3x3: 2 }),
    row({ avg_pool_3x3: 0.5 }),
    row({}),
    row({ sep_conv_5x5: 3 }),
    row({ avg_pool_3x3: 2 }),
    row({}),
    row({}),
    row({}),
  ];
  const skips = (genes: [string, number][]) => genes.filter(([op]) => op === 'skip_connect').length;

  it('derives 5 skips without a limit, as today', () => {
    const uncapped = parseCellAlphas(collapsed, DARTS_OPS);
    expect(uncapped).toEqual([
      ['skip_connect', 0], ['skip_connect', 1],
      ['skip_connect', 0], ['sep_conv_3x3', 1],
      ['skip_connect', 0], ['skip_connect', 1],
      ['sep_conv_5x5', 0], ['avg_pool_3x3', 1],
    ]);
    expect(genotypeFromAlphas(collapsed, collapsed, DARTS_OPS, { maxSkips: null })).toEqual(genotypeFromAlphas(collapsed, collapsed, DARTS_OPS));
    expect(genotypeFromAlphas(collapsed, collapsed, DARTS_OPS, { maxSkips: null }).normal).toEqual(uncapped);
  });

  it('strikes the weakest kept skip and re-derives, until at most maxSkips remain', () => {
    // Strikes e6 (0.403): e6 keeps max_pool. Then e1 (0.413): e1 takes sep_conv_3x3 (node 0 has only two
    // edges). Then e5 (0.654): its next op, dil_conv_3x3 at 0.108, loses node 2's second place to e7's avg_pool.
    const capped = genotypeFromAlphas(collapsed, collapsed, DARTS_OPS, { maxSkips: 2 });
    expect(capped.normal).toEqual([
      ['skip_connect', 0], ['sep_conv_3x3', 1],
      ['skip_connect', 0], ['sep_conv_3x3', 1],
      ['max_pool_3x3', 1], ['avg_pool_3x3', 2],
      ['sep_conv_5x5', 0], ['avg_pool_3x3', 1],
    ]);
    // The reduction cell is derived as always.
    expect(skips(capped.reduce)).toBe(5);
    expect(parseCellAlphasMaxSkips(collapsed, DARTS_OPS, 4).slice(4, 6)).toEqual([['skip_connect', 0], ['max_pool_3x3', 1]]);
    expect(skips(parseCellAlphasMaxSkips(collapsed, DARTS_OPS, 3))).toBe(3);
    expect(parseCellAlphasMaxSkips(collapsed, DARTS_OPS, 5)).toEqual(parseCellAlphas(collapsed, DARTS_OPS));
    const none = parseCellAlphasMaxSkips(collapsed, DARTS_OPS, 0);
    expect(skips(none)).toBe(0);
    // Node 1 also strikes e4's skip, whose sep_conv_3x3 (0.159) then beats e2's sep_conv_5x5 (0.043).
    expect(none.slice(0, 4)).toEqual([['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 2]]);
  });

  it('on random α: a valid genotype with exactly maxSkips skips where the official one has more, else the official one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: K, maxLength: K }), { minLength: 14, maxLength: 14 }),
        fc.integer({ min: 0, max: 8 }),
        (alphas, maxSkips) => {
          const capped = genotypeFromAlphas(alphas, alphas, DARTS_OPS, { maxSkips });
          expect(() => parseGenotype(capped)).not.toThrow();
          expect(skips(capped.normal)).toBeLessThanOrEqual(maxSkips);
          const official = parseCellAlphas(alphas, DARTS_OPS);
          // A strike changes one edge's row, so it removes at most one skip: the count stops at maxSkips exactly.
          if (skips(official) <= maxSkips) expect(capped.normal).toEqual(official);
          else expect(skips(capped.normal)).toBe(maxSkips);
        },
      ),
      { seed: 15, numRuns: 300 },
    );
  });

  it('refuses a limit it cannot meet or that is no count', () => {
    const ops = ['none', 'skip_connect'] as const;
    const alphas = Array.from({ length: 14 }, () => [0, 1]);
    expect(() => parseCellAlphasMaxSkips(alphas, ops, 2)).toThrow(/no op other than none and skip_connect.*set maxSkips to null/);
    expect(parseCellAlphasMaxSkips(alphas, ops, 8)).toHaveLength(8);
    expect(() => parseCellAlphasMaxSkips(collapsed, DARTS_OPS, -1)).toThrow(/maxSkips is -1/);
    expect(() => parseCellAlphasMaxSkips(collapsed, DARTS_OPS, 1.5)).toThrow(/maxSkips is 1.5/);
  });
});
