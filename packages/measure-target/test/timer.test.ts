import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@lenna/compute';
import { cellSubject, createLocalTimer, opSubject, PREPROCESS_FACTORIZED_REDUCE } from '../src/index.js';
import { TINY_CELL } from './fixtures.js';

beforeAll(() => initBackend({ quiet: true }));

describe('the local timer (target node, and the page’s own)', () => {
  it('returns `runs` positive samples of a cell, an op and a network, and leaves no tensor behind', async () => {
    const timer = createLocalTimer();
    const before = tf.memory().numTensors;
    const cell = await timer.timeCell(TINY_CELL);
    // Asked again (as a protocol asks about a reference cell), the built cell is reused; close frees it.
    expect(await timer.timeCell(TINY_CELL)).toHaveLength(3);
    const op = await timer.timeOp({ site: { op: PREPROCESS_FACTORIZED_REDUCE, stride: 2, cIn: 4, c: 4, hw: 8, batch: 2, kind: 'search' }, seed: 1, runs: 2, warmup: 0 });
    const net = await timer.timeNetwork({
      network: { genotype: { normal: [['skip_connect', 0], ['sep_conv_3x3', 1], ['max_pool_3x3', 0], ['skip_connect', 2]], normal_concat: [2, 3], reduce: [['avg_pool_3x3', 0], ['dil_conv_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 1]], reduce_concat: [2, 3] }, C: 4, layers: 3, numClasses: 3, inputChannels: 1, inputSize: 8 },
      batch: 2,
      seed: 0,
      runs: 2,
      warmup: 1,
    });
    for (const [samples, runs] of [[cell, 3], [op, 2], [net, 2]] as const) {
      expect(samples).toHaveLength(runs);
      for (const ms of samples) expect(ms).toBeGreaterThan(0);
    }
    expect(await timer.timeOp({ site: { op: 'none', stride: 1, cIn: 4, c: 4, hw: 8, batch: 2, kind: 'search' }, seed: 1, runs: 4, warmup: 0 })).toEqual([0, 0, 0, 0]);
    expect(timer.clock).toBe('wall');
    await timer.close();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('counts the clock it is given: cpu time, or wall time by default', async () => {
    const cpu = createLocalTimer({ clock: 'cpu' });
    expect(cpu.clock).toBe('cpu');
    const samples = await cpu.timeCell({ ...TINY_CELL, runs: 2 });
    expect(samples).toHaveLength(2);
    for (const ms of samples) expect(ms).toBeGreaterThanOrEqual(0);
    await cpu.close();
  });

  it('builds a cell from its request alone: the same request, the same output', () => {
    const a = cellSubject(TINY_CELL);
    const b = cellSubject(TINY_CELL);
    const other = cellSubject({ ...TINY_CELL, seed: 4 });
    const [ya, yb, yo] = [a, b, other].map((s) => tf.tidy(s.run));
    expect(ya.shape).toEqual([2, 2, 2, 16]);
    expect(Array.from(ya.dataSync())).toEqual(Array.from(yb.dataSync()));
    expect(Array.from(ya.dataSync())).not.toEqual(Array.from(yo.dataSync()));
    tf.dispose([ya, yb, yo]);
    [a, b, other].forEach((s) => s.dispose());
  });

  it('builds cells and op sites as their kind does: an eval pool is bare, a search pool ends in BatchNorm', () => {
    const pool = (kind: 'search' | 'eval') => opSubject({ op: 'max_pool_3x3', stride: 1, cIn: 4, c: 4, hw: 8, batch: 2, kind }, 1);
    const [search, evaluation] = [pool('search'), pool('eval')];
    const [ys, ye] = [search, evaluation].map((s) => tf.tidy(s.run));
    // BatchNorm on running statistics (mean 0, variance 1) divides by √(1 + ε): the values move a little.
    expect(Array.from(ys.dataSync())).not.toEqual(Array.from(ye.dataSync()));
    tf.dispose([ys, ye]);
    [search, evaluation].forEach((s) => s.dispose());
    const cells = [cellSubject(TINY_CELL), cellSubject({ ...TINY_CELL, shape: { ...TINY_CELL.shape, kind: 'eval' } })];
    const [cs, ce] = cells.map((s) => tf.tidy(s.run));
    expect(cs.shape).toEqual(ce.shape);
    cs.dispose();
    ce.dispose();
    cells.forEach((s) => s.dispose());
  });

  it('times an op site as nn builds it: the output an edge of the cell would give', () => {
    const op = opSubject({ op: 'sep_conv_5x5', stride: 2, cIn: 4, c: 4, hw: 8, batch: 2, kind: 'search' }, 1);
    const y = tf.tidy(op.run);
    expect(y.shape).toEqual([2, 4, 4, 4]);
    y.dispose();
    op.dispose();
  });
});
