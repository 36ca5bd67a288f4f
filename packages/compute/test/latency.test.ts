import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { LENNA_PROTOCOL, measureExpectedLatency, runLatencyProtocol, summarise, timeForward, UserError } from '../src/index.js';
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
    expect(LENNA_PROTOCOL).toEqual({ runs: 20, quantile: 0.4, threshold: 0.01, hits: 15, maxResets: 1000, warmup: 3, seed: 0 });
  });

  test('a constant latency converges after hits + 1 resets (the first cannot count)', async () => {
    const seen: number[] = [];
    const r = await runLatencyProtocol([[1, 1]], async () => 5, { hits: 4 }, (resets, mean) => seen.push(resets, mean));
    expect(r).toEqual({ meanMs: 5, resets: 5, converged: true, cv: 0 });
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
