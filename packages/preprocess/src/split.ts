import { createRng, UserError } from '@lenna/core';
import { SHAPE_KEY_LEGEND } from '@lenna/latency-model';

export interface SplitFractions {
  valFraction: number;
  testFraction: number;
}

export interface SplitIndices {
  train: number[];
  val: number[];
  test: number[];
}

/**
 * Split row indices so every stratum (shape) is in train, val and test: each stratum is
 * shuffled with the seeded RNG, then cut by the fractions with at least one row per split.
 */
export function stratifiedSplit(keys: readonly string[], fractions: SplitFractions, seed: number): SplitIndices {
  const strata = new Map<string, number[]>();
  keys.forEach((key, i) => {
    if (!strata.has(key)) strata.set(key, []);
    strata.get(key)!.push(i);
  });
  const rng = createRng(seed);
  const out: SplitIndices = { train: [], val: [], test: [] };
  for (const key of [...strata.keys()].sort()) {
    const rows = strata.get(key)!;
    if (rows.length < 3) {
      throw new UserError(`Shape ${key} (${SHAPE_KEY_LEGEND}) has ${rows.length} row(s); every shape needs at least 3 to appear in train, val and test.`);
    }
    const [nVal, nTest] = splitSizes(rows.length, fractions);
    rng.shuffle(rows);
    out.val.push(...rows.slice(0, nVal));
    out.test.push(...rows.slice(nVal, nVal + nTest));
    out.train.push(...rows.slice(nVal + nTest));
  }
  const ascending = (a: number, b: number) => a - b;
  return { train: out.train.sort(ascending), val: out.val.sort(ascending), test: out.test.sort(ascending) };
}

function splitSizes(n: number, { valFraction, testFraction }: SplitFractions): [number, number] {
  let nVal = Math.max(1, Math.round(n * valFraction));
  let nTest = Math.max(1, Math.round(n * testFraction));
  // Large fractions on a small stratum would leave train empty: give rows back, larger split first.
  while (n - nVal - nTest < 1) {
    if (nVal >= nTest && nVal > 1) nVal--;
    else nTest--;
  }
  return [nVal, nTest];
}
