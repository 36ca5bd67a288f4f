import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { createRng } from '@lenna/core';
import { clockFor, LENNA_PROTOCOL, measureExpectedLatency, runLatencyProtocol, summarise, timeForward, UserError } from '../src/index.js';
import { initBoth } from './setup.js';

beforeAll(initBoth);

describe('summarise', () => {
  test('order statistics of a hand-checked sample', () => {
    const s = summarise([4, 1, 3, 2, 10], 0.4);
    expect(s).toMatchObject({ runs: 5, minMs: 1, medianMs: 3, quantile: 0.4, meanMs: 4 });
    expect(s.quantileMs).toBeCloseTo(2.6, 10); // rank 0.4·4 = 1.6 between 2 and 3
    expect(s.cv).toBeCloseTo(Math.sqrt(10) / 4, 10); // population sd √10 over mean 4
    expect(s.samplesMs).toEqual([4, 1, 3, 2, 10]);
  });
});

describe('timeForward', () => {
  test('runs warmup + runs times, reads every output back and frees it', async () => {
    const x = tf.ones([64, 64]);
    let calls = 0;
    const before = tf.memory().numTensors;
    const stats = await timeForward(() => {
      calls++;
      return [tf.matMul(x, x), tf.add(x, 1)];
    }, { warmup: 2, runs: 5, quantile: 0.25 });
    expect(calls).toBe(7);
    expect(stats.runs).toBe(5);
    expect(stats.samplesMs).toHaveLength(5);
    expect(stats.minMs).toBeGreaterThan(0);
    expect(stats.minMs).toBeLessThanOrEqual(stats.quantileMs);
    expect(stats.quantileMs).toBeLessThanOrEqual(stats.medianMs);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  test('rejects impossible options with a UserError', async () => {
    await expect(timeForward(() => tf.scalar(1), { runs: 0 })).rejects.toThrow(UserError);
    await expect(timeForward(() => tf.scalar(1), { quantile: 1.5 })).rejects.toThrow(/quantile=1.5/);
  });
});

describe('the latency protocol', () => {
  test('LENNA’s values', () => {
    expect(LENNA_PROTOCOL).toMatchObject({ rule: 'lenna', runs: 20, quantile: 0.4, threshold: 0.01, hits: 15, maxResets: 1000, warmup: 3, seed: 0 });
  });

  test('a constant latency converges after hits + 1 resets (the first cannot count)', async () => {
    const seen: number[] = [];
    const r = await runLatencyProtocol([[1, 1]], async () => 5, { hits: 4 }, (resets, mean) => seen.push(resets, mean));
    expect(r).toEqual({ meanMs: 5, seMs: 0, resets: 5, converged: true, cv: 0 });
    expect(seen).toEqual([1, 5, 2, 5, 3, 5, 4, 5, 5, 5]);
  });

  test('a mean that keeps moving stops at maxResets, not converged', async () => {
    let k = 0;
    const r = await runLatencyProtocol([[1]], async () => 10 ** k++, { maxResets: 6, hits: 2 });
    expect(r.resets).toBe(6);
    expect(r.converged).toBe(false);
    expect(r.meanMs).toBeCloseTo((1 + 10 + 100 + 1000 + 1e4 + 1e5) / 6, 6);
  });

  test('a single large move resets the streak', async () => {
    // 10, 10, 10, 40, 10, … : the jump at reset 4 moves the mean by 75%.
    const series = [10, 10, 10, 40];
    let k = 0;
    const r = await runLatencyProtocol([[1]], async () => series[k++] ?? 10, { hits: 3, threshold: 0.05 });
    // Resets 2, 3 settle; 4 breaks the streak; the mean 17.5 then moves by (10 − m)/k: 5: 16 (−8.6%),
    // 6: 15 (−6.3%), 7: 14.29 (−4.8%), 8: 13.75 (−3.8%), 9: 13.33 → three settled resets end at 9.
    expect(r.resets).toBe(9);
    expect(r.converged).toBe(true);
    expect(r.meanMs).toBeCloseTo(120 / 9, 10);
  });

  test('one op per edge, drawn from that edge’s probabilities with the seed', async () => {
    const probs = [[0, 1, 0], [0.5, 0, 0.5], [0, 0, 1]];
    const draw = async (seed: number) => {
      const choices: number[][] = [];
      await runLatencyProtocol(probs, async (c) => (choices.push(c), 1), { seed, maxResets: 40, hits: 1000 });
      return choices;
    };
    const a = await draw(1);
    expect(a).toHaveLength(40);
    for (const c of a) {
      expect(c[0]).toBe(1);
      expect([0, 2]).toContain(c[1]);
      expect(c[2]).toBe(2);
    }
    expect(new Set(a.map((c) => c[1])).size).toBe(2);
    expect(await draw(1)).toEqual(a);
    expect(await draw(2)).not.toEqual(a);
  });

  test('measureExpectedLatency builds, times and disposes each sampled cell', async () => {
    const x = tf.ones([16, 16]);
    const built: number[][] = [];
    let disposed = 0;
    const before = tf.memory().numTensors;
    const r = await measureExpectedLatency(
      [[1, 1], [1, 1]],
      (choice) => {
        built.push(choice);
        return { run: () => (choice[0] === 0 ? tf.matMul(x, x) : tf.add(x, x)), dispose: () => disposed++ };
      },
      { runs: 3, warmup: 1, maxResets: 4, hits: 100 },
    );
    expect(r.resets).toBe(4);
    expect(r.converged).toBe(false);
    expect(r.meanMs).toBeGreaterThan(0);
    expect(built).toHaveLength(4);
    expect(disposed).toBe(4);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  test('invalid probabilities and options are UserErrors', async () => {
    const build = () => ({ run: () => tf.scalar(0) });
    await expect(measureExpectedLatency([[0, 0]], build)).rejects.toThrow(/edge 0/);
    await expect(measureExpectedLatency([[1], [-1, 2]], build)).rejects.toThrow(UserError);
    await expect(measureExpectedLatency([[1]], build, { threshold: 0 })).rejects.toThrow(/threshold=0/);
    await expect(measureExpectedLatency([[1]], build, { hits: 0 })).rejects.toThrow(/hits=0/);
  });
});

describe('the control-variate protocol', () => {
  // Three edges, three ops each. A sampled cell costs its ops, an interaction between edges 0 and 1
  // and timing noise; the control variate is an op table that is off in scale and offset (0.7·ops + 2),
  // as a real one is. The truth is enumerated over all 27 cells.
  const probs = [[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]];
  const cost = [[1, 5, 12], [2, 4, 9], [0, 3, 6]];
  const opsOf = (c: readonly number[]) => c.reduce((s, k, e) => s + cost[e][k], 0);
  const cellMs = (c: readonly number[]) => 3 + opsOf(c) + (c[0] === 2 && c[1] === 2 ? 4 : 0);
  const table = { ofChoice: (c: readonly number[]) => 0.7 * opsOf(c) + 2, expected: 0 };
  let truth = 0;
  for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 3; c++) {
    const p = probs[0][a] * probs[1][b] * probs[2][c];
    truth += p * cellMs([a, b, c]);
    table.expected += p * table.ofChoice([a, b, c]);
  }
  const noisy = (seed: number, sd: number) => {
    const rng = createRng(seed);
    return async (c: number[]) => cellMs(c) * (1 + sd * rng.normal());
  };
  const fixedResets = (n: number) => ({ rule: 'control-variate' as const, minResets: n, maxResets: n, seTarget: 1e-9 });
  const estimates = async (n: number, withTable: boolean, rows = 400) => {
    const out: { meanMs: number; seMs: number }[] = [];
    for (let row = 0; row < rows; row++) {
      out.push(await runLatencyProtocol(probs, noisy(1000 + row, 0.03), { ...fixedResets(n), seed: row }, undefined, withTable ? table : undefined));
    }
    return out;
  };
  const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sdOf = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + (x - meanOf(xs)) ** 2, 0) / (xs.length - 1));

  test('is unbiased for the expected latency, and its standard error is the spread of its estimates', async () => {
    const runs = await estimates(6, true);
    const values = runs.map((r) => r.meanMs);
    // The mean of 400 estimates is within 4 standard errors of that mean of the enumerated truth.
    expect(Math.abs(meanOf(values) - truth)).toBeLessThan((4 * sdOf(values)) / Math.sqrt(values.length));
    // The reported SE (averaged over rows, in quadrature) matches the spread of the estimates within 20%.
    const reported = Math.sqrt(meanOf(runs.map((r) => r.seMs ** 2)));
    expect(reported / sdOf(values)).toBeGreaterThan(0.8);
    expect(reported / sdOf(values)).toBeLessThan(1.2);
  });

  test('its standard error shrinks as 1/√resets and is far below the plain mean’s', async () => {
    const spread = async (n: number, withTable: boolean) => sdOf((await estimates(n, withTable, 300)).map((r) => r.meanMs));
    const [four, sixteen] = [await spread(4, true), await spread(16, true)];
    expect(four / sixteen).toBeGreaterThan(1.6);
    expect(four / sixteen).toBeLessThan(2.5);
    // Without timing noise the ratio of the two spreads is sd(L) / sd(L − A) over the 27 cells.
    let [vL, vR] = [0, 0];
    const [mL, mR] = [truth, truth - table.expected];
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 3; c++) {
      const p = probs[0][a] * probs[1][b] * probs[2][c];
      vL += p * (cellMs([a, b, c]) - mL) ** 2;
      vR += p * (cellMs([a, b, c]) - table.ofChoice([a, b, c]) - mR) ** 2;
    }
    const plain = await spread(4, false);
    expect(plain / four / Math.sqrt(vL / vR)).toBeGreaterThan(0.75);
    expect(plain / four).toBeGreaterThan(2);
  });

  test('stops at the first reset whose relative standard error is at most seTarget, never before minResets', async () => {
    const seen: number[] = [];
    const r = await runLatencyProtocol(probs, noisy(5, 0.03), { rule: 'control-variate', seTarget: 0.01, minResets: 3, maxResets: 500, seed: 9 }, (n) => seen.push(n), table);
    expect(r.converged).toBe(true);
    expect(r.resets).toBeGreaterThanOrEqual(3);
    expect(r.seMs).toBeLessThanOrEqual(0.01 * r.meanMs);
    // One reset fewer had not reached the target: rerun the same draws up to resets − 1.
    const before = await runLatencyProtocol(probs, noisy(5, 0.03), { rule: 'control-variate', seTarget: 1e-9, minResets: 2, maxResets: r.resets - 1, seed: 9 }, undefined, table);
    expect(before.resets >= 3 ? before.seMs > 0.01 * before.meanMs : true).toBe(true);
    expect(seen).toEqual(Array.from({ length: r.resets }, (_, i) => i + 1));
  });

  test('a fixed cell with constant timings stops at minResets with zero standard error', async () => {
    const oneHot = [[0, 1, 0], [1, 0, 0], [0, 0, 1]];
    const exact = { ofChoice: table.ofChoice, expected: table.ofChoice([1, 0, 2]) };
    const r = await runLatencyProtocol(oneHot, async (c) => cellMs(c), { rule: 'control-variate', minResets: 4, seTarget: 0.02 }, undefined, exact);
    expect(r).toEqual({ meanMs: cellMs([1, 0, 2]), seMs: 0, resets: 4, converged: true, cv: 0 });
  });

  test('a spread that never shrinks to seTarget stops at maxResets, not converged', async () => {
    const r = await runLatencyProtocol(probs, noisy(3, 0.5), { rule: 'control-variate', seTarget: 1e-4, minResets: 3, maxResets: 7 }, undefined, table);
    expect(r.resets).toBe(7);
    expect(r.converged).toBe(false);
    expect(r.seMs).toBeGreaterThan(1e-4 * r.meanMs);
  });

  test('minResets below 2 and a non-positive seTarget are UserErrors', async () => {
    await expect(runLatencyProtocol(probs, async () => 1, { rule: 'control-variate', minResets: 1 })).rejects.toThrow(/minResets=1/);
    await expect(runLatencyProtocol(probs, async () => 1, { rule: 'control-variate', seTarget: 0 })).rejects.toThrow(/seTarget=0/);
  });
});

describe('the timing clock', () => {
  test('cpu counts the process’s CPU time: a sleep costs wall time, not CPU time', async () => {
    const wait = () => {
      const until = Date.now() + 30;
      while (Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      return tf.scalar(1);
    };
    const wall = await timeForward(wait, { runs: 2, warmup: 0, clock: 'wall' });
    const cpu = await timeForward(wait, { runs: 2, warmup: 0, clock: 'cpu' });
    expect(wall.minMs).toBeGreaterThanOrEqual(29);
    expect(cpu.minMs).toBeLessThan(15);
  });

  test('clockFor: CPU time where one thread computes, wall time for native and threaded backends', () => {
    expect(clockFor({ name: 'wasm', threads: 1 })).toBe('cpu');
    expect(clockFor({ name: 'cpu' })).toBe('cpu');
    expect(clockFor({ name: 'wasm', threads: 4 })).toBe('wall');
    expect(clockFor({ name: 'tensorflow' })).toBe('wall');
    expect(clockFor({ name: 'tensorflow-gpu' })).toBe('wall');
  });
});
