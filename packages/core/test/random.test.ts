import { describe, expect, test } from 'vitest';
import { createRng, deriveSeed } from '../src/random.js';

describe('createRng', () => {
  test('the same seed gives the same stream, another seed another', () => {
    const a = createRng(7), b = createRng(7), c = createRng(8);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });

  test('a saved state resumes the exact sequence', () => {
    const a = createRng(3);
    a.next(); a.normal();
    const state = a.getState();
    const expected = [a.next(), a.int(10), a.normal()];
    const b = createRng(99);
    b.setState(state);
    expect([b.next(), b.int(10), b.normal()]).toEqual(expected);
  });

  test('uniform and normal draws have the right moments', () => {
    const rng = createRng(1);
    const n = 20000;
    let su = 0, sn = 0, sn2 = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      expect(u >= 0 && u < 1).toBe(true);
      su += u;
      const z = rng.normal();
      sn += z; sn2 += z * z;
    }
    expect(Math.abs(su / n - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(sn / n)).toBeLessThan(0.03);
    expect(Math.abs(sn2 / n - 1)).toBeLessThan(0.05);
  });

  test('categorical follows its weights and never picks a zero weight', () => {
    const rng = createRng(5);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30000; i++) counts[rng.categorical([1, 0, 3])]++;
    expect(counts[1]).toBe(0);
    expect(counts[2] / counts[0]).toBeGreaterThan(2.7);
    expect(counts[2] / counts[0]).toBeLessThan(3.3);
  });

  test('shuffle is a permutation', () => {
    const xs = createRng(2).shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect([...xs].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(xs).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('deriveSeed', () => {
  test('is FNV-1a of the purpose started from the seed (hand-computed), and separates purposes and seeds', () => {
    // FNV-1a 32 of "a" from the offset basis is 0xe40c292c; seed 0 leaves the basis as it is.
    expect(deriveSeed(0, 'a')).toBe(0xe40c292c);
    expect(deriveSeed(0, '')).toBe(0x811c9dc5);
    expect(deriveSeed(1, 'init')).toBe(deriveSeed(1, 'init'));
    expect(deriveSeed(1, 'init')).not.toBe(deriveSeed(1, 'shuffle'));
    expect(deriveSeed(1, 'init')).not.toBe(deriveSeed(2, 'init'));
    const seeds = new Set(Array.from({ length: 1000 }, (_, i) => deriveSeed(7, `row ${i}`)));
    expect(seeds.size).toBe(1000);
    expect([...seeds].every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 32)).toBe(true);
  });
});
