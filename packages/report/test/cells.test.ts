import { describe, expect, it } from 'vitest';
import { cellFileStems, sanitizeStem } from '../src/cells.js';

describe('cell diagram file names', () => {
  it('turns instance ids into portable names', () => {
    expect(sanitizeStem('retrain-eval@lambda=0.1,seed=2')).toBe('retrain-eval-lambda-0.1-seed-2');
    expect(sanitizeStem('retrain-eval@dataset.name=a/b c')).toBe('retrain-eval-dataset.name-a_b_c');
    expect(sanitizeStem('..@x=λ')).toBe('x-_');
    expect(sanitizeStem('@')).toBe('run');
  });

  it('keeps names unique, also on a case-insensitive file system, the same whatever the order', () => {
    const ids = ['r@a=1', 'r-a-1', 'R@A=1', 'r@a=2', `r@x=${'y'.repeat(200)}`];
    const stems = cellFileStems(ids);
    expect(new Set([...stems.values()].map((s) => s.toLowerCase())).size).toBe(ids.length);
    expect(stems.get('r@a=2')).toBe('r-a-2');
    expect(stems.get('r@a=1')).toMatch(/^r-a-1-[0-9a-f]{8}$/);
    expect(stems.get(ids[4])!.length).toBeLessThanOrEqual(96 + 9);
    expect(cellFileStems([...ids].reverse())).toEqual(stems);
  });
});
